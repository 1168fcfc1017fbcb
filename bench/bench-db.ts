/**
 * The database part every bench that needs a project shares: a bench user, team and project on a
 * fresh database, and its disposal with the project roles its projects created (roles belong to the
 * server, not the database, so dropping the database leaves them behind).
 */
import pg from 'pg';
import type { Db, Database } from '../db/client';
import { signUp } from '../server/services/auth/sign-up';
import type { Actor, UserId } from '../server/services/context';
import { closeSandboxPools } from '../server/services/datasets/sql-sandbox';
import { createProject } from '../server/services/projects/create-project';
import { createTeam } from '../server/services/teams/create-team';
import { POSTGRES_ADMIN_URL } from '../tests/helpers/db';

/** Signs up `bench@example.com`, who creates a team and a project named `projectName`. */
export async function benchProject(db: Db, projectName: string) {
  const { user } = await signUp({ ctx: { db, actor: null, requestId: null, clientIp: null }, input: { email: 'bench@example.com', name: 'Bench', password: 'bench-password-1' } });
  const actor: Actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name };
  const ctx = { db, actor, requestId: null, clientIp: null };
  const team = await createTeam({ ctx, input: { name: 'Bench' } });
  const project = await createProject({ ctx, input: { teamId: team.id, name: projectName, description: '' } });
  return { ctx, actor, team, project, projectId: project.id };
}

/** Closes the bench's database, drops it, then drops the project roles its projects created. */
export async function disposeBenchDatabase(database: Database, pgdb: { drop: () => Promise<void> }): Promise<void> {
  await closeSandboxPools(database.db);
  const roles = (await database.query('select role_name from project_storage').catch(() => [])).map((r) => String(r.role_name));
  await database.close();
  await pgdb.drop();
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  for (const role of roles) await admin.query(`drop role if exists "${role.replace(/"/g, '""')}"`);
  await admin.end();
}
