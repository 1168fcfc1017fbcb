import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as Y from 'yjs';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Db } from '@/db/client';
import type { LiveNotebooks } from '../services/notebooks/live';
import { authorizeCollab } from './auth';
import { defaultPersistenceOptions, type CollabLog, type PersistenceOptions } from './persistence';
import { CloseCode } from './protocol';
import { SharedNotebook } from './shared-notebook';

export type CollabServerOptions = {
  db: Db;
  log: CollabLog;
  /** Unload a notebook this long after its last connection closed (after a final flush). */
  idleUnloadMs?: number;
  pingIntervalMs?: number;
  /** How long shutdown waits for queued updates to be stored. */
  shutdownFlushTimeoutMs?: number;
  maxMessageBytes?: number;
  persistence?: Partial<PersistenceOptions>;
};

export const COLLAB_PATH = '/collab';

const truncate = (reason: string) => (Buffer.byteLength(reason) > 120 ? reason.slice(0, 100) : reason);

/**
 * The collaboration endpoint: y-websocket protocol on `/collab/<notebookId>`, authorised per
 * notebook, persisted to Postgres. One instance per process; it holds the notebooks its clients
 * have open and implements `LiveNotebooks` for the services.
 *
 * Several processes may serve one notebook's storage safely, but live fan-out is per process: in a
 * split deployment route `/collab/<id>` to one process per notebook (sticky by path).
 */
export class CollabServer implements LiveNotebooks {
  private readonly docs = new Map<string, { nb: SharedNotebook; ready: Promise<void> }>();
  private readonly wss: WebSocketServer;
  private readonly idleTimers = new Map<SharedNotebook, ReturnType<typeof setTimeout>>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly persistenceOptions: PersistenceOptions;
  private closing = false;

  constructor(private readonly opts: CollabServerOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? 32 * 1024 * 1024 });
    this.persistenceOptions = { ...defaultPersistenceOptions, ...opts.persistence };
    this.heartbeat = setInterval(() => {
      for (const { nb } of this.docs.values()) nb.heartbeat();
    }, opts.pingIntervalMs ?? 30_000);
    this.heartbeat.unref();
  }

  /** For the HTTP server's 'upgrade' event; returns false for paths that are not ours. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path !== COLLAB_PATH && !path.startsWith(`${COLLAB_PATH}/`)) return false;
    socket.on('error', () => socket.destroy());
    this.accept(req, socket, head).catch((err: unknown) => {
      this.opts.log.error({ err }, 'collab: connection setup failed');
      this.refuse(req, socket, head, CloseCode.internalError, 'internal error');
    });
    return true;
  };

  private async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing) return this.refuse(req, socket, head, CloseCode.tryAgainLater, 'server shutting down');
    const access = await authorizeCollab(this.opts.db, req);
    if (!('canWrite' in access)) return this.refuse(req, socket, head, access.code, access.reason);
    let nb: SharedNotebook;
    try {
      nb = await this.acquire(access.notebookId);
    } catch (err) {
      this.opts.log.error({ err, notebookId: access.notebookId }, 'collab: loading a notebook failed');
      return this.refuse(req, socket, head, CloseCode.tryAgainLater, 'notebook could not be loaded; retrying');
    }
    let attached = false;
    try {
      this.upgrade(req, socket, head, (ws) => {
        attached = true;
        if (this.closing) return ws.close(CloseCode.tryAgainLater, 'server shutting down');
        if (nb.evicted) return ws.close(CloseCode.notFound, 'notebook deleted');
        nb.addConnection(ws, access);
      });
    } finally {
      nb.pins--;
      if (!attached && nb.isIdle) this.scheduleUnload(nb);
    }
  }

  /** Accept the socket and close it with a code: browsers only see close codes of open sockets. */
  private refuse(req: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
    this.upgrade(req, socket, head, (ws) => ws.close(code, truncate(reason)));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket) => void): void {
    if (socket.destroyed || !socket.readable || !socket.writable) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, cb);
  }

  /** The loaded notebook, pinned (the caller unpins); loads it first when needed. */
  private async acquire(notebookId: string): Promise<SharedNotebook> {
    let entry = this.docs.get(notebookId);
    if (!entry) {
      const nb = new SharedNotebook(notebookId, this.opts.db, this.persistenceOptions, this.opts.log, (n) => this.scheduleUnload(n));
      const ready = nb.load().catch((err: unknown) => {
        if (this.docs.get(notebookId)?.nb === nb) this.docs.delete(notebookId);
        nb.destroy();
        throw err;
      });
      entry = { nb, ready };
      this.docs.set(notebookId, entry);
    }
    entry.nb.pins++;
    this.cancelUnload(entry.nb);
    try {
      await entry.ready;
    } catch (err) {
      entry.nb.pins--;
      throw err;
    }
    return entry.nb;
  }

  private scheduleUnload(nb: SharedNotebook): void {
    if (this.closing || !nb.isIdle || this.idleTimers.has(nb)) return;
    const timer = setTimeout(() => {
      this.idleTimers.delete(nb);
      void this.unload(nb);
    }, this.opts.idleUnloadMs ?? 30_000);
    timer.unref();
    this.idleTimers.set(nb, timer);
  }

  private cancelUnload(nb: SharedNotebook): void {
    const timer = this.idleTimers.get(nb);
    if (timer) clearTimeout(timer);
    this.idleTimers.delete(nb);
  }

  /** Drops an idle notebook from memory once everything it holds is stored. */
  private async unload(nb: SharedNotebook): Promise<void> {
    await nb.persistence.whenStored();
    await nb.persistence.compact();
    // Re-check after the awaits: a connection may have arrived, or an edit (a restore) been applied.
    if (!nb.isIdle || nb.persistence.pendingCount > 0 || this.docs.get(nb.notebookId)?.nb !== nb) {
      this.scheduleUnload(nb);
      return;
    }
    this.docs.delete(nb.notebookId);
    nb.destroy();
  }

  currentState(notebookId: string): Uint8Array | null {
    const entry = this.docs.get(notebookId);
    return entry?.nb.isLoaded ? Y.encodeStateAsUpdate(entry.nb.doc) : null;
  }

  applyStored(notebookId: string, update: Uint8Array): void {
    this.docs.get(notebookId)?.nb.applyStored(update);
  }

  evict(notebookId: string, code: number, reason: string): void {
    const entry = this.docs.get(notebookId);
    if (!entry) return;
    entry.nb.evicted = true;
    entry.nb.closeAll(code, truncate(reason));
  }

  /** Loaded notebooks and connections, for tests and the benchmark. */
  stats() {
    let connections = 0;
    let pending = 0;
    let droppedViewerUpdates = 0;
    for (const { nb } of this.docs.values()) {
      connections += nb.conns.size;
      pending += nb.persistence.pendingCount;
      droppedViewerUpdates += nb.droppedViewerUpdates;
    }
    return { notebooks: this.docs.size, connections, pending, droppedViewerUpdates };
  }

  /** The loaded notebook (tests and benchmark only). */
  loaded(notebookId: string): SharedNotebook | undefined {
    return this.docs.get(notebookId)?.nb;
  }

  /**
   * Shutdown: close every socket with 1001 (clients reconnect elsewhere or later and resend what the
   * server lacks), then store what is queued, waiting at most `shutdownFlushTimeoutMs`.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    const entries = [...this.docs.values()];
    for (const { nb } of entries) nb.closeAll(CloseCode.goingAway, 'server shutting down');
    const stored = Promise.all(entries.map(({ nb, ready }) => ready.then(() => nb.persistence.whenStored(), () => undefined)));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.opts.shutdownFlushTimeoutMs ?? 10_000)));
    const outcome = await Promise.race([stored.then(() => 'stored' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const pending = entries.reduce((n, { nb }) => n + nb.persistence.pendingCount, 0);
      this.opts.log.error({ pending }, 'collab: shutdown could not store every queued update in time');
    }
    for (const { nb } of entries) nb.destroy();
    this.docs.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
