import type { buildSteps, runs } from '@/db/schema';
import type { BuildCheckOutcome, BuildStepKind, BuildStepProgress, BuildStepResult, BuildStepStatus, RunStatus } from '@/db/schema';
import type { BuildTarget, SkippedCell } from '@/server/pipeline';

/**
 * What a build's run row carries in `input`. `cellNames` and `skipped` (cells left out because they or
 * what they read had errors) are absent on runs started before cells had names.
 */
export type BuildRunInput = {
  environment: 'design' | 'production';
  target: BuildTarget;
  graphHash: string;
  cellNames?: Record<string, string>;
  skipped?: SkippedCell[];
};

export type BuildStepView = {
  stepId: string;
  cellId: string;
  /** The cell's name when the build started (its title, else what it makes). */
  cellName: string | null;
  kind: BuildStepKind;
  /** What a sql, ts or score step writes, what a check step checks, what a train step learns from. */
  dataset: string;
  /** train: the model it registers a version of; score: the model it scores with. */
  model: string | null;
  after: string[];
  status: BuildStepStatus;
  startedAt: string | null;
  finishedAt: string | null;
  rowCount: number | null;
  checks: BuildCheckOutcome[];
  log: string[];
  error: string | null;
  /** A long step's last reported progress (train, score), while it runs and as it was when it ended. */
  progress: BuildStepProgress | null;
  /** What a train step registered or a score step wrote. */
  result: BuildStepResult | null;
};

export type BuildSummary = {
  runId: string;
  projectId: string;
  notebookId: string | null;
  workflowId: string;
  status: RunStatus;
  environment: 'design' | 'production';
  target: BuildTarget;
  graphHash: string;
  error: string | null;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Steps per status, for progress bars in lists. */
  stepCounts: Record<BuildStepStatus, number>;
  /** Cells this build left out, with why (a broken cell blocks only itself and what reads it). */
  skipped: SkippedCell[];
};

export type BuildView = BuildSummary & { steps: BuildStepView[] };

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function buildSummary(run: typeof runs.$inferSelect, steps: { status: BuildStepStatus }[]): BuildSummary {
  const input = run.input as BuildRunInput;
  const stepCounts: Record<BuildStepStatus, number> = { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
  for (const s of steps) stepCounts[s.status]++;
  return {
    runId: run.id,
    projectId: run.projectId,
    notebookId: run.notebookId,
    workflowId: run.workflowId,
    status: run.status,
    environment: input.environment,
    target: input.target,
    graphHash: input.graphHash,
    error: run.error,
    createdBy: run.createdBy,
    createdAt: iso(run.createdAt)!,
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    stepCounts,
    skipped: input.skipped ?? [],
  };
}

export function buildStepView(row: typeof buildSteps.$inferSelect, cellNames: Record<string, string> = {}): BuildStepView {
  return {
    stepId: row.stepId,
    cellId: row.cellId,
    cellName: cellNames[row.cellId] ?? null,
    kind: row.kind,
    dataset: row.dataset,
    model: row.model,
    after: row.after,
    status: row.status,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    rowCount: row.rowCount === null ? null : Number(row.rowCount),
    checks: row.checks,
    log: row.log,
    error: row.error,
    progress: row.progress,
    result: row.result,
  };
}
