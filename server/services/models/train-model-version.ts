import { trainedReference } from '@/server/ml/drift-reference';
import { MlInputError } from '@/server/ml/errors';
import { expandLeaderboard, isLeaderboard } from '@/server/ml/leaderboard';
import { TrainSpec } from '@/server/ml/spec';
import type { DbOrTx } from '@/db/client';
import { modelVersions, type DatasetColumnSpec } from '@/db/schema';
import { inArray } from 'drizzle-orm';
import { exportOnnx, type OnnxExport } from '@/server/ml/onnx/export';
import type { TrainingProgress } from '@/server/ml/types';
import { auditMetaOf, type ServiceCtx } from '../context';
import { findDataset } from '../datasets/find-dataset';
import { invalid } from '../errors';
import { scoringRuntime } from '../scoring/runtime';
import { sha256Of } from './artifacts';
import { readDatasetTable } from './read-dataset';
import { storeSeenRows } from './seen-rows-store';
import { registerModelVersion, type RegisteredVersion } from './register-version';
import { leaderboardOf, trainLeaderboard, type CandidateProgress, type Leaderboard, type TrainedFit, type TrainedLeaderboard } from './train-leaderboard';
import { TrainModelInput } from './schemas';
import type { z } from 'zod';

export type TrainStage = 'reading' | 'training' | 'exporting' | 'registering';
/** One call per stage change, per batch of rows read and per training iteration. */
export type TrainModelProgress = { stage: TrainStage; rowsRead: number; training?: TrainingProgress; candidate?: CandidateProgress };

/**
 * How a caller steers a long training: `signal` cancels it (the call rejects with the signal's
 * reason, nothing is registered); `onProgress` reports it. A Temporal activity passes its
 * cancellation signal and heartbeats from onProgress.
 */
export type TrainModelControl = { signal?: AbortSignal; onProgress?: (p: TrainModelProgress) => void };

/**
 * Trains a new version of a model from a dataset of the project, exports it as ONNX (preprocessing
 * included) and registers it, audited as `model.train`. The first version becomes the champion.
 *
 * The dataset is read as the project's role, streamed in batches into columns; training runs in this
 * process (server/ml yields to the event loop every ~20 ms, so the signal and other requests get
 * through). A user's mistake (unknown column, one class, bad parameter) is an Invalid error.
 */
export async function trainModelVersion({
  ctx,
  input,
  control = {},
}: {
  ctx: ServiceCtx;
  input: z.input<typeof TrainModelInput>;
  control?: TrainModelControl;
}): Promise<RegisteredVersion> {
  return runTraining(ctx, await prepareTraining(ctx, input), control);
}

export type PreparedTraining = {
  input: z.output<typeof TrainModelInput>;
  spec: TrainSpec;
  dataset: Awaited<ReturnType<typeof findDataset>>;
  columns: DatasetColumnSpec[];
};

/** The checks that need no training: spec, dataset, columns. Quick, so callers can answer at once. */
export async function prepareTraining(ctx: ServiceCtx, rawInput: z.input<typeof TrainModelInput>): Promise<PreparedTraining> {
  auditMetaOf(ctx);
  const input = TrainModelInput.parse(rawInput);
  const parsed = TrainSpec.safeParse(input.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    throw invalid(`spec${path ? `.${path}` : ''}: ${issue.message}`, `spec${path ? `.${path}` : ''}`);
  }
  const spec = parsed.data;
  if (isLeaderboard(spec)) {
    try {
      expandLeaderboard(spec);
    } catch (err) {
      if (err instanceof MlInputError) throw invalid(err.message, `spec.${err.field ?? 'candidates'}`);
      throw err;
    }
  }
  const dataset = await findDataset(ctx.db, { projectId: input.projectId, environment: input.environment, name: input.dataset });
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  const missing = [spec.target, ...(spec.features ?? [])].filter((n) => !byName.has(n));
  if (missing.length) {
    throw invalid(
      `dataset "${dataset.name}" has no column ${missing.map((m) => `"${m}"`).join(', ')} (columns: ${dataset.columns.map((c) => c.name).join(', ')})`,
      missing[0] === spec.target ? 'spec.target' : 'spec.features',
    );
  }
  const timestamps = (spec.features ?? []).filter((n) => byName.get(n)!.type === 'timestamp');
  if (timestamps.length) throw invalid(`timestamp columns cannot be features: ${timestamps.join(', ')}`, 'spec.features');
  const columns = spec.features
    ? [byName.get(spec.target)!, ...spec.features.map((n) => byName.get(n)!)]
    : dataset.columns.filter((c) => c.name === spec.target || c.type !== 'timestamp');
  return { input, spec, dataset, columns };
}

/** Runs inside the registration's transaction (a training run marks itself succeeded there, so a retry never registers twice). */
export type OnRegistered = (tx: DbOrTx, registered: RegisteredVersion) => Promise<void>;

export async function runTraining(ctx: ServiceCtx, prepared: PreparedTraining, control: TrainModelControl = {}, onRegistered?: OnRegistered): Promise<RegisteredVersion> {
  const meta = auditMetaOf(ctx);
  const { input, spec, dataset, columns } = prepared;
  const isColumn = (name: string | undefined) => name !== undefined && dataset.columns.some((c) => c.name === name);

  let rowsRead = 0;
  const report = (stage: TrainStage, training?: TrainingProgress, candidate?: CandidateProgress) =>
    control.onProgress?.({ stage, rowsRead, ...(training ? { training } : {}), ...(candidate ? { candidate } : {}) });
  report('reading');
  const table = await readDatasetTable(ctx.db, { projectId: input.projectId, environment: input.environment, table: dataset.name }, columns, {
    rowHashes: true,
    ...(control.signal ? { signal: control.signal } : {}),
    onRows: (n) => {
      rowsRead = n;
      report('reading');
    },
  });

  report('training');
  let trained: TrainedLeaderboard;
  try {
    trained = await trainLeaderboard(table, spec, { ...(control.signal ? { signal: control.signal } : {}), onProgress: (p, candidate) => report('training', p, candidate) });
  } catch (err) {
    if (err instanceof MlInputError) throw invalid(err.message, isColumn(err.field) ? 'spec.features' : `spec${err.field ? `.${err.field}` : ''}`);
    throw err;
  }

  report('exporting');
  const winner = exportOnnx(trained.winner.result.model);
  const candidates = trained.candidates.map((c) => ({ fit: c, exported: exportOnnx(c.result.model) }));
  // Loading it now proves onnxruntime serves it and warms the session for the endpoints to come.
  await scoringRuntime(ctx.db).sessions.get(sha256Of(winner.bytes), () => winner.bytes);
  control.signal?.throwIfAborted();

  report('registering');
  const register = (tx: DbOrTx, fit: TrainedFit, exported: OnnxExport, opts: RegisterOpts) => registerFit(tx, { meta, prepared, table }, fit, exported, opts);
  return ctx.db.transaction(async (tx) => {
    // Candidates first, so the winner is the newest version; then they point at it.
    const registeredCandidates: RegisteredVersion[] = [];
    for (const [rank, c] of candidates.entries()) registeredCandidates.push(await register(tx, c.fit, c.exported, { candidate: true, details: { candidate: true, rank: rank + 1 } }));
    const candidateVersions = registeredCandidates.map((r) => r.version.version);
    // The model row is locked by the first registration: the winner's number is the next one.
    const leaderboard = trained.leaderboard ? leaderboardOf(trained, Math.max(...candidateVersions) + 1, candidateVersions) : undefined;
    const registered = await register(tx, trained.winner, winner, { leaderboard, details: leaderboard ? { leaderboard: { metric: leaderboard.metric, candidates: candidateVersions } } : {} });
    if (registeredCandidates.length) {
      await tx.update(modelVersions).set({ candidateOf: registered.version.id }).where(inArray(modelVersions.id, registeredCandidates.map((r) => r.version.id)));
    }
    await onRegistered?.(tx, registered);
    return { ...registered, ...(leaderboard ? { leaderboard } : {}) };
  });

}

type RegisterOpts = { candidate?: boolean; leaderboard?: Leaderboard | undefined; details: Record<string, unknown> };

/** Registers one fit (the version, or a leaderboard's candidate) with its artifact, seen rows and drift reference. */
async function registerFit(
  tx: DbOrTx,
  { meta, prepared, table }: { meta: ReturnType<typeof auditMetaOf>; prepared: PreparedTraining; table: Awaited<ReturnType<typeof readDatasetTable>> },
  fit: TrainedFit,
  exported: OnnxExport,
  opts: RegisterOpts,
): Promise<RegisteredVersion> {
  const { input, spec, dataset } = prepared;
  const result = fit.result;
  const seenRows = await storeSeenRows(tx, table.rowHashes!, result.fittedRows);
  const trainingData = { dataset: dataset.name, environment: input.environment, fingerprint: dataset.fingerprint, rows: result.training.rows, seenRows };
  // The spec as fitted: one entry's algorithm and params, without the leaderboard fields.
  const { grid: _g, candidates: _c, metric: _m, ...fitted } = fit.spec;
  return registerModelVersion(
    tx,
    meta,
    {
      projectId: input.projectId,
      modelName: input.modelName,
      source: 'trained',
      bytes: exported.bytes,
      algorithm: fit.spec.algorithm,
      spec: (opts.leaderboard ? { ...fitted, grid: spec.grid, candidates: spec.candidates, metric: spec.metric } : fitted) as unknown as Record<string, unknown>,
      featureSchema: exported.schema,
      metrics: { evaluation: result.evaluation, training: result.training, ...(opts.leaderboard ? { leaderboard: opts.leaderboard } : {}) },
      trainingData,
      reference: trainedReference(table, result),
      ...(opts.candidate ? { candidate: true } : {}),
    },
    {
      action: 'model.train',
      details: {
        dataset: trainingData,
        auc: result.evaluation.auc.auc,
        logLoss: result.evaluation.logLoss,
        holdoutRows: result.evaluation.rows,
        seconds: Math.round(result.training.seconds * 1000) / 1000,
        ...opts.details,
      },
    },
  );
}
