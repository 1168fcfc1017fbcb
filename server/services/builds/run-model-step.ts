import { and, eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { buildSteps, type BuildStepProgress, type BuildStepResult } from '@/db/schema';
import type { CellNode } from '@/server/pipeline';
import type { ServiceCtx } from '../context';
import { ServiceError } from '../errors';
import { scoreDataset } from '../models/score-dataset';
import { trainModelVersion, type TrainModelProgress } from '../models/train-model-version';
import { BuildStepError, cellLabel, type loadStep, updateOwnedStep, type BuildRunContext, type StepRuntime } from './build-step-state';

type Step = Awaited<ReturnType<typeof loadStep>>;
export type ModelStepOutcome = { rowCount: number; result: BuildStepResult; progress: BuildStepProgress | null };

/** Progress lands in build_steps.progress at most this often (the UI polls once a second). */
export const PROGRESS_WRITE_EVERY_MS = 500;

/**
 * Trains the model of a train cell on its dataset and registers the version (audited `model.train`
 * by the build's workflow). The signal stops reading and training; a stopped training registers
 * nothing. A mistake in the cell (a column the built dataset lacks, one class only) fails the step.
 */
export async function runTrainStep(db: Db, run: BuildRunContext, step: Step, node: CellNode, rt: StepRuntime, say: (line: string) => void): Promise<ModelStepOutcome> {
  if (node.kind !== 'train' || !node.spec) throw new Error(`step ${step.stepId} is not a valid train cell in the graph`);
  const { spec } = node;
  say(`train: model "${node.model}" on "${node.dataset}" (${spec.algorithm}; target ${spec.target}, positive class "${spec.positiveClass}")`);
  const progress = progressWriter(db, run, step, rt);
  let rowsRead = 0;
  let stage: TrainModelProgress['stage'] | null = null;
  const t0 = performance.now();
  const registered = await asStepFailure(rt, cellLabel(run, step), () =>
    trainModelVersion({
      ctx: workflowCtx(db, run, rt),
      input: { projectId: run.projectId, modelName: node.model, dataset: node.dataset, environment: run.environment, spec: spec as unknown as Record<string, unknown> },
      control: {
        signal: rt.signal,
        onProgress: (p) => {
          rowsRead = p.rowsRead;
          if (p.stage !== stage) {
            if (stage === 'reading') say(`read ${rowsRead.toLocaleString('en-US')} rows`);
            stage = p.stage;
          }
          progress.report(trainProgress(p), p.stage !== 'reading' && p.stage !== 'training');
        },
      },
    }),
  );
  const v = registered.version;
  const auc = v.auc?.auc ?? null;
  const board = registered.leaderboard;
  if (board) {
    say(`leaderboard (${board.rows.length} fits on the same split, best by ${board.metric}):`);
    for (const r of board.rows) say(`  v${r.version} ${r.label}: AUC ${r.auc.toFixed(4)}, log loss ${r.logLoss.toFixed(4)}${r.chosen ? '  <- the version' : ' (candidate)'}`);
  }
  say(`registered "${registered.modelName}" version ${v.version}${auc === null ? '' : ` (holdout AUC ${auc.toFixed(3)})`}${registered.becameChampion ? ', the champion (first version)' : ''} in ${seconds(performance.now() - t0)}`);
  return {
    rowCount: rowsRead,
    result: {
      kind: 'train',
      model: registered.modelName,
      version: v.version,
      versionId: v.id,
      metric: 'auc',
      value: auc,
      ...(board ? { leaderboard: { metric: board.metric, rows: board.rows.map(({ version, label, auc, logLoss, chosen }) => ({ version, label, auc, logLoss, chosen })) } } : {}),
    },
    progress: progress.done('registered', `version ${v.version}`),
  };
}

/**
 * Scores the score cell's dataset into its output with its model: the version this build's train
 * step of that model registered, else the cell's pinned version, else the model's champion. The
 * output is written (and audited `model.batch_score`) in one transaction by scoreDataset.
 */
export async function runScoreStep(db: Db, run: BuildRunContext, step: Step, node: CellNode, rt: StepRuntime, say: (line: string) => void): Promise<ModelStepOutcome> {
  if (node.kind !== 'score' || !node.reads[0]) throw new Error(`step ${step.stepId} is not a valid score cell in the graph`);
  const input = node.reads[0];
  const trained = await trainedInThisBuild(db, run.runId, node.model);
  const version = trained ?? node.version ?? undefined;
  say(`score: "${input}" with model "${node.model}" ${version ? `version ${version}${trained ? ' (trained by this build)' : ''}` : '(its champion)'} into "${step.dataset}"`);
  const progress = progressWriter(db, run, step, rt);
  const t0 = performance.now();
  const scored = await asStepFailure(rt, cellLabel(run, step), () =>
    scoreDataset({
      ctx: workflowCtx(db, run, rt),
      input: { projectId: run.projectId, model: node.model, ...(version ? { version } : {}), dataset: input, output: step.dataset, environment: run.environment },
      control: {
        signal: rt.signal,
        onProgress: (p) =>
          progress.report({ stage: 'scoring', fraction: p.totalRows ? p.rowsScored / p.totalRows : null, message: `scored ${p.rowsScored.toLocaleString('en-US')} of ${p.totalRows.toLocaleString('en-US')} rows` }),
      },
    }),
  );
  say(`scored ${scored.rows.toLocaleString('en-US')} rows with "${scored.model}" version ${scored.version} in ${seconds(performance.now() - t0)}`);
  return {
    rowCount: scored.rows,
    result: { kind: 'score', model: scored.model, version: scored.version, rows: scored.rows },
    progress: progress.done('scored', `${scored.rows.toLocaleString('en-US')} rows`),
  };
}

/** The version the train step of `model` registered in this build, if it has one that succeeded. */
async function trainedInThisBuild(db: Db, runId: string, model: string): Promise<number | null> {
  const rows = await db
    .select({ result: buildSteps.result })
    .from(buildSteps)
    .where(and(eq(buildSteps.runId, runId), eq(buildSteps.kind, 'train'), eq(buildSteps.model, model), eq(buildSteps.status, 'succeeded')));
  const result = rows[0]?.result;
  return result?.kind === 'train' ? result.version : null;
}

export function workflowCtx(db: Db, run: BuildRunContext, rt: StepRuntime): ServiceCtx {
  return { db, actor: { type: 'workflow', workflowId: rt.workflowId }, requestId: run.runId, clientIp: null };
}

/**
 * A service's refusal (bad spec, missing column, unknown model) is the cell's mistake: the step fails
 * with the reason, naming the cell, and is not retried. Anything else (a lost connection) is retried;
 * a stop (cancel, shutdown) is left to the caller, which knows which it was.
 */
export async function asStepFailure<T>(rt: StepRuntime, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (rt.signal.aborted) throw err;
    if (err instanceof ServiceError && err.kind !== 'TooManyRequests') throw new BuildStepError('failed', `${what}: ${err.message}`);
    throw err;
  }
}

function trainProgress(p: TrainModelProgress): Omit<BuildStepProgress, 'updatedAt'> {
  switch (p.stage) {
    case 'reading':
      return { stage: 'reading', fraction: null, message: `read ${p.rowsRead.toLocaleString('en-US')} rows` };
    case 'training': {
      const t = p.training;
      const c = p.candidate;
      const of = c ? `fit ${c.index + 1} of ${c.of} (${c.label}): ` : '';
      if (!t) return { stage: 'training', fraction: 0, message: `${of}training on ${p.rowsRead.toLocaleString('en-US')} rows` };
      const within = Math.min(1, t.iteration / Math.max(1, t.maxIterations));
      return {
        stage: 'training',
        fraction: c ? (c.index + within) / c.of : within,
        message: `${of}iteration ${t.iteration} of at most ${t.maxIterations}, loss ${t.loss.toFixed(4)}${t.validationLoss === undefined ? '' : `, validation loss ${t.validationLoss.toFixed(4)}`}`,
      };
    }
    case 'exporting':
      return { stage: 'exporting', fraction: null, message: 'exporting to ONNX' };
    case 'registering':
      return { stage: 'registering', fraction: null, message: 'registering the version' };
  }
}

/**
 * Heartbeats every report (Temporal throttles heartbeats itself) and stores the newest one in
 * build_steps.progress at most every PROGRESS_WRITE_EVERY_MS (or at once when asked: a stage change).
 * Writes are chained so they land in order; each one only while this attempt owns the running step,
 * so one that arrives after the step finished changes nothing.
 */
function progressWriter(db: Db, run: BuildRunContext, step: Step, rt: StepRuntime) {
  let last = 0;
  let latest: BuildStepProgress | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  const write = (p: BuildStepProgress) => {
    chain = chain.then(() => updateOwnedStep(db, run.runId, step.stepId, rt.attempt, { progress: p })).catch((err: unknown) => console.warn(`build ${run.runId} step ${step.stepId}: progress not stored`, err));
  };
  return {
    report(p: Omit<BuildStepProgress, 'updatedAt'>, now = false) {
      const stageChanged = latest?.stage !== p.stage;
      latest = { ...p, updatedAt: new Date().toISOString() };
      rt.heartbeat(`${p.stage}: ${p.message}`);
      const t = performance.now();
      if (now || stageChanged || t - last >= PROGRESS_WRITE_EVERY_MS) {
        last = t;
        write(latest);
      }
    },
    done(stage: string, message: string): BuildStepProgress {
      return { stage, fraction: 1, message, updatedAt: new Date().toISOString() };
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}
