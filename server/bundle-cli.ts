import { readFile, writeFile } from 'node:fs/promises';

/**
 * `stagebook bundle export|import`: moves a bundle between running instances over their REST API,
 * authenticated with a project API key holding the `deploy` scope. Talks HTTP only: it needs no
 * database or Temporal, so it runs anywhere CI does.
 */
export const BUNDLE_USAGE = `Usage:
  stagebook bundle export --url <base url> --project <project id> --hash <bundle hash> [--out <file>]
  stagebook bundle import --url <base url> --project <project id> --file <file> [--deploy --reason <text>]

  The API key (scope "deploy") comes from --key-file <path> or --key <secret>.
  --out defaults to bundle-<hash prefix>.sbundle.tgz; --deploy activates the imported bundle in production.
`;

type Options = Record<string, string | true>;

function parseOptions(argv: string[]): Options {
  const out: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a}`);
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'deploy') out.deploy = true;
    else if (inline !== undefined) out[name] = inline;
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out[name] = v;
    }
  }
  return out;
}

class UsageError extends Error {}

function need(o: Options, name: string): string {
  const v = o[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

async function apiKey(o: Options): Promise<string> {
  if (typeof o['key-file'] === 'string') return (await readFile(o['key-file'], 'utf8')).trim();
  if (typeof o.key === 'string') return o.key;
  throw new UsageError('an API key is required: --key-file <path> or --key <secret>');
}

async function failure(res: Response): Promise<Error> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    return new Error(`${res.status}: ${body.error?.message ?? text}`);
  } catch {
    return new Error(`${res.status}: ${text.slice(0, 500)}`);
  }
}

/** Runs the command; returns the process exit code. */
export async function runBundleCli(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    const o = parseOptions(rest);
    const base = need(o, 'url').replace(/\/+$/, '');
    const project = need(o, 'project');
    const headers = { authorization: `Bearer ${await apiKey(o)}` };
    switch (verb) {
      case 'export': {
        const hash = need(o, 'hash');
        const res = await fetch(`${base}/api/v1/projects/${encodeURIComponent(project)}/bundles/${encodeURIComponent(hash)}/export`, { headers });
        if (!res.ok) throw await failure(res);
        const bytes = Buffer.from(await res.arrayBuffer());
        const out = typeof o.out === 'string' ? o.out : `bundle-${hash.slice(0, 12)}.sbundle.tgz`;
        await writeFile(out, bytes);
        log(`exported bundle ${hash} to ${out} (${bytes.byteLength} bytes)`);
        return 0;
      }
      case 'import': {
        const file = await readFile(need(o, 'file'));
        const res = await fetch(`${base}/api/v1/projects/${encodeURIComponent(project)}/bundles/import`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/octet-stream' },
          body: file,
        });
        if (!res.ok) throw await failure(res);
        const body = (await res.json()) as { bundle: { hash: string }; created: boolean; modelVersionsCreated: { model: string; version: number }[] };
        const versions = body.modelVersionsCreated.map((v) => `${v.model} v${v.version}`).join(', ');
        log(`${body.created ? 'imported' : 'already present:'} bundle ${body.bundle.hash}${versions ? ` (new model versions: ${versions})` : ''}`);
        if (o.deploy) {
          const reason = need(o, 'reason');
          const d = await fetch(`${base}/api/v1/projects/${encodeURIComponent(project)}/deployments`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ bundleHash: body.bundle.hash, reason }),
          });
          if (!d.ok) throw await failure(d);
          log(`deployed bundle ${body.bundle.hash} to production`);
        }
        return 0;
      }
      default:
        throw new UsageError(verb ? `unknown bundle command ${verb}` : 'a bundle command is required');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${BUNDLE_USAGE}`);
      return 2;
    }
    console.error(`bundle ${verb ?? ''} failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
