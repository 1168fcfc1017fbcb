import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '@/db/client';
import { endpoints, models } from '@/db/schema';
import type { ScenarioStep } from '@/server/pipeline';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import type { Comparator, Gate } from './retrain-gate';

/** What a retrain step decides and records, and the promotion both of its phases end in. */

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
export type Shadowing = {
  versionId: string;
  version: number;
  championVersionId: string;
  endpoints: { id: string; name: string }[];
  since: string;
  until: string;
};

export type ShadowOutcome = Shadowing & {
  pairs: number;
  agreement: number | null;
  meanAbsDiff: number | null;
  labelled: {
    rows: number;
    servedAuc: number | null;
    shadowAuc: number | null;
  } | null;
};

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

export function publishPromotion(db: Db, modelId: string, decided: Decision): void {
  if (decided.decision !== 'promoted') return;
  publishScoringChange(db, { kind: 'model', modelId });
  for (const name of decided.endpoints) publishScoringChange(db, { kind: 'endpoint', name });
}

/** The project's production endpoints (deployed by a bundle) that serve this model. */
export async function productionEndpointsOf(db: DbOrTx, projectId: string, modelId: string): Promise<{ id: string; name: string }[]> {
  return db
    .select({ id: endpoints.id, name: endpoints.name })
    .from(endpoints)
    .where(and(eq(endpoints.projectId, projectId), eq(endpoints.modelId, modelId), isNotNull(endpoints.bundleHash)))
    .orderBy(endpoints.name);
}
