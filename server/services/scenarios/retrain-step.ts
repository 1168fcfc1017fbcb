import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { endpoints, models, modelVersions } from '@/db/schema';
import { MlInputError } from '@/server/ml/errors';
import { logLoss, rocAuc, thresholdMetrics } from '@/server/ml/metrics';
import { exportOnnx } from '@/server/ml/onnx/export';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { trainedReference } from '@/server/ml/drift-reference';
import { targetVector } from '@/server/ml/table';
import { trainModel } from '@/server/ml/train';
import type { ScenarioStep } from '@/server/pipeline';
import { predict } from '@/server/scoring/session-cache';
import { emitAudit } from '../audit/emit';
import { auditMetaOf } from '../context';
import { teamOfProject } from '../endpoints/find-endpoint';
import { readArtifact, sha256Of } from '../models/artifacts';
import { readDatasetTable } from '../models/read-dataset';
import { registerModelVersion } from '../models/register-version';
import { prepareTraining } from '../models/train-model-version';
import { notifyScoringChange } from '../scoring/changes';
import { publishScoringChange, scoringRuntime } from '../scoring/runtime';
import { loadManifest, StepRefused, type StepEnv, type StepResult } from './steps';

type Gate = Extract<ScenarioStep, { type: 'retrain' }>['gate'];
type Comparator = NonNullable<Gate['comparator']>;

/** Scores that grow are compared with >=, losses with <=, unless the gate says otherwise. */
export const defaultComparator = (metric: Gate['metric']): Comparator => (metric === 'log_loss' ? '<=' : '>=');

/** Whether the challenger beats the champion by at least `minImprovement` in the comparator's direction. */
export function gatePasses(comparator: Comparator, challenger: number, champion: number, minImprovement: number): boolean {
  switch (comparator) {
    case '>=':
      return challenger >= champion + minImprovement;
    case '>':
      return challenger > champion + minImprovement;
    case '<=':
      return challenger <= champion - minImprovement;
    case '<':
      return challenger < champion - minImprovement;
  }
}

function metricOf(metric: Gate['metric'], y: Uint8Array, p: ArrayLike<number>, threshold: number): number {
  switch (metric) {
    case 'auc':
      return rocAuc(y, p);
    case 'log_loss':
      return logLoss(y, p);
    case 'accuracy':
      return thresholdMetrics(y, p, threshold).accuracy;
    case 'f1':
      return thresholdMetrics(y, p, threshold).f1;
  }
}

/**
 * A gated retrain on production data: trains a challenger with the model's spec (the bundle's train
 * cell, else the deployed version's) on the production dataset without registering it, scores the
 * champion's ONNX on the challenger's holdout rows (the same split), and compares them on the gate's
 * metric. Pass: the challenger is registered, made champion, and this project's production endpoints
 * serving the model are repointed to it, all in one transaction (the scoring caches switch on
 * commit). Either way the decision is audited `model.gate_decision` with both metrics and the
 * training data's fingerprint; the step succeeds (keeping the champion is a decision, not a failure).
 */
export async function runRetrainStep(env: StepEnv, step: Extract<ScenarioStep, { type: 'retrain' }>): Promise<StepResult> {
  const started = performance.now();
  const { run, db } = env;
  const manifest = await loadManifest(db, run);
  const bundled = manifest.models.find((m) => m.name === step.model);
  const trainNode = manifest.graph.graph.nodes.find((n) => n.type === 'cell' && n.kind === 'train' && n.model === step.model);
  const spec = (trainNode?.type === 'cell' && trainNode.kind === 'train' ? trainNode.spec : null) ?? (bundled?.source === 'trained' ? bundled.spec : null);
  const dataset = (trainNode?.type === 'cell' && trainNode.kind === 'train' ? trainNode.dataset : '') || (bundled?.trainingData as { dataset?: string } | null)?.dataset;
  if (!spec || !dataset) throw new StepRefused(`model "${step.model}": the deployed bundle has no train cell for it and no trained version to take the spec and dataset from`);

  const [model] = await db.select().from(models).where(and(eq(models.projectId, run.projectId), eq(models.name, step.model)));
  if (!model?.championVersionId) throw new StepRefused(`model "${step.model}" has no champion to compare a challenger with`);
  const [champion] = await db.select().from(modelVersions).where(eq(modelVersions.id, model.championVersionId));
  if (!champion) throw new Error(`champion of "${step.model}" vanished`);

  const prepared = await prepareTraining(env.ctx, { projectId: run.projectId, modelName: step.model, dataset, environment: 'production', spec: spec as Record<string, unknown> });
  env.say(`reading "${dataset}" (production, fingerprint ${prepared.dataset.fingerprint.slice(0, 12)})`);
  const table = await readDatasetTable(db, { projectId: run.projectId, environment: 'production', table: dataset }, prepared.columns, {
    signal: env.signal,
    onRows: (rows) => env.heartbeat({ stage: 'reading', rows }),
  });
  let trained: Awaited<ReturnType<typeof trainModel>>;
  try {
    trained = await trainModel(table, prepared.spec, { signal: env.signal, onProgress: (p) => env.heartbeat({ stage: 'training', ...p }) });
  } catch (err) {
    if (err instanceof MlInputError) throw new StepRefused(`retrain ${step.model}: ${err.message}`);
    throw err;
  }
  env.say(`challenger trained on ${trained.training.rows.toLocaleString('en-US')} rows in ${trained.training.seconds.toFixed(1)} s`);

  // The champion on exactly the challenger's holdout rows.
  const holdout = Array.from(trained.split.holdout);
  const { y: yAll } = targetVector(table, prepared.spec.target, prepared.spec.positiveClass);
  const y = Uint8Array.from(holdout, (r) => yAll[r]!);
  const schema = FeatureSchema.parse(champion.featureSchema);
  const missing = schema.inputs.filter((f) => !table.columns[f.name]);
  if (missing.length) throw new StepRefused(`the champion (v${champion.version}) needs ${missing.map((f) => `"${f.name}"`).join(', ')}, which the challenger's data does not have`);
  const records = holdout.map((r) => Object.fromEntries(schema.inputs.map((f) => [f.name, table.columns[f.name]![r] ?? null])));
  const session = await scoringRuntime(db).sessions.get(champion.artifactSha256, () => readArtifact(db, champion.artifactSha256));
  const championP = Float64Array.from(await predict(session, schema, records), (p) => p.probabilities.pos);
  env.heartbeat({ stage: 'comparing' });

  const gate = step.gate;
  const comparator = gate.comparator ?? defaultComparator(gate.metric);
  const threshold = prepared.spec.threshold;
  const championValue = metricOf(gate.metric, y, championP, threshold);
  const challengerValue = metricOf(gate.metric, y, trained.holdoutProbabilities, threshold);
  const enoughRows = holdout.length >= gate.minRows;
  const passed = enoughRows && Number.isFinite(challengerValue) && Number.isFinite(championValue) && gatePasses(comparator, challengerValue, championValue, gate.minImprovement);
  // Same data and spec train the same model byte for byte: a tie that would only add a copy of the champion.
  const candidate = passed ? exportOnnx(trained.model) : null;
  const identical = candidate !== null && sha256Of(candidate.bytes) === champion.artifactSha256;
  const promote = passed && !identical;
  const reason = !enoughRows
    ? `the holdout has ${holdout.length} rows, fewer than minRows ${gate.minRows}`
    : identical
      ? `the challenger is the champion's model exactly (same ONNX artifact, ${gate.metric} ${challengerValue.toFixed(4)})`
      : `challenger ${gate.metric} ${challengerValue.toFixed(4)} ${passed ? 'meets' : 'does not meet'} ${comparator} champion ${championValue.toFixed(4)}${gate.minImprovement ? ` ${comparator.startsWith('>') ? '+' : '-'} ${gate.minImprovement}` : ''}`;
  env.say(`gate: ${reason}: ${promote ? 'promoting the challenger' : 'keeping the champion'}`);

  const fingerprint = prepared.dataset.fingerprint;
  const trainingData = { dataset, environment: 'production' as const, fingerprint, rows: trained.training.rows };
  const exported = promote ? candidate : null;
  if (exported) await scoringRuntime(db).sessions.get(sha256Of(exported.bytes), () => exported.bytes);
  env.signal.throwIfAborted();

  const meta = auditMetaOf(env.ctx);
  const decided = await db.transaction(async (tx) => {
    let registered: Awaited<ReturnType<typeof registerModelVersion>> | null = null;
    const repointed: string[] = [];
    if (exported) {
      registered = await registerModelVersion(
        tx,
        meta,
        {
          projectId: run.projectId,
          modelName: step.model,
          source: 'trained',
          bytes: exported.bytes,
          algorithm: prepared.spec.algorithm,
          spec: prepared.spec as unknown as Record<string, unknown>,
          featureSchema: exported.schema,
          metrics: { evaluation: trained.evaluation, training: trained.training },
          trainingData,
          reference: trainedReference(table, trained),
        },
        { action: 'model.train', details: { dataset: trainingData, auc: trained.evaluation.auc.auc, logLoss: trained.evaluation.logLoss, holdoutRows: trained.evaluation.rows, scenarioRunId: run.runId } },
      );
      const versionId = registered.version.id;
      await tx.update(models).set({ championVersionId: versionId, updatedAt: sql`now()` }).where(eq(models.id, model.id));
      await emitAudit(tx, meta, {
        action: 'model.champion_change',
        target: { type: 'model', id: model.id },
        teamId: await teamOfProject(tx, run.projectId),
        projectId: run.projectId,
        details: { model: step.model, before: { version: champion.version }, after: { version: registered.version.version }, by: 'retrain gate', scenarioRunId: run.runId },
      });
      const prod = await tx
        .update(endpoints)
        .set({ pinnedVersionId: versionId, updatedAt: sql`now()` })
        .where(and(eq(endpoints.projectId, run.projectId), eq(endpoints.modelId, model.id), isNotNull(endpoints.bundleHash)))
        .returning({ name: endpoints.name });
      for (const e of prod) {
        repointed.push(e.name);
        await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
      }
      await notifyScoringChange(tx, { kind: 'model', modelId: model.id });
    }
    const decision = {
      model: step.model,
      decision: promote ? ('promoted' as const) : ('kept_champion' as const),
      metric: gate.metric,
      comparator,
      minImprovement: gate.minImprovement,
      minRows: gate.minRows,
      holdoutRows: holdout.length,
      champion: { version: champion.version, value: championValue },
      challenger: { version: registered?.version.version ?? null, value: challengerValue },
      reason,
      data: { dataset, environment: 'production', fingerprint, rows: trained.training.rows },
      endpoints: repointed,
      scenarioRunId: run.runId,
    };
    await emitAudit(tx, meta, {
      action: 'model.gate_decision',
      target: { type: 'model', id: model.id },
      teamId: await teamOfProject(tx, run.projectId),
      projectId: run.projectId,
      details: decision,
    });
    return decision;
  });
  if (decided.decision === 'promoted') {
    publishScoringChange(db, { kind: 'model', modelId: model.id });
    for (const name of decided.endpoints) publishScoringChange(db, { kind: 'endpoint', name });
  }
  return { output: { ...decided, seconds: Math.round((performance.now() - started) / 100) / 10 } };
}
