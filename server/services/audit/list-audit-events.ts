import { and, desc, eq, gte, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { auditEvents } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { Uuid } from '../teams/schemas';
import { auditActions } from '../../domain/audit-actions';
import { auditTargetNames, targetsNamedLike, workflowActorNames, workflowsNamedLike, type RunScope } from './audit-names';

export const ListAuditInput = z
  .object({
    teamId: Uuid('teamId').optional(),
    projectId: Uuid('projectId').optional(),
    actor: z.string().trim().min(1).max(200).optional().describe('actor id, or part of the actor label (an email, key:<name>) or of a workflow actor in words ("build of Credit model")'),
    target: z.string().trim().min(1).max(200).optional().describe('target id, target type (project, dataset, apiKey, ...), or part of the target name ("credit", "run 3")'),
    action: z.enum(auditActions, { error: `action must be one of ${auditActions.join(', ')}` }).optional(),
    from: z.coerce.date({ error: 'from must be an ISO date-time' }).optional(),
    to: z.coerce.date({ error: 'to must be an ISO date-time' }).optional(),
    cursor: z.coerce.number({ error: 'cursor must be a number' }).int().positive().optional(),
    limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(200).default(50),
  })
  .refine((v) => v.teamId || v.projectId, { error: 'teamId or projectId is required', path: ['teamId'] });
export type ListAuditInput = z.input<typeof ListAuditInput>;

/**
 * A case-insensitive regular expression (`~*`) finding `text` anywhere, every character taken
 * literally, except that a number at either end of it is matched as a whole number: "run 1" finds
 * "(run 1)" and not "(run 12)", "2" finds "v2" and not "v12".
 */
function containing(text: string): string {
  const literal = text.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
  return `${/^\d/.test(text) ? '(^|[^0-9])' : ''}${literal}${/\d$/.test(text) ? '($|[^0-9])' : ''}`;
}

/** The filters as SQL. Names are matched as the log shows them, resolved now (rows keep ids only). */
function auditFilters(input: z.output<typeof ListAuditInput>): SQL[] {
  const where: SQL[] = [];
  // Runs are numbered per project: numbering only the listed projects' runs gives the same numbers.
  let runs: RunScope;
  if (input.projectId) {
    where.push(eq(auditEvents.projectId, input.projectId));
    runs = sql`r.project_id = ${input.projectId}`;
  } else if (input.teamId) {
    where.push(eq(auditEvents.teamId, input.teamId));
    runs = sql`r.project_id in (select id from projects where team_id = ${input.teamId})`;
  }
  if (input.action) where.push(eq(auditEvents.action, input.action));
  if (input.actor) {
    const pattern = containing(input.actor);
    const workflow = and(eq(auditEvents.actorType, 'workflow'), sql`${auditEvents.actorId} in (${workflowsNamedLike(pattern, runs)})`)!;
    where.push(or(eq(auditEvents.actorId, input.actor), sql`${auditEvents.actorLabel} ~* ${pattern}`, workflow)!);
  }
  if (input.target) {
    const pattern = containing(input.target);
    // A scenario's id is its name (scenarios live in bundles, not in a table).
    const scenario = and(eq(auditEvents.targetType, 'scenario'), sql`${auditEvents.targetId} ~* ${pattern}`)!;
    const named = sql`(${auditEvents.targetType}, ${auditEvents.targetId}) in (${targetsNamedLike(pattern, runs)})`;
    where.push(or(eq(auditEvents.targetId, input.target), eq(auditEvents.targetType, input.target), scenario, named)!);
  }
  if (input.from) where.push(gte(auditEvents.at, input.from.toISOString()));
  if (input.to) where.push(lte(auditEvents.at, input.to.toISOString()));
  if (input.cursor) where.push(lt(auditEvents.seq, input.cursor));
  return where;
}

/** Newest first; `nextCursor` continues after the last event returned. */
export async function listAuditEvents({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListAuditInput> }) {
  const where = auditFilters(input);
  const rows = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.seq))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const [names, workflows] = await Promise.all([
    auditTargetNames(ctx.db, page.map((r) => ({ type: r.targetType, id: r.targetId }))),
    workflowActorNames(ctx.db, [...new Set(page.filter((r) => r.actorType === 'workflow').map((r) => r.actorId))]),
  ]);
  const events = page.map((r) => ({
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    // `label` as recorded; `description`: a workflow actor in words ("build of Credit model (run 12)").
    actor: { type: r.actorType, id: r.actorId, label: r.actorLabel, description: workflows.get(r.actorId) ?? null },
    action: r.action,
    // `name` and the rest resolved now (null: it no longer exists, or its type has no name).
    target: { type: r.targetType, id: r.targetId, ...(names.get(`${r.targetType}:${r.targetId}`) ?? { name: null }) },
    teamId: r.teamId,
    projectId: r.projectId,
    details: r.details,
    requestId: r.requestId,
    clientIp: r.clientIp,
    hash: r.hash,
  }));
  return { events, nextCursor: rows.length > input.limit ? (page.at(-1)?.seq ?? null) : null };
}
