import type { CellKind } from '../../domain/cell-kinds';
import type { Analyzed, Diag } from '../analysis-types';
import type { NotebookCell, PipelineStep, SourceDataset } from '../types';

/** What every cell node of the graph carries. */
export type CellBase = { id: `cell:${string}`; type: 'cell'; cellId: string; sourceSha256: string };

export type AnalyseInput = { cell: NotebookCell; base: CellBase; sources: ReadonlyMap<string, SourceDataset>; diag: Diag };

/**
 * One kind of notebook cell as the compiler sees it: parse and analyse its text, the build step it is,
 * and what it makes (its name where people read about it). The registry (index.ts) holds one per
 * `CellKind`; see the pipeline README, "How to add a cell kind".
 */
export type CellKindModule<K extends CellKind> = {
  kind: K;
  /**
   * The cell's reads, writes, checks and models, and its graph node; user mistakes go through `diag`
   * (at the line in the cell). null: the cell is no part of the graph (markdown).
   */
  analyse(input: AnalyseInput & { cell: NotebookCell & { kind: K } }): Analyzed | null;
  /** The build step of the analysed cell, or null when it builds nothing (or is too broken to). */
  step(a: Analyzed, after: string[]): PipelineStep | null;
  /** What the cell makes, from its own text: the dataset it writes, the model it trains, its name. */
  made(source: string): string | null;
  /** A build would run it: when it has errors, the compile result lists it as skipped. */
  built: boolean;
};
