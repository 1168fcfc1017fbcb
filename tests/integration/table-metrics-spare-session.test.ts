import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXACT_METRICS_MAX_ROWS, describeTable, measureTable, type SpareSession } from '@/server/services/cells/table-metrics';
import { PROFILE_SAMPLE_ROWS } from '@/server/services/datasets/column-profile';
import { createTableFromSelect, trySpareSandboxSession, withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * A build step measures a mid-sized table (over the profile's sample, within exact metrics) with two
 * passes; when the project has a sandbox session free, the exact pass runs in it beside the
 * profile's, with the same results. A step never waits for that second session.
 */
const ROWS = 30_000;

describe('metrics passes in a spare sandbox session', () => {
  let t: TestDatabase;
  let scope: SandboxScope;

  beforeAll(async () => {
    expect(ROWS).toBeGreaterThan(PROFILE_SAMPLE_ROWS);
    expect(ROWS).toBeLessThanOrEqual(EXACT_METRICS_MAX_ROWS);
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Spare' });
    scope = { projectId: (await a.projects.create({ teamId: team.id, name: 'Spare' })).id, environment: 'design' };
    const sql = `select i as id, case when i % 7 = 0 then null else (i % 1000)::float8 end as x, 'tag_' || (i % 13) as tag from generate_series(1, ${ROWS}) as i`;
    const created = await createTableFromSelect(t.db, scope, { sql, table: 'mid', timeoutMs: 60_000 });
    expect(created).toEqual({ ok: true, rowCount: ROWS });
  }, 120_000);

  afterAll(async () => {
    await disposeWithProjectRoles(t);
  }, 60_000);

  async function measure(spare: SpareSession | undefined) {
    return withSandboxSession(t.db, scope, { timeoutMs: 60_000 }, async (q) => {
      const own = Number((await q('select pg_backend_pid() as pid')).rows[0]!.pid);
      const columns = await describeTable(q, 'mid');
      return { own, ...(await measureTable(q, 'mid', columns, ROWS, { profile: true, ...(spare ? { spare } : {}) })) };
    });
  }

  it('runs the exact metrics pass in a second session, in the sandbox, with the same figures as one after the other', async () => {
    const spareRuns: { pid: number; timeout: string; path: string; user: string }[] = [];
    const spare: SpareSession = (fn) =>
      trySpareSandboxSession(t.db, scope, { timeoutMs: 12_345 }, async (q2) => {
        const r = (await q2(`select pg_backend_pid() as pid, current_setting('statement_timeout') as timeout, current_setting('search_path') as path, session_user as "user"`)).rows[0]!;
        spareRuns.push({ pid: Number(r.pid), timeout: String(r.timeout), path: String(r.path), user: String(r.user) });
        return fn(q2);
      });
    const beside = await measure(spare);
    const sequential = await measure(undefined);

    expect(spareRuns).toHaveLength(1);
    expect(spareRuns[0]!.pid).not.toBe(beside.own);
    // The spare session is the project's own sandbox session, with the caller's statement timeout.
    expect(spareRuns[0]!.user).toMatch(/^sb_p_/);
    expect(spareRuns[0]!.path).toContain(`p_${scope.projectId.replace(/-/g, '')}_design`);
    expect(spareRuns[0]!.timeout).toBe('12345ms');
    expect(beside.metrics).toEqual(sequential.metrics);
    expect(beside.metrics.columns.find((c) => c.name === 'tag')!.distinctCount).toBe(13);
    expect(beside.metrics.columns.find((c) => c.name === 'x')!.nullCount).toBe(Math.floor(ROWS / 7));
    // The profile draws its sample at random: the exact figures agree.
    const exactPart = (p: typeof beside.profile) => p!.map(({ name, rows, nullCount, min, max, mean }) => ({ name, rows, nullCount, min, max, mean }));
    expect(exactPart(beside.profile)).toEqual(exactPart(sequential.profile));
  });

  it('measures in its own session, without waiting, when the project has no session free', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let offered: Promise<unknown> | null | undefined;
    const measured = withSandboxSession(t.db, scope, { timeoutMs: 60_000 }, async (q) => {
      // The project's second session is taken by someone else for as long as this step measures.
      let taken!: () => void;
      const busy = new Promise<void>((resolve) => (taken = resolve));
      const other = withSandboxSession(t.db, scope, { timeoutMs: 60_000 }, async () => {
        taken();
        await held;
      });
      await busy;
      const columns = await describeTable(q, 'mid');
      const spare: SpareSession = (fn) => {
        const r = trySpareSandboxSession(t.db, scope, { timeoutMs: 60_000 }, fn);
        offered = r;
        return r;
      };
      const m = await measureTable(q, 'mid', columns, ROWS, { profile: true, spare });
      release();
      await other;
      return m;
    });
    const m = await measured;
    expect(offered).toBeNull();
    expect(m.metrics.rowCount).toBe(ROWS);
    expect(m.profile).toHaveLength(3);
  });
});
