import type { z } from 'zod';
import { MlInputError } from '@/server/ml/errors';
import { describeOnnxModel } from '@/server/ml/onnx/describe';
import type { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { predict } from '@/server/scoring/session-cache';
import { auditMetaOf, type ServiceCtx } from '../context';
import { invalid, ServiceError } from '../errors';
import { scoringRuntime } from '../scoring/runtime';
import { sha256Of } from './artifacts';
import { registerModelVersion, type RegisteredVersion } from './register-version';
import type { ImportModelQuery, ModelRef } from './schemas';

import { MAX_PYTHON_MODEL_BYTES } from '../cells/python-model-manifest';

export const MAX_MODEL_BYTES = MAX_PYTHON_MODEL_BYTES;

async function readAll(body: AsyncIterable<Buffer | Uint8Array> | Uint8Array): Promise<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.byteLength > MAX_MODEL_BYTES) throw tooLarge();
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_MODEL_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const tooLarge = () => new ServiceError('PayloadTooLarge', `the model file is larger than ${MAX_MODEL_BYTES / 1024 / 1024} MiB`);

/** A record every input accepts: the check that the graph runs end to end, not that it is right. */
function probeRecord(schema: FeatureSchema): Record<string, unknown> {
  return Object.fromEntries(schema.inputs.map((f) => [f.name, f.tensor === 'string' ? '' : f.tensor === 'bool' ? false : 0]));
}

/**
 * onnxruntime must load the file and score a probe record to two probabilities (the session stays
 * cached, warm for the endpoints to come); otherwise an Invalid error saying why.
 */
export async function assertServes(ctx: ServiceCtx, bytes: Uint8Array, schema: FeatureSchema): Promise<void> {
  const sessions = scoringRuntime(ctx.db).sessions;
  const sha256 = sha256Of(bytes);
  try {
    const session = await sessions.get(sha256, () => bytes);
    const [p] = await predict(session, schema, [probeRecord(schema)]);
    const q = p?.probabilities;
    const ok = q && [q.neg, q.pos].every((x) => Number.isFinite(x) && x >= -1e-6 && x <= 1 + 1e-6);
    if (!ok) throw new Error(`it returned ${JSON.stringify(q ?? null)} instead of two probabilities`);
  } catch (err) {
    sessions.evict(sha256);
    if (err instanceof ServiceError) throw err;
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 500);
    throw invalid(`this ONNX file cannot be served: onnxruntime could not score a test record with it: ${message}`, 'body');
  }
}

/** For the audit: the packed input and how many features it carries, when the file has one. */
function packedDetails(schema: FeatureSchema): { packed?: { input: string; features: number } } {
  const packed = schema.inputs.filter((f) => f.column !== undefined);
  return packed.length ? { packed: { input: packed[0]!.input, features: packed.length } } : {};
}

/**
 * Registers an ONNX file trained elsewhere (scikit-learn via skl2onnx, XGBoost, LightGBM, PyTorch, or
 * one exported by Stagebook) as a new version of a model, audited as `model.import`. The file is
 * checked before anything is stored: its inputs and outputs are read (describeOnnxModel),
 * onnxruntime must load it, and it must score a probe record to two probabilities. Anything short of
 * that is a 400 saying why.
 */
export async function importOnnxModel({
  ctx,
  input,
  body,
}: {
  ctx: ServiceCtx;
  input: z.output<typeof ModelRef> & z.output<typeof ImportModelQuery>;
  body: AsyncIterable<Buffer | Uint8Array> | Uint8Array;
}): Promise<RegisteredVersion> {
  const meta = auditMetaOf(ctx);
  const bytes = await readAll(body);
  if (bytes.byteLength === 0) throw invalid('the body is empty: send the ONNX file as application/octet-stream', 'body');
  let schema: FeatureSchema;
  try {
    schema = describeOnnxModel(bytes, { ...(input.positiveClass ? { positiveClass: input.positiveClass } : {}), ...(input.features !== undefined ? { features: input.features } : {}) });
  } catch (err) {
    if (err instanceof MlInputError) throw invalid(`this ONNX file cannot be served: ${err.message}`, err.field === 'positiveClass' || err.field === 'features' ? err.field : 'body');
    throw err;
  }
  await assertServes(ctx, bytes, schema);
  return ctx.db.transaction((tx) =>
    registerModelVersion(
      tx,
      meta,
      {
        projectId: input.projectId,
        modelName: input.name,
        source: 'imported',
        bytes,
        algorithm: 'onnx',
        spec: { ...(input.positiveClass ? { positiveClass: input.positiveClass } : {}), bytes: bytes.byteLength },
        featureSchema: schema,
        metrics: null,
        trainingData: null,
      },
      { action: 'model.import', details: { bytes: bytes.byteLength, inputs: schema.inputs.length, classes: schema.classes, ...packedDetails(schema) } },
    ),
  );
}
