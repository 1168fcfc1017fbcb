import { and, eq } from 'drizzle-orm';
import { models, modelVersions } from '@/db/schema';
import type { DbOrTx } from '@/db/client';
import { MlInputError } from '@/server/ml/errors';
import { exportOnnx } from '@/server/ml/onnx/export';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { trainedReference } from '@/server/ml/drift-reference';
import { targetVector } from '@/server/ml/table';
import { trainModel } from '@/server/ml/train';
import { unseenRows } from '@/server/ml/seen-rows';
import { predict } from '@/server/scoring/session-cache';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { auditMetaOf } from '../context';
import { teamOfProject } from '../endpoints/find-endpoint';
import { readArtifact, sha256Of } from '../models/artifacts';
import { readDatasetTable } from '../models/read-dataset';
import { registerModelVersion } from '../models/register-version';
import { loadSeenRows, storeSeenRows } from '../models/seen-rows-store';
import { prepareTraining } from '../models/train-model-version';
import { scoringRuntime } from '../scoring/runtime';
import { makeChampion, productionEndpointsOf, publishPromotion, type Decision, type RetrainStep } from './retrain-champion';
import { startShadowPeriod } from './retrain-shadow';
import { judgeGate } from './retrain-gate';
import { loadManifest, StepRefused, type StepEnv, type StepResult } from './steps';

type Model = typeof models.$inferSelect;
type Version = typeof modelVersions.$inferSelect;

/** What the step retrains: the model, its champion, and the spec and dataset to train the challenger with. */
type Target = { model: Model; champion: Version; spec: Record<string, unknown>; dataset: string };

/** The challenger, trained and not registered. */
type Challenger = {
  prepared: Awaited<ReturnType<typeof prepareTraining>>;
  table: Awaited<ReturnType<typeof readDatasetTable>>;
  trained: Awaited<ReturnType<typeof trainModel>>;
};

/** The gate's verdict: what both are judged on, and the decision's common record. */
type Verdict = { base: Omit<Decision, 'decision'>; promote: boolean; challengerValue: number; exported: ReturnType<typeof exportOnnx> | null };

/**
 * A gated retrain on production data: trains a challenger with the model's spec (the bundle's train
 * cell, else the deployed version's) on the production dataset without registering it, and judges
 * it and the champion on the same rows: the challenger's holdout minus the rows the champion trained
 * on (its stored seen-rows digest; production data usually still holds them, and a model looks
 * better on rows it learnt from). Pass: the challenger is registered, made champion, and this
 * project's production endpoints serving the model are repointed to it, all in one transaction (the
 * scoring caches switch on commit). With `shadow`, a passing challenger is registered and first
 * shadow-scores those endpoints' traffic; the step stays open (`resumeAt`) and
 * `concludeRetrainShadow` decides when the period is over. Either way the decision is audited
 * `model.gate_decision` with both metrics and the training data's fingerprint; the step succeeds
 * (keeping the champion is a decision, not a failure).
 */
export async function runRetrainStep(env: StepEnv, step: RetrainStep): Promise<StepResult> {
  const started = performance.now();
  const target = await retrainTarget(env, step);
  const challenger = await trainChallenger(env, step, target);
  const verdict = await judgeChallenger(env, step, target, challenger);
  const { run, db } = env;
  const prodEndpoints = await productionEndpointsOf(db, run.projectId, target.model.id);
  const decided =
    verdict.exported && step.shadow && prodEndpoints.length > 0
      ? await startShadow(env, step, target, challenger, verdict, prodEndpoints)
      : await decide(env, step, target, challenger, verdict);
  return { ...decided, output: { ...decided.output, seconds: secondsSince(started) } };
}

/** The model, its champion, and the spec and dataset: the bundle's train cell, else the deployed version's. */
async function retrainTarget(env: StepEnv, step: RetrainStep): Promise<Target> {
  const { run, db } = env;
  const manifest = await loadManifest(db, run);
  const bundled = manifest.models.find((m) => m.name === step.model);
  const trainNode = manifest.graph.graph.nodes.find((n) => n.type === 'cell' && n.kind === 'train' && n.model === step.model);
  const spec = (trainNode?.type === 'cell' && trainNode.kind === 'train' ? trainNode.spec : null) ?? (bundled?.source === 'trained' ? bundled.spec : null);
  const dataset = (trainNode?.type === 'cell' && trainNode.kind === 'train' ? trainNode.dataset : '') || (bundled?.trainingData as { dataset?: string } | null)?.dataset;
  if (!spec || !dataset) throw new StepRefused(`model "${step.model}": the deployed bundle has no train cell for it and no trained version to take the spec and dataset from`);

  const [model] = await db
    .select()
    .from(models)
    .where(and(eq(models.projectId, run.projectId), eq(models.name, step.model)));
  if (!model?.championVersionId) throw new StepRefused(`model "${step.model}" has no champion to compare a challenger with`);
  const [champion] = await db.select().from(modelVersions).where(eq(modelVersions.id, model.championVersionId));
  if (!champion) throw new Error(`champion of "${step.model}" vanished`);
  return { model, champion, spec: spec as Record<string, unknown>, dataset };
}

/** Trains the challenger on the production dataset (row hashes kept, to tell the rows the champion trained on). */
async function trainChallenger(env: StepEnv, step: RetrainStep, target: Target): Promise<Challenger> {
  const { run, db } = env;
  const { dataset } = target;
  const prepared = await prepareTraining(env.ctx, { projectId: run.projectId, modelName: step.model, dataset, environment: 'production', spec: target.spec });
  env.say(`reading "${dataset}" (production, fingerprint ${prepared.dataset.fingerprint.slice(0, 12)})`);
  const table = await readDatasetTable(db, { projectId: run.projectId, environment: 'production', table: dataset }, prepared.columns, {
    signal: env.signal,
    rowHashes: true,
    onRows: (rows) => env.heartbeat({ stage: 'reading', rows }),
  });
  let trained: Challenger['trained'];
  try {
    trained = await trainModel(table, prepared.spec, {
      signal: env.signal,
      onProgress: (p) => env.heartbeat({ stage: 'training', ...p }),
    });
  } catch (err) {
    if (err instanceof MlInputError) throw new StepRefused(`retrain ${step.model}: ${err.message}`);
    throw err;
  }
  env.say(`challenger trained on ${trained.training.rows.toLocaleString('en-US')} rows in ${trained.training.seconds.toFixed(1)} s`);
  return { prepared, table, trained };
}

/** Both models' P(positive) on the challenger's holdout rows that the champion did not train on, and the labels. */
async function scoreBoth(env: StepEnv, { champion }: Target, { prepared, table, trained }: Challenger) {
  const holdout = trained.split.holdout;
  const seen = await loadSeenRows(env.db, champion.trainingData);
  const positionOf = new Map(Array.from(holdout, (r, i) => [r, i]));
  const evaluated = seen ? unseenRows(seen, table.rowHashes!, holdout) : Array.from(holdout);
  const championSeenRows = seen ? holdout.length - evaluated.length : null;
  env.say(
    seen
      ? `champion v${champion.version} trained on ${seen.length.toLocaleString('en-US')} distinct rows: ${championSeenRows} of the ${holdout.length} holdout rows are among them, so both are judged on the other ${evaluated.length}`
      : `champion v${champion.version}'s training rows are unknown (imported, or from another instance): both are judged on all ${holdout.length} holdout rows`,
  );
  const { y: yAll } = targetVector(table, prepared.spec.target, prepared.spec.positiveClass);
  const y = Uint8Array.from(evaluated, (r) => yAll[r]!);
  const schema = FeatureSchema.parse(champion.featureSchema);
  const missing = schema.inputs.filter((f) => !table.columns[f.name]);
  if (missing.length) throw new StepRefused(`the champion (v${champion.version}) needs ${missing.map((f) => `"${f.name}"`).join(', ')}, which the challenger's data does not have`);
  const records = evaluated.map((r) => Object.fromEntries(schema.inputs.map((f) => [f.name, table.columns[f.name]![r] ?? null])));
  const session = await scoringRuntime(env.db).sessions.get(champion.artifactSha256, () => readArtifact(env.db, champion.artifactSha256));
  const championP = Float64Array.from(records.length ? await predict(session, schema, records) : [], (p) => p.probabilities.pos);
  const challengerP = Float64Array.from(evaluated, (r) => trained.holdoutProbabilities[positionOf.get(r)!]!);
  env.heartbeat({ stage: 'comparing' });
  return { holdout, evaluated, seen, championSeenRows, y, championP, challengerP };
}

/** Judges the challenger against the champion by the gate, with the reason in words. */
async function judgeChallenger(env: StepEnv, step: RetrainStep, target: Target, challenger: Challenger): Promise<Verdict> {
  const { champion } = target;
  const { prepared, trained } = challenger;
  const { holdout, evaluated, seen, championSeenRows, y, championP, challengerP } = await scoreBoth(env, target, challenger);
  const gate = step.gate;
  const { comparator, bothClasses, championValue, challengerValue, enoughRows, passed } = judgeGate(gate, prepared.spec.threshold, y, championP, challengerP);
  // Same data and spec train the same model byte for byte: a tie that would only add a copy of the champion.
  const candidate = passed ? exportOnnx(trained.model) : null;
  const identical = candidate !== null && sha256Of(candidate.bytes) === champion.artifactSha256;
  const promote = passed && !identical;
  const judgedOn = seen ? `${evaluated.length} holdout rows the champion did not train on` : `${evaluated.length} holdout rows`;
  const reason = !enoughRows
    ? `the comparison has ${judgedOn}, fewer than minRows ${gate.minRows}`
    : !bothClasses
      ? `the comparison has ${judgedOn}, without both classes: ${gate.metric} cannot be compared`
      : identical
        ? `the challenger is the champion's model exactly (same ONNX artifact, ${gate.metric} ${challengerValue.toFixed(4)})`
        : `challenger ${gate.metric} ${challengerValue.toFixed(4)} ${passed ? 'meets' : 'does not meet'} ${comparator} champion ${championValue.toFixed(4)}${gate.minImprovement ? ` ${comparator.startsWith('>') ? '+' : '-'} ${gate.minImprovement}` : ''} on ${judgedOn}`;
  const exported = promote ? candidate : null;
  if (exported) await scoringRuntime(env.db).sessions.get(sha256Of(exported.bytes), () => exported.bytes);
  env.signal.throwIfAborted();
  const base = {
    model: step.model,
    metric: gate.metric,
    comparator,
    minImprovement: gate.minImprovement,
    minRows: gate.minRows,
    holdoutRows: holdout.length,
    evaluatedRows: evaluated.length,
    championSeenRows,
    champion: { version: champion.version, value: championValue },
    challenger: { version: null as number | null, value: challengerValue },
    reason,
    data: { dataset: target.dataset, environment: 'production' as const, fingerprint: prepared.dataset.fingerprint, rows: trained.training.rows },
    endpoints: [] as string[],
    scenarioRunId: env.run.runId,
  };
  return { base, promote, challengerValue, exported };
}

/** A passing challenger with `shadow`: registered, shadow-scoring the production endpoints; the step stays open until the period ends. */
function startShadow(env: StepEnv, step: RetrainStep, target: Target, challenger: Challenger, verdict: Verdict, prodEndpoints: { id: string; name: string }[]): Promise<StepResult> {
  const { base, challengerValue } = verdict;
  return startShadowPeriod(env, {
    step,
    model: target.model,
    champion: target.champion,
    base,
    challengerValue,
    prodEndpoints,
    register: async (tx, meta) => (await registerChallenger(tx, meta, { run: env.run, step, challenger, exported: verdict.exported!, trainingData: base.data })).version,
  });
}

/** Promotes the challenger (registered, made champion, endpoints repointed) or keeps the champion, audited in one transaction. */
async function decide(env: StepEnv, step: RetrainStep, target: Target, challenger: Challenger, verdict: Verdict): Promise<StepResult> {
  const { run, db } = env;
  const { base, exported, promote } = verdict;
  const { model, champion } = target;
  const meta = auditMetaOf(env.ctx);
  const teamId = await teamOfProject(db, run.projectId);
  const shadowNote = exported && step.shadow ? ' (no production endpoint serves it, so there was no traffic to shadow)' : '';
  env.say(`gate: ${base.reason}: ${promote ? `promoting the challenger${shadowNote}` : 'keeping the champion'}`);
  const decided = await db.transaction(async (tx) => {
    const registered = exported ? await registerChallenger(tx, meta, { run, step, challenger, exported, trainingData: base.data }) : null;
    const repointed = registered
      ? await makeChampion(tx, meta, { projectId: run.projectId, teamId, model, from: champion.version, to: registered.version, runId: run.runId })
      : [];
    const decision: Decision = {
      ...base,
      decision: registered ? 'promoted' : 'kept_champion',
      challenger: { version: registered?.version.version ?? null, value: verdict.challengerValue },
      reason: base.reason + (registered ? shadowNote : ''),
      endpoints: repointed,
    };
    await emitAudit(tx, meta, { action: 'model.gate_decision', target: { type: 'model', id: model.id }, teamId, projectId: run.projectId, details: decision });
    return decision;
  });
  publishPromotion(db, model.id, decided);
  return { output: decided };
}

export const secondsSince = (started: number) => Math.round((performance.now() - started) / 100) / 10;

async function registerChallenger(
  tx: DbOrTx,
  meta: AuditMeta,
  { run, step, challenger, exported, trainingData: data }: { run: StepEnv['run']; step: RetrainStep; challenger: Challenger; exported: NonNullable<Verdict['exported']>; trainingData: Decision['data'] },
) {
  const c = { run, step, exported, ...challenger };
  const seenRows = await storeSeenRows(tx, c.table.rowHashes!, c.trained.fittedRows);
  const trainingData = { ...data, seenRows };
  return registerModelVersion(
    tx,
    meta,
    {
      projectId: c.run.projectId,
      modelName: c.step.model,
      source: 'trained',
      bytes: c.exported.bytes,
      algorithm: c.prepared.spec.algorithm,
      spec: c.prepared.spec as unknown as Record<string, unknown>,
      featureSchema: c.exported.schema,
      metrics: {
        evaluation: c.trained.evaluation,
        training: c.trained.training,
      },
      trainingData,
      reference: trainedReference(c.table, c.trained),
    },
    {
      action: 'model.train',
      details: {
        dataset: trainingData,
        auc: c.trained.evaluation.auc.auc,
        logLoss: c.trained.evaluation.logLoss,
        holdoutRows: c.trained.evaluation.rows,
        scenarioRunId: c.run.runId,
      },
    },
  );
}

