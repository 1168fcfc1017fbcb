import type { ChartSpec } from './chart-spec';
import type { ScenarioTrigger } from './scenario-cell';
/** The compiler's vocabulary: what goes in (a notebook snapshot) and what comes out (a PipelineGraph). */

import type { TrainSpec } from '@/server/ml/spec';
import { cellKinds, isCellKind, type CellKind } from '@/server/domain/cell-kinds';

export type CellId = string & { readonly __brand: 'CellId' };

export { cellKinds, isCellKind, type CellKind };

/** `title` names the cell (else what it makes names it: see cell-names.ts); it is not part of the graph. */
export type NotebookCell = { id: string; kind: CellKind; source: string; collapsed?: boolean; title?: string; chart?: ChartSpec };
export type NotebookSnapshot = { cells: NotebookCell[] };

export const columnTypes = ['integer', 'numeric', 'boolean', 'timestamp', 'text'] as const;
export type ColumnType = (typeof columnTypes)[number];
export type DatasetColumn = { name: string; type: ColumnType; nullable: boolean };

/** A dataset that exists before any cell runs: uploaded or ingested. */
export type SourceDataset = { name: string; columns: DatasetColumn[] };

export type Severity = 'error' | 'warning';

/**
 * A user mistake, pointing at a cell and a line (1-based, within the cell's source); column is
 * 1-based when known. `code` is stable for programs; `message` is for people.
 */
export type Diagnostic = {
  cellId: string;
  line: number;
  column?: number;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
};

export const diagnosticCodes = [
  'missing-writes',
  'invalid-dataset-name',
  'not-a-select',
  'multiple-statements',
  'empty-cell',
  'sql-syntax',
  'sql-too-complex',
  'forbidden-function',
  'qualified-name',
  'unknown-dataset',
  'duplicate-writer',
  'writes-source',
  'cycle',
  'missing-header',
  'invalid-yaml',
  'invalid-check',
  'invalid-train',
  'invalid-score',
  'unknown-model',
  'duplicate-trainer',
  'invalid-scenario',
  'duplicate-scenario',
  'unknown-scenario',
  'scenario-cycle',
  'unknown-channel',
  'shadow-without-endpoint',
] as const;
export type DiagnosticCode = (typeof diagnosticCodes)[number];

export type CheckSeverity = 'error' | 'warning';
export type Check =
  | { type: 'row_count'; min?: number; max?: number; severity: CheckSeverity }
  | { type: 'null_rate'; column: string; max: number; severity: CheckSeverity }
  | { type: 'value_range'; column: string; min?: number; max?: number; severity: CheckSeverity }
  | { type: 'unique'; columns: string[]; severity: CheckSeverity }
  | { type: 'accepted_values'; column: string; values: (string | number | boolean)[]; severity: CheckSeverity }
  | { type: 'custom_sql'; name: string; sql: string; severity: CheckSeverity };

export type DatasetNode = { id: `dataset:${string}`; type: 'dataset'; name: string; origin: 'source' | 'built'; columns?: DatasetColumn[] };
export type CellNode =
  | { id: `cell:${string}`; type: 'cell'; kind: 'sql'; cellId: string; sourceSha256: string; writes: string; reads: string[]; sql: string }
  | { id: `cell:${string}`; type: 'cell'; kind: 'ts' | 'python'; cellId: string; sourceSha256: string; writes: string; reads: string[] }
  | { id: `cell:${string}`; type: 'cell'; kind: 'check'; cellId: string; sourceSha256: string; dataset: string; checks: Check[] }
  /** `spec` is null while the cell does not validate; `model` and `dataset` are '' when not given. */
  | { id: `cell:${string}`; type: 'cell'; kind: 'train'; cellId: string; sourceSha256: string; model: string; dataset: string; reads: string[]; spec: TrainSpec | null }
  /** `version` null: the version this notebook's train cell registers, else the model's champion. */
  | { id: `cell:${string}`; type: 'cell'; kind: 'score'; cellId: string; sourceSha256: string; model: string; version: number | null; writes: string; reads: string[] }
  | {
      id: `cell:${string}`;
      type: 'cell';
      kind: 'scenario' | 'endpoint';
      cellId: string;
      sourceSha256: string;
    };
/** A model of the registry that a train cell registers versions of or a score cell scores with. */
export type ModelNode = { id: `model:${string}`; type: 'model'; name: string };
export type GraphNode = DatasetNode | CellNode | ModelNode;
export type GraphEdge = { from: string; to: string };

export const pipelineStepKinds = ['sql', 'ts', 'python', 'check', 'train', 'score'] as const;
export type PipelineStepKind = (typeof pipelineStepKinds)[number];

/**
 * One unit of a build: a cell that writes a dataset (sql, ts, score: `dataset` is what it writes),
 * checks one (check), or trains a model (train: `dataset` is what it learns from). `model` is the
 * model a train step registers a version of, or a score step scores with. `after` lists the steps
 * it waits for.
 */
export type PipelineStep = { cellId: string; kind: PipelineStepKind; dataset: string; model?: string; after: string[] };

export type PipelineGraph = {
  version: 1;
  nodes: GraphNode[];
  edges: GraphEdge[];
  steps: PipelineStep[];
};

export type CompileResult = {
  graph: PipelineGraph;
  /** The canonical JSON of `graph` (RFC 8785) and its sha256: equal notebooks give equal hashes. */
  json: string;
  hash: string;
  diagnostics: Diagnostic[];
  /** True when no diagnostic is an error: the whole graph can be built (and promoted). */
  ok: boolean;
  /** Every cell's name (title, else what it makes), by cell id: not part of the graph or its hash. */
  cellNames: Record<string, string>;
  /**
   * Cells a build leaves out: those with errors and those that depend on them. `graph.steps` holds
   * only the rest, so one broken cell blocks itself and its dependents, never the whole notebook.
   */
  skipped: SkippedCell[];
  /** Each scenario cell that validates, in words for its form (triggers as declared, steps summarised); not in the graph. */
  scenarios: Record<string, ScenarioOutline>;
};

/** A scenario cell's triggers and steps, for the notebook's readable list under the YAML. */
export type ScenarioOutline = {
  name: string;
  triggers: ScenarioTrigger[];
  steps: { index: number; type: string; name: string | null; does: string; when: string }[];
};

export type SkippedCell = { cellId: string; name: string; reason: string };
