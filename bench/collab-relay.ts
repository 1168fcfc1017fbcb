/**
 * `npm run bench collab-relay`: how long one edit takes to reach another client when both are on
 * one web server (baseline) and when they are on two servers relaying through Postgres
 * (STAGEBOOK_COLLAB_RELAY=postgres). Two servers with their own pools, in this process; with
 * `--processes`, two OS processes (tests/helpers/collab-server-main.ts), as deployed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { openDatabase } from '@/db/client';
import { insertCell } from '@/server/domain/notebook-doc';
import { connectClient, seedNotebook, startCollabApp, tokenFor, type TestClient } from '../tests/helpers/collab';
import { disposeWithProjectRoles } from '../tests/helpers/datasets';
import { openTestDatabase } from '../tests/helpers/db';
import { freePort } from '../tests/e2e/server';

async function spawnCollabProcess(databaseUrl: string): Promise<{ wsUrl: string; close: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/collab-server-main.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), LOG_LEVEL: 'silent', STAGEBOOK_COLLAB_RELAY: 'postgres' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening on') && resolve());
    void exited.then(() => reject(new Error('collab-server-main exited before listening')));
  });
  return { wsUrl: `ws://127.0.0.1:${port}/collab`, close: async () => void (child.kill('SIGTERM'), await exited) };
}

const EDITS = Number(process.argv.find((a) => a.startsWith('--edits='))?.slice(8) ?? 200);
const t = await openTestDatabase('postgres');
const second = await openDatabase({ url: t.url });
const seeded = await seedNotebook(t.db);
// --processes: the two web servers are OS processes of their own (tests/helpers/collab-server-main.ts).
const servers = process.argv.includes('--processes')
  ? await Promise.all([spawnCollabProcess(t.url), spawnCollabProcess(t.url)])
  : [await startCollabApp(t.db, t.driver, { relay: true }), await startCollabApp(second.db, 'postgres', { relay: true })];
await Promise.all(servers.map((s) => ('app' in s ? s.app.collab!.relayReady() : undefined)));
const token = await tokenFor(t.db, seeded.users.editor, seeded);
const writer = connectClient(servers[0]!.wsUrl, seeded.notebookId, { token });
const samePeer = connectClient(servers[0]!.wsUrl, seeded.notebookId, { token });
const otherPeer = connectClient(servers[1]!.wsUrl, seeded.notebookId, { token });
const synced = (c: TestClient) => new Promise<void>((r) => (c.provider.synced ? r() : c.provider.once('sync', () => r())));
await Promise.all([writer, samePeer, otherPeer].map(synced));

const arrival = (c: TestClient, tag: string) =>
  new Promise<number>((resolve) => {
    const check = () => {
      if (c.snapshot().cells.some((cell) => cell.source === tag)) {
        c.doc.off('update', check);
        resolve(performance.now());
      }
    };
    c.doc.on('update', check);
  });

const same: number[] = [];
const other: number[] = [];
for (let i = 0; i < EDITS; i++) {
  const tag = `-- edit ${i}`;
  const a = arrival(samePeer, tag);
  const b = arrival(otherPeer, tag);
  const t0 = performance.now();
  insertCell(writer.doc, 0, { kind: 'sql', source: tag });
  const [ta, tb] = await Promise.all([a, b]);
  same.push(ta - t0);
  other.push(tb - t0);
}
const q = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
console.log(`${EDITS} edits; same server (baseline): p50 ${q(same, 0.5).toFixed(1)} ms, p99 ${q(same, 0.99).toFixed(1)} ms`);
console.log(`other ${process.argv.includes('--processes') ? 'process' : 'server'} via Postgres:   p50 ${q(other, 0.5).toFixed(1)} ms (${(q(other, 0.5) / q(same, 0.5)).toFixed(1)}x), p99 ${q(other, 0.99).toFixed(1)} ms (${(q(other, 0.99) / q(same, 0.99)).toFixed(1)}x)`);
for (const c of [writer, samePeer, otherPeer]) c.destroy();
for (const s of servers) await s.close();
await second.close();
await disposeWithProjectRoles(t);
process.exit(0);
