import type { PythonModelEntry } from './python-model-manifest';

/**
 * The labelled rows a Python model was fitted and judged on, as the model saw them (the features as
 * an endpoint sends them: numbers, with NaN for null, and text), with each row's label (1 = the
 * positive class) and whether it is in the holdout. stagebook.register_model writes it into the
 * scratch directory one file a column; the server scores these rows itself with onnxruntime (the
 * retrain gate, permutation importance) and keeps their hashes (seen rows) and a drift reference.
 */
export type ModelFrame = {
  rows: number;
  columns: ({ name: string; kind: 'number'; values: Float64Array } | { name: string; kind: 'text'; values: string[] })[];
  y: Uint8Array;
  holdout: Uint8Array;
};

/** Reads a scratch file (no symlinks, regular files only, at most `maxBytes`). */
export type ScratchReader = (file: string, maxBytes: number) => Promise<Buffer>;

/**
 * Reads and checks the frame the cell's process wrote: every file must hold exactly `rows` values
 * of its kind, labels and the holdout mask only 0 or 1, the columns exactly the model's features.
 * Throws an Error saying what is wrong (the caller names the model).
 */
export async function readModelFrame(entry: PythonModelEntry, read: ScratchReader): Promise<ModelFrame> {
  const spec = entry.frame;
  const n = spec.rows;
  const names = spec.columns.map((c) => c.name);
  if (names.length !== entry.features.length || names.some((c, i) => c !== entry.features[i])) throw new Error(`the frame's columns (${names.join(', ')}) are not the model's features`);
  const columns: ModelFrame['columns'] = [];
  for (const c of spec.columns) {
    if (c.kind === 'number') {
      const bytes = await read(c.file, 8 * n);
      if (bytes.byteLength !== 8 * n) throw new Error(`${c.file} holds ${bytes.byteLength / 8} numbers, not ${n}`);
      const values = new Float64Array(n);
      new Uint8Array(values.buffer).set(bytes);
      columns.push({ name: c.name, kind: 'number', values });
    } else {
      // A JSON array of n strings: at most a few hundred bytes a value.
      const parsed: unknown = JSON.parse((await read(c.file, 64 + 1024 * n)).toString('utf8'));
      if (!Array.isArray(parsed) || parsed.length !== n || !parsed.every((v) => typeof v === 'string')) throw new Error(`${c.file} is not an array of ${n} strings`);
      columns.push({ name: c.name, kind: 'text', values: parsed as string[] });
    }
  }
  const flags = async (file: string) => {
    const bytes = await read(file, n);
    if (bytes.byteLength !== n || bytes.some((b) => b > 1)) throw new Error(`${file} is not ${n} bytes of 0 or 1`);
    return new Uint8Array(bytes);
  };
  const y = await flags(spec.y);
  const holdout = await flags(spec.holdout);
  return { rows: n, columns, y, holdout };
}

/** Rows of the frame (indices) in or out of the holdout. */
export function frameRows(frame: ModelFrame, part: 'holdout' | 'training'): number[] {
  const want = part === 'holdout' ? 1 : 0;
  const out: number[] = [];
  for (let i = 0; i < frame.rows; i++) if (frame.holdout[i] === want) out.push(i);
  return out;
}

/** The records an endpoint would receive for these rows (null for a missing number). */
export function frameRecords(frame: ModelFrame, rows: readonly number[], features: readonly string[] = frame.columns.map((c) => c.name)): Record<string, number | string | null>[] {
  const cols = features.map((f) => frame.columns.find((c) => c.name === f)!);
  return rows.map((r) => {
    const rec: Record<string, number | string | null> = {};
    for (const c of cols) {
      const v = c.values[r]!;
      rec[c.name] = typeof v === 'number' && Number.isNaN(v) ? null : v;
    }
    return rec;
  });
}
