/**
 * The audit log reads like a story: targets come with their names (resolved when read, since audit
 * rows keep ids only), runs are numbered per project and kind, and workflow actors read as the run
 * they belong to ("build of Credit operations (run 2)") instead of a workflow id.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '@/db/schema';
import { emitAudit } from '@/server/services/audit/emit';
import type { Actor } from '@/server/services/context';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let admin: Extract<Actor, { type: 'user' }>;
let teamId: string;
let projectId: string;
let notebookId: string;
const runIds: string[] = [];

beforeAll(async () => {
  t = await openTestDatabase('postgres');
  admin = await newUser(t.db, 'admin');
  teamId = (await callerFor(t.db, admin).teams.create({ name: 'Risk' })).id;
  projectId = (await callerFor(t.db, admin).projects.create({ teamId, name: 'Credit model' })).id;
  notebookId = (await callerFor(t.db, admin).notebooks.create({ projectId, name: 'Credit operations' })).id;
  for (const [i, kind] of (['build', 'build', 'scenario'] as const).entries()) {
    const id = randomUUID();
    runIds.push(id);
    await t.db.insert(runs).values({
      id,
      projectId,
      kind,
      status: 'succeeded',
      workflowId: `${kind}-${id}`,
      notebookId: kind === 'build' ? notebookId : null,
      input: kind === 'scenario' ? { scenario: 'nightly' } : {},
      createdBy: 'test',
      createdAt: new Date(Date.now() - 60_000 + i * 1000),
    });
  }
  // What a build workflow records when it finishes, and what a scenario's steps record.
  await emitAudit(t.db, { actor: { type: 'workflow', workflowId: `build-${runIds[1]}` } }, { action: 'build.complete', target: { type: 'run', id: runIds[1]! }, teamId, projectId, details: {} });
  await emitAudit(t.db, { actor: { type: 'workflow', workflowId: `scenario-${runIds[2]}` } }, { action: 'scenario.run_complete', target: { type: 'run', id: runIds[2]! }, teamId, projectId, details: {} });
  await emitAudit(t.db, { actor: admin }, { action: 'scenario.disable', target: { type: 'scenario', id: 'nightly' }, teamId, projectId, details: {} });
  await emitAudit(t.db, { actor: admin }, { action: 'notebook.delete', target: { type: 'notebook', id: randomUUID() }, teamId, projectId, details: {} });
}, 120_000);

afterAll(async () => {
  await t?.dispose();
});

const list = async (input: Record<string, unknown> = {}) => (await callerFor(t.db, admin).audit.list({ projectId, ...input })).events;

describe('audit names', () => {
  it('names projects and notebooks by their names', async () => {
    const events = await list();
    expect(events.find((e) => e.action === 'project.create')!.target).toMatchObject({ type: 'project', id: projectId, name: 'Credit model' });
    expect(events.find((e) => e.action === 'notebook.create')!.target).toMatchObject({ type: 'notebook', id: notebookId, name: 'Credit operations' });
  });

  it('numbers runs per project and kind, and workflow actors read as their run', async () => {
    const events = await list();
    const build = events.find((e) => e.action === 'build.complete')!;
    expect(build.target).toMatchObject({ type: 'run', name: 'build of Credit operations (run 2)', runKind: 'build' });
    expect(build.actor).toMatchObject({ type: 'workflow', id: `build-${runIds[1]}`, description: 'build of Credit operations (run 2)' });
    const scenario = events.find((e) => e.action === 'scenario.run_complete')!;
    expect(scenario.actor.description).toBe('scenario nightly (run 1)');
    expect(scenario.target).toMatchObject({ name: 'scenario nightly (run 1)', runKind: 'scenario' });
    expect(events.find((e) => e.action === 'project.create')!.actor.description).toBeNull();
  });

  it('a target that no longer exists has no name, and its id stays', async () => {
    const deleted = (await list()).find((e) => e.action === 'notebook.delete')!;
    expect(deleted.target.name).toBeNull();
    expect(deleted.target.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('filters still narrow by action and by target', async () => {
    expect((await list({ action: 'scenario.disable' })).map((e) => e.target)).toEqual([{ type: 'scenario', id: 'nightly', name: null }]);
    expect((await list({ target: 'run' })).map((e) => e.action).sort()).toEqual(['build.complete', 'scenario.run_complete']);
  });
});

describe('audit filters match names as the log shows them', () => {
  const actions = async (input: Record<string, unknown>) => (await list(input)).map((e) => e.action).sort();

  it('the target filter matches target names, any case, and scenario names', async () => {
    expect(await actions({ target: 'OPERATIONS' })).toEqual(['build.complete', 'notebook.create']);
    expect(await actions({ target: 'credit model' })).toEqual(['project.create']);
    expect(await actions({ target: 'run 2' })).toEqual(['build.complete']);
    expect(await actions({ target: 'nightly' })).toEqual(['scenario.disable', 'scenario.run_complete']);
    // Independent of the SQL: the events whose resolved name (as the list shows it) contains the text.
    const all = await list();
    const shown = (e: (typeof all)[number]) => (e.target.name ?? (e.target.type === 'scenario' ? e.target.id : '')).toLowerCase();
    for (const text of ['credit', 'of', 'a']) {
      expect(await actions({ target: text })).toEqual(all.filter((e) => shown(e).includes(text)).map((e) => e.action).sort());
    }
  });

  it('ids and types still match, and % _ \\ are taken literally', async () => {
    expect(await actions({ target: notebookId })).toEqual(['notebook.create']);
    // By type: the deleted notebook has no name left, only its type finds it.
    expect(await actions({ target: 'notebook' })).toEqual(['notebook.create', 'notebook.delete']);
    for (const text of ['%', '_', '\\', "'); drop table audit_events; --"]) expect(await actions({ target: text })).toEqual([]);
  });

  it('the actor filter matches workflow actors in words, in a project and across the team', async () => {
    expect(await actions({ actor: 'build of credit operations' })).toEqual(['build.complete']);
    expect(await actions({ actor: 'nightly (run 1)' })).toEqual(['scenario.run_complete']);
    const team = await callerFor(t.db, admin).audit.list({ teamId, actor: 'Credit operations (run 2)' });
    expect(team.events.map((e) => e.action)).toEqual(['build.complete']);
    // Labels and ids as before.
    expect(await actions({ actor: `build-${runIds[1]}` })).toEqual(['build.complete']);
    expect(await actions({ actor: 'workflow:scenario-' })).toEqual(['scenario.run_complete']);
    expect((await actions({ actor: admin.email })).length).toBeGreaterThan(2);
    expect(await actions({ actor: 'run 3' })).toEqual([]);
  });
});

describe('a number in a filter is matched as a whole number', () => {
  let numbered: string;
  const runIdsByNumber: string[] = [];

  beforeAll(async () => {
    numbered = (await callerFor(t.db, admin).projects.create({ teamId, name: 'Twelve runs' })).id;
    const nb = (await callerFor(t.db, admin).notebooks.create({ projectId: numbered, name: 'Daily' })).id;
    for (let i = 0; i < 12; i++) {
      const id = randomUUID();
      runIdsByNumber.push(id);
      await t.db.insert(runs).values({ id, projectId: numbered, kind: 'build', status: 'succeeded', workflowId: `build-${id}`, notebookId: nb, input: {}, createdBy: 'test', createdAt: new Date(Date.now() - 60_000 + i * 1000) });
      await emitAudit(t.db, { actor: { type: 'workflow', workflowId: `build-${id}` } }, { action: 'build.complete', target: { type: 'run', id }, teamId, projectId: numbered, details: {} });
    }
  }, 60_000);

  const shown = async (input: Record<string, unknown>) =>
    (await callerFor(t.db, admin).audit.list({ projectId: numbered, action: 'build.complete', ...input })).events.map((e) => e.target.name).sort();

  it('"run 1" finds run 1 and not runs 10, 11 and 12; "run 12" finds run 12 only', async () => {
    expect(await shown({ target: 'run 1' })).toEqual(['build of Daily (run 1)']);
    expect(await shown({ target: 'run 12' })).toEqual(['build of Daily (run 12)']);
    expect(await shown({ target: '2)' })).toEqual(['build of Daily (run 2)']);
    expect(await shown({ actor: 'Daily (run 1)' })).toEqual(['build of Daily (run 1)']);
    expect(await shown({ actor: 'run 1)' })).toEqual(['build of Daily (run 1)']);
    // Independent of the SQL: the names that hold the text with no digit right before or after it.
    const all = await shown({});
    expect(all).toHaveLength(12);
    for (const text of ['run 1', 'run 11', '1)', 'of Daily']) {
      const whole = new RegExp(`(^|\\D)${text.replace(/[()]/g, '\\$&')}(?!\\d)`, 'i');
      expect(await shown({ target: text })).toEqual(all.filter((n) => whole.test(n!)));
    }
  });
});
