import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { z } from 'zod';
import { invalid, ServiceError } from '../errors';
import { sha256Hex } from './manifest';

/**
 * A bundle as one file: a gzipped tar of `bundle.json` (the manifest's sha256, each artifact's
 * sha256 and size, the release notes), `manifest.json` (the canonical manifest, byte for byte as
 * hashed) and `artifacts/<sha256>` (the bytes). Everything named by a hash is checked on the way in.
 */
export const ARCHIVE_FORMAT = 'stagebook.bundle-archive/1';
export const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

export const BundleIndex = z.object({
  format: z.literal(ARCHIVE_FORMAT, { error: `bundle.json: format must be "${ARCHIVE_FORMAT}"` }),
  manifestSha256: z.string().regex(/^[0-9a-f]{64}$/, 'bundle.json: manifestSha256 must be a sha256'),
  manifestSize: z.number().int().nonnegative(),
  artifacts: z.array(z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative(), mediaType: z.string().min(1) })),
  releaseNotes: z.string(),
  builtOverFailure: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type BundleIndex = z.infer<typeof BundleIndex>;

export type ArchiveContent = { index: BundleIndex; manifest: string; artifacts: Map<string, Uint8Array> };

const ENTRY = { index: 'bundle.json', manifest: 'manifest.json', artifactDir: 'artifacts/' } as const;

/** Writes the archive; entry times are fixed so the same bundle exports to the same bytes. */
export async function writeArchive(content: ArchiveContent): Promise<Buffer> {
  const tar = pack();
  const mtime = new Date(0);
  const add = (name: string, data: Buffer | Uint8Array) =>
    new Promise<void>((resolve, reject) => tar.entry({ name, size: data.byteLength, mtime, mode: 0o644 }, Buffer.from(data.buffer, data.byteOffset, data.byteLength), (err) => (err ? reject(err) : resolve())));
  const chunks: Buffer[] = [];
  const gz = createGzip();
  gz.on('data', (c: Buffer) => chunks.push(c));
  const done = pipeline(tar, gz);
  await add(ENTRY.index, Buffer.from(JSON.stringify(content.index, null, 2)));
  await add(ENTRY.manifest, Buffer.from(content.manifest));
  for (const [sha, bytes] of [...content.artifacts].sort(([a], [b]) => (a < b ? -1 : 1))) await add(`${ENTRY.artifactDir}${sha}`, bytes);
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

const bad = (msg: string) => invalid(`the bundle file is not valid: ${msg}`, 'file');
const tooLarge = () => new ServiceError('PayloadTooLarge', `the bundle file is larger than ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB unpacked`);
/** Every name an export writes; anything else (`../x`, `/etc/x`, `artifacts/../x`) is refused. */
const ENTRY_NAME = /^(bundle\.json|manifest\.json|artifacts\/[0-9a-f]{64})$/;

/**
 * Reads and verifies an archive completely before anything is stored: the file is whole (gzip and
 * tar end where they should), holds exactly the entries bundle.json lists, and every hash and size
 * matches. Throws Invalid naming the first thing that failed.
 */
export async function readArchive(body: AsyncIterable<Buffer | Uint8Array> | Uint8Array): Promise<ArchiveContent> {
  return verifyEntries(await readEntries(body));
}

/** The archive's entries, each judged on its tar header and the whole within the size budget, unzipped in memory. */
async function readEntries(body: AsyncIterable<Buffer | Uint8Array> | Uint8Array): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const tar = extract();
  let total = 0;
  tar.on('entry', (header, stream, next) => {
    // Judged on the header, before a byte is buffered: only the names an export writes, as
    // regular files, once each, within the size budget. Nothing is ever written to disk, but
    // refusing here keeps a hostile file from making the server hold 512 MiB to say no.
    const refuse = (err: Error) => {
      // The entry stream is destroyed with the archive; without a listener its error would be
      // unhandled and take the process down.
      stream.on('error', () => undefined);
      stream.resume();
      next(err);
    };
    if (header.type !== 'file') return refuse(bad(`unexpected ${header.type} entry "${header.name}"${header.linkname ? ` (-> "${header.linkname}")` : ''}: only regular files`));
    if (!ENTRY_NAME.test(header.name)) return refuse(bad(`unexpected entry "${header.name}": only bundle.json, manifest.json and artifacts/<sha256>`));
    if (entries.has(header.name)) return refuse(bad(`entry "${header.name}" appears twice`));
    if (total + (header.size ?? 0) > MAX_ARCHIVE_BYTES) return refuse(tooLarge());
    const chunks: Buffer[] = [];
    stream.on('data', (data: unknown) => {
      const c = data as Buffer;
      total += c.byteLength;
      if (total > MAX_ARCHIVE_BYTES) stream.destroy(tooLarge());
      else chunks.push(c);
    });
    stream.on('end', () => {
      entries.set(header.name, Buffer.concat(chunks));
      next();
    });
    stream.on('error', next);
  });
  const source = body instanceof Uint8Array ? Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]) : Readable.from(body);
  // Entries are counted above; this counts everything gunzip produces (padding, headers, zeros
  // after the end of the archive), so a small file that inflates for ever is cut off too.
  let inflated = 0;
  const inflateLimit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      inflated += chunk.byteLength;
      if (inflated > MAX_ARCHIVE_BYTES + 1024 * 1024) done(tooLarge());
      else done(null, chunk);
    },
  });
  try {
    await pipeline(source, createGunzip(), inflateLimit, tar);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    const msg = (err as Error).message;
    if (/unexpected end of (file|data)/i.test(msg)) throw bad('the file is truncated (the gzip stream ends early)');
    throw bad(`it is not a gzipped tar archive (${msg})`);
  }
  return entries;
}

/** bundle.json, then the manifest and every artifact against the sizes and hashes it lists; nothing unlisted. */
function verifyEntries(entries: Map<string, Buffer>): ArchiveContent {
  const indexBytes = entries.get(ENTRY.index);
  if (!indexBytes) throw bad('bundle.json is missing');
  let indexJson: unknown;
  try {
    indexJson = JSON.parse(indexBytes.toString('utf8'));
  } catch {
    throw bad('bundle.json is not JSON');
  }
  const parsed = BundleIndex.safeParse(indexJson);
  if (!parsed.success) throw bad(`bundle.json: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const index = parsed.data;

  const manifestBytes = entries.get(ENTRY.manifest);
  if (!manifestBytes) throw bad('manifest.json is missing');
  if (manifestBytes.byteLength !== index.manifestSize) throw bad(`manifest.json is ${manifestBytes.byteLength} bytes; bundle.json says ${index.manifestSize}`);
  const manifestSha = sha256Hex(manifestBytes);
  if (manifestSha !== index.manifestSha256) throw bad(`manifest.json has sha256 ${manifestSha}; bundle.json says ${index.manifestSha256}`);

  const artifacts = new Map<string, Uint8Array>();
  for (const a of index.artifacts) {
    const bytes = entries.get(`${ENTRY.artifactDir}${a.sha256}`);
    if (!bytes) throw bad(`artifact ${a.sha256} is missing`);
    if (bytes.byteLength !== a.size) throw bad(`artifact ${a.sha256} is ${bytes.byteLength} bytes; bundle.json says ${a.size}`);
    const sha = sha256Hex(bytes);
    if (sha !== a.sha256) throw bad(`artifact ${a.sha256} has sha256 ${sha}: its bytes were changed`);
    artifacts.set(a.sha256, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  const expected = new Set([ENTRY.index, ENTRY.manifest, ...index.artifacts.map((a) => `${ENTRY.artifactDir}${a.sha256}`)]);
  for (const name of entries.keys()) if (!expected.has(name)) throw bad(`unexpected entry "${name}" (bundle.json does not list it)`);
  return { index, manifest: manifestBytes.toString('utf8'), artifacts };
}
