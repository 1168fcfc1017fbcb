import { assertNever } from '@/server/domain/assert-never';
import { parseScenarioCell, type ScenarioTrigger } from '@/server/pipeline/scenario-cell';
import { scenarioScheduleId, scenarioWatcherId, scenarioWorkflowNames, type ScenarioRunInput } from '@/workflows/shared/scenario';
import type { DatasetFingerprintSpec, ScenarioWatchInput } from '@/workflows/shared/scenario-watch';
import type { BundleManifest } from '../../bundles/manifest';
import type { DeployedScenario } from '../../workflow-starter';

export type { DeployedScenario };

/** When a Temporal Schedule fires (a subset of the SDK's ScheduleSpec: this file stays free of @temporalio). */
export type ScheduleTimes = { cronExpressions: string[]; timezone: string } | { intervals: { every: number }[] };

/** One trigger that a Temporal Schedule runs (`schedule` today), as the Schedule `scheduleId` must be. */
export type DesiredSchedule = {
  scheduleId: string;
  scenario: string;
  triggerIndex: number;
  spec: ScheduleTimes;
  /** The times in words, for the Temporal UI's summary of the runs it starts. */
  summary: string;
  overlap: 'SKIP' | 'BUFFER_ONE';
  bundleHash: string;
  /** The scenario is disabled: the Schedule exists (its next times stay visible) but is paused. */
  paused: boolean;
  runInput: ScenarioRunInput;
  /** Everything that decides what the schedule does, canonical: equal strings, nothing to update. */
  definition: string;
};

/** One `dataset_change` trigger as the watcher workflow `workflowId` must be. */
export type DesiredWatcher = {
  workflowId: string;
  scenario: string;
  triggerIndex: number;
  input: ScenarioWatchInput;
  /** What the watcher does (fingerprint and interval): equal strings, leave it running. */
  definition: string;
  /** What its fingerprint means: equal strings, a restarted watcher can keep the last reading. */
  fingerprintDefinition: string;
};

export const schedulePrefixOf = (projectId: string) => `scenario-schedule-${projectId}-`;
export const watcherPrefixOf = (projectId: string) => `scenario-watch-${projectId}-`;

/** The scenarios of a manifest, parsed; a cell that does not parse (never promoted so) is reported, not deployed. */
export function scenariosOfManifest(manifest: BundleManifest, bundleHash: string): { scenarios: DeployedScenario[]; problems: string[] } {
  const scenarios: DeployedScenario[] = [];
  const problems: string[] = [];
  for (const cell of manifest.scenarios) {
    const parsed = parseScenarioCell(cell.source);
    if (parsed.spec) scenarios.push({ name: parsed.spec.name, bundleHash, spec: parsed.spec });
    else problems.push(`scenario cell ${cell.cellId}: ${parsed.problems[0]?.message ?? 'does not parse'}`);
  }
  return { scenarios, problems };
}

/**
 * The Schedules and watchers a project's deployed scenarios call for: one case per trigger kind (a
 * new kind fails to compile here until it says which Temporal resource, if any, runs it). Ids are per project, scenario
 * and trigger position, so the same bundle always gives the same ids and reconciling converges.
 */
export function desiredTriggers(projectId: string, scenarios: readonly DeployedScenario[]): { schedules: DesiredSchedule[]; watchers: DesiredWatcher[] } {
  const schedules: DesiredSchedule[] = [];
  const watchers: DesiredWatcher[] = [];
  for (const s of scenarios) {
    s.spec.triggers.forEach((t, i) => {
      switch (t.type) {
        case 'schedule':
          schedules.push(desiredSchedule(projectId, s, t, i));
          break;
        case 'dataset_change':
          // A disabled scenario has no watcher: enabling it starts a new one, whose first reading is its baseline.
          if (s.enabled !== false) watchers.push(desiredWatcher(projectId, s, t, i));
          break;
        // Started when the run they follow finishes (run-state.ts) and by the Run button: nothing in Temporal to keep.
        case 'after_scenario':
        case 'manual':
          break;
        default:
          assertNever(t, 'scenario trigger');
      }
    });
  }
  return { schedules, watchers };
}

function desiredSchedule(projectId: string, s: DeployedScenario, t: Extract<ScenarioTrigger, { type: 'schedule' }>, i: number): DesiredSchedule {
  const overlap = s.spec.overlap === 'queue_one' ? 'BUFFER_ONE' : 'SKIP';
  const runInput: ScenarioRunInput = { projectId, scenario: s.name, trigger: { kind: 'schedule', detail: { cron: t.cron, timezone: t.timezone, triggerIndex: i } } };
  return {
    scheduleId: scenarioScheduleId(projectId, s.name, i),
    scenario: s.name,
    triggerIndex: i,
    spec: { cronExpressions: [t.cron], timezone: t.timezone },
    summary: `schedule "${t.cron}" (${t.timezone})`,
    overlap,
    bundleHash: s.bundleHash,
    paused: s.enabled === false,
    runInput,
    definition: JSON.stringify({ workflow: scenarioWorkflowNames.run, cron: t.cron, timezone: t.timezone, overlap, runInput }),
  };
}

function desiredWatcher(projectId: string, s: DeployedScenario, t: Extract<ScenarioTrigger, { type: 'dataset_change' }>, i: number): DesiredWatcher {
  const fingerprint: DatasetFingerprintSpec = { projectId, dataset: t.dataset, ...(t.column ? { column: t.column } : {}), ...(t.sql ? { sql: t.sql } : {}) };
  const fingerprintDefinition = JSON.stringify({ dataset: t.dataset, column: t.column ?? null, sql: t.sql ?? null });
  return {
    workflowId: scenarioWatcherId(projectId, s.name, i),
    scenario: s.name,
    triggerIndex: i,
    input: { ...fingerprint, scenario: s.name, triggerIndex: i, everyMs: t.every, bundleHash: s.bundleHash },
    definition: JSON.stringify({ workflow: scenarioWorkflowNames.watch, fingerprint: JSON.parse(fingerprintDefinition) as unknown, everyMs: t.every }),
    fingerprintDefinition,
  };
}
