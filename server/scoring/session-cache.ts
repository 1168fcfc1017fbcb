import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { FeatureSchema } from '../ml/onnx/feature-schema';
import { type BatchModel, toCodeColumns } from './category-codes';
import { decodeModel } from '../ml/onnx/proto';
import { assertSelfContainedOnnx } from '../ml/onnx/safety';
import { type InputColumn, recordsToColumns } from './records';
import type { RunOutputs } from './worker-pool';

export { RecordInputError, type RecordIssue } from './records';

/**
 * onnxruntime sessions by artifact sha256: each model file is loaded once per process and shared
 * by every request. One thread per session: a scoring node serves many small requests
 * concurrently, and intra-op threads would only contend for the same cores.
 */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/**
 * Batch scoring's sessions (score-dataset.ts): one large run per batch, on the main thread, which
 * stops reading and writing Postgres meanwhile, so the other cores would idle; intra-op threads
 * let onnxruntime use them (tree ensembles split the rows between threads; the same sums per row).
 * No spinning: between runs the threads sleep instead of burning the CPU Postgres needs.
 */
export const BATCH_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  ...SESSION_OPTIONS,
  intraOpNumThreads: Math.min(4, availableParallelism()),
  extra: { session: { intra_op: { allow_spinning: '0' } } },
};

export class ArtifactIntegrityError extends Error {
  constructor(expected: string, actual: string) {
    super(`artifact bytes hash to ${actual}, not ${expected}`);
    this.name = 'ArtifactIntegrityError';
  }
}

/**
 * The bytes, once they hash to `sha256` and hold a self-contained model. Imports refuse other files
 * already; checked again before every session because whatever reaches onnxruntime may make it
 * open files under the working directory or load native code.
 */
export function verifiedModelBytes(sha256: string, bytes: Uint8Array): Uint8Array {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new ArtifactIntegrityError(sha256, actual);
  assertSelfContainedOnnx(decodeModel(bytes));
  return bytes;
}

type Open<S> = (bytes: Uint8Array, options: ort.InferenceSession.SessionOptions) => Promise<S>;
const openSession: Open<ort.InferenceSession> = (bytes, options) => ort.InferenceSession.create(bytes, options);

/** Sessions by artifact sha256; `open` makes one from verified bytes (batch scoring's opens a BatchModel). */
export class SessionCache<S = ort.InferenceSession> {
  private readonly sessions = new Map<string, Promise<S>>();
  private readonly maxSessions: number;
  private readonly options: ort.InferenceSession.SessionOptions;
  private readonly open: Open<S>;
  constructor(opts: { maxSessions?: number; sessionOptions?: ort.InferenceSession.SessionOptions } & (S extends ort.InferenceSession ? { open?: Open<S> } : { open: Open<S> }) = {} as never) {
    this.maxSessions = opts.maxSessions ?? 64;
    this.options = opts.sessionOptions ?? SESSION_OPTIONS;
    this.open = opts.open ?? (openSession as unknown as Open<S>);
  }

  /**
   * The session for an artifact, loading it on first use. Concurrent callers share one load; a
   * failed load is forgotten so the next call retries. The bytes must hash to the key.
   */
  get(sha256: string, load: () => Promise<Uint8Array> | Uint8Array): Promise<S> {
    const hit = this.sessions.get(sha256);
    if (hit) {
      // Most recently used last: eviction takes the first entry.
      this.sessions.delete(sha256);
      this.sessions.set(sha256, hit);
      return hit;
    }
    const loading = (async () => this.open(verifiedModelBytes(sha256, await load()), this.options))();
    this.sessions.set(sha256, loading);
    loading.catch(() => {
      if (this.sessions.get(sha256) === loading) this.sessions.delete(sha256);
    });
    while (this.sessions.size > this.maxSessions) {
      // Dropped, not released: requests still running on it keep it alive, and onnxruntime-node
      // frees the native session when the object is garbage-collected.
      this.sessions.delete(this.sessions.keys().next().value!);
    }
    return loading;
  }

  has(sha256: string): boolean {
    return this.sessions.has(sha256);
  }

  evict(sha256: string): void {
    this.sessions.delete(sha256);
  }

  get size(): number {
    return this.sessions.size;
  }
}

export type Prediction = { label: string; probabilities: { neg: number; pos: number } };

/**
 * Scores raw JSON records: validates each against the feature schema (RecordInputError names the
 * record index and field: missing feature, wrong type; an unknown category is accepted and handled
 * as the model handles it), runs the session once for the batch and reads label and probabilities.
 * A batch model (category-codes.ts) gets its categories as codes; it never goes to `offload`,
 * whose threads have sessions of the model as stored.
 */
export async function predict(session: ort.InferenceSession | BatchModel, schema: FeatureSchema, records: readonly unknown[], offload?: Offload | null): Promise<Prediction[]> {
  if (records.length === 0) return [];
  const columns = recordsToColumns(schema, records);
  const { label: labelName, probabilities: probabilitiesName } = schema.outputs;
  const outputs = [labelName, probabilitiesName];
  if ('categoryCodes' in session) return readPredictions(schema, records.length, await runColumns(session.session, toCodeColumns(columns, session.categoryCodes), outputs));
  const far = offload?.(columns, outputs);
  if (far) return readPredictions(schema, records.length, await far);
  return readPredictions(schema, records.length, await runColumns(session, columns, outputs));
}

function runColumns(session: ort.InferenceSession, columns: InputColumn[], outputs: string[]): Promise<RunOutputs> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const c of columns) feeds[c.input] = toTensor(c);
  return session.run(feeds, outputs);
}

/**
 * Where a large run goes instead of the calling thread (a worker thread of the scoring pool, see
 * worker-pool.ts), or null to run it here.
 */
export type Offload = (columns: InputColumn[], outputs: string[]) => Promise<RunOutputs> | null;

function readPredictions(schema: FeatureSchema, n: number, out: RunOutputs): Prediction[] {
  const { label: labelName, probabilities: probabilitiesName } = schema.outputs;
  const labels = out[labelName]!.data as BigInt64Array | string[];
  const probabilities = out[probabilitiesName]!.data as Float32Array | Float64Array;
  const pos = schema.positiveIndex;
  return Array.from({ length: n }, (_, i) => ({
    label: labelOf(schema, labels[i]!),
    probabilities: { neg: probabilities[2 * i + 1 - pos]!, pos: probabilities[2 * i + pos]! },
  }));
}

function toTensor(c: InputColumn): ort.Tensor {
  return new ort.Tensor(c.type, c.data, c.dims);
}

/** The class name a label output value stands for. */
export function labelOf(schema: FeatureSchema, value: bigint | string): string {
  if (typeof value === 'string') return value;
  const index = schema.labelValues?.indexOf(Number(value)) ?? -1;
  return index >= 0 ? schema.classes[index]! : String(value);
}
