import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { teamMembers, type TeamRole } from '@/db/schema';
import type { Db } from '@/db/client';
import { buildApp, type AppOptions } from '@/server/app';
import { seededRandom as seededRng } from '@/server/ml/random';
import {
  cellKinds,
  cellsInOrder,
  cellSource,
  deleteCell,
  insertCell,
  moveCell,
  notebookSnapshot,
  setCollapsed,
  setKind,
  type NotebookSnapshot,
} from '@/server/domain/notebook-doc';
import { createSession } from '@/server/services/auth/session';
import type { Actor } from '@/server/services/context';
import { loadStoredUpdate } from '@/server/services/notebooks/storage';
import { callerFor, newUser } from './api';

type User = Extract<Actor, { type: 'user' }>;

// Each stock provider adds a process 'exit' listener; tests open dozens.
process.setMaxListeners(200);

/** The real server (role web, no Next handler) listening on a free loopback port. */
export async function startCollabApp(db: Db, driver: string, collab?: AppOptions['collab']): Promise<{ app: FastifyInstance; wsUrl: string; close: () => Promise<void> }> {
  const app = await buildApp({ db, driver, role: 'web', collab });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, wsUrl: `ws://127.0.0.1:${port}/collab`, close: () => app.close() };
}

export type Seeded = { teamId: string; projectId: string; notebookId: string; users: Record<TeamRole | 'outsider', User> };

/** A team with one user per role (and an outsider), a project and an empty notebook. */
export async function seedNotebook(db: Db, name = 'Notebook'): Promise<Seeded> {
  const admin = await newUser(db, 'admin');
  const a = callerFor(db, admin);
  const team = await a.teams.create({ name: `Team ${name}` });
  const project = await a.projects.create({ teamId: team.id, name: 'Churn' });
  const notebook = await a.notebooks.create({ projectId: project.id, name });
  const users = { admin } as Seeded['users'];
  for (const role of ['viewer', 'editor', 'deployer'] as const) {
    users[role] = await newUser(db, role);
    await db.insert(teamMembers).values({ teamId: team.id, userId: users[role].userId, role });
  }
  users.outsider = await newUser(db, 'outsider');
  return { teamId: team.id, projectId: project.id, notebookId: notebook.id, users };
}

export async function tokenFor(db: Db, user: User, s: Pick<Seeded, 'projectId' | 'notebookId'>): Promise<string> {
  return (await callerFor(db, user).notebooks.collabToken({ projectId: s.projectId, notebookId: s.notebookId })).token;
}

export async function cookieFor(db: Db, user: User): Promise<string> {
  return `sb_session=${(await createSession(db, user.userId)).token}`;
}

/** A `ws` WebSocket that sends a cookie header, as a browser on the same origin does. */
export function webSocketWithCookie(cookie: string): new (url: string, protocols?: string | string[]) => WebSocket {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { cookie } });
    }
  };
}

export type TestClient = { doc: Y.Doc; provider: WebsocketProvider; snapshot: () => NotebookSnapshot; destroy: () => void };

/** A stock y-websocket client in Node: BroadcastChannel off, so every byte goes through the server. */
export function connectClient(wsUrl: string, notebookId: string, auth: { token: string } | { cookie: string }, doc = new Y.Doc()): TestClient {
  const provider = new WebsocketProvider(wsUrl, notebookId, doc, {
    WebSocketPolyfill: ('cookie' in auth ? webSocketWithCookie(auth.cookie) : WebSocket) as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: 'token' in auth ? { token: auth.token } : {},
    maxBackoffTime: 300,
  });
  return { doc, provider, snapshot: () => notebookSnapshot(doc), destroy: () => provider.destroy() };
}

/** The close code the server answers a raw connection with. */
export function closeCodeOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('close', (code) => resolve(code));
    ws.on('error', reject);
  });
}

export async function storedSnapshot(db: Db, notebookId: string): Promise<NotebookSnapshot> {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, await loadStoredUpdate(db, notebookId));
  return notebookSnapshot(doc);
}

export async function storedStateVector(db: Db, notebookId: string): Promise<Map<number, number>> {
  return Y.decodeStateVector(Y.encodeStateVectorFromUpdate(await loadStoredUpdate(db, notebookId)));
}

/** True when `have` contains every operation `need` knows of (per client clock). */
export function covers(have: Map<number, number>, need: Map<number, number>): boolean {
  for (const [client, clock] of need) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

/** A seeded PRNG (server/ml/random.ts), so a failing edit sequence can be replayed. */
export function seededRandom(seed: number): () => number {
  return seededRng(seed).next;
}

const WORDS = ['select', ' from ', 'where ', 'x', '\n', 'é', 'score', ' * ', '42', 'join '];

/** One random edit of the kinds users make: insert, delete or move a cell, change it, or type in it. */
export function randomEdit(doc: Y.Doc, rnd: () => number, tag: string): string {
  const cells = cellsInOrder(doc);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const r = rnd();
  if (cells.length === 0 || r < 0.15) {
    insertCell(doc, Math.floor(rnd() * (cells.length + 1)), { kind: pick(cellKinds), source: `-- ${tag}\n` });
    return 'insert';
  }
  const id = cells[Math.floor(rnd() * cells.length)]!.get('id') as string;
  if (r < 0.22 && cells.length > 2) {
    deleteCell(doc, id);
    return 'delete';
  }
  if (r < 0.3) {
    moveCell(doc, id, Math.floor(rnd() * cells.length));
    return 'move';
  }
  if (r < 0.35) {
    setKind(doc, id, pick(cellKinds));
    return 'kind';
  }
  if (r < 0.38) {
    setCollapsed(doc, id, rnd() < 0.5);
    return 'collapse';
  }
  const text = cellSource(doc, id)!;
  if (r < 0.5 && text.length > 0) {
    const at = Math.floor(rnd() * text.length);
    text.delete(at, Math.min(text.length - at, 1 + Math.floor(rnd() * 5)));
    return 'erase';
  }
  text.insert(Math.floor(rnd() * (text.length + 1)), pick(WORDS) + tag);
  return 'type';
}
