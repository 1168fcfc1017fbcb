import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { callerFor, newUser } from '../helpers/api';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

describe.each(drivers)('the audit trail on %s', (driver) => {
  let t: TestDatabase;
  let seqs: number[];
  beforeAll(async () => {
    t = await openTestDatabase(driver);
    const admin = await newUser(t.db, 'auditor');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Chain' });
    for (let i = 0; i < 4; i++) await a.projects.create({ teamId: team.id, name: `p${i}` });
    seqs = (await t.query('select seq from audit_events order by seq')).map((r) => Number(r.seq));
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('is refused UPDATE, DELETE and TRUNCATE by the database itself', async () => {
    await expect(t.query(`update audit_events set action = 'x' where seq = $1`, [seqs[1]])).rejects.toThrow(/append-only/);
    await expect(t.query(`delete from audit_events where seq = $1`, [seqs[1]])).rejects.toThrow(/append-only/);
    await expect(t.query(`truncate audit_events`)).rejects.toThrow(/append-only/);
    expect(await verifyAuditChain(t.db)).toEqual({ ok: true, events: seqs.length, head: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('chains each event to the one before it, concurrent writers included', async () => {
    const admin = await newUser(t.db, 'concurrent');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Busy' });
    await Promise.all(Array.from({ length: 12 }, (_, i) => a.projects.create({ teamId: team.id, name: `c${i}` })));
    const rows = await t.query('select prev_hash, hash from audit_events order by seq');
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('names exactly the event a superuser altered behind the trigger', async () => {
    const target = seqs[2]!;
    const [original] = await t.query('select details from audit_events where seq = $1', [target]);
    // As the superuser, with the append-only trigger bypassed: what an attacker with DB access could do.
    await t.query(`alter table audit_events disable trigger audit_events_no_update_delete`);
    await t.query(`update audit_events set details = '{"name":"forged"}'::jsonb where seq = $1`, [target]);
    await t.query(`alter table audit_events enable trigger audit_events_no_update_delete`);
    const result = await verifyAuditChain(t.db);
    expect(result).toMatchObject({ ok: false, brokenAt: { seq: target, reason: expect.stringContaining('altered') } });

    if (t.url) {
      // The operator's command says the same and exits non-zero.
      const err = await run(process.execPath, ['server/launch.mjs', 'audit-verify'], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: t.url },
      }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      expect(err?.stderr).toContain(`BROKEN at event seq=${target}`);
    }

    await t.query(`alter table audit_events disable trigger audit_events_no_update_delete`);
    await t.query(`update audit_events set details = $2::jsonb where seq = $1`, [target, JSON.stringify(original!.details)]);
    await t.query(`alter table audit_events enable trigger audit_events_no_update_delete`);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('detects a removed event at the event after the gap', async () => {
    const victim = seqs[3]!;
    await t.query(`alter table audit_events disable trigger audit_events_no_update_delete`);
    await t.query(`delete from audit_events where seq = $1`, [victim]);
    await t.query(`alter table audit_events enable trigger audit_events_no_update_delete`);
    const result = await verifyAuditChain(t.db);
    expect(result).toMatchObject({ ok: false, brokenAt: { seq: seqs[4], reason: expect.stringContaining('removed') } });
  });
});
