import { desc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { driftReports, modelVersions } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { findEndpoint } from '../endpoints/find-endpoint';
import { scoringRuntime } from '../scoring/runtime';
import type { EndpointDriftInput } from './schemas';
import { DRIFT_PSI_THRESHOLD, driftReportView, type DriftReportView } from './view';

export type EndpointDrift = {
  threshold: number;
  /** Oldest first (for charts); the last one is the latest. */
  reports: DriftReportView[];
  /** This process's prediction log: rows waiting for the next write, rows dropped since it started because the buffer was full. */
  predictionLog: { buffered: number; dropped: number; refused: number; capacity: number };
};

/** An endpoint's latest drift reports, oldest first, for charts over time and the latest table. */
export async function endpointDrift({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof EndpointDriftInput> }): Promise<EndpointDrift> {
  const endpoint = await findEndpoint(ctx.db, input);
  const rows = await ctx.db
    .select({ report: driftReports, version: modelVersions.version })
    .from(driftReports)
    .leftJoin(modelVersions, eq(modelVersions.id, driftReports.modelVersionId))
    .where(eq(driftReports.endpointId, endpoint.id))
    .orderBy(desc(driftReports.computedAt))
    .limit(input.limit);
  const log = scoringRuntime(ctx.db).predictionLog;
  return {
    threshold: DRIFT_PSI_THRESHOLD,
    reports: rows.reverse().map((r) => driftReportView(r.report, r.version)),
    predictionLog: { buffered: log.buffered, dropped: log.dropped, refused: log.refused, capacity: log.capacity },
  };
}
