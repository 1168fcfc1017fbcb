import { sql } from 'drizzle-orm';
import { bigint, bigserial, customType, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects';
import { users } from './users';

/**
 * Binary column. node-postgres returns a Buffer, PGlite a Uint8Array: both are normalised to a plain
 * Uint8Array view (no copy) so callers see one type. Both drivers accept a Buffer as a parameter.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)),
  fromDriver: (value) => new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
});

/** The shape of `notebook_versions.cells_json` (the notebook snapshot the compiler and diffs read). */
export type StoredNotebookCells = { cells: { id: string; kind: string; source: string; collapsed: boolean; title?: string; chart?: unknown }[] };

/** A notebook's metadata; its content is the Yjs document stored in the tables below. */
export const notebooks = pgTable(
  'notebooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Soft delete: the row and its history stay (audit, restore by an admin); it is hidden everywhere. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('notebooks_project_idx').on(t.projectId),
    uniqueIndex('notebooks_project_name_uq').on(t.projectId, t.name).where(sql`${t.deletedAt} is null`),
  ],
);

/**
 * Append-only Yjs updates. Applying them in any order (with the snapshot) gives the document: Yjs
 * updates commute and are idempotent, so concurrent writers from several processes are safe.
 * Compaction folds rows into `notebook_snapshots` and deletes exactly the rows it folded.
 */
export const notebookUpdates = pgTable(
  'notebook_updates',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    notebookId: uuid('notebook_id')
      .notNull()
      .references(() => notebooks.id, { onDelete: 'cascade' }),
    update: bytea('update').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('notebook_updates_notebook_seq_idx').on(t.notebookId, t.seq)],
);

/** The compacted state of a notebook: a Yjs update holding everything folded so far. */
export const notebookSnapshots = pgTable('notebook_snapshots', {
  notebookId: uuid('notebook_id')
    .primaryKey()
    .references(() => notebooks.id, { onDelete: 'cascade' }),
  state: bytea('state').notNull(),
  /** The highest update seq folded in (informational: loading reads every remaining update row). */
  upToSeq: bigint('up_to_seq', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A named version: the full Yjs state (to restore) and the cells as JSON (to diff and compile). */
export const notebookVersions = pgTable(
  'notebook_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    notebookId: uuid('notebook_id')
      .notNull()
      .references(() => notebooks.id, { onDelete: 'cascade' }),
    message: text('message').notNull(),
    state: bytea('state').notNull(),
    cellsJson: jsonb('cells_json').$type<StoredNotebookCells>().notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('notebook_versions_notebook_created_idx').on(t.notebookId, t.createdAt)],
);

/**
 * Secrets every server process must share (e.g. the key that signs collaboration tokens). Created
 * once with INSERT ... ON CONFLICT DO NOTHING, so concurrent first starts agree on one value.
 * (Kept in this file for now: the collaboration token is its only user.)
 */
export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  secret: bytea('secret').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
