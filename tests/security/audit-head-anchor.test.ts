import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_ANCHOR_FILE, readLastAuditAnchor, startAuditAnchoring, writeAuditAnchor } from '@/server/services/audit/anchor';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/**
 * Removing the newest audit events leaves a shorter chain that is still valid: only a head written
 * outside the database (the anchor) tells. The attacker here is a database superuser who bypasses
 * the append-only trigger.
 */
describe('the audit head anchor', () => {
  let t: TestDatabase;
  let home: string;
  let anchorFile: string;
  let caller: ReturnType<typeof callerFor>;
  let teamId: string;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    home = await mkdtemp(path.join(os.tmpdir(), 'sb-anchor-'));
    anchorFile = path.join(home, AUDIT_ANCHOR_FILE);
    caller = callerFor(t.db, await newUser(t.db, 'auditor'));
    teamId = (await caller.teams.create({ name: 'Anchored' })).id;
    for (let i = 0; i < 5; i++) await caller.projects.create({ teamId, name: `p${i}` });
  }, 60_000);

  afterAll(async () => {
    await t?.dispose();
    await rm(home, { recursive: true, force: true });
  });

  const seqs = async () => (await t.query('select seq, hash from audit_events order by seq')).map((r) => ({ seq: Number(r.seq), hash: String(r.hash) }));

  it('anchors at start, when the head moves, and at stop, each as a log line too', async () => {
    const lines: string[] = [];
    const anchoring = startAuditAnchoring({ db: t.db, file: anchorFile, everyMs: 100, log: (l) => lines.push(l) });
    const before = (await seqs()).at(-1)!;
    await vi.waitFor(async () => expect(await readLastAuditAnchor(anchorFile)).toMatchObject(before), { timeout: 10_000, interval: 50 });
    await caller.projects.create({ teamId, name: 'moved' });
    const moved = (await seqs()).at(-1)!;
    await vi.waitFor(async () => expect(await readLastAuditAnchor(anchorFile)).toMatchObject(moved), { timeout: 10_000, interval: 50 });
    await caller.projects.create({ teamId, name: 'at-stop' });
    await anchoring.stop();
    const last = (await seqs()).at(-1)!;
    expect(await readLastAuditAnchor(anchorFile)).toMatchObject(last);
    expect(lines).toContain(`audit anchor: seq=${last.seq} hash=${last.hash}`);
    const written = (await readFile(anchorFile, 'utf8')).trim().split('\n');
    expect(written.length).toBeGreaterThanOrEqual(3);
    expect(await verifyAuditChain(t.db, { anchor: await readLastAuditAnchor(anchorFile) })).toMatchObject({ ok: true });
  });

  it('names the newest events a superuser deleted behind the trigger, where the chain alone says intact', async () => {
    await caller.projects.create({ teamId, name: 'last-a' });
    await caller.projects.create({ teamId, name: 'last-b' });
    const anchor = await writeAuditAnchor(t.db, anchorFile);
    const all = await seqs();
    expect(anchor).toMatchObject(all.at(-1)!);
    const removed = all.slice(-3).map((e) => e.seq);
    const keptHead = all.at(-4)!.seq;

    await t.query(`alter table audit_events disable trigger audit_events_no_update_delete`);
    await t.query(`delete from audit_events where seq = any($1::bigint[])`, [removed]);
    await t.query(`alter table audit_events enable trigger audit_events_no_update_delete`);

    // The attack this guards against: without the anchor, the shortened chain verifies.
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
    const result = await verifyAuditChain(t.db, { anchor: await readLastAuditAnchor(anchorFile) });
    expect(result).toMatchObject({ ok: false, brokenAt: { seq: removed.at(-1) } });
    if (result.ok) throw new Error('unreachable');
    expect(result.brokenAt.reason).toContain(`the chain ends at seq=${keptHead}`);
    expect(result.brokenAt.reason).toContain(`after seq=${keptHead} up to seq=${removed.at(-1)}, were removed`);

    // The operator's command reads the anchor from $STAGEBOOK_HOME, says the same and exits 1.
    const err = await run(process.execPath, ['server/launch.mjs', 'audit-verify'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: t.url!, STAGEBOOK_HOME: home },
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain(`BROKEN at event seq=${removed.at(-1)}`);
    expect(err?.stderr).toContain(`after seq=${keptHead} up to seq=${removed.at(-1)}, were removed`);
  }, 60_000);

  it('notices the anchored event rewritten with a recomputed chain', async () => {
    const anchor = (await readLastAuditAnchor(anchorFile))!;
    // Events written after the anchor are fine; the anchored seq is gone, the chain past it is new.
    await caller.projects.create({ teamId, name: 'after' });
    const result = await verifyAuditChain(t.db, { anchor });
    expect(result).toMatchObject({ ok: false, brokenAt: { seq: anchor.seq, reason: expect.stringContaining('is missing (removed)') } });
  });
});
