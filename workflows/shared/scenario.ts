/**
 * The scenario run workflow's wire types: what schedules, watchers, the API and other scenarios
 * start it with. Imported by sandboxed workflow code: types and constants only.
 */

export const scenarioWorkflowNames = {
  /** One run of a scenario: its steps in order. */
  run: 'scenarioRunWorkflow',
  /** A durable watcher of one dataset_change trigger (timers, continue-as-new). */
  watch: 'scenarioWatchWorkflow',
} as const;

/** `run_scenario`: started by another scenario's run_scenario step (as its child workflow). */
export type ScenarioTriggerKind = 'schedule' | 'dataset_change' | 'after_scenario' | 'manual' | 'run_scenario';

/** What started a run, as the run page shows it. */
export type ScenarioTriggerInfo = {
  kind: ScenarioTriggerKind;
  /** schedule: the cron and timezone; dataset_change: dataset and old/new fingerprint; after_scenario: the scenario, its run id and outcome; manual: who. */
  detail?: Record<string, unknown>;
  /** When the trigger fired (ISO time), for trigger-to-start latency. */
  firedAt?: string;
};

/**
 * Starts one run of a production scenario. `runId` is given when the caller created the run row
 * (the API); a schedule or watcher starts the workflow without one and the first activity creates
 * the row, keyed by the workflow id, so a retried start never makes two runs.
 */
export type ScenarioRunInput = {
  projectId: string;
  scenario: string;
  trigger: ScenarioTriggerInfo;
  runId?: string;
};

/** Schedules and watchers are per project and scenario, so reconciling converges. */
export const scenarioScheduleId = (projectId: string, scenario: string, index: number): string => `scenario-schedule-${projectId}-${scenario}-${index}`;
export const scenarioWatcherId = (projectId: string, scenario: string, index: number): string => `scenario-watch-${projectId}-${scenario}-${index}`;

/** A run started with a run id (the API, after_scenario, run_scenario steps) has this workflow id. */
export const scenarioRunWorkflowId = (runId: string): string => `scenario-${runId}`;

/**
 * The step kinds of a scenario and who runs each: `workflow` kinds are orchestrated by the run
 * workflow itself (a child workflow, a notification delivery), `activity` kinds by the
 * `runScenarioStep` activity (services/scenarios). The scenario cell's schema
 * (server/pipeline/scenario-cell.ts) must declare exactly these kinds: services/scenarios/run-state.ts
 * fails to compile otherwise. How to add one: server/services/scenarios/README.md.
 */
export const scenarioStepKinds = {
  build: 'workflow',
  metrics: 'activity',
  checks: 'activity',
  retrain: 'activity',
  score: 'activity',
  sql: 'activity',
  notify: 'workflow',
  run_scenario: 'workflow',
  drift: 'activity',
} as const satisfies Record<string, 'workflow' | 'activity'>;
export type ScenarioStepType = keyof typeof scenarioStepKinds;
export type ScenarioStepWhen = 'success' | 'always' | 'failure';

/** What the workflow needs of each step; its parameters stay in the run's stored spec. */
export type ScenarioStepRef = { index: number; type: ScenarioStepType; name: string; when: ScenarioStepWhen; retries: number; scenario?: string };

export type ScenarioRunStatus = 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export type ScenarioRunBegun =
  /** Run the steps. */
  | { decision: 'run'; runId: string; projectId: string; scenario: string; bundleHash: string; steps: ScenarioStepRef[] }
  /** queue_one: another run of the scenario is running; ask again later. */
  | { decision: 'wait'; runId: string }
  /** Refused by the overlap policy (recorded as a skipped run), or already finished (a re-delivery). */
  | { decision: 'done'; runId: string; status: ScenarioRunStatus | 'running' };

export type ScenarioStepOutcome = {
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  error?: string;
  output?: Record<string, unknown>;
  /** The step stays open: the workflow sleeps this long (a durable timer), then calls resumeScenarioStep. */
  resumeAfterMs?: number;
};

export type ScenarioRunResult = { runId: string; status: ScenarioRunStatus; steps: ScenarioStepOutcome['status'][]; triggered: string[] };

/** When reporters send: the run finished (failure / success), or a retrain step recorded its gate decision. */
export type ScenarioReportOccasion = { kind: 'finished' } | { kind: 'gate_decision'; stepIndex: number };

/** A reporter's pending delivery (`deliveryId` derived from run, reporter, event and step). */
export type ScenarioReportQueued = { reporter: number; channel: string; event: 'scenario.failed' | 'scenario.succeeded' | 'gate.decision' | 'test'; stepIndex?: number; deliveryId: string };

/** What a reporter did, recorded on the run (`runs.result.reports`); `refused`: not sent (no such channel). */
export type ScenarioReport = Omit<ScenarioReportQueued, 'deliveryId'> & { deliveryId: string | null; status: 'delivered' | 'failed' | 'refused'; error?: string; line?: string };

/** Patch id: workflows started before reporters existed replay without them. */
export const SCENARIO_REPORTERS_PATCH = 'scenario-reporters';

/** Non-retryable failure types of scenario activities. */
export const scenarioFailureTypes = {
  /** The step failed for a reason of the user's (bad SQL, an error-level check, a refused input): recorded, not retried. */
  stepFailed: 'ScenarioStepFailed',
  runNotFound: 'ScenarioRunNotFound',
} as const;

export type ScenarioActivities = {
  /** Creates the run (keyed by workflow id when it has no run id), applies the overlap policy, marks it running and stores its steps. */
  beginScenarioRun(input: ScenarioRunInput): Promise<ScenarioRunBegun>;
  /** Runs one step done by an activity (metrics, checks, sql, score, retrain) and records it; a user's failure is recorded, then thrown non-retryable. */
  runScenarioStep(input: { runId: string; index: number }): Promise<ScenarioStepOutcome>;
  /** The second part of a step that returned `resumeAfterMs` (a retrain's shadow period is over, or the run was cancelled during it): decides and records it. */
  resumeScenarioStep(input: { runId: string; index: number; cancelled: boolean }): Promise<ScenarioStepOutcome>;
  /** A build step: creates the production build run `buildRunId` from the bundle's graph (idempotent) and marks the step running. */
  prepareScenarioBuild(input: { runId: string; index: number; buildRunId: string }): Promise<{ buildRunId: string; projectId: string } | { failed: string }>;
  /** A run_scenario step: admits the child run `childRunId` under its own overlap policy and marks the step running. */
  prepareChildScenario(input: { runId: string; index: number; childRunId: string }): Promise<{ admitted: boolean; projectId: string; scenario: string; reason?: string }>;
  /** A notify step: the pending delivery `deliveryId` (idempotent), with the outcome so far. */
  prepareNotification(input: { runId: string; index: number; deliveryId: string; failedSoFar: boolean }): Promise<{ deliveryId: string } | { failed: string }>;
  /** Records a step's outcome decided by the workflow (skipped by `when`, a child's outcome, a delivery, retries exhausted); a no-op once it finished. */
  closeScenarioStep(input: { runId: string; index: number; outcome: ScenarioStepOutcome }): Promise<void>;
  /** The pending deliveries of the reporters whose `on` matches (idempotent: derived delivery ids); a missing channel comes back refused. */
  prepareScenarioReports(input: { runId: string; occasion: ScenarioReportOccasion }): Promise<{ queued: ScenarioReportQueued[]; refused: ScenarioReport[] }>;
  /** Records the reporters' outcomes on the run (`runs.result.reports`), replacing an earlier record of the same delivery. */
  recordScenarioReports(input: { runId: string; reports: ScenarioReport[] }): Promise<void>;
  /** Finishes the run once (audited), then starts the scenarios that run after this one with a matching outcome. */
  finishScenarioRun(input: { runId: string; cancelled: boolean; error?: string }): Promise<ScenarioRunResult>;
};
