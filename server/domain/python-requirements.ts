/**
 * A project's extra Python packages, as a person writes them on the project's Python page: one
 * pinned `name==version` a line. Only that form is accepted, so what gets installed is exactly what
 * was written and reviewed: no URLs or direct references (`pkg @ https://...`), no `-e`, `-r`,
 * `--index-url` or any other pip option, no local paths, no ranges, wildcards or environment
 * markers. Blank lines and `#` comments are allowed and dropped. Pure: the app checks as you type,
 * the server decides.
 */

export type PythonPin = { name: string; version: string };
export type RequirementProblem = { line: number; text: string; message: string };
export type ParsedRequirements = { ok: true; pins: PythonPin[]; text: string } | { ok: false; problems: RequirementProblem[] };

export const MAX_REQUIREMENT_LINES = 100;
const MAX_LINE_CHARS = 200;

/** PEP 508 distribution names. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** PEP 440 public versions (no local `+label`, no wildcard). */
const VERSION = /^(?:\d+!)?\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?$/;

/** PEP 503: names compare lower-cased, with runs of `-`, `_`, `.` as one `-`. */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function problemOf(body: string): string | PythonPin {
  if (body.startsWith('-') || /\s-/.test(body)) return 'pip options are not allowed (-e, -r, -c, --index-url, --find-links, ...): write one name==version';
  if (/[a-z][a-z0-9+.-]*:\/\//i.test(body) || /^(git|hg|svn|bzr)\+/i.test(body) || /\s@\s|^[^=<>!~]*@/.test(body)) return 'URLs and direct references are not allowed: write name==version from the package index';
  if (/^[./~\\]/.test(body) || /[/\\]/.test(body) || /\.(whl|tar\.gz|zip)$/i.test(body)) return 'local paths and files are not allowed: write name==version from the package index';
  if (body.includes(';')) return 'environment markers (;) are not allowed: write name==version';
  if (/^[^=<>!~\s[]+\[/.test(body)) return 'extras ([...]) are not allowed: list the packages they add as name==version lines';
  const m = /^([^=<>!~\s]+)\s*==\s*(\S+)$/.exec(body);
  if (!m) {
    if (/(>=|<=|~=|!=|===|[<>])/.test(body) || /==\s*\S+\s*,/.test(body)) return 'must be pinned to one version with == (no ranges)';
    if (NAME.test(body)) return `must be pinned to one version: ${body}==<version>`;
    return 'not a name==version line';
  }
  const [, name, version] = m as unknown as [string, string, string];
  if (!NAME.test(name)) return `"${name}" is not a valid package name`;
  if (version.includes('*')) return 'must be pinned to one version with == (no wildcards)';
  if (version.includes('+')) return 'local versions (+...) are not allowed: use a version from the package index';
  if (!VERSION.test(version)) return `"${version}" is not a version (like 1.2.3)`;
  return { name, version };
}

/**
 * Parses the text. `managed` maps the managed Python's own packages (normalised name -> version):
 * they are already there, and a second copy in the layer would shadow the pinned one, so listing one
 * is a problem. Every bad line is named, not just the first.
 */
export function parsePythonRequirements(text: string, managed: ReadonlyMap<string, string> = new Map()): ParsedRequirements {
  const problems: RequirementProblem[] = [];
  const pins: (PythonPin & { line: number })[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const counted = lines.filter((l) => l.replace(/(^|\s)#.*$/, '').trim() !== '').length;
  if (counted > MAX_REQUIREMENT_LINES) return { ok: false, problems: [{ line: 0, text: '', message: `at most ${MAX_REQUIREMENT_LINES} packages (got ${counted})` }] };
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const body = raw.replace(/(^|\s)#.*$/, '').trim();
    if (body === '') continue;
    if (raw.length > MAX_LINE_CHARS) {
      problems.push({ line, text: raw.slice(0, 60), message: `longer than ${MAX_LINE_CHARS} characters` });
      continue;
    }
    const r = problemOf(body);
    if (typeof r === 'string') {
      problems.push({ line, text: body, message: r });
      continue;
    }
    const key = normalizePackageName(r.name);
    const pinned = managed.get(key);
    if (pinned !== undefined) {
      problems.push({ line, text: body, message: `${r.name} is part of the managed Python (${key}==${pinned}): remove this line` });
      continue;
    }
    const first = pins.find((p) => normalizePackageName(p.name) === key);
    if (first) {
      problems.push({ line, text: body, message: `${r.name} is already listed on line ${first.line}` });
      continue;
    }
    pins.push({ ...r, line });
  }
  if (problems.length > 0) return { ok: false, problems };
  const sorted = pins.map(({ name, version }) => ({ name: normalizePackageName(name), version })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, pins: sorted, text: sorted.map((p) => `${p.name}==${p.version}\n`).join('') };
}

/** "line 3 (-e .): pip options are not allowed ...", one problem a line. */
export function describeRequirementProblems(problems: RequirementProblem[]): string {
  return problems.map((p) => (p.line === 0 ? p.message : `line ${p.line} (${p.text}): ${p.message}`)).join('\n');
}
