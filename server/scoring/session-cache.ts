import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { FeatureSchema } from '../ml/onnx/feature-schema';
import { decodeModel } from '../ml/onnx/proto';
import { assertSelfContainedOnnx } from '../ml/onnx/safety';
import { type InputColumn, recordsToColumns } from './records';

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

export class ArtifactIntegrityError extends Error {
  constructor(expected: string, actual: string) {
    super(`artifact bytes hash to ${actual}, not ${expected}`);
    this.name = 'ArtifactIntegrityError';
  }
}

export class SessionCache {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly maxSessions: number;
  constructor(opts: { maxSessions?: number } = {}) {
    this.maxSessions = opts.maxSessions ?? 64;
  }

  /**
   * The session for an artifact, loading it on first use. Concurrent callers share one load; a
   * failed load is forgotten so the next call retries. The bytes must hash to the key.
   */
  get(sha256: string, load: () => Promise<Uint8Array> | Uint8Array): Promise<ort.InferenceSession> {
    const hit = this.sessions.get(sha256);
    if (hit) {
      // Most recently used last: eviction takes the first entry.
      this.sessions.delete(sha256);
      this.sessions.set(sha256, hit);
      return hit;
    }
    const loading = (async () => {
      const bytes = await load();
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha256) throw new ArtifactIntegrityError(sha256, actual);
      // Imports refuse such files already; checked again here because whatever reaches
      // onnxruntime may make it open files under the working directory or load native code.
      assertSelfContainedOnnx(decodeModel(bytes));
      return ort.InferenceSession.create(bytes, SESSION_OPTIONS);
    })();
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
 */
export async function predict(session: ort.InferenceSession, schema: FeatureSchema, records: readonly unknown[]): Promise<Prediction[]> {
  if (records.length === 0) return [];
  const feeds: Record<string, ort.Tensor> = {};
  for (const c of recordsToColumns(schema, records)) feeds[c.input] = toTensor(c);
  const { label: labelName, probabilities: probabilitiesName } = schema.outputs;
  const out = await session.run(feeds, [labelName, probabilitiesName]);
  const labels = out[labelName]!.data as BigInt64Array | string[];
  const probabilities = out[probabilitiesName]!.data as Float32Array | Float64Array;
  const pos = schema.positiveIndex;
  return Array.from({ length: records.length }, (_, i) => ({
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
