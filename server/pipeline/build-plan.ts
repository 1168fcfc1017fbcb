import type { Check, PipelineGraph, PipelineStep, PipelineStepKind } from './types';

/** What a build runs: every step, one cell and everything downstream of it, or one cell. */
export type BuildTarget = { kind: 'all' } | { kind: 'cell'; cellId: string } | { kind: 'downstream'; cellId: string };

/**
 * One step of a build. A cell that writes a dataset is one step, and the checks of that dataset
 * (from every check cell on it) run inside it: on the staging table before it publishes (sql, ts),
 * or on the dataset just written (score). A check cell on a source dataset (nothing builds it) is a
 * step of its own that checks the published table. A train cell is a step that registers a version
 * of `model`; a score step waits for the train step of its model when the notebook has one.
 */
export type BuildPlanStep = {
  stepId: string;
  cellId: string;
  kind: PipelineStepKind;
  /** What a sql, ts or score step writes, what a check step checks, what a train step learns from. */
  dataset: string;
  /** train: the model it registers a version of; score: the model it scores with. */
  model?: string;
  /** Step ids of this build that must succeed first. */
  after: string[];
};

export type BuildPlan = { steps: BuildPlanStep[] };
export type BuildPlanResult = { ok: true; plan: BuildPlan } | { ok: false; message: string };

/**
 * Pure: selects and orders the steps of a compiled graph for a target. Dependencies on steps outside
 * the selection are dropped: those datasets are read as they are published now.
 */
export function planBuild(graph: PipelineGraph, target: BuildTarget): BuildPlanResult {
  const all = allSteps(graph);
  const byId = new Map(all.map((s) => [s.stepId, s]));
  let selected: Set<string>;
  if (target.kind === 'all') {
    selected = new Set(byId.keys());
  } else {
    const start = stepOfCell(graph, all, target.cellId);
    if (!start) return { ok: false, message: `cell ${target.cellId} builds nothing: only sql, ts, check, train and score cells are built` };
    selected = target.kind === 'cell' ? new Set([start]) : downstreamOf(start, all);
  }
  const steps = all
    .filter((s) => selected.has(s.stepId))
    .map((s) => ({ ...s, after: s.after.filter((a) => selected.has(a)) }));
  if (steps.length === 0) return { ok: false, message: 'the notebook has nothing to build: add a sql or ts cell' };
  return { ok: true, plan: { steps } };
}

/** The checks a step runs: every check of every check cell on its dataset, in cell id order. */
export function checksOfStep(graph: PipelineGraph, step: Pick<BuildPlanStep, 'kind' | 'cellId' | 'dataset'>): { cellId: string; checks: Check[] }[] {
  const out: { cellId: string; checks: Check[] }[] = [];
  // A train step's dataset is its input: that dataset's checks belong to whatever writes it.
  if (step.kind === 'train') return out;
  for (const n of graph.nodes) {
    if (n.type !== 'cell' || n.kind !== 'check' || n.dataset !== step.dataset) continue;
    // A check step of a source runs its own cell's checks; a build step runs all of its dataset's.
    if (step.kind === 'check' && n.cellId !== step.cellId) continue;
    out.push({ cellId: n.cellId, checks: n.checks });
  }
  return out.sort((a, b) => (a.cellId < b.cellId ? -1 : a.cellId > b.cellId ? 1 : 0));
}

/** Steps whose `dataset` is the dataset they write. */
const writes = (kind: PipelineStepKind) => kind === 'sql' || kind === 'ts' || kind === 'python' || kind === 'score';

function allSteps(graph: PipelineGraph): BuildPlanStep[] {
  const writerOf = new Map<string, PipelineStep>();
  for (const s of graph.steps) if (writes(s.kind)) writerOf.set(s.dataset, s);
  const writerCells = new Set([...writerOf.values()].map((s) => s.cellId));
  // What a step may wait for: writers of what it reads, and the train step of the model it scores with.
  const producers = new Set([...writerCells, ...graph.steps.filter((s) => s.kind === 'train').map((s) => s.cellId)]);
  const out = new Map<string, BuildPlanStep>();
  for (const s of graph.steps) {
    if (s.kind === 'check' && writerOf.has(s.dataset)) continue;
    out.set(s.cellId, {
      stepId: s.cellId,
      cellId: s.cellId,
      kind: s.kind,
      dataset: s.dataset,
      ...(s.model !== undefined ? { model: s.model } : {}),
      after: s.after.filter((a) => producers.has(a)),
    });
  }
  // A check's custom SQL may read other built datasets: the step that builds the checked dataset
  // waits for their writers too, unless that writer is itself downstream (a cycle through a check):
  // then the check reads that dataset as it is published.
  for (const s of graph.steps) {
    const writer = s.kind === 'check' ? writerOf.get(s.dataset) : undefined;
    const step = writer ? out.get(writer.cellId) : undefined;
    if (!step) continue;
    for (const dep of s.after) {
      if (dep === step.stepId || !writerCells.has(dep) || step.after.includes(dep)) continue;
      if (!reaches(out, dep, step.stepId)) step.after.push(dep);
    }
    step.after.sort();
  }
  return topological([...out.values()]);
}

/** True when `from` (transitively) waits for `to`. */
function reaches(steps: Map<string, BuildPlanStep>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(steps.get(id)?.after ?? []));
  }
  return false;
}

/** Kahn's algorithm with ties broken by step id, like the compiler's order. */
function topological(steps: BuildPlanStep[]): BuildPlanStep[] {
  const pending = new Map(steps.map((s) => [s.stepId, s]));
  const done = new Set<string>();
  const out: BuildPlanStep[] = [];
  for (;;) {
    const next = [...pending.values()].filter((s) => s.after.every((a) => done.has(a))).sort((a, b) => (a.stepId < b.stepId ? -1 : 1));
    if (!next.length) break;
    for (const s of next) {
      pending.delete(s.stepId);
      done.add(s.stepId);
      out.push(s);
    }
  }
  if (pending.size) throw new Error(`build plan has a cycle through ${[...pending.keys()].join(', ')}`);
  return out;
}

/** The step a cell runs in: its own, or for a check cell on a built dataset, the dataset's build. */
function stepOfCell(graph: PipelineGraph, steps: BuildPlanStep[], cellId: string): string | undefined {
  if (steps.some((s) => s.stepId === cellId)) return cellId;
  const node = graph.nodes.find((n) => n.type === 'cell' && n.cellId === cellId);
  if (node?.type === 'cell' && node.kind === 'check') return steps.find((s) => s.dataset === node.dataset && writes(s.kind))?.stepId;
  return undefined;
}

function downstreamOf(start: string, steps: BuildPlanStep[]): Set<string> {
  const selected = new Set([start]);
  // Steps are in dependency order, so one pass reaches everything downstream.
  for (const s of steps) if (s.after.some((a) => selected.has(a))) selected.add(s.stepId);
  return selected;
}
