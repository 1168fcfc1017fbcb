import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';

/**
 * What an audit row names, in words, resolved when the log is read (audit rows keep only ids and
 * have no foreign keys: a deleted thing keeps its id and loses its name, shown as such).
 * `environment`: a dataset's; `model` / `version`: a model version's; `runKind`: a run's.
 */
export type AuditTargetNames = { name: string | null; environment?: string; model?: string; version?: number; runKind?: string };

type Row = { id: string; name: string | null; environment?: string | null; model?: string | null; version?: number | null; run_kind?: string | null };

/**
 * Which runs to number: a condition on `runs r` that keeps whole projects (runs are numbered per
 * project, so leaving other projects out changes no number). Undefined: every run.
 */
export type RunScope = SQL | undefined;

/** Per target type, its things as `id` (text), `name` and extras: read by id, or filtered by name. */
const sources: Record<string, (runs: RunScope) => SQL> = {
  dataset: () => sql`select id::text as id, name, environment from datasets`,
  model: () => sql`select id::text as id, name from models`,
  modelVersion: () => sql`select v.id::text as id, m.name || ' v' || v.version as name, m.name as model, v.version from model_versions v join models m on m.id = v.model_id`,
  endpoint: () => sql`select id::text as id, name from endpoints`,
  notebook: () => sql`select id::text as id, name from notebooks`,
  project: () => sql`select id::text as id, name from projects`,
  team: () => sql`select id::text as id, name from teams`,
  user: () => sql`select id::text as id, email as name from users`,
  apiKey: () => sql`select id::text as id, name from api_keys`,
  notificationChannel: () => sql`select id::text as id, name from notification_channels`,
  run: (scope) => sql`select r.id::text as id, r.label as name, r.kind as run_kind from (${numberedRuns(scope)}) r`,
};

/**
 * Runs in words with their number among the project's runs of that kind, oldest first: "build of
 * Credit model (run 12)", "scenario nightly (run 3)". Numbered on read: nothing stores a number.
 */
function numberedRuns(scope: RunScope): SQL {
  return sql`select x.id, x.workflow_id, x.kind,
      case when x.kind = 'build' then 'build of ' || coalesce(n.name, 'a deleted notebook') || ' (run ' || x.n || ')'
           when x.kind = 'scenario' then 'scenario ' || coalesce(x.input->>'scenario', '?') || ' (run ' || x.n || ')'
           else x.kind || ' run ' || x.n end as label
    from (select r.*, row_number() over (partition by r.project_id, r.kind order by r.created_at, r.id) as n
          from runs r ${scope ? sql`where ${scope}` : sql``}) x
    left join notebooks n on n.id = x.notebook_id`;
}

const rowsOf = (result: unknown): Row[] => ((result as { rows?: Row[] }).rows ?? (result as Row[])) as Row[];
const textList = (values: Iterable<string>) => sql`(${sql.join([...values].map((v) => sql`${v}`), sql`, `)})`;

/** The names of the events' targets, by `type:id`. Ids are compared as text: a malformed id finds nothing. */
export async function auditTargetNames(db: DbOrTx, targets: { type: string; id: string }[]): Promise<Map<string, AuditTargetNames>> {
  const byType = new Map<string, Set<string>>();
  for (const t of targets) if (sources[t.type]) (byType.get(t.type) ?? byType.set(t.type, new Set()).get(t.type)!).add(t.id);
  const out = new Map<string, AuditTargetNames>();
  await Promise.all(
    [...byType].map(async ([type, ids]) => {
      for (const r of rowsOf(await db.execute(sql`select * from (${sources[type]!(undefined)}) s where s.id in ${textList(ids)}`))) {
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
  const rows = rowsOf(await db.execute(sql`select r.workflow_id as id, r.label as name from (${numberedRuns(undefined)}) r where r.workflow_id in ${textList(workflowIds)}`));
  return new Map(rows.map((r) => [r.id, r.name ?? r.id]));
}

/**
 * For the target filter: the `(type, id)` pairs whose name, as the log shows it, contains `pattern`
 * (a `~*` regular expression, built by the caller). A subquery for `(target_type, target_id) in (...)`.
 */
export function targetsNamedLike(pattern: string, runs: RunScope): SQL {
  const parts = Object.entries(sources).map(([type, source]) => sql`select ${type}::text, s.id from (${source(runs)}) s where s.name ~* ${pattern}`);
  return sql.join(parts, sql` union all `);
}

/** For the actor filter: the workflow ids whose run, in words ("build of Credit model (run 12)"), contains `pattern`. */
export function workflowsNamedLike(pattern: string, runs: RunScope): SQL {
  return sql`select r.workflow_id from (${numberedRuns(runs)}) r where r.label ~* ${pattern}`;
}
