import { endianness } from 'node:os';
import * as ort from 'onnxruntime-node';
import pg from 'pg';
import type { CopyStreamQuery } from 'pg-copy-streams';
import type { DatasetColumnSpec } from '@/db/schema';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import type { BatchModel } from '@/server/scoring/category-codes';
import { type InputColumn, RecordInputError, recordsToColumns } from '@/server/scoring/records';
import { labelOf } from '@/server/scoring/session-cache';
import type { RunOutputs } from '@/server/scoring/worker-pool';
import { copyErrorLine } from '../datasets/copy-errors';
import { CopyOutStream } from './copy-out';
import { ColumnDecoder, type PlannedFeature, type SourceKind, valueAt } from './copy-columns';
import { ident } from '../datasets/storage';
import { invalid } from '../errors';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, encodeTuples, TupleSplitter, type TupleBatch } from './pg-binary-copy';

/**
 * The fast path of batch scoring on a Postgres server: the source streams out of one connection as
 * binary COPY (its own read-only transaction, as the project's role), each batch's feature fields
 * are decoded straight into the model's input tensors (no row objects), onnxruntime scores the
 * batch, and the tuples go back, untouched, with the outputs appended, into the staging table
 * through binary COPY FROM STDIN on the caller's transaction. Memory: about three batches.
 *
 * onnxruntime-node runs a session on the calling thread, so while a batch scores neither stream
 * moves beyond what the sockets buffer; the session's intra-op threads (BATCH_SESSION_OPTIONS) put
 * the cores Postgres leaves idle meanwhile to work. Between runs the previous batch's write drains
 * while the next one is read and decoded.
 *
 * Same results as the cursor path (score-dataset.ts): the numbers a model sees are the values
 * `::float8` gives (cast in the SELECT for types decoded here), NULL and unknown categories go
 * through unchanged, and any batch with a value the model cannot take is re-validated with
 * recordsToColumns in the cursor path's batches, so the error names the same row and field.
 */

/** Rows per onnxruntime call: large enough that the call's own overhead is noise, small enough to stream. */
export const COPY_BATCH_ROWS = 50_000;

const KIND_OF_OID = new Map<number, SourceKind>([
  [701, 'float8'],
  [700, 'float4'],
  [20, 'int8'],
  [23, 'int4'],
  [21, 'int2'],
  [16, 'bool'],
  [25, 'text'],
  [1043, 'text'], // varchar
  [1042, 'text'], // bpchar
]);

export type CopyPlan = {
  /** `d.*` then the casts the decoder needs. */
  selectList: string;
  fieldCount: number;
  passFields: number;
  features: PlannedFeature[];
};

/**
 * How to read the features from the table's columns (in table order, as `d.*` lists them), or null
 * when a feature's column is of a type this path does not decode (the cursor path takes it).
 */
export function planCopy(table: readonly { name: string; typeId: number }[], specs: readonly DatasetColumnSpec[], schema: FeatureSchema): CopyPlan | null {
  const casts: string[] = [];
  const features: CopyPlan['features'] = [];
  for (const feature of schema.inputs) {
    const spec = specs.find((c) => c.name === feature.name);
    const field = table.findIndex((c) => c.name === feature.name);
    if (!spec || field < 0) return null;
    const oid = table[field]!.typeId;
    const native = KIND_OF_OID.get(oid);
    if (spec.type === 'integer' || spec.type === 'numeric') {
      if (native && native !== 'bool' && native !== 'text') features.push({ feature, field, kind: native });
      else {
        features.push({ feature, field: table.length + casts.length, kind: 'float8' });
        casts.push(`d.${ident(feature.name)}::float8`);
      }
    } else if (spec.type === 'boolean' && native === 'bool') features.push({ feature, field, kind: 'bool' });
    else if (spec.type === 'text' && native === 'text') features.push({ feature, field, kind: 'text' });
    else return null;
  }
  return { selectList: ['d.*', ...casts].join(', '), fieldCount: table.length + casts.length, passFields: table.length, features };
}

export type CopyScoring = {
  pool: pg.Pool;
  roleName: string;
  sourceTable: string;
  /** Already created, with the source's columns then label, probability and version. */
  stagingTable: string;
  sourceName: string;
  /** The dataset being written, for the error naming a row Postgres refuses. */
  outputName: string;
  plan: CopyPlan;
  /** The batch session, with the string inputs it takes as codes. */
  model: BatchModel;
  schema: FeatureSchema;
  version: number;
  copyFromStdin: (statement: string) => CopyStreamQuery;
  /** Row numbers of the cursor path's batches, which validation errors are reported in. */
  reportBatchRows: number;
  signal?: AbortSignal;
  onRows?: (rows: number) => void;
};

/** Scores the source into the staging table; returns the rows written. */
export async function scoreByCopy(job: CopyScoring): Promise<number> {
  const { plan, signal } = job;
  const reader = new pg.Client(clientConfigOf(job.pool));
  reader.on('error', () => {
    // A dropped reader surfaces through its COPY stream.
  });
  await reader.connect();
  const { writer, writerDone, write, throwIfRefused, refused } = openCopyWriter(job);
  const onAbort = () => source?.destroy(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
  let source: CopyOutStream | undefined;
  try {
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await reader.query(`SET LOCAL ROLE ${ident(job.roleName)}`);
    signal?.throwIfAborted();
    source = reader.query(new CopyOutStream(`COPY (SELECT ${plan.selectList} FROM ${job.sourceTable} AS d) TO STDOUT (FORMAT binary)`));
    signal?.addEventListener('abort', onAbort, { once: true });
    const splitter = new TupleSplitter({ fieldCount: plan.fieldCount, passFields: plan.passFields, pick: plan.features.map((f) => f.field), batchRows: COPY_BATCH_ROWS });
    const labels = new LabelBytes(job.schema);
    const outputs = new OutputBuffers();
    const decoder = new ColumnDecoder(job.schema, plan.features, job.model.categoryCodes);
    await write(BINARY_COPY_HEADER);
    // One batch scores while the previous one is written and the next one read.
    let previous: { batch: TupleBatch; scored: Promise<RunOutputs> } | null = null;
    // The write of the batch before: waiting for its drain before reading on would leave the
    // server's COPY FROM idle while we read, and its COPY TO idle while it drains (one batch of
    // memory more lets both run at once).
    let draining: Promise<void> = Promise.resolve();
    let written = 0;
    const flush = async () => {
      if (!previous) return;
      const { batch, scored } = previous;
      previous = null;
      const bytes = encodeScored(job, labels, batch, await scored, outputs.take());
      splitter.recycle(batch);
      await draining;
      outputs.sent(bytes);
      draining = write(bytes);
      draining.catch(() => {});
      written += batch.rows;
      job.onRows?.(written);
    };
    const score = async (batch: TupleBatch) => {
      signal?.throwIfAborted();
      if (batch.rows === 0) return;
      const columns = decoder.columns(batch);
      if (!columns) throw validationError(job, batch);
      const scored = runBatch(job, columns);
      scored.catch(() => {});
      await flush();
      previous = { batch, scored };
    };
    for await (const chunk of source as AsyncIterable<Buffer>) {
      for (const batch of splitter.push(chunk)) await score(batch);
    }
    await score(splitter.end());
    await flush();
    await draining;
    signal?.throwIfAborted();
    // No write once Postgres has refused (see openCopyWriter), the trailer included.
    throwIfRefused();
    writer.end(BINARY_COPY_TRAILER);
    await writerDone;
    await reader.query('COMMIT');
    return written;
  } catch (err) {
    // After Postgres's refusal the COPY is over on the server and pg-copy-streams has let go of the
    // connection: destroying the stream then would send a CopyFail through a connection it no
    // longer holds (a TypeError).
    if (!writer.writableFinished && !refused()) {
      writer.destroy(err instanceof Error ? err : new Error(String(err)));
      // The server answers the CopyFail; only then can the caller's transaction roll back.
      await new Promise<void>((resolve) => (writer.closed || writer.errored ? resolve() : writer.once('close', () => resolve())));
    }
    signal?.throwIfAborted();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await reader.end().catch(() => {});
  }
}

/**
 * COPY FROM STDIN into the staging table, with backpressure: `write` waits for a drain and throws
 * the writer's error. When Postgres refuses (an ErrorResponse mid-stream), pg-copy-streams emits
 * 'error' and drops its connection without destroying the stream, so any later write or end would
 * throw a TypeError: every write checks for the refusal first.
 */
function openCopyWriter(job: CopyScoring) {
  const writer = job.copyFromStdin(`COPY ${job.stagingTable} FROM STDIN (FORMAT binary)`);
  let writerError: Error | undefined;
  const writerDone = new Promise<void>((resolve, reject) => {
    writer.on('finish', resolve);
    writer.on('error', (e: Error) => {
      writerError ??= refusalOf(job, e);
      reject(writerError);
    });
  });
  writerDone.catch(() => {});
  const throwIfRefused = () => {
    if (writerError) throw writerError;
  };
  const write = async (bytes: Buffer) => {
    throwIfRefused();
    if (writer.write(bytes)) return;
    await Promise.race([new Promise((resolve) => writer.once('drain', resolve)), writerDone]);
    throwIfRefused();
  };
  return { writer, writerDone, write, throwIfRefused, refused: () => writerError !== undefined };
}

/**
 * A value Postgres refuses in the scored rows (a data exception or a broken constraint, e.g. of a
 * domain on one of the source's columns) as the error naming its row: the tuples go out in the
 * source's scan order, so COPY's line is the row. Anything else (a cancelled statement, a lost
 * connection) stays as it is.
 */
function refusalOf(job: CopyScoring, err: Error): Error {
  const at = copyErrorLine(err);
  const code = (err as { code?: unknown }).code;
  if (!at || typeof code !== 'string' || !(code.startsWith('22') || code.startsWith('23'))) return err;
  return invalid(`row ${at.line} of "${job.sourceName}" could not be written to "${job.outputName}": ${at.column ? `column ${at.column}: ` : ''}${at.message}`, 'dataset');
}

function clientConfigOf(pool: pg.Pool): pg.ClientConfig {
  const o = (pool as unknown as { options: pg.PoolConfig }).options;
  return o.connectionString
    ? { connectionString: o.connectionString, ...(o.ssl === undefined ? {} : { ssl: o.ssl }) }
    : { host: o.host, port: o.port, database: o.database, user: o.user, password: o.password, ssl: o.ssl };
}

/** The batch's tuples with its scores appended: the label, the positive class's probability, the model version. */
function encodeScored(job: CopyScoring, labels: LabelBytes, batch: TupleBatch, out: RunOutputs, into: Buffer | undefined): Buffer {
  const label = out[job.schema.outputs.label]!.data as BigInt64Array | string[];
  const probabilities = out[job.schema.outputs.probabilities]!.data as Float32Array | Float64Array;
  const pos = job.schema.positiveIndex;
  return encodeTuples(batch, job.plan.passFields, [{ bytes: labels.rows(label, batch.rows) }, { numbers: probabilities, stride: 2, offset: pos }, { int8: BigInt(job.version) }], into);
}

/** Below this, a written buffer is not reused: the socket may still hold one smaller than its high-water mark after accepting it. */
const MIN_REUSED_OUTPUT = 1 << 20;

/**
 * The encoded batches' buffers, each reused for the batch after next (megabytes a batch: allocated
 * anew each time, they kept V8's collector marking the heap about once a batch). A buffer is free
 * once the write after it has been handed over: `write` resolves only when the COPY stream and the
 * socket under it have taken the bytes (a write larger than their high-water marks is accepted
 * only once written, or after their drain).
 */
class OutputBuffers {
  private spare: Buffer | undefined;
  private inFlight: Buffer | undefined;

  take(): Buffer | undefined {
    const spare = this.spare;
    this.spare = undefined;
    return spare;
  }

  /** `bytes` go to the writer now; the ones before were written. */
  sent(bytes: Buffer): void {
    const done = this.inFlight;
    if (done && done.length >= MIN_REUSED_OUTPUT) this.spare = Buffer.from(done.buffer, done.byteOffset, done.buffer.byteLength - done.byteOffset);
    this.inFlight = bytes;
  }
}

/** The class name's UTF-8 bytes per label value, encoded once. */
class LabelBytes {
  private readonly cache = new Map<bigint | string, Buffer>();
  private readonly small: Buffer[] = [];
  /** Reused: each batch's rows are encoded before the next batch's. */
  private out: Buffer[] = [];
  constructor(private readonly schema: FeatureSchema) {}

  /** Each row's label bytes. */
  rows(label: BigInt64Array | string[], n: number): Buffer[] {
    if (this.out.length < n) this.out = new Array<Buffer>(n);
    const out = this.out;
    if (label instanceof BigInt64Array && LITTLE_ENDIAN) {
      // Class values are small: read the low word (no BigInt made per row) when the high word is its sign.
      const words = new Int32Array(label.buffer, label.byteOffset, 2 * n);
      for (let r = 0; r < n; r++) {
        const lo = words[2 * r]!;
        out[r] = lo >= 0 && lo < 256 && words[2 * r + 1] === 0 ? (this.small[lo] ??= this.of(BigInt(lo))) : this.of(label[r]!);
      }
    } else for (let r = 0; r < n; r++) out[r] = this.of(label[r]!);
    return out;
  }

  private of(value: bigint | string): Buffer {
    let bytes = this.cache.get(value);
    if (!bytes) this.cache.set(value, (bytes = Buffer.from(labelOf(this.schema, value), 'utf8')));
    return bytes;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Scores a batch's columns on this thread (a scoring pool thread measured slower on 2 cores: see score-dataset.ts). */
async function runBatch(job: CopyScoring, columns: InputColumn[]): Promise<RunOutputs> {
  const outputs = [job.schema.outputs.label, job.schema.outputs.probabilities];
  const feeds: Record<string, ort.Tensor> = {};
  for (const c of columns) feeds[c.input] = new ort.Tensor(c.type, c.data, c.dims);
  return job.model.session.run(feeds, outputs);
}

/**
 * The error the cursor path throws for this batch: its records, validated in that path's batches
 * (the first issue of the first bad batch; issues are capped per batch, so the batching matters).
 */
function validationError(job: CopyScoring, batch: TupleBatch): Error {
  const width = job.plan.features.length;
  const records = Array.from({ length: batch.rows }, (_, i) => Object.fromEntries(job.plan.features.map(({ feature, kind }, k) => [feature.name, valueAt(kind, batch, i * width + k)])));
  const step = job.reportBatchRows;
  // Batches of this path start at multiples of COPY_BATCH_ROWS, a multiple of the cursor's batch.
  for (let start = 0; start < records.length; start += step) {
    try {
      recordsToColumns(job.schema, records.slice(start, start + step));
    } catch (err) {
      if (!(err instanceof RecordInputError)) throw err;
      const first = err.issues[0]!;
      return invalid(`row ${batch.firstRow + start + first.record + 1} of "${job.sourceName}" cannot be scored: ${first.field}: ${first.message}`, 'dataset');
    }
  }
  return new Error('a value was refused while decoding but recordsToColumns accepts the batch');
}
