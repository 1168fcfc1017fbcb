import { jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects';
import { users } from './users';

export const pythonInstallStates = ['pending', 'installing', 'ready', 'failed'] as const;
export type PythonInstallState = (typeof pythonInstallStates)[number];

/**
 * A project's extra Python packages: pinned `name==version` lines, installed before the next Python
 * run into a layer over the managed venv keyed by `sha256` (server/python/project-layer.ts). The
 * install columns describe the last install of exactly these requirements (`installSha256`).
 */
export const projectPythonRequirements = pgTable('project_python_requirements', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  /** Normalised: one `name==version` a line, sorted by name, no comments. Empty: no layer. */
  requirements: text('requirements').notNull(),
  sha256: text('sha256').notNull(),
  updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  installState: text('install_state').$type<PythonInstallState>().notNull().default('pending'),
  installSha256: text('install_sha256'),
  /** pip's output (its tail) when the install failed. */
  installLog: text('install_log'),
  installedAt: timestamp('installed_at', { withTimezone: true }),
});

/**
 * Settings of the whole instance, changed by instance admins only (services/system/instance-settings.ts
 * names the keys and their types). One row per key; audited.
 */
export const instanceSettings = pgTable('instance_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
