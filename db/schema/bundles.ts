import { sql } from 'drizzle-orm';
import { boolean, foreignKey, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { notebooks } from './notebooks';
import { projects } from './projects';

export const bundleOrigins = ['promote', 'import'] as const;
export type BundleOrigin = (typeof bundleOrigins)[number];

/**
 * An immutable, content-addressed snapshot of a project version. `hash` is the sha256 of `manifest`
 * (canonical JSON, RFC 8785: compiled graph, cell sources, model versions by artifact sha256,
 * scenarios, endpoints). The manifest carries no project id, so a bundle keeps its hash when it
 * moves to another project or instance; the key is therefore (project, hash), not hash alone.
 * Release notes and the failed-build confirmation describe the promotion, not the content: they are
 * not hashed (promoting unchanged content again returns the existing bundle).
 * A trigger (migration 0008) rejects UPDATE, DELETE and TRUNCATE.
 */
export const bundles = pgTable(
  'bundles',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    hash: text('hash').notNull(),
    /** The canonical JSON text, exactly as hashed. Model artifacts are referenced by sha256 (table `artifacts`). */
    manifest: text('manifest').notNull(),
    releaseNotes: text('release_notes').notNull(),
    origin: text('origin', { enum: bundleOrigins }).notNull(),
    /** The notebook it was promoted from; null for imports (and kept when the notebook goes). */
    notebookId: uuid('notebook_id').references(() => notebooks.id, { onDelete: 'no action' }),
    /** The promoter confirmed promoting over a failed, unfinished or missing design build. */
    builtOverFailure: boolean('built_over_failure').notNull().default(false),
    /** Manifest plus artifact bytes: what an export carries (before compression). */
    sizeBytes: integer('size_bytes').notNull(),
    /** The actor's audit label. */
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.hash] }), index('bundles_project_created_idx').on(t.projectId, t.createdAt)],
);

export const deploymentKinds = ['deploy', 'rollback'] as const;
export type DeploymentKind = (typeof deploymentKinds)[number];

/**
 * The deployment history: one row per activation of a bundle in a project's production. The
 * active one has `deactivated_at` null (at most one per project and environment); activating
 * another sets it on the previous row in the same transaction.
 */
export const deployments = pgTable(
  'deployments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    bundleHash: text('bundle_hash').notNull(),
    environment: text('environment', { enum: ['production'] }).notNull().default('production'),
    kind: text('kind', { enum: deploymentKinds }).notNull(),
    /** The actor's audit label. */
    activatedBy: text('activated_by').notNull(),
    reason: text('reason').notNull(),
    activatedAt: timestamp('activated_at', { withTimezone: true }).notNull().defaultNow(),
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true }),
  },
  (t) => [
    foreignKey({ columns: [t.projectId, t.bundleHash], foreignColumns: [bundles.projectId, bundles.hash], name: 'deployments_bundle_fk' }),
    index('deployments_project_activated_idx').on(t.projectId, t.activatedAt),
    uniqueIndex('deployments_one_active_uq')
      .on(t.projectId, t.environment)
      .where(sql`${t.deactivatedAt} is null`),
  ],
);
