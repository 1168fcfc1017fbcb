import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { auditEvents } from '@/db/schema';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase } from '../helpers/db';
import { check, setNotebookCells, sql, ts, type TestCell } from '../helpers/pipeline';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * Issue 11: audit details name cells as people do (their title, else what they make), never by
 * step ids, which are the cells' UUIDs in a real notebook. One build over the uploaded credit data
 * with a titled cell that publishes, a titled cell that fails, an untitled ts cell and a check (checks
 * run inside the step of the dataset they check: no step of their own).
 */
const ids = { clean: randomUUID(), broken: randomUUID(), scored: randomUUID(), gate: randomUUID() };
const cells: TestCell[] = [
  { ...sql(ids.clean, 'clean', 'select * from credit where income is not null'), title: 'Clean credit rows' },
  { ...sql(ids.broken, 'ratios', 'select amount / (income - income) as ratio from clean'), title: 'Broken ratio' },
  ts(ids.scored, ['clean'], 'scored', 'export default function (rows: { amount: number }[], emit: (r: object) => void) {\n  for (const r of rows) emit({ big: r.amount > 1000 });\n}'),
  { ...check(ids.gate, 'dataset: clean\nchecks:\n  - type: row_count\n    min: 1'), title: 'Quality gate' },
];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The details without the keys that are ids by design (step ids, run and notebook ids). */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !['stepId', 'runId', 'notebookId', 'fingerprint'].includes(k)).map(([k, v]) => [k, withoutIds(v)]));
}

describe('audit details name cells by their names (postgres, real Temporal worker)', () => {
  let temporal: TestTemporal;
  let client: Client;
  let env: Awaited<ReturnType<typeof setUp>>;

  async function setUp() {
    const t = await openTestDatabase('postgres');
    const taskQueue = uniqueTaskQueue('audit-names');
    const worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    const editor = await newUser(t.db, 'editor');
    const workflows = createWorkflowStarter(client, taskQueue);
    const caller = callerFor(t.db, editor, { workflows });
    const team = await caller.teams.create({ name: 'Audit team' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Audit names' })).id;
    await uploadDataset({ ctx: { ...ctxFor(t.db, editor), workflows }, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
    return { t, worker, caller, projectId };
  }

  beforeAll(async () => {
    quietTemporalRuntime();
    temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
    env = await setUp();
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
    await client?.connection.close();
    await temporal?.stop();
  }, 120_000);

  it('names cells in build.start, build.complete, dataset.publish and the failure message', async () => {
    const nb = await env.caller.notebooks.create({ projectId: env.projectId, name: 'Credit' });
    await setNotebookCells(env.t.db, nb.id, cells);
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb.id, target: { kind: 'all' } });
    await client.workflow.getHandle(`build-${runId}`).result();

    const events = await env.t.db.select().from(auditEvents).where(eq(auditEvents.targetId, runId)).orderBy(asc(auditEvents.seq));
    const start = events.find((e) => e.action === 'build.start')!;
    const complete = events.find((e) => e.action === 'build.complete')!;
    const cellsOf = (list: unknown) => (list as { stepId: string; cell: string }[]).map((s) => [s.stepId, s.cell]).sort();
    expect(cellsOf(start.details.steps)).toEqual(
      [
        [ids.clean, 'Clean credit rows'],
        [ids.broken, 'Broken ratio'],
        [ids.scored, 'scored'],
      ].sort(),
    );
    expect(complete.details.status).toBe('failed');
    expect(cellsOf(complete.details.failed)).toEqual([[ids.broken, 'Broken ratio']]);
    expect(cellsOf(complete.details.succeeded)).toEqual(
      [
        [ids.clean, 'Clean credit rows'],
        [ids.scored, 'scored'],
      ].sort(),
    );
    expect(complete.details.error).toMatch(/^Broken ratio/);
    expect(complete.details.error).toContain('division by zero');

    const publishes = await env.t.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'dataset.publish'), eq(auditEvents.projectId, env.projectId)));
    expect(publishes.map((e) => [e.details.name, e.details.cell]).sort()).toEqual([
      ['clean', 'Clean credit rows'],
      ['scored', 'scored'],
    ]);
    // Apart from the fields that are ids by design, no cell is named by its UUID.
    for (const e of [start, complete, ...publishes]) expect(JSON.stringify(withoutIds(e.details)), e.action).not.toMatch(UUID);

    // The step logs and errors people read on the run page name cells too.
    const build = await env.caller.builds.get({ projectId: env.projectId, runId });
    const steps = new Map(build.steps.map((s) => [s.stepId, s]));
    expect(steps.get(ids.scored)!.log.join('\n')).toContain('ts: running scored in the sandbox');
    expect(steps.get(ids.broken)!.error).toMatch(/^Broken ratio: the SQL failed: division by zero/);
    for (const s of build.steps) expect(`${s.log.join('\n')}\n${s.error ?? ''}`).not.toMatch(UUID);
  }, 180_000);
});
