import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { notebooks } from './notebooks';
import { users } from './users';

/**
 * The stored result of a cell's preview (notebooks.runCell), shared by everyone who opens the
 * notebook. A few recent ones are kept per cell; readers take the latest. `output` is the size-capped
 * CellOutput payload (server/services/notebooks/output-types.ts) without the fields computed at read
 * time (stale, staleReason). The hashes say what it was computed from, so a reader can tell when the
 * cell's source or its inputs' data changed since.
 */
export const notebookCellOutputs = pgTable(
  'notebook_cell_outputs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    notebookId: uuid('notebook_id')
      .notNull()
      .references(() => notebooks.id, { onDelete: 'cascade' }),
    /** The cell's id in the notebook document (cells live in Yjs, not in a table). */
    cellId: text('cell_id').notNull(),
    status: text('status', { enum: ['ok', 'error'] }).notNull(),
    /** sha256 of the cell's source as run. */
    sourceHash: text('source_hash').notNull(),
    /** sha256 over the input datasets' names and data fingerprints as read. */
    inputsHash: text('inputs_hash').notNull(),
    /** The input dataset names, to recompute inputsHash when reading. */
    inputNames: jsonb('input_names').$type<string[]>().notNull(),
    output: jsonb('output').$type<Record<string, unknown>>().notNull(),
    elapsedMs: integer('elapsed_ms').notNull(),
    ranBy: uuid('ran_by').references(() => users.id, { onDelete: 'set null' }),
    ranAt: timestamp('ran_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('notebook_cell_outputs_cell_idx').on(t.notebookId, t.cellId, t.ranAt)],
);
