import { cellKinds, type CellKind, type RowCellKind as ServedRowCellKind } from '@/server/domain/cell-kinds';
import { assertNever } from '@/server/domain/assert-never';

export { cellKinds, type CellKind, assertNever };

/**
 * How the notebook shows each cell kind: the app's half of a cell kind (the compiler's half is
 * server/pipeline/cells/). Keyed by the domain's list, so a new kind fails to compile here until it
 * has an entry. `output`: what sits under the editor: `rows` (preview, table, chart: the cell's
 * result can be run on its own), `scenario` (the outline and cron builder), `none`.
 */
export const cellKindViews = {
  sql: { label: 'SQL', language: 'pgsql', output: 'rows' },
  ts: { label: 'TypeScript', language: 'typescript', output: 'rows' },
  python: { label: 'Python', language: 'python', output: 'rows' },
  train: { label: 'Train', language: 'yaml', output: 'none' },
  score: { label: 'Score', language: 'yaml', output: 'none' },
  check: { label: 'Check', language: 'yaml', output: 'none' },
  markdown: { label: 'Markdown', language: 'markdown', output: 'none' },
  scenario: { label: 'Scenario', language: 'yaml', output: 'scenario' },
  endpoint: { label: 'Endpoint', language: 'yaml', output: 'none' },
} as const satisfies Record<CellKind, { label: string; language: string; output: 'rows' | 'scenario' | 'none' }>;

type Views = typeof cellKindViews;
/** The kinds whose result is rows (previewed, tabled, charted, downloaded). */
export type RowCellKind = { [K in CellKind]: Views[K]['output'] extends 'rows' ? K : never }[CellKind];

export const producesRows = (kind: CellKind): kind is RowCellKind => cellKindViews[kind].output === 'rows';

// The views mark as rows exactly the kinds the services preview, stream, chart and download
// (server/domain/cell-kinds.ts `rowCellKinds`): a mismatch fails to compile here.
const sameRowKinds: [RowCellKind] extends [ServedRowCellKind] ? ([ServedRowCellKind] extends [RowCellKind] ? true : never) : never = true;
void sameRowKinds;

export const cellKindLabel = (kind: CellKind): string => cellKindViews[kind].label;

/** Monaco language id of a cell kind: declarative cells are YAML; SQL runs in Postgres. */
export const cellLanguage = (kind: CellKind): string => cellKindViews[kind].language;
