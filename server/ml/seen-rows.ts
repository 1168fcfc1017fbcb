/**
 * Which rows a model learnt from, kept small enough to store with every trained version: the sorted,
 * distinct 32-bit hashes of its training rows (Postgres `hashtext` of the whole row's text, computed
 * while the rows are read). A retrain gate uses it to judge the champion only on rows it never saw:
 * datasets carry no row id, and production data usually still holds the champion's training rows,
 * where the champion looks better than it is.
 *
 * A row is "seen" when a row with exactly the same values was trained on (a duplicate row is the
 * same evidence). Two different rows share a hash with probability n / 2^32 per lookup (0.02% with a
 * million training rows), so a handful of unseen rows may be dropped from the comparison, never a
 * seen one kept.
 */

const MAGIC = 0x53425231; // "SBR1"

/** The artifact's media type (stored by sha256 like ONNX files; bundles carry it with the version). */
export const SEEN_ROWS_MEDIA_TYPE = 'application/x-stagebook-seen-rows';

/** The encoded size of a digest of `count` hashes. */
export const seenRowsBytes = (count: number) => 8 + 4 * count;

/** The distinct hashes of `rows` (indices into `hashes`), sorted ascending. */
export function seenRowSet(hashes: Int32Array, rows: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = hashes[rows[i]!]! >>> 0;
  out.sort();
  let n = 0;
  for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[n - 1]) out[n++] = out[i]!;
  return out.slice(0, n);
}

export function hasRow(set: Uint32Array, hash: number): boolean {
  const h = hash >>> 0;
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = set[mid]!;
    if (v === h) return true;
    if (v < h) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** `rows` without those whose hash is in `seen`, in their order. */
export function unseenRows(seen: Uint32Array, hashes: Int32Array, rows: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) if (!hasRow(seen, hashes[rows[i]!]!)) out.push(rows[i]!);
  return out;
}

/** Little-endian: magic, count, then the hashes. */
export function encodeSeenRows(set: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(seenRowsBytes(set.length));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, set.length, true);
  for (let i = 0; i < set.length; i++) view.setUint32(8 + i * 4, set[i]!, true);
  return bytes;
}

export function decodeSeenRows(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a seen-rows digest');
  const n = view.getUint32(4, true);
  if (bytes.byteLength !== seenRowsBytes(n)) throw new Error(`seen-rows digest: ${n} hashes announced, ${(bytes.byteLength - 8) / 4} present`);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(8 + i * 4, true);
  return out;
}
