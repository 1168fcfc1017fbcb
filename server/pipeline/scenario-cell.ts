import { CronExpressionParser } from 'cron-parser';
import { isNode, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { lineColumnOf } from './text';
import { assertNever } from '../domain/assert-never';

/**
 * A `scenario` cell is YAML: what production runs, when, and in which order.
 *
 *   name: nightly_forecast
 *   triggers:                      # alternatives: any one starts a run
 *     - type: schedule
 *       cron: "0 6 * * *"
 *       timezone: Europe/Paris
 *     - type: dataset_change
 *       dataset: sales
 *       column: sold_at            # fingerprint: count(*) and max(sold_at); or `sql:` a SELECT
 *       every: 5m
 *     - type: after_scenario
 *       scenario: ingest
 *       outcome: succeeded
 *     - type: manual
 *   overlap: skip                  # or queue_one
 *   steps:
 *     - type: build
 *     - type: checks
 *       dataset: forecast
 *     - type: drift                # endpoint's logged predictions vs its training reference
 *       endpoint: scoring
 *       window: 24h
 *       threshold: 0.2             # max PSI; above it the step fails
 *     - type: retrain
 *       model: churn
 *       when: failure
 *     - type: notify
 *       channel: ops
 *       when: always
 *   reporters:                     # when the run finishes, or a retrain step decides
 *     - channel: ops
 *       on: [failure, gate_decision]   # failure (default), success, gate_decision
 *       message: "nightly needs a look"
 *
 * Every step has `when` (previous steps succeeded: `success`, the default; `always`; `failure`) and
 * `retries` (0 by default). Parsing checks the shape; names of datasets, models, channels and other
 * scenarios are checked against the notebook and the project where the scenario is compiled.
 */

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const Name = (what: string) => z.string({ error: `${what} is required` }).regex(NAME, { error: `${what} must be a lowercase name (a-z, 0-9, _ and -; starting with a letter)` });
const Dataset = z.string({ error: 'dataset is required' }).regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'dataset must be a dataset name (lowercase identifier)' });

/** Durations like `30s`, `5m`, `2h`, `1d`, in milliseconds. */
export const Duration = z
  .string({ error: 'a duration like 30s, 5m, 2h or 1d' })
  .regex(/^\d+(s|m|h|d)$/, { error: 'a duration like 30s, 5m, 2h or 1d' })
  .transform((s) => Number(s.slice(0, -1)) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[s.slice(-1) as 's' | 'm' | 'h' | 'd']);

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** Standard five-field cron (minute hour day-of-month month day-of-week) or a macro such as `@daily`: what Temporal Schedules take. */
export function cronProblem(cron: string, timezone = 'UTC'): string | null {
  const text = cron.trim();
  if (!CRON_MACROS.has(text) && text.split(/\s+/).length !== 5) return `"${cron}" must have five fields: minute hour day-of-month month day-of-week (or a macro such as @daily)`;
  try {
    CronExpressionParser.parse(text, { tz: timezone });
    return null;
  } catch (err) {
    return `"${cron}" is not a valid cron expression: ${(err as Error).message}`;
  }
}

const timezones = new Set(Intl.supportedValuesOf('timeZone'));
timezones.add('UTC');

const ScheduleTrigger = z
  .object({
    type: z.literal('schedule'),
    cron: z.string({ error: 'cron is required, like "0 6 * * *"' }),
    timezone: z
      .string()
      .refine((tz) => timezones.has(tz), { error: 'timezone must be an IANA time zone such as Europe/Paris or UTC' })
      .default('UTC'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const problem = cronProblem(t.cron, timezones.has(t.timezone) ? t.timezone : 'UTC');
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

const DatasetChangeTrigger = z
  .object({
    type: z.literal('dataset_change'),
    dataset: Dataset,
    /** Fingerprint: count(*) and max(column). Without it (and without sql), count(*) alone. */
    column: z.string().min(1).optional(),
    /** Or a custom SELECT whose result changes when the data does. */
    sql: z.string().min(1).optional(),
    every: Duration.prefault('1m'),
  })
  .strict()
  .refine((t) => !(t.column && t.sql), { error: 'give column or sql, not both', path: ['sql'] })
  .refine((t) => t.every >= 5_000, { error: 'every must be at least 5s', path: ['every'] });

const AfterScenarioTrigger = z
  .object({
    type: z.literal('after_scenario'),
    scenario: Name('scenario'),
    outcome: z.enum(['succeeded', 'failed', 'any'], { error: 'outcome must be succeeded, failed or any' }).default('succeeded'),
  })
  .strict();

const ManualTrigger = z.object({ type: z.literal('manual') }).strict();

/** The trigger kinds, one schema each (see the scenarios README, "How to add a trigger kind"). */
const triggerKinds = [ScheduleTrigger, DatasetChangeTrigger, AfterScenarioTrigger, ManualTrigger] as const;
export const ScenarioTrigger = z.discriminatedUnion('type', triggerKinds, {
  error: `trigger type must be one of ${triggerKinds.map((k) => k.shape.type.value).join(', ')}`,
});
export type ScenarioTrigger = z.output<typeof ScenarioTrigger>;

const stepCommon = {
  /** success: when every earlier step succeeded; always; failure: when an earlier step failed. */
  when: z.enum(['success', 'always', 'failure'], { error: 'when must be success, always or failure' }).default('success'),
  retries: z.number({ error: 'retries must be a number' }).int().min(0).max(10).default(0),
  name: z.string().min(1).max(80).optional(),
};

const Gate = z
  .object({
    metric: z.enum(['auc', 'log_loss', 'accuracy', 'f1'], { error: 'metric must be auc, log_loss, accuracy or f1' }).default('auc'),
    /** `>=` for scores that grow (auc), `<=` for losses. */
    comparator: z.enum(['>=', '>', '<=', '<']).optional(),
    minImprovement: z.number().min(0).default(0),
    minRows: z.number().int().min(0).default(0),
  })
  .strict();

/** Where a drift step finds the true outcomes: a production dataset, joined on the logged record's `key` field. */
const DriftLabels = z
  .object({ dataset: Dataset, key: z.string().min(1).default('id'), label: z.string({ error: 'label is required: the column with the true class' }).min(1) })
  .strict();

/**
 * `drift`: compares the endpoint's predictions logged over the last `window` with its model's
 * training reference (PSI and a test per feature, PSI of the predictions, AUC with `labels`), stores
 * the report, and fails (severity error) or warns when the largest PSI is above `threshold`, or the
 * AUC below `minAuc`; a `when: failure` retrain or run_scenario step then acts on it.
 */
const DriftStep = z
  .object({
    type: z.literal('drift'),
    endpoint: Name('endpoint'),
    window: Duration.prefault('24h'),
    threshold: z.number({ error: 'threshold must be a number (PSI, e.g. 0.2)' }).positive().default(0.2),
    minAuc: z.number().min(0).max(1).optional(),
    severity: z.enum(['error', 'warning'], { error: 'severity must be error or warning' }).default('error'),
    labels: DriftLabels.optional(),
    ...stepCommon,
  })
  .strict();

/**
 * `retrain.shadow`: a challenger that passes the gate first shadow-scores live traffic on the
 * project's production endpoints of the model for `for` (its scores logged, never returned); it
 * becomes champion only if the shadow comparison then holds: at least `minRecords` scored pairs,
 * agreement and mean |Δp| within bounds, and with `labels` its AUC on the labelled live records at
 * least the served version's (minus the gate's minImprovement).
 */
const RetrainShadow = z
  .object({
    for: Duration,
    minRecords: z.number({ error: 'minRecords must be a number' }).int().min(0).default(1),
    minAgreement: z.number().min(0).max(1).optional(),
    maxMeanDiff: z.number().min(0).max(1).optional(),
    labels: DriftLabels.optional(),
  })
  .strict()
  .refine((s) => s.for >= 1_000 && s.for <= 7 * 86_400_000, { error: 'for must be between 1s and 7d', path: ['for'] });

export const ScenarioStep = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('build'), datasets: z.array(Dataset).min(1).optional(), ...stepCommon }).strict(),
    z.object({ type: z.literal('metrics'), dataset: Dataset, ...stepCommon }).strict(),
    z.object({ type: z.literal('checks'), dataset: Dataset, ...stepCommon }).strict(),
    z.object({ type: z.literal('retrain'), model: Name('model'), gate: Gate.prefault({}), shadow: RetrainShadow.optional(), ...stepCommon }).strict(),
    z.object({ type: z.literal('score'), model: Name('model'), dataset: Dataset, output: Dataset, ...stepCommon }).strict(),
    z.object({ type: z.literal('sql'), sql: z.string({ error: 'sql is required' }).min(1), ...stepCommon }).strict(),
    z.object({ type: z.literal('notify'), channel: Name('channel'), message: z.string().max(2000).optional(), ...stepCommon }).strict(),
    z.object({ type: z.literal('run_scenario'), scenario: Name('scenario'), ...stepCommon }).strict(),
    DriftStep,
  ],
  { error: 'step type must be one of build, metrics, checks, retrain, score, sql, notify, run_scenario, drift' },
);
export type ScenarioStep = z.output<typeof ScenarioStep>;

/** A run's occasions a reporter sends on. A cancelled run is neither a failure nor a success. */
export const ReporterOccasion = z.enum(['failure', 'success', 'gate_decision'], { error: 'on must list failure, success or gate_decision' });
export type ReporterOccasion = z.output<typeof ReporterOccasion>;

/**
 * A channel told about the run as a whole (unlike a notify step, it is not a step and never fails
 * the run): `on` failure (the default), success, or a retrain step's gate decision.
 */
export const ScenarioReporter = z
  .object({
    channel: Name('channel'),
    on: z
      .array(ReporterOccasion, { error: 'on must be a list, like [failure, gate_decision]' })
      .min(1, 'on must list at least one of failure, success, gate_decision')
      .refine((list) => new Set(list).size === list.length, { error: 'on lists an occasion twice' })
      .default(['failure']),
    message: z.string().max(2000).optional(),
  })
  .strict();
export type ScenarioReporter = z.output<typeof ScenarioReporter>;

export const ScenarioCellSpec = z
  .object({
    name: Name('name'),
    description: z.string().max(2000).optional(),
    triggers: z.array(ScenarioTrigger, { error: 'triggers must be a list' }).min(1, 'triggers must list at least one trigger (manual for a button only)'),
    overlap: z.enum(['skip', 'queue_one'], { error: 'overlap must be skip or queue_one' }).default('skip'),
    steps: z.array(ScenarioStep, { error: 'steps must be a list' }).min(1, 'steps must list at least one step'),
    // Optional, not defaulted: specs stored on runs before reporters existed have none.
    reporters: z.array(ScenarioReporter, { error: 'reporters must be a list' }).max(20, 'at most 20 reporters').optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.triggers.forEach((t, i) => {
      if (t.type === 'after_scenario' && t.scenario === s.name) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'scenario'], message: 'a scenario cannot trigger after itself' });
    });
    s.steps.forEach((st, i) => {
      if (st.type === 'run_scenario' && st.scenario === s.name) ctx.addIssue({ code: 'custom', path: ['steps', i, 'scenario'], message: 'a scenario cannot run itself' });
    });
  });
export type ScenarioSpec = z.output<typeof ScenarioCellSpec>;

export type ScenarioCellProblem = { code: 'invalid-yaml' | 'invalid-scenario'; message: string; line: number; column: number };
export type ParsedScenarioCell = { spec: ScenarioSpec | null; problems: ScenarioCellProblem[]; positionOf: (path: (string | number)[]) => { line: number; column: number } };

/** Parses a scenario cell; every problem has the line and column of the YAML node it is about. */
export function parseScenarioCell(source: string): ParsedScenarioCell {
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  const positionOf = (path: (string | number)[]) => yamlPosition(doc, source, path);
  if (doc.errors.length) {
    return {
      spec: null,
      positionOf,
      problems: doc.errors.map((e) => ({ code: 'invalid-yaml' as const, message: `invalid YAML: ${e.message.split('\n')[0]}`, ...lineColumnOf(source, e.pos[0]) })),
    };
  }
  const parsed = ScenarioCellSpec.safeParse(doc.toJS());
  if (!parsed.success) {
    return {
      spec: null,
      positionOf,
      problems: parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const where = path.length ? `${path.join('.')}: ` : '';
        return { code: 'invalid-scenario' as const, message: `${where}${issue.message}`, ...positionOf(path) };
      }),
    };
  }
  return { spec: parsed.data, problems: [], positionOf };
}

/** The position of the deepest YAML node on `path` that exists: the value itself, or its parent when a key is missing. */
export function yamlPosition(doc: Document, source: string, path: (string | number)[]): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineColumnOf(source, node.range[0]);
  }
  return { line: 1, column: 1 };
}

/** What a step does, in words, whatever its `name:`: "checks credit_clean", "score loans with credit". */
export function scenarioStepSummary(step: ScenarioStep): string {
  switch (step.type) {
    case 'build':
      return step.datasets ? `build ${step.datasets.join(', ')}` : 'build';
    case 'metrics':
    case 'checks':
      return `${step.type} ${step.dataset}`;
    case 'retrain':
      return `retrain ${step.model}`;
    case 'score':
      return `score ${step.dataset} with ${step.model}`;
    case 'sql':
      return 'sql';
    case 'notify':
      return `notify ${step.channel}`;
    case 'run_scenario':
      return `run ${step.scenario}`;
    case 'drift':
      return `drift ${step.endpoint}`;
    default:
      return assertNever(step, 'scenario step type');
  }
}
