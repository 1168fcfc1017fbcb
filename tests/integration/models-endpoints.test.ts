import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { importOnnxModel } from '@/server/services/models/import-onnx-model';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyOnnxModel } from '../helpers/models';

type User = Extract<Actor, { type: 'user' }>;

describe.each(drivers)('endpoints on %s', (driver) => {
  let t: TestDatabase;
  let admin: User;
  let deployer: User;
  let editor: User;
  let projectId: string;
  let otherProjectId: string;
  const name = `fraud-${driver}`;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Endpoints' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    otherProjectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Q' })).id;
    deployer = await newUser(t.db, 'deployer');
    editor = await newUser(t.db, 'editor');
    await t.db.insert(teamMembers).values([
      { teamId: team.id, userId: deployer.userId, role: 'deployer' },
      { teamId: team.id, userId: editor.userId, role: 'editor' },
    ]);
    const bytes = await tinyOnnxModel();
    for (const pid of [projectId, otherProjectId]) await importOnnxModel({ ctx: ctxFor(t.db, admin), input: { projectId: pid, name: 'tiny' }, body: bytes });
    await importOnnxModel({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'tiny' }, body: bytes });
  });
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  const audit = (action: string) => t.query(`select * from audit_events where action = $1 and project_id = $2 order by seq`, [action, projectId]);

  it('lets a deployer create an endpoint that follows the champion, audited; an editor may not', async () => {
    expect(await trpcCode(callerFor(t.db, editor).endpoints.create({ projectId, name, model: 'tiny' }))).toBe('FORBIDDEN');
    const created = await callerFor(t.db, deployer).endpoints.create({ projectId, name, model: 'tiny', description: 'card fraud' });
    expect(created).toMatchObject({ name, model: 'tiny', servingVersion: 1, pinnedVersion: null, path: `/api/v1/endpoints/${name}/predict`, scope: `score:${name}`, description: 'card fraud' });
    const [event] = await audit('endpoint.create');
    expect(event).toMatchObject({ actor_label: deployer.email, target_id: created.id });
    expect(event!.details).toMatchObject({ name, model: 'tiny', pinnedVersion: null });
    expect(await callerFor(t.db, editor).endpoints.list({ projectId })).toEqual([created]);
  });

  it('keeps endpoint names unique across the instance, since the URL carries no project', async () => {
    const err = await callerFor(t.db, admin).endpoints.create({ projectId: otherProjectId, name, model: 'tiny' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/unique across Stagebook/) });
    expect(await trpcCode(callerFor(t.db, admin).endpoints.create({ projectId, name: 'Has Spaces', model: 'tiny' }))).toBe('BAD_REQUEST');
    expect(await trpcCode(callerFor(t.db, admin).endpoints.create({ projectId, name: 'other', model: 'nope' }))).toBe('NOT_FOUND');
    expect(await trpcCode(callerFor(t.db, admin).endpoints.create({ projectId, name: 'other', model: 'tiny', version: 9 }))).toBe('NOT_FOUND');
  });

  it('pins a version and goes back to the champion, each change audited with before and after', async () => {
    const pinned = await callerFor(t.db, deployer).endpoints.update({ projectId, name, version: 2 });
    expect(pinned).toMatchObject({ pinnedVersion: 2, servingVersion: 2 });
    const following = await callerFor(t.db, deployer).endpoints.update({ projectId, name, version: null });
    expect(following).toMatchObject({ pinnedVersion: null, servingVersion: 1 });
    const events = await audit('endpoint.update');
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ before: expect.objectContaining({ pinnedVersion: null, servingVersion: 1 }), after: expect.objectContaining({ pinnedVersion: 2, servingVersion: 2 }) }),
      expect.objectContaining({ before: expect.objectContaining({ pinnedVersion: 2 }), after: expect.objectContaining({ pinnedVersion: null, servingVersion: 1 }) }),
    ]);
  });

  it('deletes an endpoint, audited; its name is free again', async () => {
    expect(await trpcCode(callerFor(t.db, editor).endpoints.delete({ projectId, name }))).toBe('FORBIDDEN');
    await callerFor(t.db, deployer).endpoints.delete({ projectId, name });
    expect(await audit('endpoint.delete')).toHaveLength(1);
    expect(await trpcCode(callerFor(t.db, deployer).endpoints.get({ projectId, name }))).toBe('NOT_FOUND');
    await callerFor(t.db, admin).endpoints.create({ projectId: otherProjectId, name, model: 'tiny' });
  });
});
