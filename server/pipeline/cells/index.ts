import type { CellKind } from '../../domain/cell-kinds';
import { checkCell } from './check';
import { endpointCell } from './endpoint';
import { markdownCell } from './markdown';
import { pythonCell } from './python';
import { scenarioCell } from './scenario';
import { scoreCell } from './score';
import { sqlCell } from './sql';
import { trainCell } from './train';
import { tsCell } from './ts';
import type { CellKindModule } from './types';

export type { AnalyseInput, CellBase, CellKindModule } from './types';

/**
 * The cell kinds as the compiler sees them, one module each: a kind added to `cellKinds`
 * (server/domain/cell-kinds.ts) fails to compile here until it has one.
 */
export const cellKindModules = {
  sql: sqlCell,
  ts: tsCell,
  python: pythonCell,
  train: trainCell,
  score: scoreCell,
  check: checkCell,
  markdown: markdownCell,
  scenario: scenarioCell,
  endpoint: endpointCell,
} satisfies { [K in CellKind]: CellKindModule<K> };

/** The module of a kind. Each entry is its own kind's (checked above), so widening it is sound. */
export const cellKindOf = (kind: CellKind): CellKindModule<CellKind> => cellKindModules[kind] as unknown as CellKindModule<CellKind>;
