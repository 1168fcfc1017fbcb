/**
 * The audit filters match names resolved at read time (target names, workflow actors in words).
 * Names live in every team's tables, so the filter must stay a narrowing of the caller's own log:
 * another team's names find nothing, their runs number nothing, and the filter text is data, never SQL
 * or a LIKE pattern.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '@/db/schema';
import { emitAudit } from '@/server/services/audit/emit';
import type { Actor } from '@/server/services/context';
import { callerFor, newUser, trpcCode } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
const sides: Record<'ours' | 'theirs', { actor: Actor; teamId: string; projectId: string; runId: string }> = {} as never;

async function side(name: string, notebook: string) {
  const actor = await newUser(t.db, name);
  const teamId = (await callerFor(t.db, actor).teams.create({ name: `${name} team` })).id;
  const projectId = (await callerFor(t.db, actor).projects.create({ teamId, name: `${name} project` })).id;
  const notebookId = (await callerFor(t.db, actor).notebooks.create({ projectId, name: notebook })).id;
  const runId = randomUUID();
  await t.db.insert(runs).values({ id: runId, projectId, kind: 'build', status: 'succeeded', workflowId: `build-${runId}`, notebookId, input: {}, createdBy: 'test' });
  await emitAudit(t.db, { actor: { type: 'workflow', workflowId: `build-${runId}` } }, { action: 'build.complete', target: { type: 'run', id: runId }, teamId, projectId, details: {} });
  return { actor, teamId, projectId, runId };
}

beforeAll(async () => {
  t = await openTestDatabase('postgres');
  sides.ours = await side('ours', 'Weekly report');
  sides.theirs = await side('theirs', 'Secret merger plans');
}, 120_000);

afterAll(async () => {
  await t?.dispose();
});

const listOurs = async (input: Record<string, unknown>) => (await callerFor(t.db, sides.ours.actor).audit.list({ teamId: sides.ours.teamId, ...input })).events;

describe('audit filters by name stay inside the caller’s log', () => {
  it("another team's target names and workflow actors find nothing in ours", async () => {
    expect(await listOurs({ target: 'Secret merger' })).toEqual([]);
    expect(await listOurs({ actor: 'build of Secret' })).toEqual([]);
    expect(await listOurs({ target: sides.theirs.runId })).toEqual([]);
    // Our own still match, numbered among our runs only.
    expect((await listOurs({ actor: 'build of Weekly report (run 1)' })).map((e) => e.target.id)).toEqual([sides.ours.runId]);
  });

  it("another team's log stays refused, whatever the filter", async () => {
    expect(await trpcCode(callerFor(t.db, sides.ours.actor).audit.list({ projectId: sides.theirs.projectId, target: 'Secret' }))).toBe('FORBIDDEN');
  });

  it('filter text is data: quotes, LIKE wildcards and backslashes match literally', async () => {
    for (const text of ["' or 1=1 --", '%', '_', '\\', '%Secret%']) {
      expect(await listOurs({ target: text })).toEqual([]);
      expect(await listOurs({ actor: text })).toEqual([]);
    }
  });
});
