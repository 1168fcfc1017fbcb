/**
 * The kinds of notebook cell: one list for the document model, the pipeline compiler, the services
 * and the app. A new kind is added here; every exhaustive switch over `CellKind` (`assertNever` in
 * its default branch) then fails to compile until it handles the kind.
 */
export const cellKinds = ['sql', 'ts', 'python', 'train', 'score', 'check', 'markdown', 'scenario', 'endpoint'] as const;
export type CellKind = (typeof cellKinds)[number];

export const isCellKind = (v: unknown): v is CellKind => typeof v === 'string' && (cellKinds as readonly string[]).includes(v);

/**
 * The kinds whose cell's result is rows: previewed, streamed, charted and downloaded on their own
 * (services/notebooks dispatch over them with `byRowKind`; the app's views mark the same kinds).
 */
export const rowCellKinds = ['sql', 'ts', 'python'] as const satisfies readonly CellKind[];
export type RowCellKind = (typeof rowCellKinds)[number];

export const isRowCellKind = (kind: CellKind): kind is RowCellKind => (rowCellKinds as readonly CellKind[]).includes(kind);

/** One way per row kind, picked by the cell's kind: a new row kind fails to compile until every caller gives its way. */
export function byRowKind<T>(kind: RowCellKind, ways: { [K in RowCellKind]: () => T }): T {
  return ways[kind]();
}
