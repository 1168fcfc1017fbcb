import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

/**
 * What an audit row names, in words, resolved when the log is read (audit rows keep only ids and
 * have no foreign keys: a deleted thing keeps its id and loses its name, shown as such).
 * `environment`: a dataset's; `model` / `version`: a model version's; `runKind`: a run's.
 */
export type AuditTargetNames = { name: string | null; environment?: string; model?: string; version?: number; runKind?: string };

type Row = { id: string; name: string | null; environment?: string | null; model?: string | null; version?: number | null; run_kind?: string | null };

/** One lookup per target type: `ids` are compared as text, so a malformed id finds nothing rather than failing. */
const lookups: Record<string, (ids: SQL) => SQL> = {
  dataset: (ids) => sql`select id::text as id, name, environment from datasets where id::text in ${ids}`,
  model: (ids) => sql`select id::text as id, name from models where id::text in ${ids}`,
  modelVersion: (ids) =>
    sql`select v.id::text as id, m.name || ' v' || v.version as name, m.name as model, v.version from model_versions v join models m on m.id = v.model_id where v.id::text in ${ids}`,
  endpoint: (ids) => sql`select id::text as id, name from endpoints where id::text in ${ids}`,
  notebook: (ids) => sql`select id::text as id, name from notebooks where id::text in ${ids}`,
  project: (ids) => sql`select id::text as id, name from projects where id::text in ${ids}`,
  team: (ids) => sql`select id::text as id, name from teams where id::text in ${ids}`,
  user: (ids) => sql`select id::text as id, email as name from users where id::text in ${ids}`,
  apiKey: (ids) => sql`select id::text as id, name from api_keys where id::text in ${ids}`,
  notificationChannel: (ids) => sql`select id::text as id, name from notification_channels where id::text in ${ids}`,
  run: (ids) => sql`select r.id::text as id, r.label as name, r.kind as run_kind from (${numberedRuns()}) r where r.id::text in ${ids}`,
};

/**
 * Runs in words with their number among the project's runs of that kind, oldest first: "build of
 * Credit model (run 12)", "scenario nightly (run 3)". Numbered on read: nothing stores a number.
 */
function numberedRuns(): SQL {
  return sql`select x.id, x.workflow_id, x.kind,
      case when x.kind = 'build' then 'build of ' || coalesce(n.name, 'a deleted notebook') || ' (run ' || x.n || ')'
           when x.kind = 'scenario' then 'scenario ' || coalesce(x.input->>'scenario', '?') || ' (run ' || x.n || ')'
           else x.kind || ' run ' || x.n end as label
    from (select r.*, row_number() over (partition by r.project_id, r.kind order by r.created_at, r.id) as n from runs r) x
    left join notebooks n on n.id = x.notebook_id`;
}

const rowsOf = (result: unknown): Row[] => ((result as { rows?: Row[] }).rows ?? (result as Row[])) as Row[];

/** The names of the events' targets, by `type:id`. */
export async function auditTargetNames(db: DbOrTx, targets: { type: string; id: string }[]): Promise<Map<string, AuditTargetNames>> {
  const byType = new Map<string, Set<string>>();
  for (const t of targets) if (lookups[t.type]) (byType.get(t.type) ?? byType.set(t.type, new Set()).get(t.type)!).add(t.id);
  const out = new Map<string, AuditTargetNames>();
  await Promise.all(
    [...byType].map(async ([type, ids]) => {
      const list = sql`(${sql.join([...ids].map((id) => sql`${id}`), sql`, `)})`;
      for (const r of rowsOf(await db.execute(lookups[type]!(list)))) {
        out.set(`${type}:${r.id}`, {
          name: r.name,
          ...(r.environment ? { environment: r.environment } : {}),
          ...(r.model ? { model: r.model } : {}),
          ...(r.version != null ? { version: Number(r.version) } : {}),
          ...(r.run_kind ? { runKind: r.run_kind } : {}),
        });
      }
    }),
  );
  return out;
}

/** Workflow actors in words (by their workflow id): the run they belong to, as `numberedRuns` says it. */
export async function workflowActorNames(db: DbOrTx, workflowIds: string[]): Promise<Map<string, string>> {
  if (!workflowIds.length) return new Map();
  const list = sql`(${sql.join(workflowIds.map((id) => sql`${id}`), sql`, `)})`;
  const rows = rowsOf(await db.execute(sql`select r.workflow_id as id, r.label as name from (${numberedRuns()}) r where r.workflow_id in ${list}`));
  return new Map(rows.map((r) => [r.id, r.name ?? r.id]));
}
