/**
 * Collaboration: edit propagation latency (one client types, every other client observes) with 2, 10
 * and 50 stock y-websocket clients on one notebook, and memory per open notebook.
 *
 * Ours: `buildApp` (role web) with authentication (session cookie) and durable persistence to
 * Postgres (a scratch database on 127.0.0.1:5432; on an embedded PostgreSQL server when that is unreachable).
 * Baseline, same run, same process, same clients: the stock `@y/websocket-server@0.1.1` utilities
 * (`setupWSConnection` on a plain `ws` server; no auth, no persistence).
 *
 * `npx tsx bench/collab.ts` (or `npm run bench collab`); 10-20 s. `BENCH_NO_FLUSH=1` defers every
 * write (batching window of ~11 days) to show what persistence itself costs.
 *
 * Records the 50-client p99 ratio, worst round and all rounds pooled, for the aims table (bench/aims.ts: collab-p99),
 * and the process CPU per edit (clients and server; the clients are the same for both servers): on a
 * shared machine the tail is mostly other processes' doing, whereas CPU time shows what the server costs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { docs as stockDocs, setupWSConnection } from '@y/websocket-server/utils';
import WebSocket, { WebSocketServer } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { openDatabase, type Database } from '../db/client';
import { buildApp } from '../server/app';
import { cellSource, cellsInOrder, insertCell, type CellId, type NotebookSnapshot } from '../server/domain/notebook-doc';
import { docFromSnapshot } from '../server/domain/notebook-snapshot';
import { appendUpdates } from '../server/services/notebooks/storage';
import { callerFor, newUser } from '../tests/helpers/api';
import { cookieFor, webSocketWithCookie } from '../tests/helpers/collab';
import { createPostgresDatabase } from '../tests/helpers/db';
import { stopOwnEmbeddedPostgres } from '../tests/helpers/embedded-postgres';
import { recordAims } from './aims';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
process.setMaxListeners(500);

type Target = {
  name: string;
  wsUrl: string;
  /** A room (notebook) to edit, empty. */
  newRoom: () => Promise<string>;
  WebSocketPolyfill: new (url: string, protocols?: string | string[]) => WebSocket;
  stop: () => Promise<void>;
};

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Latencies of the measured edits, and the process CPU (clients and server) they took, in ms. */
async function propagation(target: Target, clients: number, edits: number): Promise<{ samples: number[]; cpuMs: number }> {
  const room = await target.newRoom();
  const providers = Array.from({ length: clients }, () => {
    const doc = new Y.Doc();
    return new WebsocketProvider(target.wsUrl, room, doc, {
      WebSocketPolyfill: target.WebSocketPolyfill as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
  });
  await until(() => providers.every((p) => p.synced));
  const writer = providers[0]!;
  const id = insertCell(writer.doc, 0, { kind: 'sql', source: '' });
  await until(() => providers.every((p) => cellSource(p.doc, id) !== undefined));
  const text = cellSource(writer.doc, id)!;
  const observers = providers.slice(1);
  const samples: number[] = [];
  let t0 = 0;
  let seen = 0;
  let measuring = false;
  for (const p of observers) {
    p.doc.on('update', () => {
      if (measuring) samples.push(performance.now() - t0);
      seen++;
    });
  }
  const warmup = 30;
  let cpu = process.cpuUsage();
  for (let i = 0; i < warmup + edits; i++) {
    if (i === warmup) cpu = process.cpuUsage();
    measuring = i >= warmup;
    seen = 0;
    t0 = performance.now();
    text.insert(text.length, String.fromCharCode(97 + (i % 26)));
    await until(() => seen >= observers.length);
  }
  const used = process.cpuUsage(cpu);
  for (const p of providers) p.destroy();
  return { samples, cpuMs: (used.user + used.system) / 1000 };
}

/** Heap per open notebook: N stored notebooks with the same content, each opened by one idle socket. */
async function memoryPerNotebook(target: OursTarget, state: Uint8Array, rooms: number): Promise<number> {
  const ids: string[] = [];
  for (let i = 0; i < rooms; i++) ids.push(await target.loadedRoom(state));
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const sockets = ids.map((room) => new target.WebSocketPolyfill(`${target.wsUrl}/${room}`));
  // Opened = the server sent its sync step 1, which both servers do only once the document is ready.
  await Promise.all(sockets.map((ws) => new Promise((resolve) => ws.once('message', resolve))));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  for (const ws of sockets) ws.close();
  return (after - before) / rooms;
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('benchmark condition not met within 20 s');
    await new Promise((r) => setImmediate(r));
  }
}

async function stockTarget(): Promise<Target> {
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((_req, res) => res.end('stock'));
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let n = 0;
  return {
    name: 'stock @y/websocket-server 0.1.1',
    wsUrl: `ws://127.0.0.1:${port}`,
    newRoom: async () => `room-${++n}`,
    WebSocketPolyfill: WebSocket,
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => server.close(r));
      stockDocs.clear();
    },
  };
}

type OursTarget = Target & { driver: string; loadedRoom: (state: Uint8Array) => Promise<string> };

async function oursTarget(): Promise<OursTarget> {
  let database: Database;
  let drop = async () => {};
  try {
    const scratch = await createPostgresDatabase();
    database = await openDatabase({ url: scratch.url, poolSize: 5 });
    drop = scratch.drop;
  } catch {
    const scratch = await createPostgresDatabase('embedded');
    database = await openDatabase({ url: scratch.url, poolSize: 5, driver: 'embedded' });
    drop = async () => {
      await scratch.drop();
      await stopOwnEmbeddedPostgres();
    };
  }
  await database.migrate();
  const noFlush = Boolean(process.env.BENCH_NO_FLUSH);
  const app = await buildApp({
    db: database.db,
    driver: database.driver,
    role: 'web',
    collab: noFlush ? { persistence: { flushDelayMs: 1e9, maxBatch: 1e9 } } : {},
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const user = await newUser(database.db, 'bench');
  const api = callerFor(database.db, user);
  const team = await api.teams.create({ name: 'Bench' });
  const project = await api.projects.create({ teamId: team.id, name: 'Bench' });
  const cookie = await cookieFor(database.db, user);
  let n = 0;
  const newRoom = async () => (await api.notebooks.create({ projectId: project.id, name: `nb-${++n}` })).id;
  return {
    name: `ours (${database.driver}, auth + ${noFlush ? 'persistence deferred' : 'persistence'})`,
    driver: database.driver,
    wsUrl: `ws://127.0.0.1:${port}/collab`,
    newRoom,
    loadedRoom: async (state) => {
      const id = await newRoom();
      await database.db.transaction((tx) => appendUpdates(tx, id, [state]));
      return id;
    },
    WebSocketPolyfill: webSocketWithCookie(cookie),
    stop: async () => {
      await app.close();
      await database.close();
      await drop();
    },
  };
}

/** A realistic notebook: 12 cells of 20-40 lines, built by typing (so it carries edit history). */
function sampleNotebookState(): Uint8Array {
  const cells: NotebookSnapshot['cells'] = Array.from({ length: 12 }, (_, i) => ({
    id: `cell-${i}` as CellId,
    kind: i % 3 === 0 ? 'markdown' : 'sql',
    source: Array.from({ length: 20 + (i % 3) * 10 }, (_, l) => `select col_${l}, count(*) from table_${i} group by 1 -- ${l}`).join('\n'),
    collapsed: false,
  }));
  const doc = docFromSnapshot({ cells: [] });
  for (const c of cells) {
    const id = insertCell(doc, cellsInOrder(doc).length, { id: c.id, kind: c.kind, source: '' });
    const text = cellSource(doc, id)!;
    for (let at = 0; at < c.source.length; at += 7) text.insert(at, c.source.slice(at, at + 7));
  }
  return Y.encodeStateAsUpdate(doc);
}

async function main(): Promise<void> {
  const started = performance.now();
  const stock = await stockTarget();
  const ours = await oursTarget();
  const state = sampleNotebookState();
  const plan = [
    { clients: 2, edits: 1000 },
    { clients: 10, edits: 500 },
    { clients: 50, edits: 250 },
  ];
  const rows: string[] = [];
  const cpuRows: string[] = [];
  let rounds50 = '';
  for (const { clients, edits } of plan) {
    // Interleaved rounds, so warm-up, GC and background noise fall on both servers alike.
    const sampled = { stock: [] as number[], ours: [] as number[] };
    const roundRatios: number[] = [];
    const cpuMs = { stock: 0, ours: 0 };
    for (let round = 0; round < 4; round++) {
      const stockRound = await propagation(stock, clients, edits);
      const oursRound = await propagation(ours, clients, edits);
      roundRatios.push(percentile(oursRound.samples, 99) / percentile(stockRound.samples, 99));
      sampled.stock.push(...stockRound.samples);
      sampled.ours.push(...oursRound.samples);
      cpuMs.stock += stockRound.cpuMs;
      cpuMs.ours += oursRound.cpuMs;
    }
    cpuRows.push(`${clients} clients ${(cpuMs.ours / cpuMs.stock).toFixed(2)}x (${(cpuMs.ours / (4 * edits)).toFixed(2)} / ${(cpuMs.stock / (4 * edits)).toFixed(2)} ms)`);
    const s = { p50: percentile(sampled.stock, 50), p99: percentile(sampled.stock, 99) };
    const o = { p50: percentile(sampled.ours, 50), p99: percentile(sampled.ours, 99) };
    if (clients === 50) {
      rounds50 = `p99 ratio per round at 50 clients: ${roundRatios.map((r) => `${r.toFixed(2)}x`).join(', ')}`;
      recordAims('collab', 'collab-p99', { 'worst round': Math.max(...roundRatios), 'all rounds': o.p99 / s.p99, 'cpu per edit': cpuMs.ours / cpuMs.stock }, `${edits} edits x 4 rounds, ${ours.name}`);
    }
    rows.push(
      `${String(clients).padStart(7)}   ${o.p50.toFixed(2).padStart(8)}  ${o.p99.toFixed(2).padStart(8)}   ${s.p50.toFixed(2).padStart(8)}  ${s.p99.toFixed(2).padStart(8)}   ${(o.p50 / s.p50).toFixed(2).padStart(9)}x  ${(o.p99 / s.p99).toFixed(2).padStart(9)}x`,
    );
  }
  const rooms = 100;
  const memOurs = await memoryPerNotebook(ours, state, rooms);
  const memStock = await memoryPerNotebookStock(stock, state, rooms);
  await ours.stop();
  await stock.stop();

  console.log(`\ncollab: edit propagation latency in ms (one client types one character at a time; every other client observes)`);
  console.log(`ours: ${ours.name}; baseline: ${stock.name}`);
  console.log('clients   ours p50  ours p99  stock p50 stock p99   p50 ratio   p99 ratio');
  for (const r of rows) console.log(r);
  if (rounds50) console.log(rounds50);
  console.log(`process CPU per edit (clients + server), ours / stock: ${cpuRows.join(', ')}`);
  console.log(
    `\nmemory per open notebook (12 cells, ${(state.length / 1024).toFixed(0)} KiB of Yjs state, one idle socket; ${rooms} notebooks): ours ${(memOurs / 1024).toFixed(0)} KiB, stock ${(memStock / 1024).toFixed(0)} KiB, ratio ${(memOurs / memStock).toFixed(2)}x`,
  );
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

/** The stock server has no storage: its rooms get the same state applied as soon as a socket opens them. */
async function memoryPerNotebookStock(stock: Target, state: Uint8Array, rooms: number): Promise<number> {
  const names = Array.from({ length: rooms }, (_, i) => `mem-${i}`);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const sockets = names.map((room) => new WebSocket(`${stock.wsUrl}/${room}`));
  await Promise.all(sockets.map((ws) => new Promise((resolve) => ws.once('message', resolve))));
  for (const room of names) Y.applyUpdate(stockDocs.get(room)!, state);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  for (const ws of sockets) ws.close();
  return (after - before) / rooms;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
