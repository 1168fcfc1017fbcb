/**
 * Disabling a production scenario stops what production does: only the project's deployers (or a
 * key of that project with the `run` scope) may do it. Viewers, editors, read keys, keys of another
 * project and deployers of another team are refused, and a refused call changes nothing and audits nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarios, teamMembers } from '@/db/schema';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { resolveApiKey } from '@/server/services/api-keys/resolve-api-key';
import type { Actor } from '@/server/services/context';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let admin: Actor;
let projectId: string;
let otherProjectId: string;
const members: Partial<Record<'viewer' | 'editor' | 'deployer' | 'outsiderDeployer', Actor>> = {};

const enabledNow = async () => (await t.query(`select enabled from scenarios where project_id = '${projectId}'`))[0]?.enabled;
const auditCount = async () => Number((await t.query(`select count(*) as n from audit_events where project_id = '${projectId}' and action in ('scenario.disable', 'scenario.enable')`))[0]?.n);
const disable = (actor: Actor, project = projectId) => trpcCode(callerFor(t.db, actor).scenarios.setEnabled({ projectId: project, scenario: 'nightly', enabled: false }));
const keyWith = async (project: string, scopes: string[]) =>
  (await resolveApiKey(t.db, (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId: project, name: `k-${scopes.join('-')}`, scopes } })).secret))!;

beforeAll(async () => {
  t = await openTestDatabase('postgres');
  admin = await newUser(t.db, 'admin');
  const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
  projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Forecast' })).id;
  otherProjectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Other' })).id;
  for (const role of ['viewer', 'editor', 'deployer'] as const) {
    const u = await newUser(t.db, role);
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: u.userId, role });
    members[role] = u;
  }
  const outsider = await newUser(t.db, 'outsider');
  await callerFor(t.db, outsider).teams.create({ name: 'Elsewhere' });
  members.outsiderDeployer = outsider;
  await t.db.insert(scenarios).values({ projectId, name: 'nightly', bundleHash: 'f'.repeat(64), cellId: 'scenario', spec: { name: 'nightly', triggers: [], steps: [] } });
}, 120_000);

afterAll(async () => {
  await t?.dispose();
});

describe('who may disable a production scenario', () => {
  it('viewers and editors of the team are refused; nothing changes, nothing is audited', async () => {
    expect(await disable(members.viewer!)).toBe('FORBIDDEN');
    expect(await disable(members.editor!)).toBe('FORBIDDEN');
    expect(await enabledNow()).toBe(true);
    expect(await auditCount()).toBe(0);
  });

  it('a member of another team is refused, whatever their role there', async () => {
    expect(['FORBIDDEN', 'NOT_FOUND']).toContain(await disable(members.outsiderDeployer!));
    expect(await enabledNow()).toBe(true);
  });

  it('API keys: a read key is refused, and a run key of another project cannot reach this one', async () => {
    expect(await disable(await keyWith(projectId, ['read']))).toBe('FORBIDDEN');
    expect(['FORBIDDEN', 'NOT_FOUND']).toContain(await disable(await keyWith(otherProjectId, ['run'])));
    expect(await enabledNow()).toBe(true);
    expect(await auditCount()).toBe(0);
  });

  it('a deployer of the team may (the refusals above are about who, not about the request)', async () => {
    expect(await disable(members.deployer!)).toBe('OK');
    expect(await enabledNow()).toBe(false);
    expect(await auditCount()).toBe(1);
  });
});
