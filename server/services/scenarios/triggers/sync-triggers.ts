import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
  type Workflow,
} from '@temporalio/client';
import { scenarioWorkflowNames } from '@/workflows/shared/scenario';
import { watcherMemoKeys, type ScenarioWatchInput } from '@/workflows/shared/scenario-watch';
import { desiredTriggers, schedulePrefixOf, watcherPrefixOf, type DeployedScenario, type DesiredSchedule, type DesiredWatcher } from './declared-triggers';
import type { TriggerChange, TriggerSyncReport } from './types';

/** The action memo key where a schedule keeps what it was made from. */
const SCHEDULE_MEMO_KEY = 'stagebookSchedule';
/**
 * Missed fire times (Temporal down, a deploy in between) are caught up within this window, one at
 * a time under the overlap policy: a nightly scenario missed by a short outage still runs once.
 */
const CATCHUP_WINDOW = '1 day';

export type SyncScenarioTriggersInput = {
  client: Client;
  taskQueue: string;
  projectId: string;
  /** The scenarios production runs now (the active bundle's). */
  scenarios: readonly DeployedScenario[];
  /**
   * The scenarios of the bundle active before, when known: their schedules and watchers are
   * removed even when Temporal's visibility (list) has not caught up with their creation yet.
   */
  previous?: readonly DeployedScenario[];
};

/**
 * Brings the project's Temporal Schedules and dataset watchers in line with the scenarios given:
 * creates what is missing, updates what differs, deletes what is no longer declared. Keyed by
 * (project, scenario, trigger position), so it converges from any state and running it twice
 * changes nothing. Every item is attempted; if any failed, it throws after the others are done.
 */
export async function syncScenarioTriggers(input: SyncScenarioTriggersInput): Promise<TriggerSyncReport> {
  const { client, taskQueue, projectId } = input;
  const desired = desiredTriggers(projectId, input.scenarios);
  const before = desiredTriggers(projectId, input.previous ?? []);
  const changes: TriggerChange[] = [];
  const failures: string[] = [];
  const attempt = async (what: string, fn: () => Promise<TriggerChange | null>) => {
    try {
      const change = await fn();
      if (change) changes.push(change);
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  for (const s of desired.schedules) await attempt(`schedule ${s.scheduleId}`, () => syncSchedule(client, taskQueue, s));
  for (const w of desired.watchers) await attempt(`watcher ${w.workflowId}`, () => syncWatcher(client, taskQueue, w));

  const keepSchedules = new Set(desired.schedules.map((s) => s.scheduleId));
  let staleSchedules: string[] = [];
  await attempt('listing schedules', async () => {
    staleSchedules = [...new Set([...(await listScheduleIds(client, schedulePrefixOf(projectId))), ...before.schedules.map((s) => s.scheduleId)])].filter((id) => !keepSchedules.has(id));
    return null;
  });
  for (const id of staleSchedules) await attempt(`deleting schedule ${id}`, () => deleteSchedule(client, id));

  const keepWatchers = new Set(desired.watchers.map((w) => w.workflowId));
  let staleWatchers: string[] = [];
  await attempt('listing watchers', async () => {
    staleWatchers = [...new Set([...(await listRunningWatcherIds(client, watcherPrefixOf(projectId))), ...before.watchers.map((w) => w.workflowId)])].filter((id) => !keepWatchers.has(id));
    return null;
  });
  for (const id of staleWatchers) await attempt(`stopping watcher ${id}`, () => stopWatcher(client, id));

  if (failures.length) throw new TriggerSyncError(failures, changes);
  return { changes };
}

/** Some schedules or watchers could not be synced; `changes` says what was done before and after. */
export class TriggerSyncError extends Error {
  constructor(
    readonly failures: string[],
    readonly changes: TriggerChange[],
  ) {
    super(`${failures.length} trigger${failures.length === 1 ? '' : 's'} failed to sync: ${failures.join('; ')}`);
    this.name = 'TriggerSyncError';
  }
}

// ---- schedules ----

function scheduleAction(taskQueue: string, s: DesiredSchedule): ScheduleOptionsStartWorkflowAction<Workflow> {
  return {
    type: 'startWorkflow',
    workflowType: scenarioWorkflowNames.run,
    taskQueue,
    // Temporal appends the scheduled time: scenario-run-<project>-<scenario>-<trigger>-2026-01-01T06:00:00Z.
    workflowId: `scenario-run-${s.runInput.projectId}-${s.scenario}-${s.triggerIndex}`,
    args: [s.runInput],
    // Every run the schedule starts carries it (the Temporal UI shows workflow memos).
    memo: { [SCHEDULE_MEMO_KEY]: { definition: s.definition, bundleHash: s.bundleHash } },
    staticSummary: `scenario ${s.scenario}: ${s.summary}`,
  };
}

const noteOf = (s: DesiredSchedule) => `declared by bundle ${s.bundleHash.slice(0, 12)} (scenario ${s.scenario}, trigger ${s.triggerIndex})`;
/** The note of a Schedule paused because its scenario is disabled; only such pauses are lifted on enable. */
const DISABLED_NOTE = 'paused: the scenario is disabled in Stagebook (enable it on the Production page)';

/** The pause state a Schedule should have: disabled scenarios paused; an operator's own pause kept. */
function wantedState(s: DesiredSchedule, current: ScheduleDescription['state'] | null): { paused: boolean; note: string } {
  if (s.paused) return { paused: true, note: DISABLED_NOTE };
  if (current?.paused && current.note !== DISABLED_NOTE) return { paused: true, note: current.note ?? '' };
  return { paused: false, note: noteOf(s) };
}

/** The definition is current: only the pause may have to follow the scenario's enabled flag. */
async function syncPause(client: Client, s: DesiredSchedule, current: ScheduleDescription): Promise<'pause' | 'resume' | 'unchanged'> {
  const want = wantedState(s, current.state);
  if (want.paused === current.state.paused) return 'unchanged';
  const handle = client.schedule.getHandle(s.scheduleId);
  if (want.paused) await handle.pause(want.note);
  else await handle.unpause(want.note);
  return want.paused ? 'pause' : 'resume';
}

function scheduleMatches(d: ScheduleDescription, taskQueue: string, s: DesiredSchedule): boolean {
  const stored = d.action.memo?.[SCHEDULE_MEMO_KEY] as { definition?: unknown } | undefined;
  return stored?.definition === s.definition && d.action.taskQueue === taskQueue && d.action.workflowType === scenarioWorkflowNames.run && d.policies.overlap === s.overlap;
}

async function syncSchedule(client: Client, taskQueue: string, s: DesiredSchedule): Promise<TriggerChange | null> {
  const handle = client.schedule.getHandle(s.scheduleId);
  const base = { kind: 'schedule' as const, id: s.scheduleId, scenario: s.scenario };
  let current: ScheduleDescription | null;
  try {
    current = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    current = null;
  }
  if (current && scheduleMatches(current, taskQueue, s)) return { ...base, change: await syncPause(client, s, current) };
  const spec = s.spec;
  const policies = { overlap: s.overlap, catchupWindow: CATCHUP_WINDOW, pauseOnFailure: false };
  if (!current) {
    try {
      await client.schedule.create({
        scheduleId: s.scheduleId,
        spec,
        action: scheduleAction(taskQueue, s),
        policies,
        memo: { projectId: s.runInput.projectId, scenario: s.scenario, triggerIndex: s.triggerIndex },
        state: wantedState(s, null),
      });
      return { ...base, change: 'create' };
    } catch (err) {
      // Another activation of the project created it between our describe and create: update it.
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
  await handle.update(
    (previous): ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<Workflow>> => ({
      spec,
      action: scheduleAction(taskQueue, s),
      policies,
      // An operator's pause (Temporal UI or CLI) outlives deployments; its note says why.
      state: wantedState(s, previous.state),
    }),
  );
  return { ...base, change: 'update' };
}

async function listScheduleIds(client: Client, prefix: string): Promise<string[]> {
  // Filtered here rather than by a visibility query: ScheduleId prefix queries are not supported by
  // every visibility store. The list is eventually consistent; `previous` covers fresh schedules.
  const ids: string[] = [];
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(prefix)) ids.push(s.scheduleId);
  return ids;
}

async function deleteSchedule(client: Client, scheduleId: string): Promise<TriggerChange | null> {
  try {
    const handle = client.schedule.getHandle(scheduleId);
    const scenario = (await handle.describe()).memo?.scenario;
    await handle.delete();
    return { kind: 'schedule', id: scheduleId, scenario: typeof scenario === 'string' ? scenario : '', change: 'delete' };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

// ---- watchers ----

type WatcherMemo = { definition?: unknown; fingerprintDefinition?: unknown };

async function syncWatcher(client: Client, taskQueue: string, w: DesiredWatcher): Promise<TriggerChange> {
  const base = { kind: 'watcher' as const, id: w.workflowId, scenario: w.scenario };
  let running: { memo: Record<string, unknown> } | null = null;
  try {
    const d = await client.workflow.getHandle(w.workflowId).describe();
    if (d.status.name === 'RUNNING') running = { memo: d.memo ?? {} };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const stored = running?.memo[watcherMemoKeys.definition] as WatcherMemo | undefined;
  if (running && stored?.definition === w.definition) return { ...base, change: 'unchanged' };

  const input: ScenarioWatchInput = { ...w.input };
  // Only the interval (or the bundle) changed: the new watcher compares with what the old one saw last.
  const seen = running?.memo[watcherMemoKeys.fingerprint] as { value?: string | null } | undefined;
  if (running && stored?.fingerprintDefinition === w.fingerprintDefinition && seen && 'value' in seen) input.lastFingerprint = seen.value ?? null;
  await client.workflow.start(scenarioWorkflowNames.watch, {
    workflowId: w.workflowId,
    taskQueue,
    args: [input],
    memo: { [watcherMemoKeys.definition]: { scenario: w.scenario, definition: w.definition, fingerprintDefinition: w.fingerprintDefinition, bundleHash: w.input.bundleHash } },
    staticSummary: `scenario ${w.scenario}: watch dataset ${w.input.dataset} every ${Math.round(w.input.everyMs / 1000)} s`,
    // A watcher with another definition is replaced in one step, server-side (no worker needed).
    workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  return { ...base, change: running ? 'update' : 'create' };
}

async function listRunningWatcherIds(client: Client, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  const query = `WorkflowType = '${scenarioWorkflowNames.watch}' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '${prefix}'`;
  for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
}

async function stopWatcher(client: Client, workflowId: string): Promise<TriggerChange | null> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return null;
    // Terminate rather than cancel: it takes effect without a worker, so a watcher stopped while the
    // workers are down cannot come back to life, nor be mistaken for a live one by the next sync.
    await handle.terminate('its scenario trigger is no longer declared by the active bundle, or the scenario was disabled');
    const memo = d.memo?.[watcherMemoKeys.definition] as { scenario?: unknown } | undefined;
    return { kind: 'watcher', id: workflowId, scenario: typeof memo?.scenario === 'string' ? memo.scenario : '', change: 'delete' };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
