import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { endpoints, models, modelVersions, scenarioRunSteps } from '@/db/schema';
import type { DbOrTx } from '@/db/client';
import { MlInputError } from '@/server/ml/errors';
import { logLoss, rocAuc, thresholdMetrics } from '@/server/ml/metrics';
import { exportOnnx } from '@/server/ml/onnx/export';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { trainedReference } from '@/server/ml/drift-reference';
import { targetVector } from '@/server/ml/table';
import { trainModel } from '@/server/ml/train';
import { unseenRows } from '@/server/ml/seen-rows';
import type { ScenarioStep } from '@/server/pipeline';
import { predict } from '@/server/scoring/session-cache';
import { emitAudit } from '../audit/emit';
import { auditMetaOf } from '../context';
import { teamOfProject } from '../endpoints/find-endpoint';
import { readArtifact, sha256Of } from '../models/artifacts';
import { readDatasetTable } from '../models/read-dataset';
import { registerModelVersion } from '../models/register-version';
import { loadSeenRows, storeSeenRows } from '../models/seen-rows-store';
import { compareShadowPairs } from '../endpoints/shadow-comparison';
import type { AuditMeta } from '../audit/emit';
import { prepareTraining } from '../models/train-model-version';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { scoringRuntime } from '../scoring/runtime';
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
 * The gate on labels `y` and both models' P(positive) for the same rows. Never passes on a
 * comparison that cannot be made: fewer rows than `minRows`, one class only (AUC and the like are
 * undefined), or a model answering NaN (its metric is NaN, whatever the metric would say).
 */
export function judgeGate(gate: Gate, threshold: number, y: Uint8Array, championP: ArrayLike<number>, challengerP: ArrayLike<number>) {
  const comparator = gate.comparator ?? defaultComparator(gate.metric);
  const bothClasses = y.some((v) => v === 1) && y.some((v) => v === 0);
  // A rank metric (AUC) or a thresholded one stays finite over NaN probabilities, so they are
  // checked themselves: a model that answers NaN has no value to compare.
  const finite = (p: ArrayLike<number>) => Array.prototype.every.call(p, (v: number) => Number.isFinite(v));
  const valueOf = (p: ArrayLike<number>) => (bothClasses && finite(p) ? metricOf(gate.metric, y, p, threshold) : Number.NaN);
  const championValue = valueOf(championP);
  const challengerValue = valueOf(challengerP);
  const enoughRows = y.length >= gate.minRows;
  const passed = enoughRows && bothClasses && Number.isFinite(challengerValue) && Number.isFinite(championValue) && gatePasses(comparator, challengerValue, championValue, gate.minImprovement);
  return { comparator, bothClasses, championValue, challengerValue, enoughRows, passed };
}

export type RetrainStep = Extract<ScenarioStep, { type: 'retrain' }>;

/** What the gate decided, audited `model.gate_decision` and kept as the step's output. */
export type Decision = {
  model: string;
  decision: 'promoted' | 'kept_champion';
  metric: Gate['metric'];
  comparator: Comparator;
  minImprovement: number;
  minRows: number;
  /** The challenger's holdout. */
  holdoutRows: number;
  /** The holdout rows both were judged on: those the champion did not train on (all of them when its training rows are unknown). */
  evaluatedRows: number;
  /** Holdout rows left out because the champion trained on them; null when its training rows are unknown. */
  championSeenRows: number | null;
  champion: { version: number; value: number };
  challenger: { version: number | null; value: number };
  reason: string;
  data: {
    dataset: string;
    environment: 'production';
    fingerprint: string;
    rows: number;
  };
  endpoints: string[];
  scenarioRunId: string;
  shadow?: ShadowOutcome;
};

/** A challenger shadow-scoring on the production endpoints, stored on the open step until the shadow period ends. */
type Shadowing = {
  versionId: string;
  version: number;
  championVersionId: string;
  endpoints: { id: string; name: string }[];
  since: string;
  until: string;
};

type ShadowOutcome = Shadowing & {
  pairs: number;
  agreement: number | null;
  meanAbsDiff: number | null;
  labelled: {
    rows: number;
    servedAuc: number | null;
    shadowAuc: number | null;
  } | null;
};

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

  const prepared = await prepareTraining(env.ctx, {
    projectId: run.projectId,
    modelName: step.model,
    dataset,
    environment: 'production',
    spec: spec as Record<string, unknown>,
  });
  env.say(`reading "${dataset}" (production, fingerprint ${prepared.dataset.fingerprint.slice(0, 12)})`);
  const table = await readDatasetTable(db, { projectId: run.projectId, environment: 'production', table: dataset }, prepared.columns, {
    signal: env.signal,
    rowHashes: true,
    onRows: (rows) => env.heartbeat({ stage: 'reading', rows }),
  });
  let trained: Awaited<ReturnType<typeof trainModel>>;
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

  // Both judged on the challenger's holdout rows that the champion did not train on.
  const holdout = trained.split.holdout;
  const seen = await loadSeenRows(db, champion.trainingData);
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
  const session = await scoringRuntime(db).sessions.get(champion.artifactSha256, () => readArtifact(db, champion.artifactSha256));
  const championP = Float64Array.from(records.length ? await predict(session, schema, records) : [], (p) => p.probabilities.pos);
  const challengerP = Float64Array.from(evaluated, (r) => trained.holdoutProbabilities[positionOf.get(r)!]!);
  env.heartbeat({ stage: 'comparing' });

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

  const fingerprint = prepared.dataset.fingerprint;
  const trainingData = {
    dataset,
    environment: 'production' as const,
    fingerprint,
    rows: trained.training.rows,
  };
  const exported = promote ? candidate : null;
  if (exported) await scoringRuntime(db).sessions.get(sha256Of(exported.bytes), () => exported.bytes);
  env.signal.throwIfAborted();

  const meta = auditMetaOf(env.ctx);
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
    data: trainingData,
    endpoints: [] as string[],
    scenarioRunId: run.runId,
  };
  const teamId = await teamOfProject(db, run.projectId);
  const prodEndpoints = await productionEndpointsOf(db, run.projectId, model.id);
  const register = (tx: DbOrTx, bytes: NonNullable<typeof exported>) => registerChallenger(tx, meta, { run, step, prepared, exported: bytes, trained, table, trainingData });
  if (exported && step.shadow && prodEndpoints.length > 0) {
    const shadowFor = step.shadow.for;
    const shadowing = await db.transaction(async (tx) => {
      const registered = await register(tx, exported);
      const versionId = registered.version.id;
      await tx
        .update(endpoints)
        .set({ shadowVersionId: versionId, updatedAt: sql`now()` })
        .where(
          inArray(
            endpoints.id,
            prodEndpoints.map((e) => e.id),
          ),
        );
      for (const e of prodEndpoints) await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
      const since = new Date();
      const s: Shadowing = {
        versionId,
        version: registered.version.version,
        championVersionId: champion.id,
        endpoints: prodEndpoints,
        since: since.toISOString(),
        until: new Date(since.getTime() + shadowFor).toISOString(),
      };
      await emitAudit(tx, meta, {
        action: 'model.shadow_start',
        target: { type: 'model', id: model.id },
        teamId,
        projectId: run.projectId,
        details: {
          ...base,
          challenger: { version: s.version, value: challengerValue },
          endpoints: prodEndpoints.map((e) => e.name),
          until: s.until,
        },
      });
      return s;
    });
    for (const e of prodEndpoints) publishScoringChange(db, { kind: 'endpoint', name: e.name });
    env.say(`gate: ${reason}: v${shadowing.version} shadow-scores ${prodEndpoints.map((e) => e.name).join(', ')} until ${shadowing.until}`);
    return {
      output: {
        ...base,
        decision: 'shadowing',
        challenger: { version: shadowing.version, value: challengerValue },
        endpoints: prodEndpoints.map((e) => e.name),
        shadowing,
        seconds: secondsSince(started),
      },
      resumeAt: shadowing.until,
    };
  }

  const shadowNote = exported && step.shadow ? ' (no production endpoint serves it, so there was no traffic to shadow)' : '';
  env.say(`gate: ${reason}: ${promote ? `promoting the challenger${shadowNote}` : 'keeping the champion'}`);
  const decided = await db.transaction(async (tx) => {
    const registered = exported ? await register(tx, exported) : null;
    const repointed = registered
      ? await makeChampion(tx, meta, {
          projectId: run.projectId,
          teamId,
          model,
          from: champion.version,
          to: registered.version,
          runId: run.runId,
        })
      : [];
    const decision: Decision = {
      ...base,
      decision: registered ? 'promoted' : 'kept_champion',
      challenger: {
        version: registered?.version.version ?? null,
        value: challengerValue,
      },
      reason: reason + (registered ? shadowNote : ''),
      endpoints: repointed,
    };
    await emitAudit(tx, meta, {
      action: 'model.gate_decision',
      target: { type: 'model', id: model.id },
      teamId,
      projectId: run.projectId,
      details: decision,
    });
    return decision;
  });
  publishPromotion(db, model.id, decided);
  return { output: { ...decided, seconds: secondsSince(started) } };
}

/**
 * The end of a challenger's shadow period: compares its shadow scores with the served ones over the
 * period on the endpoints it shadowed, and decides. It becomes champion (endpoints repointed,
 * shadow cleared, in one transaction) when there are at least `minRecords` pairs, agreement and
 * mean |Δp| are within the bounds given, with labels its AUC on the labelled records is at least
 * the served one's minus the gate's `minImprovement`, and the champion is still the one it was
 * compared with. Else, and when the run was cancelled, the champion stays and the shadow is
 * cleared. Audited `model.gate_decision` either way, with the shadow comparison.
 */
export async function concludeRetrainShadow(env: StepEnv, step: RetrainStep, opts: { cancelled: boolean }): Promise<StepResult> {
  const { run, db } = env;
  const [row] = await db
    .select()
    .from(scenarioRunSteps)
    .where(and(eq(scenarioRunSteps.runId, run.runId), eq(scenarioRunSteps.index, env.index)));
  const first = row?.output as (Omit<Decision, 'decision'> & { decision: string; shadowing?: Shadowing }) | null | undefined;
  const shadowing = first?.shadowing;
  if (!first || !shadowing) throw new Error(`step ${env.index} of run ${run.runId} is not shadowing a challenger`);
  const shadow = step.shadow!;
  const [model] = await db
    .select()
    .from(models)
    .where(and(eq(models.projectId, run.projectId), eq(models.name, step.model)));
  if (!model) throw new StepRefused(`model "${step.model}" no longer exists`);
  const [challenger] = await db.select().from(modelVersions).where(eq(modelVersions.id, shadowing.versionId));
  if (!challenger) throw new Error(`the shadowed challenger v${shadowing.version} vanished`);
  const positive = FeatureSchema.parse(challenger.featureSchema);
  const until = new Date(Math.min(Date.now(), Date.parse(shadowing.until) + 60_000));
  const compared = await compareShadowPairs(env.ctx, {
    endpointIds: shadowing.endpoints.map((e) => e.id),
    shadowVersionId: shadowing.versionId,
    since: new Date(shadowing.since),
    until,
    ...(shadow.labels
      ? {
          labels: {
            projectId: run.projectId,
            spec: { ...shadow.labels, environment: 'production' },
            positive: positive.classes[positive.positiveIndex]!,
          },
        }
      : {}),
  });
  const outcome: ShadowOutcome = {
    ...shadowing,
    pairs: compared.rows,
    agreement: compared.agreement,
    meanAbsDiff: compared.meanAbsDiff,
    labelled: compared.labelled,
  };
  const problems: string[] = [];
  if (opts.cancelled) problems.push('the run was cancelled during the shadow period');
  if (model.championVersionId !== shadowing.championVersionId) problems.push('the champion changed during the shadow period (the challenger was judged against another version)');
  const stillShadowing = await db.select({ name: endpoints.name, shadowVersionId: endpoints.shadowVersionId }).from(endpoints).where(inArray(endpoints.id, shadowing.endpoints.map((e) => e.id)));
  const ended = shadowing.endpoints.filter((e) => !stillShadowing.some((x) => x.name === e.name && x.shadowVersionId === shadowing.versionId)).map((e) => e.name);
  if (ended.length) problems.push(`the shadow on ${ended.join(', ')} was changed or ended during the period (a deployment, a deletion or an operator)`);
  if (compared.rows < shadow.minRecords) problems.push(`${compared.rows} shadow-scored records, fewer than minRecords ${shadow.minRecords}`);
  if (shadow.minAgreement !== undefined && compared.agreement !== null && compared.agreement < shadow.minAgreement) {
    problems.push(`agreement ${(compared.agreement * 100).toFixed(1)}% is below minAgreement ${(shadow.minAgreement * 100).toFixed(1)}%`);
  }
  if (shadow.maxMeanDiff !== undefined && compared.meanAbsDiff !== null && compared.meanAbsDiff > shadow.maxMeanDiff) {
    problems.push(`mean |Δp| ${compared.meanAbsDiff.toFixed(4)} is above maxMeanDiff ${shadow.maxMeanDiff}`);
  }
  const l = compared.labelled;
  if (l && l.servedAuc !== null && l.shadowAuc !== null && l.shadowAuc < l.servedAuc - first.minImprovement) {
    problems.push(
      `on ${l.rows} labelled live records the challenger's AUC ${l.shadowAuc.toFixed(4)} is below the served ${l.servedAuc.toFixed(4)}${first.minImprovement ? ` - ${first.minImprovement}` : ''}`,
    );
  }
  const summary =
    `${compared.rows} shadow-scored records` +
    (compared.agreement !== null ? `, ${(compared.agreement * 100).toFixed(1)}% agreement, mean |Δp| ${compared.meanAbsDiff?.toFixed(4) ?? 'n/a'}` : '') +
    (l
      ? l.servedAuc !== null && l.shadowAuc !== null
        ? `, AUC ${l.shadowAuc.toFixed(4)} vs served ${l.servedAuc.toFixed(4)} on ${l.rows} labelled`
        : `, ${l.rows} labelled records (too few for an AUC)`
      : '');
  const promote = problems.length === 0;
  env.say(`shadow period over: ${summary}: ${promote ? 'promoting the challenger' : `keeping the champion (${problems.join('; ')})`}`);

  const meta = auditMetaOf(env.ctx);
  const teamId = await teamOfProject(db, run.projectId);
  const decided = await db.transaction(async (tx) => {
    // The shadow ends either way (only where it is still this challenger: someone may have changed it).
    const cleared = await tx
      .update(endpoints)
      .set({ shadowVersionId: null, updatedAt: sql`now()` })
      .where(
        and(
          inArray(
            endpoints.id,
            shadowing.endpoints.map((e) => e.id),
          ),
          eq(endpoints.shadowVersionId, shadowing.versionId),
        ),
      )
      .returning({ name: endpoints.name });
    for (const e of cleared) await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
    const [championNow] = await tx.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.id, shadowing.championVersionId));
    const repointed = promote
      ? await makeChampion(tx, meta, {
          projectId: run.projectId,
          teamId,
          model,
          from: championNow?.version ?? first.champion.version,
          to: { id: challenger.id, version: challenger.version },
          runId: run.runId,
        })
      : [];
    const decision: Decision = {
      ...first,
      decision: promote ? 'promoted' : 'kept_champion',
      reason: `${first.reason}; shadow: ${summary}${promote ? '' : `: ${problems.join('; ')}`}`,
      endpoints: repointed,
      shadow: outcome,
    };
    delete (decision as { shadowing?: unknown }).shadowing;
    delete (decision as { seconds?: unknown }).seconds;
    await emitAudit(tx, meta, {
      action: 'model.gate_decision',
      target: { type: 'model', id: model.id },
      teamId,
      projectId: run.projectId,
      details: decision,
    });
    return { decision, cleared: cleared.map((e) => e.name) };
  });
  for (const name of decided.cleared) publishScoringChange(db, { kind: 'endpoint', name });
  publishPromotion(db, model.id, decided.decision);
  return {
    output: {
      ...decided.decision,
      shadowing: null,
      seconds: (first as { seconds?: number }).seconds ?? null,
    },
  };
}

export const secondsSince = (started: number) => Math.round((performance.now() - started) / 100) / 10;

/** The project's production endpoints (deployed by a bundle) that serve this model. */
async function productionEndpointsOf(db: DbOrTx, projectId: string, modelId: string): Promise<{ id: string; name: string }[]> {
  return db
    .select({ id: endpoints.id, name: endpoints.name })
    .from(endpoints)
    .where(and(eq(endpoints.projectId, projectId), eq(endpoints.modelId, modelId), isNotNull(endpoints.bundleHash)))
    .orderBy(endpoints.name);
}

async function registerChallenger(
  tx: DbOrTx,
  meta: AuditMeta,
  c: {
    run: StepEnv['run'];
    step: RetrainStep;
    prepared: Awaited<ReturnType<typeof prepareTraining>>;
    exported: ReturnType<typeof exportOnnx>;
    trained: Awaited<ReturnType<typeof trainModel>>;
    table: Awaited<ReturnType<typeof readDatasetTable>>;
    trainingData: Decision['data'];
  },
) {
  const seenRows = await storeSeenRows(tx, c.table.rowHashes!, c.trained.fittedRows);
  const trainingData = { ...c.trainingData, seenRows };
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

/** Makes `to` the champion (audited) and repoints this project's production endpoints of the model to it; returns their names. */
export async function makeChampion(
  tx: DbOrTx,
  meta: AuditMeta,
  c: {
    projectId: string;
    teamId: string | null;
    model: typeof models.$inferSelect;
    from: number;
    to: { id: string; version: number };
    runId: string;
  },
): Promise<string[]> {
  await tx
    .update(models)
    .set({ championVersionId: c.to.id, updatedAt: sql`now()` })
    .where(eq(models.id, c.model.id));
  await emitAudit(tx, meta, {
    action: 'model.champion_change',
    target: { type: 'model', id: c.model.id },
    teamId: c.teamId,
    projectId: c.projectId,
    details: {
      model: c.model.name,
      before: { version: c.from },
      after: { version: c.to.version },
      by: 'retrain gate',
      scenarioRunId: c.runId,
    },
  });
  const prod = await tx
    .update(endpoints)
    .set({ pinnedVersionId: c.to.id, updatedAt: sql`now()` })
    .where(and(eq(endpoints.projectId, c.projectId), eq(endpoints.modelId, c.model.id), isNotNull(endpoints.bundleHash)))
    .returning({ name: endpoints.name });
  for (const e of prod) await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
  await notifyScoringChange(tx, { kind: 'model', modelId: c.model.id });
  return prod.map((e) => e.name).sort();
}

export function publishPromotion(db: StepEnv['db'], modelId: string, decided: Decision): void {
  if (decided.decision !== 'promoted') return;
  publishScoringChange(db, { kind: 'model', modelId });
  for (const name of decided.endpoints) publishScoringChange(db, { kind: 'endpoint', name });
}

/**
 * When a run ends with a retrain step still shadowing (the run failed, or the step's decision could
 * not be made: a missing labels dataset, retries exhausted), the shadow ends with it: the endpoints
 * stop scoring the challenger, the champion stays, and the decision is audited like any other so
 * the model's history has no open shadow period. Runs inside the run's finishing transaction.
 */
export async function endUnfinishedShadows(tx: DbOrTx, run: { runId: string; projectId: string; workflowId: string }, why: string): Promise<string[]> {
  const open = await tx
    .select()
    .from(scenarioRunSteps)
    .where(and(eq(scenarioRunSteps.runId, run.runId), sql`${scenarioRunSteps.output}->>'decision' = 'shadowing'`));
  const ended: string[] = [];
  for (const step of open) {
    const output = step.output as (Omit<Decision, 'decision'> & { shadowing: Shadowing }) | null;
    if (!output?.shadowing) continue;
    const shadowing = output.shadowing;
    const cleared = await tx
      .update(endpoints)
      .set({ shadowVersionId: null, updatedAt: sql`now()` })
      .where(and(inArray(endpoints.id, shadowing.endpoints.map((e) => e.id)), eq(endpoints.shadowVersionId, shadowing.versionId)))
      .returning({ name: endpoints.name });
    for (const e of cleared) await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
    ended.push(...cleared.map((e) => e.name));
    const reason = `${output.reason}; the run ended during the shadow period (${why}): the champion stays`;
    const { shadowing: _s, resumeAt: _r, seconds: _sec, ...rest } = output as typeof output & { resumeAt?: unknown; seconds?: unknown };
    const decision = { ...rest, decision: 'kept_champion' as const, reason, endpoints: [], shadow: { ...shadowing, pairs: 0, agreement: null, meanAbsDiff: null, labelled: null } };
    await tx
      .update(scenarioRunSteps)
      .set({ output: sql`${scenarioRunSteps.output} || ${JSON.stringify({ decision: 'kept_champion', reason, shadowing: null, resumeAt: null })}::jsonb` })
      .where(and(eq(scenarioRunSteps.runId, step.runId), eq(scenarioRunSteps.index, step.index)));
    const [model] = await tx.select({ id: models.id }).from(models).where(and(eq(models.projectId, run.projectId), eq(models.name, output.model)));
    if (model) {
      await emitAudit(
        tx,
        { actor: { type: 'workflow', workflowId: run.workflowId } },
        { action: 'model.gate_decision', target: { type: 'model', id: model.id }, teamId: await teamOfProject(tx, run.projectId), projectId: run.projectId, details: decision },
      );
    }
  }
  return ended;
}
