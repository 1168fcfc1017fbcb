import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '@/db/client';
import { users } from '@/db/schema';
import { ensureNextBuild, startServer, type ServerChild } from '../e2e/server';
import { createPostgresDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal';
import { trpcHttpClient } from '../helpers/trpc-http';

/**
 * The train form's training runs on a Temporal worker, not in the web process that took the
 * request: killing that web process mid-training loses nothing, and a new web process answers the
 * form's polling with the registered version.
 */
describe('the train form on the worker', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('keeps training when the web process that started it is killed; a restarted web process shows the version', { timeout: 600_000 }, async () => {
    ensureNextBuild();
    const temporal = await useTestTemporal();
    cleanups.push(temporal.stop);
    const db = await createPostgresDatabase();
    cleanups.push(db.drop);
    const env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('train-form') };
    const worker = await startServer({ role: 'worker', env });
    cleanups.push(() => worker.stop());
    let web: ServerChild = await startServer({ role: 'web', env });
    cleanups.push(() => web.stop());

    const browser = trpcHttpClient(web.baseUrl);
    const email = `trainer-${Date.now()}@example.com`;
    await browser.mutate('auth.signUp', { email, name: 'Trainer', password: 'a long enough password' });
    await browser.mutate('auth.signIn', { email, password: 'a long enough password' });
    const team = await browser.mutate('teams.create', { name: 'Risk' });
    const projectId = (await browser.mutate('projects.create', { teamId: team.id, name: 'Credit' })).id as string;
    const d = await openDatabase({ url: db.url, poolSize: 2 });
    try {
      const [user] = await d.db.select().from(users).where(eq(users.email, email));
      await uploadCredit(d.db, { type: 'user', userId: user!.id as never, email, name: 'Trainer' }, projectId);
    } finally {
      await d.close();
    }

    // Long enough (no early stopping) that the web process dies while the worker trains.
    const spec = { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 150, earlyStopping: false } };
    const started = await browser.mutate('models.train', { projectId, modelName: 'credit-risk', dataset: 'credit', spec });
    const trainingId = started.id as string;
    await vi.waitFor(
      async () => {
        const t = await browser.query('models.training', { projectId, trainingId });
        expect((t.progress as { stage?: string } | null)?.stage).toBe('training');
      },
      { timeout: 120_000, interval: 200 },
    );

    process.kill(-web.pid, 'SIGKILL');
    await web.stop().catch(() => undefined);
    web = await startServer({ role: 'web', env });
    browser.rebase(web.baseUrl);
    // The session lives in Postgres: the same cookie signs in on the new process.
    const done = await vi.waitFor(
      async () => {
        const t = await browser.query('models.training', { projectId, trainingId });
        expect(t.state, JSON.stringify(t.error)).toBe('succeeded');
        return t;
      },
      { timeout: 180_000, interval: 500 },
    );
    expect(done).toMatchObject({ modelName: 'credit-risk', result: { version: { version: 1, algorithm: 'gradient_boosted_trees' }, becameChampion: true } });
    const versions = (await browser.query('models.versions', { projectId, name: 'credit-risk' })) as unknown as { version: number; createdBy: string }[];
    // One version (no retry registered a second), audited as the user who pressed Train.
    expect(versions.map((v) => [v.version, v.createdBy])).toEqual([[1, email]]);
  });
});
