/**
 * The kinds of notebook cell: one list for the document model, the pipeline compiler, the services
 * and the app. A new kind is added here; every exhaustive switch over `CellKind` (`assertNever` in
 * its default branch) then fails to compile until it handles the kind.
 */
export const cellKinds = ['sql', 'ts', 'python', 'train', 'score', 'check', 'markdown', 'scenario', 'endpoint'] as const;
export type CellKind = (typeof cellKinds)[number];

export const isCellKind = (v: unknown): v is CellKind => typeof v === 'string' && (cellKinds as readonly string[]).includes(v);
