import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSteps } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type Driver } from '../helpers/db';
import { setNotebookCells, sql, type TestCell } from '../helpers/pipeline';
import { temporalForFile, uniqueTaskQueue } from '../helpers/temporal';

/**
 * Issue 15: a step that is the only one waiting for the step before it runs in that step's
 * activity (`buildStepChain`), without a Temporal round trip between them; the steps keep their own
 * states, logs, metrics and errors, and a failure in the middle of a chain skips what follows it.
 */
const ROWS = 30_000;
const chain = (c: string): TestCell[] => [
  sql('a', 'a', `select i as id from generate_series(1, ${ROWS}) as i`),
  sql('b', 'b', 'select id, id * 2 as y from a'),
  sql('c', 'c', c),
  sql('d', 'd', 'select count(*) as n from c'),
  // A branch of its own, built beside the chain.
  sql('side', 'side', 'select 1 as one'),
];

const tc = temporalForFile();

describe.each(drivers)('chains of steps on %s', (driver) => {
  let env: Awaited<ReturnType<typeof setUp>>;

  async function setUp(d: Driver) {
    const t = await openTestDatabase(d);
    const taskQueue = uniqueTaskQueue(`chains-${d}`);
    const worker = await createWorker({ db: t.db, address: tc.temporal.address, namespace: tc.temporal.namespace, taskQueue });
    void worker.run();
    const editor = await newUser(t.db, 'editor');
    const caller = callerFor(t.db, editor, { workflows: createWorkflowStarter(tc.client, taskQueue) });
    const team = await caller.teams.create({ name: 'Chain team' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Chains' })).id;
    return { t, worker, caller, projectId };
  }

  beforeAll(async () => {
    env = await setUp(driver);
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  async function build(cells: TestCell[]) {
    const nb = await env.caller.notebooks.create({ projectId: env.projectId, name: `Chain ${Math.random()}` });
    await setNotebookCells(env.t.db, nb.id, cells);
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb.id, target: { kind: 'all' } });
    const handle = tc.client.workflow.getHandle(`build-${runId}`);
    await handle.result().catch(() => undefined);
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      if (!a) return [];
      const input = JSON.parse(Buffer.from(a.input!.payloads![0]!.data!).toString()) as { stepId?: string; stepIds?: string[] };
      return [{ type: a.activityType!.name!, steps: input.stepIds ?? (input.stepId ? [input.stepId] : []) }];
    });
    const run = await env.caller.builds.get({ projectId: env.projectId, runId });
    const stored = await env.t.db.select().from(buildSteps).where(eq(buildSteps.runId, runId));
    return { run, scheduled, step: (id: string) => stored.find((s) => s.stepId === id)! };
  }

  it('builds a line of steps in one activity, each step with its own state, log, metrics and data', async () => {
    const { run, scheduled, step } = await build(chain('select id, y from b where y > 10'));
    expect(run.status).toBe('succeeded');
    const steps = scheduled.filter((s) => s.type === 'buildStep' || s.type === 'buildStepChain');
    expect(steps).toContainEqual({ type: 'buildStepChain', steps: ['a', 'b', 'c', 'd'] });
    expect(steps.filter((s) => s.steps.includes('b'))).toHaveLength(1);
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(step(id).status).toBe('succeeded');
      expect(step(id).publishedAt).not.toBeNull();
      expect(step(id).metrics, id).not.toBeNull();
    }
    expect(Number(step('c').rowCount)).toBe(ROWS - 5);
    const [d] = await env.t.query(`select n from "${schemaNameOf(env.projectId, 'design')}".d`);
    expect(Number(d!.n)).toBe(ROWS - 5);
  }, 120_000);

  it('fails the step in the middle of a chain that fails, naming its cell, and skips the steps after it', async () => {
    const { run, scheduled, step } = await build(chain('select id, y / (y - y) as boom from b'));
    expect(run.status).toBe('failed');
    expect(scheduled).toContainEqual({ type: 'buildStepChain', steps: ['a', 'b', 'c', 'd'] });
    expect(step('a').status).toBe('succeeded');
    expect(step('b').status).toBe('succeeded');
    expect(step('c')).toMatchObject({ status: 'failed', error: 'c: the SQL failed: division by zero' });
    expect(step('d')).toMatchObject({ status: 'skipped', error: 'a step it depends on did not succeed' });
    expect(step('side').status).toBe('succeeded');
  }, 120_000);
});
