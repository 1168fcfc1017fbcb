/**
 * Search crosses teams by design (one box for everything a person may see), so it must never cross
 * into a team the person is not in: every kind it finds (projects, notebooks, cells, datasets,
 * models, endpoints, scenarios) is planted in two teams under one shared word, and each member must
 * find exactly their own team's. API keys, which belong to one project, cannot search at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarios, teamMembers } from '@/db/schema';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { resolveApiKey } from '@/server/services/api-keys/resolve-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { storeNotebookCells } from '@/server/services/notebooks/store-cells';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

let t: TestDatabase;
type Planted = { teamId: string; projectId: string; notebookId: string; user: Extract<Actor, { type: 'user' }> };
const teamsPlanted: Record<'north' | 'south', Planted> = {} as never;

/** Everything search finds, named with the shared word `zephyr` and the team's own word. */
async function plant(side: 'north' | 'south'): Promise<Planted> {
  const user = await newUser(t.db, side);
  const c = callerFor(t.db, user);
  const team = await c.teams.create({ name: `Team ${side}` });
  const project = await c.projects.create({ teamId: team.id, name: `zephyr ${side} project` });
  const notebook = await c.notebooks.create({ projectId: project.id, name: `zephyr ${side} notebook` });
  await storeNotebookCells(t.db, notebook.id, [{ id: `cell-${side}`, kind: 'sql', source: `-- writes: ${side}_out\nselect 'zephyr ${side} cell' as secret` }]);
  async function* csv() {
    yield `id,word\n1,${side}\n`;
  }
  await uploadDataset({ ctx: ctxFor(t.db, user), input: { projectId: project.id, name: `zephyr_${side}_data`, environment: 'design' }, csv: csv() });
  await tinyEndpoint(t.db, user, project.id, `zephyr-${side}-endpoint`, `zephyr-${side}-model`);
  await t.db.insert(scenarios).values({ projectId: project.id, name: `zephyr_${side}_scenario`, bundleHash: 'f'.repeat(64), cellId: 'scenario', spec: { description: `rebuilds ${side}` } });
  return { teamId: team.id, projectId: project.id, notebookId: notebook.id, user };
}

beforeAll(async () => {
  t = await openTestDatabase('postgres');
  teamsPlanted.north = await plant('north');
  teamsPlanted.south = await plant('south');
}, 120_000);

afterAll(async () => {
  await t?.dispose();
});

const find = (user: Actor, q: string) => callerFor(t.db, user).search.query({ q, limit: 50 });

describe('search sees only the teams the user is a member of', () => {
  it('finds every kind of its own team under the shared word, and nothing of the other team', async () => {
    for (const [side, other] of [['north', 'south'], ['south', 'north']] as const) {
      const hits = await find(teamsPlanted[side].user, 'zephyr');
      expect(new Set(hits.map((h) => h.kind))).toEqual(new Set(['project', 'notebook', 'cell', 'dataset', 'model', 'endpoint', 'scenario']));
      expect(hits.every((h) => h.teamId === teamsPlanted[side].teamId && h.projectId === teamsPlanted[side].projectId)).toBe(true);
      expect(JSON.stringify(hits)).not.toContain(other);
      expect(await find(teamsPlanted[side].user, other)).toEqual([]);
    }
  });

  it('a member of no team finds nothing; a viewer added to a team finds its things, and loses them when removed', async () => {
    const outsider = await newUser(t.db, 'outsider');
    expect(await find(outsider, 'zephyr')).toEqual([]);
    await t.db.insert(teamMembers).values({ teamId: teamsPlanted.south.teamId, userId: outsider.userId, role: 'viewer' });
    const hits = await find(outsider, 'zephyr');
    expect(hits.length).toBeGreaterThanOrEqual(7);
    expect(new Set(hits.map((h) => h.teamId))).toEqual(new Set([teamsPlanted.south.teamId]));
    await callerFor(t.db, teamsPlanted.south.user).teams.removeMember({ teamId: teamsPlanted.south.teamId, userId: outsider.userId });
    expect(await find(outsider, 'zephyr')).toEqual([]);
  });

  it('LIKE wildcards in the search are plain characters: "%" and "_" match nothing of the other team', async () => {
    for (const q of ['%', '_', '\\', '%zephyr%']) {
      const hits = await find(teamsPlanted.north.user, q);
      expect(hits.every((h) => h.teamId === teamsPlanted.north.teamId)).toBe(true);
    }
    expect((await find(teamsPlanted.north.user, '%')).filter((h) => h.kind !== 'cell')).toEqual([]);
  });

  it('refuses signed-out callers and API keys (a key belongs to one project, search spans teams)', async () => {
    expect(await trpcCode(find(null as unknown as Actor, 'zephyr'))).toBe('UNAUTHORIZED');
    const key = await createApiKey({ ctx: ctxFor(t.db, teamsPlanted.north.user), input: { projectId: teamsPlanted.north.projectId, name: 'ci', scopes: ['read'] } });
    const keyActor = await resolveApiKey(t.db, key.secret);
    expect(keyActor).not.toBeNull();
    expect(['UNAUTHORIZED', 'FORBIDDEN']).toContain(await trpcCode(find(keyActor!, 'zephyr')));
    expect(['UNAUTHORIZED', 'FORBIDDEN']).toContain(await trpcCode(callerFor(t.db, keyActor!).search.recent()));
  });

  it('recent work lists only the user’s own projects and notebooks', async () => {
    const recent = await callerFor(t.db, teamsPlanted.north.user).search.recent();
    expect(recent.projects.map((p) => p.id)).toEqual([teamsPlanted.north.projectId]);
    expect(recent.notebooks.map((n) => n.id)).toEqual([teamsPlanted.north.notebookId]);
  });
});
