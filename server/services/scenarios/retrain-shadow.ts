import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { endpoints, models, modelVersions, scenarioRunSteps } from '@/db/schema';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { auditMetaOf } from '../context';
import { teamOfProject } from '../endpoints/find-endpoint';
import { compareShadowPairs } from '../endpoints/shadow-comparison';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { makeChampion, publishPromotion, type Decision, type RetrainStep, type ShadowOutcome, type Shadowing } from './retrain-champion';
import { StepRefused, type StepEnv, type StepResult } from './steps';

/**
 * Starts a passing challenger's shadow period, in one transaction: `register` stores the challenger
 * (a version, not the champion), the production endpoints shadow-score their traffic with it, and
 * `model.shadow_start` is audited with the gate's record. The step stays open until `resumeAt`;
 * `concludeRetrainShadow` then decides. Shared by train-cell and Python-cell retrains: what follows
 * the gate does not depend on how the challenger was fitted.
 */
export async function startShadowPeriod(
  env: StepEnv,
  c: {
    step: RetrainStep;
    model: typeof models.$inferSelect;
    champion: typeof modelVersions.$inferSelect;
    base: Omit<Decision, 'decision'> & Record<string, unknown>;
    challengerValue: number;
    prodEndpoints: { id: string; name: string }[];
    register: (tx: DbOrTx, meta: AuditMeta) => Promise<{ id: string; version: number }>;
  },
): Promise<StepResult> {
  const { run, db } = env;
  const { base, challengerValue, prodEndpoints } = c;
  const meta = auditMetaOf(env.ctx);
  const teamId = await teamOfProject(db, run.projectId);
  const shadowFor = c.step.shadow!.for;
  const shadowing = await db.transaction(async (tx) => {
    const registered = await c.register(tx, meta);
    await tx
      .update(endpoints)
      .set({ shadowVersionId: registered.id, updatedAt: sql`now()` })
      .where(inArray(endpoints.id, prodEndpoints.map((e) => e.id)));
    for (const e of prodEndpoints) await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
    const since = new Date();
    const s: Shadowing = {
      versionId: registered.id,
      version: registered.version,
      championVersionId: c.champion.id,
      endpoints: prodEndpoints,
      since: since.toISOString(),
      until: new Date(since.getTime() + shadowFor).toISOString(),
    };
    await emitAudit(tx, meta, {
      action: 'model.shadow_start',
      target: { type: 'model', id: c.model.id },
      teamId,
      projectId: run.projectId,
      details: { ...base, challenger: { version: s.version, value: challengerValue }, endpoints: prodEndpoints.map((e) => e.name), until: s.until },
    });
    return s;
  });
  for (const e of prodEndpoints) publishScoringChange(db, { kind: 'endpoint', name: e.name });
  env.say(`gate: ${base.reason}: v${shadowing.version} shadow-scores ${prodEndpoints.map((e) => e.name).join(', ')} until ${shadowing.until}`);
  return {
    output: { ...base, decision: 'shadowing', challenger: { version: shadowing.version, value: challengerValue }, endpoints: prodEndpoints.map((e) => e.name), shadowing },
    resumeAt: shadowing.until,
  };
}

/** The first phase's output of a shadowing step, stored on the open step. */
type FirstPhase = Omit<Decision, 'decision'> & { decision: string; shadowing?: Shadowing };

type Compared = Awaited<ReturnType<typeof compareShadowPairs>>;

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
  const first = row?.output as FirstPhase | null | undefined;
  const shadowing = first?.shadowing;
  if (!first || !shadowing) throw new Error(`step ${env.index} of run ${run.runId} is not shadowing a challenger`);
  const [model] = await db
    .select()
    .from(models)
    .where(and(eq(models.projectId, run.projectId), eq(models.name, step.model)));
  if (!model) throw new StepRefused(`model "${step.model}" no longer exists`);
  const [challenger] = await db.select().from(modelVersions).where(eq(modelVersions.id, shadowing.versionId));
  if (!challenger) throw new Error(`the shadowed challenger v${shadowing.version} vanished`);
  const compared = await compareShadow(env, step, shadowing, challenger.featureSchema);
  const problems = [
    ...(opts.cancelled ? ['the run was cancelled during the shadow period'] : []),
    ...(model.championVersionId !== shadowing.championVersionId ? ['the champion changed during the shadow period (the challenger was judged against another version)'] : []),
    ...(await endedShadows(db, shadowing)),
    ...shadowProblems(step, first, compared),
  ];
  const summary = shadowSummary(compared);
  const promote = problems.length === 0;
  env.say(`shadow period over: ${summary}: ${promote ? 'promoting the challenger' : `keeping the champion (${problems.join('; ')})`}`);
  const outcome: ShadowOutcome = { ...shadowing, pairs: compared.rows, agreement: compared.agreement, meanAbsDiff: compared.meanAbsDiff, labelled: compared.labelled };
  const meta = auditMetaOf(env.ctx);
  const teamId = await teamOfProject(db, run.projectId);
  const decided = await db.transaction(async (tx) => {
    const cleared = await clearShadow(tx, shadowing);
    const [championNow] = await tx.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.id, shadowing.championVersionId));
    const to = { id: challenger.id, version: challenger.version };
    const from = championNow?.version ?? first.champion.version;
    const repointed = promote ? await makeChampion(tx, meta, { projectId: run.projectId, teamId, model, from, to, runId: run.runId }) : [];
    const { shadowing: _s, seconds: _sec, ...rest } = first as FirstPhase & { seconds?: unknown };
    const decision: Decision = {
      ...rest,
      decision: promote ? 'promoted' : 'kept_champion',
      reason: `${first.reason}; shadow: ${summary}${promote ? '' : `: ${problems.join('; ')}`}`,
      endpoints: repointed,
      shadow: outcome,
    };
    await emitAudit(tx, meta, { action: 'model.gate_decision', target: { type: 'model', id: model.id }, teamId, projectId: run.projectId, details: decision });
    return { decision, cleared };
  });
  for (const name of decided.cleared) publishScoringChange(db, { kind: 'endpoint', name });
  publishPromotion(db, model.id, decided.decision);
  return { output: { ...decided.decision, shadowing: null, seconds: (first as { seconds?: number }).seconds ?? null } };
}

/** The shadow and served scores of the period (and, with labels, both AUCs on the labelled records). */
async function compareShadow(env: StepEnv, step: RetrainStep, shadowing: Shadowing, featureSchema: unknown): Promise<Compared> {
  const shadow = step.shadow!;
  const positive = FeatureSchema.parse(featureSchema);
  const until = new Date(Math.min(Date.now(), Date.parse(shadowing.until) + 60_000));
  return compareShadowPairs(env.ctx, {
    endpointIds: shadowing.endpoints.map((e) => e.id),
    shadowVersionId: shadowing.versionId,
    since: new Date(shadowing.since),
    until,
    ...(shadow.labels
      ? {
          labels: {
            projectId: env.run.projectId,
            spec: { ...shadow.labels, environment: 'production' },
            positive: positive.classes[positive.positiveIndex]!,
          },
        }
      : {}),
  });
}

/** The shadowed endpoints whose shadow someone changed or ended during the period, as a problem. */
async function endedShadows(db: DbOrTx, shadowing: Shadowing): Promise<string[]> {
  const still = await db
    .select({ name: endpoints.name, shadowVersionId: endpoints.shadowVersionId })
    .from(endpoints)
    .where(inArray(endpoints.id, shadowing.endpoints.map((e) => e.id)));
  const ended = shadowing.endpoints.filter((e) => !still.some((x) => x.name === e.name && x.shadowVersionId === shadowing.versionId)).map((e) => e.name);
  return ended.length ? [`the shadow on ${ended.join(', ')} was changed or ended during the period (a deployment, a deletion or an operator)`] : [];
}

/** Where the comparison falls short of the step's shadow bounds. */
function shadowProblems(step: RetrainStep, first: FirstPhase, compared: Compared): string[] {
  const shadow = step.shadow!;
  const problems: string[] = [];
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
  return problems;
}

function shadowSummary(compared: Compared): string {
  const l = compared.labelled;
  return (
    `${compared.rows} shadow-scored records` +
    (compared.agreement !== null ? `, ${(compared.agreement * 100).toFixed(1)}% agreement, mean |Δp| ${compared.meanAbsDiff?.toFixed(4) ?? 'n/a'}` : '') +
    (l
      ? l.servedAuc !== null && l.shadowAuc !== null
        ? `, AUC ${l.shadowAuc.toFixed(4)} vs served ${l.servedAuc.toFixed(4)} on ${l.rows} labelled`
        : `, ${l.rows} labelled records (too few for an AUC)`
      : '')
  );
}

/** Ends the shadow on the endpoints still shadowing this challenger (someone may have changed it); their names. */
async function clearShadow(tx: DbOrTx, shadowing: Shadowing): Promise<string[]> {
  const cleared = await tx
    .update(endpoints)
    .set({ shadowVersionId: null, updatedAt: sql`now()` })
    .where(and(inArray(endpoints.id, shadowing.endpoints.map((e) => e.id)), eq(endpoints.shadowVersionId, shadowing.versionId)))
    .returning({ name: endpoints.name });
  for (const e of cleared) await notifyScoringChange(tx, { kind: 'endpoint', name: e.name });
  return cleared.map((e) => e.name);
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
    ended.push(...(await clearShadow(tx, shadowing)));
    const reason = `${output.reason}; the run ended during the shadow period (${why}): the champion stays`;
    const { shadowing: _s, resumeAt: _r, seconds: _sec, ...rest } = output as typeof output & { resumeAt?: unknown; seconds?: unknown };
    const decision = { ...rest, decision: 'kept_champion' as const, reason, endpoints: [], shadow: { ...shadowing, pairs: 0, agreement: null, meanAbsDiff: null, labelled: null } };
    await tx
      .update(scenarioRunSteps)
      .set({ output: sql`${scenarioRunSteps.output} || ${JSON.stringify({ decision: 'kept_champion', reason, shadowing: null, resumeAt: null })}::jsonb` })
      .where(and(eq(scenarioRunSteps.runId, step.runId), eq(scenarioRunSteps.index, step.index)));
    const [model] = await tx.select({ id: models.id }).from(models).where(and(eq(models.projectId, run.projectId), eq(models.name, output.model)));
    if (model) {
      const meta: AuditMeta = { actor: { type: 'workflow', workflowId: run.workflowId } };
      await emitAudit(tx, meta, { action: 'model.gate_decision', target: { type: 'model', id: model.id }, teamId: await teamOfProject(tx, run.projectId), projectId: run.projectId, details: decision });
    }
  }
  return ended;
}
