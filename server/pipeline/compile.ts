import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { cellNamesOf } from './cell-names';
import { cellKindOf } from './cells';
import { checkModels } from './model-cell-analysis';
import { scenarioStepSummary } from './scenario-cell';
import { checkScenarios } from './scenario-analysis';
import { loadSqlParser } from './sql';
import { closestName } from './text';
import type {
  CompileResult,
  DatasetNode,
  Diagnostic,
  DiagnosticCode,
  GraphEdge,
  ModelNode,
  NotebookCell,
  NotebookSnapshot,
  PipelineGraph,
  PipelineStep,
  ScenarioOutline,
  SkippedCell,
  SourceDataset,
} from './types';

export type { Analyzed, CompileOptions, Diag, Pos, Ref } from './analysis-types';
import type { Analyzed, CompileOptions, Diag, Pos } from './analysis-types';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Compiles a notebook snapshot into its pipeline graph. Loads the SQL parser on first use. */
export async function compileNotebook(notebook: NotebookSnapshot, sources: readonly SourceDataset[], options: CompileOptions = {}): Promise<CompileResult> {
  await loadSqlParser();
  return compileNotebookSync(notebook, sources, options);
}

/**
 * Pure: the same notebook and sources give the same graph, JSON and hash. Cell order does not
 * matter (dependencies are by dataset name), so moving a cell leaves the hash unchanged. Throws only
 * on a caller's bug (duplicate cell ids, parser not loaded).
 */
export function compileNotebookSync(notebook: NotebookSnapshot, sources: readonly SourceDataset[], options: CompileOptions = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const diag = (cellId: string, pos: Pos, code: DiagnosticCode, message: string, severity: 'error' | 'warning' = 'error') =>
    diagnostics.push({ cellId, line: pos.line, column: pos.column, severity, code, message });

  const ids = new Set<string>();
  for (const c of notebook.cells) {
    if (ids.has(c.id)) throw new Error(`notebook snapshot has two cells with id ${c.id}`);
    ids.add(c.id);
  }
  const sourceByName = new Map(sources.map((s) => [s.name, s]));

  const analyzed: Analyzed[] = [];
  for (const cell of notebook.cells) {
    const a = analyzeCell(cell, sourceByName, diag);
    if (a) analyzed.push(a);
  }

  // Writers: one per dataset, never a source.
  const writers = new Map<string, Analyzed[]>();
  for (const a of analyzed) if (a.writes) (writers.get(a.writes.name) ?? writers.set(a.writes.name, []).get(a.writes.name)!).push(a);
  for (const [name, ws] of writers) {
    if (sourceByName.has(name)) {
      for (const w of ws) diag(w.cell.id, w.writes!, 'writes-source', `"${name}" is a source dataset (uploaded or ingested); write a new dataset name`);
    }
    if (ws.length > 1) {
      for (const w of ws) {
        const others = ws.filter((o) => o !== w).map((o) => `"${o.cell.id}"`);
        diag(w.cell.id, w.writes!, 'duplicate-writer', `dataset "${name}" is also written by cell ${others.join(', ')}; a dataset has exactly one writer`);
      }
    }
  }
  const known = new Set([...sourceByName.keys(), ...writers.keys()]);
  for (const a of analyzed) {
    for (const r of [...a.reads, ...(a.checked ? [a.checked] : [])]) {
      if (known.has(r.name)) continue;
      const guess = closestName(r.name, known);
      diag(a.cell.id, r, 'unknown-dataset', `unknown dataset "${r.name}"${guess ? `: did you mean "${guess}"?` : ' (no source or cell provides it)'}`);
    }
  }

  const trainers = checkModels(analyzed, options, diag);
  checkScenarios(
    analyzed,
    {
      datasets: known,
      built: new Set(writers.keys()),
      checked: new Set(analyzed.flatMap((a) => (a.node.kind === 'check' && a.checked ? [a.checked.name] : []))),
      models: options.models ? new Set([...options.models, ...trainers.keys()]) : null,
      channels: options.channels ? new Set(options.channels) : null,
      served: new Set(analyzed.flatMap((a) => (a.serves ? [a.serves] : []))),
    },
    diag,
  );

  // Cell dependencies: a cell waits for the (single, non-source) writer of each dataset it reads,
  // and a score cell for the cell that trains its model.
  const writerOf = (name: string) => (sourceByName.has(name) ? undefined : writers.get(name)?.[0]);
  const deps = new Map<string, Set<string>>();
  for (const a of analyzed) {
    const after = new Set<string>();
    for (const r of [...a.reads, ...(a.checked ? [a.checked] : [])]) {
      const w = writerOf(r.name);
      if (w) after.add(w.cell.id);
    }
    const trainer = a.uses ? trainers.get(a.uses.name)?.[0] : undefined;
    if (trainer) after.add(trainer.cell.id);
    deps.set(a.cell.id, after);
  }
  reportCycles(analyzed, deps, diag);
  const sorted = orderByNotebook(diagnostics, notebook);
  const cellNames = cellNamesOf(notebook.cells);
  const { blocked, skipped } = blockedCells(analyzed, deps, sorted, cellNames);
  const steps = orderSteps(analyzed, deps, blocked);

  const graph = buildGraph(analyzed, sourceByName, writers, steps);
  const json = canonicalize(graph);
  if (json === undefined) throw new Error('pipeline graph is not serialisable');
  return { graph, json, hash: sha256(json), diagnostics: sorted, ok: !diagnostics.some((d) => d.severity === 'error'), cellNames, skipped, scenarios: scenarioOutlines(analyzed) };
}

/** The cell's kind module analyses it; a new, empty cell is not a mistake: it makes nothing and blocks nothing. */
function analyzeCell(cell: NotebookCell, sources: ReadonlyMap<string, SourceDataset>, diag: Diag): Analyzed | null {
  if (cell.source.trim() === '') return null;
  const base = { id: `cell:${cell.id}` as const, type: 'cell' as const, cellId: cell.id, sourceSha256: sha256(cell.source) };
  return cellKindOf(cell.kind).analyse({ cell, base, sources, diag });
}

function scenarioOutlines(analyzed: Analyzed[]): Record<string, ScenarioOutline> {
  const out: Record<string, ScenarioOutline> = {};
  for (const a of analyzed) {
    const spec = a.scenario?.spec;
    if (!spec) continue;
    out[a.cell.id] = {
      name: spec.name,
      triggers: spec.triggers,
      steps: spec.steps.map((st, index) => ({ index, type: st.type, name: st.name ?? null, does: scenarioStepSummary(st), when: st.when })),
    };
  }
  return out;
}


/**
 * Cells with an error (cycles included) and, transitively, the cells that wait for one of them.
 * `skipped` lists the ones a build would have run, in notebook order, each with why.
 */
function blockedCells(
  analyzed: Analyzed[],
  deps: Map<string, Set<string>>,
  diagnostics: Diagnostic[],
  names: Record<string, string>,
): { blocked: Set<string>; skipped: SkippedCell[] } {
  const firstError = new Map<string, Diagnostic>();
  for (const d of diagnostics) if (d.severity === 'error' && !firstError.has(d.cellId)) firstError.set(d.cellId, d);
  const blocked = new Set(firstError.keys());
  const because = new Map<string, string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const a of analyzed) {
      if (blocked.has(a.cell.id)) continue;
      const on = [...(deps.get(a.cell.id) ?? [])].sort().find((d) => blocked.has(d));
      if (on === undefined) continue;
      blocked.add(a.cell.id);
      because.set(a.cell.id, on);
      changed = true;
    }
  }
  const skipped: SkippedCell[] = [];
  for (const a of analyzed) {
    const id = a.cell.id;
    if (!blocked.has(id) || !cellKindOf(a.cell.kind).built) continue;
    const err = firstError.get(id);
    const name = names[id] ?? id;
    if (err) skipped.push({ cellId: id, name, reason: `line ${err.line}: ${err.message}` });
    else {
      // Name the cell with the error at the root, not only the nearest blocked one.
      let root = because.get(id)!;
      while (because.has(root)) root = because.get(root)!;
      skipped.push({ cellId: id, name, reason: `depends on "${names[root] ?? root}", which has errors` });
    }
  }
  return { blocked, skipped };
}

function orderByNotebook(diagnostics: Diagnostic[], notebook: NotebookSnapshot): Diagnostic[] {
  const index = new Map(notebook.cells.map((c, i) => [c.id, i]));
  return [...diagnostics].sort((a, b) => index.get(a.cellId)! - index.get(b.cellId)! || a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
}



/** Tarjan's strongly connected components; every cell on a cycle gets a diagnostic naming the cycle. */
function reportCycles(analyzed: Analyzed[], deps: Map<string, Set<string>>, diag: Diag): Set<string> {
  const byId = new Map(analyzed.map((a) => [a.cell.id, a]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of [...(deps.get(v) ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      components.push(comp);
    }
  };
  for (const id of [...byId.keys()].sort()) if (!index.has(id)) visit(id);

  const inCycle = new Set<string>();
  for (const comp of components) {
    const selfLoop = comp.length === 1 && deps.get(comp[0]!)!.has(comp[0]!);
    if (comp.length === 1 && !selfLoop) continue;
    const members = new Set(comp);
    const path = cyclePath([...comp].sort()[0]!, deps, members);
    const describe = (id: string) => {
      const a = byId.get(id);
      return `"${id}"${a?.writes ? ` (writes ${a.writes.name})` : a?.trains ? ` (trains ${a.trains.name})` : ''}`;
    };
    const text = [...path, path[0]!].map(describe).join(' -> ');
    for (const id of comp) {
      inCycle.add(id);
      const a = byId.get(id)!;
      diag(id, a.writes ?? a.trains ?? { line: 1, column: 1 }, 'cycle', `cycle: cell ${text} (each reads what the previous one writes)`);
    }
  }
  return inCycle;
}

/** A simple cycle through `start` inside one strongly connected component, in reading order. */
function cyclePath(start: string, deps: Map<string, Set<string>>, members: Set<string>): string[] {
  // deps point from a reader to its writer; walk writers first, then reverse to read in data-flow order.
  const seen = new Set<string>();
  const path: string[] = [];
  const dfs = (v: string): boolean => {
    path.push(v);
    seen.add(v);
    for (const w of [...(deps.get(v) ?? [])].filter((x) => members.has(x)).sort()) {
      if (w === start) return true;
      if (!seen.has(w) && dfs(w)) return true;
    }
    path.pop();
    return false;
  };
  dfs(start);
  const forward = path.reverse();
  const at = forward.indexOf(start);
  return [...forward.slice(at), ...forward.slice(0, at)];
}

/** Kahn's algorithm, ties broken by cell id so the order does not depend on where cells sit. */
function orderSteps(analyzed: Analyzed[], deps: Map<string, Set<string>>, inCycle: Set<string>): PipelineStep[] {
  const buildable = analyzed.filter((a) => !inCycle.has(a.cell.id) && cellKindOf(a.cell.kind).step(a, []) !== null);
  const pending = new Map(buildable.map((a) => [a.cell.id, a]));
  const done = new Set<string>();
  const steps: PipelineStep[] = [];
  const blocked = (id: string) => inCycle.has(id) || [...deps.get(id)!].some((d) => !pending.has(d) && !done.has(d));
  for (;;) {
    const ready = [...pending.values()]
      .filter((a) => !blocked(a.cell.id) && [...deps.get(a.cell.id)!].every((d) => done.has(d)))
      .sort((x, y) => (x.cell.id < y.cell.id ? -1 : x.cell.id > y.cell.id ? 1 : 0));
    if (!ready.length) break;
    for (const a of ready) {
      pending.delete(a.cell.id);
      done.add(a.cell.id);
      steps.push(cellKindOf(a.cell.kind).step(a, [...deps.get(a.cell.id)!].sort())!);
    }
  }
  return steps;
}

function buildGraph(analyzed: Analyzed[], sources: Map<string, SourceDataset>, writers: Map<string, Analyzed[]>, steps: PipelineStep[]): PipelineGraph {
  const datasets = new Map<string, DatasetNode>();
  const edges: GraphEdge[] = [];
  const dataset = (name: string): string | null => {
    const src = sources.get(name);
    if (!src && !writers.has(name)) return null;
    const id = `dataset:${name}` as const;
    if (!datasets.has(name)) datasets.set(name, src ? { id, type: 'dataset', name, origin: 'source', columns: src.columns } : { id, type: 'dataset', name, origin: 'built' });
    return id;
  };
  for (const a of analyzed) {
    for (const name of new Set([...a.reads.map((r) => r.name), ...(a.checked ? [a.checked.name] : [])])) {
      const id = dataset(name);
      if (id) edges.push({ from: id, to: a.node.id });
    }
    if (a.writes) {
      const id = dataset(a.writes.name);
      if (id) edges.push({ from: a.node.id, to: id });
    }
  }
  const models = new Map<string, ModelNode>();
  const model = (name: string) => {
    const id = `model:${name}` as const;
    if (!models.has(name)) models.set(name, { id, type: 'model', name });
    return id;
  };
  for (const a of analyzed) {
    if (a.trains) edges.push({ from: a.node.id, to: model(a.trains.name) });
    if (a.uses) edges.push({ from: model(a.uses.name), to: a.node.id });
  }
  const nodes = [...datasets.values(), ...models.values(), ...analyzed.map((a) => a.node)].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  edges.sort((x, y) => (x.from === y.from ? (x.to < y.to ? -1 : x.to > y.to ? 1 : 0) : x.from < y.from ? -1 : 1));
  return { version: 1, nodes, edges, steps };
}
