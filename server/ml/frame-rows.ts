/**
 * Row hashes of a model frame (the rows a Python model learnt from, as it saw them: numbers and
 * text, plus the label), for the seen-rows digest of server/ml/seen-rows.ts. A Python cell computes
 * its training rows from its inputs in any way it likes, so its rows are not rows of a dataset and
 * Postgres's `hashtext` of a dataset row cannot name them: these hashes are of the frame's values
 * instead, a domain of their own (`seenRows.of = 'model-frame'`), compared only with hashes made here.
 *
 * FNV-1a (32-bit) over each value's bytes: a number as its float64 (every NaN the same, -0 as 0), a
 * text as its UTF-16 code units and its length, then the label. Not a cryptographic hash: two
 * distinct rows collide with probability ~ n / 2^32 per lookup, as with `hashtext`.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function frameRowHashes(columns: readonly (Float64Array | readonly string[])[], y: ArrayLike<number>, rows: number): Int32Array {
  const out = new Int32Array(rows);
  const f64 = new Float64Array(1);
  const bytes = new Uint8Array(f64.buffer);
  for (let r = 0; r < rows; r++) {
    let h = FNV_OFFSET;
    const mix = (b: number) => {
      h = Math.imul(h ^ b, FNV_PRIME);
    };
    for (const col of columns) {
      const v = col[r]!;
      if (typeof v === 'number') {
        mix(1);
        f64[0] = Number.isNaN(v) ? Number.NaN : v === 0 ? 0 : v;
        for (let k = 0; k < 8; k++) mix(bytes[k]!);
      } else {
        mix(2);
        for (let k = 0; k < v.length; k++) {
          const c = v.charCodeAt(k);
          mix(c & 0xff);
          mix(c >>> 8);
        }
        const len = v.length;
        mix(len & 0xff);
        mix((len >>> 8) & 0xff);
        mix((len >>> 16) & 0xff);
      }
    }
    mix(3);
    mix(y[r]! & 0xff);
    out[r] = h | 0;
  }
  return out;
}
