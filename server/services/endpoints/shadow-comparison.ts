import { and, desc, eq, gte, inArray, isNotNull, lt } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { z } from 'zod';
import { modelVersions, predictionLog } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { scoringRuntime } from '../scoring/runtime';
import { findEndpoint } from './find-endpoint';
import { shadowWindows, type ShadowComparisonInput } from './schemas';

/** The newest pairs of a window compared at most. */
export const MAX_SHADOW_PAIRS = 50_000;

export type ShadowComparison = {
  /** The shadow version compared (the endpoint's current one); null when none is set. */
  shadowVersion: number | null;
  /** The versions that answered the compared requests (one, unless the served version changed in the window). */
  servedVersions: number[];
  since: string;
  until: string;
  /** Served/shadow pairs compared. */
  rows: number;
  /** Share of pairs whose labels agree; null without pairs. */
  agreement: number | null;
  /** Mean and 95th percentile of |p(served) - p(shadow)| for the positive class; null without pairs. */
  meanAbsDiff: number | null;
  p95AbsDiff: number | null;
};

/**
 * How the endpoint's shadow version would have answered, next to what it answered: over the
 * served/shadow row pairs logged in the window (joined on their pair id), the label agreement and
 * the absolute differences of the positive-class probability. This process's pending shadow
 * scorings and buffered log are written first, so the latest requests count.
 */
export async function shadowComparison({ ctx, input, now = new Date() }: { ctx: ServiceCtx; input: z.output<typeof ShadowComparisonInput>; now?: Date }): Promise<ShadowComparison> {
  const endpoint = await findEndpoint(ctx.db, input);
  const since = new Date(now.getTime() - shadowWindows[input.window.last]);
  const empty = { servedVersions: [], since: since.toISOString(), until: now.toISOString(), rows: 0, agreement: null, meanAbsDiff: null, p95AbsDiff: null };
  if (!endpoint.shadowVersionId) return { shadowVersion: null, ...empty };
  const [shadowVersion] = await ctx.db.select({ version: modelVersions.version }).from(modelVersions).where(eq(modelVersions.id, endpoint.shadowVersionId));
  if (!shadowVersion) return { shadowVersion: null, ...empty };

  const runtime = scoringRuntime(ctx.db);
  await runtime.shadow.settled();
  await runtime.predictionLog.flush();
  const served = predictionLog;
  const shadow = alias(predictionLog, 'shadow_log');
  const pairs = await ctx.db
    .select({ versionId: served.modelVersionId, label: served.label, probability: served.probability, shadowLabel: shadow.label, shadowProbability: shadow.probability })
    .from(served)
    // A shadow row is logged after its served row, never before.
    .innerJoin(shadow, and(eq(shadow.endpointId, served.endpointId), eq(shadow.pairId, served.pairId), eq(shadow.shadow, true), gte(shadow.loggedAt, since)))
    .where(and(eq(served.endpointId, endpoint.id), eq(served.shadow, false), isNotNull(served.pairId), gte(served.loggedAt, since), lt(served.loggedAt, now), eq(shadow.modelVersionId, endpoint.shadowVersionId)))
    .orderBy(desc(served.loggedAt))
    .limit(MAX_SHADOW_PAIRS);
  if (pairs.length === 0) return { shadowVersion: shadowVersion.version, ...empty };

  const servedIds = [...new Set(pairs.map((p) => p.versionId))];
  const versions = await ctx.db.select({ version: modelVersions.version }).from(modelVersions).where(inArray(modelVersions.id, servedIds));
  const agreeing = pairs.filter((p) => p.label === p.shadowLabel).length;
  const diffs = pairs
    .map((p) => Math.abs(p.probability - p.shadowProbability))
    .filter((d) => Number.isFinite(d))
    .sort((a, b) => a - b);
  return {
    shadowVersion: shadowVersion.version,
    servedVersions: versions.map((v) => v.version).sort((a, b) => a - b),
    since: empty.since,
    until: empty.until,
    rows: pairs.length,
    agreement: agreeing / pairs.length,
    meanAbsDiff: diffs.length ? diffs.reduce((s, d) => s + d, 0) / diffs.length : null,
    // Nearest rank.
    p95AbsDiff: diffs.length ? diffs[Math.ceil(0.95 * diffs.length) - 1]! : null,
  };
}
