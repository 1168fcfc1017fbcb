import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { openDatabase, type Database } from '@/db/client';
import { cellSource, insertCell } from '@/server/domain/notebook-doc';
import {
  connectClient,
  covers,
  randomEdit,
  seedNotebook,
  seededRandom,
  storedSnapshot,
  storedStateVector,
  tokenFor,
  type Seeded,
  type TestClient,
} from '../helpers/collab';
import { createPostgresDatabase } from '../helpers/db';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type ServerChild = { process: ChildProcess; output: string[]; exited: Promise<number | null> };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('the collaboration server process dies', () => {
  let scratch: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let database: Database;
  let s: Seeded;
  let port: number;
  const children: ServerChild[] = [];
  const clients: TestClient[] = [];

  async function startServer(env: Record<string, string> = {}): Promise<ServerChild> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/collab-server-main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: scratch.url, PORT: String(port), LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const server = { process: child, output, exited };
    children.push(server);
    await vi.waitFor(() => expect(output.join('')).toContain('listening on'), { timeout: 30_000, interval: 50 });
    return server;
  }

  const wsUrl = () => `ws://127.0.0.1:${port}/collab`;

  beforeAll(async () => {
    scratch = await createPostgresDatabase();
    database = await openDatabase({ url: scratch.url, poolSize: 3 });
    await database.migrate();
    s = await seedNotebook(database.db, 'kill');
    port = await freePort();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.destroy();
    for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await database?.close();
    await scratch?.drop();
  }, 30_000);

  it('SIGKILL while three clients edit: after a restart they resync and the stored document holds every edit of every client', { timeout: 90_000 }, async () => {
    const first = await startServer();
    const editors = [s.users.editor, s.users.admin, s.users.deployer];
    // Tokens are signed here, in the test process, and accepted by the server process: one shared secret.
    const mine = await Promise.all(editors.map(async (u) => connectClient(wsUrl(), s.notebookId, { token: await tokenFor(database.db, u, s) })));
    clients.push(...mine);
    await vi.waitFor(() => expect(mine.every((c) => c.provider.synced)).toBe(true), { timeout: 10_000 });

    let second: ServerChild | undefined;
    const rngs = mine.map((_, i) => seededRandom(4242 + i));
    const edits = mine.map(() => 0);
    const editing = setInterval(() => {
      mine.forEach((c, i) => {
        randomEdit(c.doc, rngs[i]!, `k${i}.${edits[i]}`);
        edits[i]!++;
      });
    }, 4);
    try {
      // Mid-edit: the server has been storing for a while and the clients keep going.
      await vi.waitFor(async () => expect((await storedSnapshot(database.db, s.notebookId)).cells.length).toBeGreaterThan(3), { timeout: 10_000 });
      first.process.kill('SIGKILL');
      expect(await first.exited).toBeNull();
      const atKill = [...edits];
      // The clients go on offline.
      await vi.waitFor(() => expect(edits.every((n, i) => n >= atKill[i]! + 25)).toBe(true));
      const storedWhileDown = await storedStateVector(database.db, s.notebookId);
      const known = mine.map((c) => Y.decodeStateVector(Y.encodeStateVector(c.doc)));
      expect(known.every((sv) => covers(storedWhileDown, sv))).toBe(false);

      second = await startServer();
      await vi.waitFor(() => expect(mine.every((c) => c.provider.synced)).toBe(true), { timeout: 15_000 });
    } finally {
      clearInterval(editing);
    }

    await vi.waitFor(
      () => {
        const first = JSON.stringify(mine[0]!.snapshot());
        for (const c of mine) expect(JSON.stringify(c.snapshot())).toBe(first);
      },
      { timeout: 20_000, interval: 50 },
    );
    const finalState = mine.map((c) => Y.decodeStateVector(Y.encodeStateVector(c.doc)));
    await vi.waitFor(
      async () => {
        const stored = await storedStateVector(database.db, s.notebookId);
        for (const sv of finalState) expect(covers(stored, sv)).toBe(true);
        expect(await storedSnapshot(database.db, s.notebookId)).toEqual(mine[0]!.snapshot());
      },
      { timeout: 10_000, interval: 50 },
    );
    for (const c of mine) c.destroy();
    second!.process.kill('SIGTERM');
    expect(await second!.exited).toBe(0);
  });

  it('SIGTERM stores what is queued before exiting, even edits whose author has already left', { timeout: 60_000 }, async () => {
    // A batching window far longer than the test: only the shutdown flush can store these edits.
    const server = await startServer({ COLLAB_FLUSH_DELAY_MS: '60000' });
    const author = connectClient(wsUrl(), s.notebookId, { token: await tokenFor(database.db, s.users.editor, s) });
    const witness = connectClient(wsUrl(), s.notebookId, { token: await tokenFor(database.db, s.users.admin, s) });
    clients.push(author, witness);
    await vi.waitFor(() => expect(author.provider.synced && witness.provider.synced).toBe(true), { timeout: 10_000 });
    const id = insertCell(author.doc, 0, { kind: 'markdown', source: 'written just before a deploy' });
    cellSource(author.doc, id)!.insert(0, '> ');
    await vi.waitFor(() => expect(witness.snapshot().cells[0]?.source).toBe('> written just before a deploy'));
    const expected = witness.snapshot();
    author.destroy();
    witness.destroy();
    expect((await storedSnapshot(database.db, s.notebookId)).cells.map((c) => c.id)).not.toContain(id);

    server.process.kill('SIGTERM');
    expect(await server.exited, server.output.join('')).toBe(0);
    expect(await storedSnapshot(database.db, s.notebookId)).toEqual(expected);
  });
});
