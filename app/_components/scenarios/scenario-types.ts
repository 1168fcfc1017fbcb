import { CronExpressionParser } from 'cron-parser';
import cronstrue from 'cronstrue';
import { assertNever } from '../notebook/cell-kinds';
import type { RouterOutputs } from '../types';

export type Scenario = RouterOutputs['scenarios']['list'][number];
export type ScenarioTrigger = Scenario['triggers'][number];
export type ScenarioRunSummary = RouterOutputs['scenarios']['runs'][number];
export type ScenarioRun = RouterOutputs['scenarios']['getRun'];
export type ScenarioRunStep = ScenarioRun['steps'][number];
export type ScenarioRunStatus = ScenarioRunSummary['status'];
export type RunTrigger = ScenarioRunSummary['trigger'];
export type GateDecision = RouterOutputs['models']['gateDecisions'][number];

export const scenarioRunHref = (projectId: string, runId: string) => `/projects/${projectId}/runs/${runId}`;

export const isRunLive = (status: ScenarioRunStatus | undefined | null): boolean => status === 'queued' || status === 'running';

/** "every 5 min", "every 30 s": a watcher's interval (milliseconds after parsing) in words. */
export function formatEvery(ms: number): string {
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? 'every day' : `every ${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? 'every hour' : `every ${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return ms === 60_000 ? 'every minute' : `every ${ms / 60_000} min`;
  return `every ${Math.round(ms / 1_000)} s`;
}

/** "At 06:00 AM" for "0 6 * * *"; the cron itself when cronstrue cannot read it. */
export function describeCron(cron: string): string {
  try {
    return cronstrue.toString(cron, { verbose: false });
  } catch {
    return cron;
  }
}

/**
 * The next time a schedule fires, computed here from the cron and its time zone (the API reports the
 * schedule, not Temporal's own next action time); null when the cron cannot be read.
 */
export function nextCronTime(cron: string, timezone: string, from = new Date()): Date | null {
  try {
    return CronExpressionParser.parse(cron, { tz: timezone, currentDate: from }).next().toDate();
  } catch {
    return null;
  }
}

/** "Dec 8, 2026, 06:00 CET": a time as the clock of `timezone` shows it, with the zone's name. */
export function formatInZone(date: Date, timezone: string): string {
  try {
    // dateStyle/timeStyle cannot be combined with timeZoneName: the fields one by one.
    return new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: timezone, timeZoneName: 'short' }).format(date);
  } catch {
    return date.toISOString();
  }
}

/** The earliest next fire time over a scenario's schedule triggers, with the time zone of that trigger. */
export function nextScheduledRun(triggers: readonly ScenarioTrigger[], from = new Date()): { at: Date; timezone: string } | null {
  let best: { at: Date; timezone: string } | null = null;
  for (const t of triggers) {
    if (t.type !== 'schedule') continue;
    const at = nextCronTime(t.cron, t.timezone, from);
    if (at && (!best || at < best.at)) best = { at, timezone: t.timezone };
  }
  return best;
}

/** A step in words, with its position and name: `2. checks credit_clean: "clean data" (when a step failed)`. */
export function describeStep(st: { index: number; name: string | null; does: string; when: string }): string {
  const when = st.when === 'failure' ? ' (when a step failed)' : st.when === 'always' ? ' (always)' : '';
  return `${st.index + 1}. ${st.does}${st.name && st.name !== st.does ? `: "${st.name}"` : ''}${when}`;
}

/** A declared trigger in words: "At 06:00 AM, Europe/Paris", "when sales changes (checked every 5 min)". */
export function describeTrigger(t: ScenarioTrigger): string {
  switch (t.type) {
    case 'schedule':
      return `${describeCron(t.cron)}, ${t.timezone}`;
    case 'dataset_change': {
      const by = t.sql ? 'its fingerprint SQL; ' : t.column ? `rows or max ${t.column}; ` : '';
      return `when ${t.dataset} changes (${by}checked ${formatEvery(t.every)})`;
    }
    case 'after_scenario':
      return t.outcome === 'any' ? `after ${t.scenario} finishes` : `after ${t.scenario} ${t.outcome}`;
    case 'manual':
      return 'manual';
    default:
      return assertNever(t, 'scenario trigger');
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : null);
const isCount = (v: string | null) => v !== null && /^\d+$/.test(v);

/** How a run was started: "manual by ada@example.com", "schedule 0 6 * * *", "dataset change: sales 4454 → 4455 rows". */
export function describeRunTrigger(trigger: RunTrigger): { kind: string; detail: string } {
  const d = (trigger.detail ?? {}) as Record<string, unknown>;
  switch (trigger.kind) {
    case 'manual': {
      const by = str(d.by);
      return { kind: 'manual', detail: `${by ? `by ${by}` : ''}${d.rerunOf ? `${by ? ', ' : ''}re-run` : ''}` };
    }
    case 'schedule':
      return { kind: 'schedule', detail: [str(d.cron), str(d.timezone)].filter(Boolean).join(' ') };
    case 'dataset_change': {
      const from = str(d.from);
      const to = str(d.to);
      const change = `${from ?? 'none'} → ${to ?? 'none'}${isCount(from) && isCount(to) ? ' rows' : ''}`;
      return { kind: 'dataset change', detail: `${str(d.dataset) ?? ''} ${change}`.trim() };
    }
    case 'after_scenario':
      return { kind: 'after scenario', detail: `${str(d.scenario) ?? ''} ${str(d.outcome) ?? ''}`.trim() };
    case 'run_scenario':
      return { kind: 'run by scenario', detail: '' };
    default:
      return assertNever(trigger.kind, 'run trigger');
  }
}

export function runTriggerText(trigger: RunTrigger): string {
  const { kind, detail } = describeRunTrigger(trigger);
  return detail ? `${kind} ${detail}` : kind;
}

/** The run that re-ran, or the parent run of a run_scenario step: where "why did this run" continues. */
export function triggerRunLink(trigger: RunTrigger): { label: string; runId: string } | null {
  const d = (trigger.detail ?? {}) as Record<string, unknown>;
  if (trigger.kind === 'manual' && typeof d.rerunOf === 'string') return { label: 're-run of', runId: d.rerunOf };
  if (trigger.kind === 'after_scenario' && typeof d.runId === 'string') return { label: 'after run', runId: d.runId };
  if (trigger.kind === 'run_scenario' && typeof d.runId === 'string') return { label: 'started by run', runId: d.runId };
  return null;
}

/** Wall time of a run: until now while it runs, null before it started. */
export function runDurationMs(run: { startedAt: string | null; finishedAt: string | null; status: ScenarioRunStatus }, now = Date.now()): number | null {
  if (!run.startedAt) return null;
  const end = run.finishedAt ? new Date(run.finishedAt).getTime() : isRunLive(run.status) ? now : null;
  return end === null ? null : end - new Date(run.startedAt).getTime();
}

export const overlapLabel = (o: Scenario['overlap']) => (o === 'skip' ? 'skip while running' : 'queue one');
