import type { Analyzed, CompileOptions, Diag, Ref } from './analysis-types';
import { parseScoreCell, parseTrainCell } from './model-cells';
import { closestName } from './text';
import type { NotebookCell, SourceDataset } from './types';

type Base = { id: `cell:${string}`; type: 'cell'; cellId: string; sourceSha256: string };

/**
 * A train cell reads its dataset and trains its model. The columns it names are checked when the
 * dataset is a source (built datasets get their columns when they are built: the train step checks
 * them then).
 */
export function analyzeTrainCell(cell: NotebookCell, base: Base, sources: ReadonlyMap<string, SourceDataset>, diag: Diag): Analyzed {
  const parsed = parseTrainCell(cell.source);
  for (const p of parsed.problems) diag(cell.id, p, p.code, p.message);
  const source = parsed.dataset ? sources.get(parsed.dataset.name) : undefined;
  if (source && parsed.spec) {
    const byName = new Map(source.columns.map((c) => [c.name, c]));
    const columns = [...byName.keys()];
    const unknown = (col: string) => {
      const guess = closestName(col, columns);
      return `"${source.name}" has no column "${col}"${guess ? `: did you mean "${guess}"?` : ` (columns: ${columns.join(', ')})`}`;
    };
    if (!byName.has(parsed.spec.target)) diag(cell.id, parsed.at(['target']), 'invalid-train', `target: ${unknown(parsed.spec.target)}`);
    for (const [i, f] of (parsed.spec.features ?? []).entries()) {
      const column = byName.get(f);
      if (!column) diag(cell.id, parsed.at(['features', i]), 'invalid-train', `features: ${unknown(f)}`);
      else if (column.type === 'timestamp') diag(cell.id, parsed.at(['features', i]), 'invalid-train', `features: "${f}" is a timestamp; timestamp columns cannot be features`);
      else if (f === parsed.spec.target) diag(cell.id, parsed.at(['features', i]), 'invalid-train', `features: "${f}" is the target; a model cannot learn from its own answer`);
    }
  }
  const reads: Ref[] = parsed.dataset ? [parsed.dataset] : [];
  return {
    cell,
    writes: null,
    reads,
    checked: null,
    trains: parsed.model,
    uses: null,
    node: { ...base, kind: 'train', model: parsed.model?.name ?? '', dataset: parsed.dataset?.name ?? '', reads: reads.map((r) => r.name), spec: parsed.spec },
  };
}

/** A score cell reads its dataset, uses its model and writes its output dataset. */
export function analyzeScoreCell(cell: NotebookCell, base: Base, diag: Diag): Analyzed {
  const parsed = parseScoreCell(cell.source);
  for (const p of parsed.problems) diag(cell.id, p, p.code, p.message);
  const reads: Ref[] = parsed.dataset ? [parsed.dataset] : [];
  return {
    cell,
    writes: parsed.output,
    reads,
    checked: null,
    trains: null,
    uses: parsed.model,
    node: { ...base, kind: 'score', model: parsed.model?.name ?? '', version: parsed.version, writes: parsed.output?.name ?? '', reads: reads.map((r) => r.name) },
  };
}

/**
 * One train cell per model (two would race to number versions of one model in one build). A score
 * cell's model that no cell trains must be in the registry: when the caller passes the registry's
 * names, an unknown one is a warning, not an error: the registry changes without the notebook (an
 * import, another notebook's build), and the score step says so clearly if it is still missing.
 */
export function checkModels(analyzed: Analyzed[], options: CompileOptions, diag: Diag): Map<string, Analyzed[]> {
  const trainers = new Map<string, Analyzed[]>();
  for (const a of analyzed) if (a.trains) (trainers.get(a.trains.name) ?? trainers.set(a.trains.name, []).get(a.trains.name)!).push(a);
  for (const [name, ts] of trainers) {
    if (ts.length < 2) continue;
    for (const t of ts) {
      const others = ts.filter((o) => o !== t).map((o) => `"${o.cell.id}"`);
      diag(t.cell.id, t.trains!, 'duplicate-trainer', `model "${name}" is also trained by cell ${others.join(', ')}; a model has one train cell per notebook`);
    }
  }
  if (!options.models) return trainers;
  const known = new Set([...options.models, ...trainers.keys()]);
  for (const a of analyzed) {
    if (!a.uses || known.has(a.uses.name)) continue;
    const guess = closestName(a.uses.name, known);
    diag(
      a.cell.id,
      a.uses,
      'unknown-model',
      `unknown model "${a.uses.name}"${guess ? `: did you mean "${guess}"?` : ': no model of that name is registered or trained by this notebook'}`,
      'warning',
    );
  }
  return trainers;
}
