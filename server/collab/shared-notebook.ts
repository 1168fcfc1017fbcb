import type { WebSocket } from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Db } from '@/db/client';
import { loadStoredState } from '../services/notebooks/storage';
import type { CollabAccess } from './auth';
import { NotebookPersistence, type CollabLog, type PersistenceOptions } from './persistence';
import { migrateLegacyCells } from '../domain/notebook-doc';
import { awarenessMessage, CloseCode, decodeMessage, permissionDeniedMessage, syncStep1Message, syncStep2Message, updateMessage } from './protocol';

/** Origins of document changes that must not be written again. */
const FROM_STORAGE = Symbol('from-storage');
const ALREADY_STORED = Symbol('already-stored');
const FROM_RELAY = Symbol('from-relay');

type Frame = { data: Buffer | ArrayBuffer | Buffer[]; isBinary: boolean };
type Connection = {
  access: Pick<CollabAccess, 'canWrite' | 'user' | 'teamId' | 'projectId'>;
  awarenessIds: Set<number>;
  alive: boolean;
  /** Frames received while the connection's access is re-checked; processed in order once it is decided. */
  held: Frame[] | null;
};

const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export type CollabLimits = { maxUpdateBytes: number; maxDocumentBytes: number };

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 2)} MiB`;

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
  /** Set by the server when it relays to other web processes: this notebook's clients' presence changes. */
  relayAwareness: ((update: Uint8Array) => void) | null = null;
  private loaded = false;
  private deferred: Uint8Array[] = [];
  /**
   * An upper bound of the document's encoded size: measured at load, plus every update applied since
   * (updates never encode smaller than what they add). Re-measured only when it nears the cap, so the
   * common edit costs no encoding of the whole document.
   */
  private sizeBound = 0;

  constructor(
    readonly notebookId: string,
    private readonly db: Db,
    persistenceOptions: PersistenceOptions,
    private readonly log: CollabLog,
    private readonly onIdle: (nb: SharedNotebook) => void,
    private readonly limits: CollabLimits,
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
    this.sizeBound = Y.encodeStateAsUpdate(this.doc).byteLength;
    for (const u of this.deferred.splice(0)) Y.applyUpdate(this.doc, u, ALREADY_STORED);
    if (rows >= 10) void this.persistence.compact();
  }

  /** Presence relayed from another web process: shown to this process's clients, not relayed back. */
  applyRelayedAwareness(update: Uint8Array): void {
    awarenessProtocol.applyAwarenessUpdate(this.awareness, update, FROM_RELAY);
  }

  /** An update that is already in storage (a restore): apply and broadcast, do not store again. */
  applyStored(update: Uint8Array): void {
    if (this.loaded) Y.applyUpdate(this.doc, update, ALREADY_STORED);
    else this.deferred.push(update);
  }

  addConnection(ws: WebSocket, access: Connection['access']): void {
    this.conns.set(ws, { access: { ...access }, awarenessIds: new Set(), alive: true, held: null });
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

  /** The sockets of one user in one team (whose membership just changed). */
  connectionsOf(match: (access: Connection['access']) => boolean): WebSocket[] {
    return [...this.conns].filter(([, c]) => match(c.access)).map(([ws]) => ws);
  }

  /** Holds a connection's incoming frames until `release`: none is applied under a role being re-checked. */
  hold(ws: WebSocket): void {
    const c = this.conns.get(ws);
    if (c) c.held ??= [];
  }

  /**
   * Applies a re-checked access: a refusal closes the socket (4403 stops the stock client from
   * retrying); a lost write permission is told to the client with the protocol's permission-denied
   * message (the stock client logs it) and its later edits are dropped like any viewer's. Then the
   * held frames are processed under the new access.
   */
  release(ws: WebSocket, access: { canWrite: boolean } | { code: number; reason: string }): void {
    const c = this.conns.get(ws);
    if (!c) return;
    const held = c.held ?? [];
    c.held = null;
    if ('code' in access) {
      ws.close(access.code, access.reason);
      this.removeConnection(ws);
      return;
    }
    if (c.access.canWrite && !access.canWrite) this.send(ws, permissionDeniedMessage('your role in this team no longer allows editing: your edits are not saved'));
    c.access.canWrite = access.canWrite;
    for (const f of held) this.onMessage(ws, f.data, f.isBinary);
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
    if (conn.held) {
      conn.held.push({ data, isBinary });
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (bytes.byteLength > this.limits.maxUpdateBytes) {
      this.refuse(ws, conn, CloseCode.tooLarge, `message of ${bytes.byteLength} bytes exceeds the ${mib(this.limits.maxUpdateBytes)} limit per update`);
      return;
    }
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
          if (!this.fits(msg.update.byteLength)) {
            this.refuse(ws, conn, CloseCode.tooLarge, `the notebook would exceed its ${mib(this.limits.maxDocumentBytes)} size limit`);
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

  /** Whether an update of `bytes` keeps the document under its cap. */
  private fits(bytes: number): boolean {
    if (this.sizeBound + bytes <= this.limits.maxDocumentBytes) return true;
    this.sizeBound = Y.encodeStateAsUpdate(this.doc).byteLength;
    return this.sizeBound + bytes <= this.limits.maxDocumentBytes;
  }

  private refuse(ws: WebSocket, conn: Connection, code: number, reason: string): void {
    this.log.warn({ notebookId: this.notebookId, userId: conn.access.user.userId, code, reason }, 'collab: refusing a message; closing the connection');
    ws.close(code, reason);
    this.removeConnection(ws);
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === FROM_STORAGE) return;
    this.sizeBound += update.byteLength;
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
    if (conn && this.relayAwareness) this.relayAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed]));
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
    if (conn.awarenessIds.size > 0) {
      awarenessProtocol.removeAwarenessStates(this.awareness, [...conn.awarenessIds], null);
      // Encoded after removal: null states with bumped clocks, which remove them on the other processes too.
      this.relayAwareness?.(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...conn.awarenessIds]));
    }
    if (this.isIdle) this.onIdle(this);
  }
}
