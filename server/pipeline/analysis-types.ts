import type { CellNode, DiagnosticCode, NotebookCell } from './types';
import type { ParsedScenarioCell } from './scenario-cell';

/** The compiler's per-cell analysis types, shared by compile.ts and the per-kind analysers (kept apart so neither imports the other). */
export type Pos = { line: number; column: number };
export type Ref = Pos & { name: string };
/** A cell as the compiler sees it: what it reads, writes and checks, and the model it trains or uses. */
export type Analyzed = {
  cell: NotebookCell;
  node: CellNode;
  writes: Ref | null;
  reads: Ref[];
  checked: Ref | null;
  trains?: Ref | null;
  uses?: Ref | null;
  /** An endpoint cell: the model it serves, when it names one. */
  serves?: string | null;
  /** A scenario cell, parsed (its spec is null when it does not validate). */
  scenario?: ParsedScenarioCell;
};

/** What the compiler knows besides the notebook: the registry's model names, to warn about unknown ones. */
export type CompileOptions = { models?: readonly string[]; channels?: readonly string[] };

export type Diag = (cellId: string, pos: Pos, code: DiagnosticCode, message: string, severity?: 'error' | 'warning') => void;
