import type { WebSocket } from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Db } from '@/db/client';
import { loadStoredState } from '../services/notebooks/storage';
import type { CollabAccess } from './auth';
import { NotebookPersistence, type CollabLog, type PersistenceOptions } from './persistence';
import { migrateLegacyCells } from './notebook-doc';
import { awarenessMessage, CloseCode, decodeMessage, syncStep1Message, syncStep2Message, updateMessage } from './protocol';

/** Origins of document changes that must not be written again. */
const FROM_STORAGE = Symbol('from-storage');
const ALREADY_STORED = Symbol('already-stored');

type Connection = { access: Pick<CollabAccess, 'canWrite' | 'user'>; awarenessIds: Set<number>; alive: boolean };

const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * One notebook loaded in this process: its document, the awareness of who is here, the sockets
 * editing it and its write-behind persistence. Nothing is served before `load()` resolves.
 */
export class SharedNotebook {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly conns = new Map<WebSocket, Connection>();
  readonly persistence: NotebookPersistence;
  /** Pinned by connections being set up: not unloaded while > 0. */
  pins = 0;
  evicted = false;
  droppedViewerUpdates = 0;
  private loaded = false;
  private deferred: Uint8Array[] = [];

  constructor(
    readonly notebookId: string,
    private readonly db: Db,
    persistenceOptions: PersistenceOptions,
    private readonly log: CollabLog,
    private readonly onIdle: (nb: SharedNotebook) => void,
  ) {
    this.persistence = new NotebookPersistence(db, notebookId, persistenceOptions, log);
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    this.doc.on('update', this.onDocUpdate);
    this.awareness.on('update', this.onAwarenessUpdate);
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  get isIdle(): boolean {
    return this.conns.size === 0 && this.pins === 0;
  }

  async load(): Promise<void> {
    const { updates, rows } = await loadStoredState(this.db, this.notebookId);
    Y.transact(this.doc, () => {
      for (const u of updates) Y.applyUpdate(this.doc, u);
    }, FROM_STORAGE);
    // A first-version document: move its cells into the map once, here, before anyone is served
    // (stored and broadcast like any edit).
    migrateLegacyCells(this.doc);
    this.loaded = true;
    for (const u of this.deferred.splice(0)) Y.applyUpdate(this.doc, u, ALREADY_STORED);
    if (rows >= 10) void this.persistence.compact();
  }

  /** An update that is already in storage (a restore): apply and broadcast, do not store again. */
  applyStored(update: Uint8Array): void {
    if (this.loaded) Y.applyUpdate(this.doc, update, ALREADY_STORED);
    else this.deferred.push(update);
  }

  addConnection(ws: WebSocket, access: Connection['access']): void {
    this.conns.set(ws, { access, awarenessIds: new Set(), alive: true });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.onMessage(ws, data, isBinary));
    ws.on('close', () => this.removeConnection(ws));
    ws.on('pong', () => {
      const c = this.conns.get(ws);
      if (c) c.alive = true;
    });
    this.send(ws, syncStep1Message(this.doc));
    const states = this.awareness.getStates();
    if (states.size > 0) this.send(ws, awarenessMessage(this.awareness, [...states.keys()]));
  }

  /** Pings every socket; one that did not answer the previous ping is dead and dropped. */
  heartbeat(): void {
    for (const [ws, c] of this.conns) {
      if (!c.alive) {
        ws.terminate();
        this.removeConnection(ws);
        continue;
      }
      c.alive = false;
      try {
        ws.ping();
      } catch {
        this.removeConnection(ws);
      }
    }
  }

  closeAll(code: number, reason: string): void {
    for (const ws of [...this.conns.keys()]) {
      ws.close(code, reason);
      this.removeConnection(ws);
    }
  }

  destroy(): void {
    this.persistence.stop();
    this.awareness.destroy();
    this.doc.destroy();
  }

  private onMessage(ws: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const conn = this.conns.get(ws);
    if (!conn) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    try {
      if (!isBinary) throw new Error('text frame');
      const msg = decodeMessage(bytes);
      switch (msg.type) {
        case 'syncStep1':
          this.send(ws, syncStep2Message(this.doc, msg.stateVector));
          return;
        case 'syncStep2':
        case 'update':
          // Viewers' writes are refused here, not only hidden in the UI: never applied, stored or relayed.
          if (!conn.access.canWrite) {
            this.droppedViewerUpdates++;
            return;
          }
          Y.applyUpdate(this.doc, msg.update, ws);
          return;
        case 'awareness':
          awarenessProtocol.applyAwarenessUpdate(this.awareness, msg.update, ws);
          return;
        case 'queryAwareness':
          this.send(ws, awarenessMessage(this.awareness, [...this.awareness.getStates().keys()]));
          return;
        case 'ignored':
          return;
      }
    } catch (err) {
      this.log.warn({ err, notebookId: this.notebookId, userId: conn.access.user.userId }, 'collab: malformed message; closing the connection');
      ws.close(CloseCode.badRequest, 'malformed message');
      this.removeConnection(ws);
    }
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === FROM_STORAGE) return;
    if (origin !== ALREADY_STORED) this.persistence.enqueue(update);
    if (this.conns.size === 0) return;
    const msg = updateMessage(update);
    for (const ws of this.conns.keys()) if (ws !== origin) this.send(ws, msg);
  };

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const conn = origin ? this.conns.get(origin as WebSocket) : undefined;
    if (conn) {
      for (const id of added) conn.awarenessIds.add(id);
      for (const id of removed) conn.awarenessIds.delete(id);
    }
    const msg = awarenessMessage(this.awareness, [...added, ...updated, ...removed]);
    for (const ws of this.conns.keys()) if (ws !== origin) this.send(ws, msg);
  };

  private send(ws: WebSocket, msg: Uint8Array): void {
    if (ws.readyState !== ws.OPEN) {
      if (ws.readyState !== ws.CONNECTING) this.removeConnection(ws);
      return;
    }
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      // A client that stopped reading; it resyncs from scratch when it comes back.
      ws.terminate();
      this.removeConnection(ws);
      return;
    }
    ws.send(msg, (err) => {
      if (err) this.removeConnection(ws);
    });
  }

  private removeConnection(ws: WebSocket): void {
    const conn = this.conns.get(ws);
    if (!conn) return;
    this.conns.delete(ws);
    if (conn.awarenessIds.size > 0) awarenessProtocol.removeAwarenessStates(this.awareness, [...conn.awarenessIds], null);
    if (this.isIdle) this.onIdle(this);
  }
}
