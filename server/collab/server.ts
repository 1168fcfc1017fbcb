import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as Y from 'yjs';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Db } from '@/db/client';
import type { LiveNotebooks } from '../services/notebooks/live';
import { scoringRuntime } from '../services/scoring/runtime';
import { authorizeCollab, recheckCollabAccess } from './auth';
import { defaultPersistenceOptions, type CollabLog, type PersistenceOptions } from './persistence';
import { CloseCode } from './protocol';
import { SharedNotebook, type CollabLimits } from './shared-notebook';
import { originAllowed } from '../api/same-origin';
import { answerUpgrade } from './upgrade';
import { listenForCollabEdits, newRelayId, notifyAwareness, notifyStored, type CollabRelay } from './relay';
import { loadStoredState } from '../services/notebooks/storage';

export type CollabServerOptions = {
  db: Db;
  log: CollabLog;
  /** Unload a notebook this long after its last connection closed (after a final flush). */
  idleUnloadMs?: number;
  pingIntervalMs?: number;
  /** How long shutdown waits for queued updates to be stored. */
  shutdownFlushTimeoutMs?: number;
  /** The largest frame a client may send (one update, sync step 2 or awareness); larger ones close with 4413. */
  maxUpdateBytes?: number;
  /** The largest a notebook's document may grow to through client edits; an edit beyond it closes with 4413. */
  maxDocumentBytes?: number;
  /** Upgrades still being authorised or loaded at once; beyond it, HTTP 503. */
  maxPendingUpgrades?: number;
  /** An upgrade not authorised and loaded within this is answered 408 and closed. */
  upgradeTimeoutMs?: number;
  /** STAGEBOOK_PUBLIC_URL: the only Origin a browser may open /collab from (else the request's Host). */
  publicUrl?: string | undefined;
  persistence?: Partial<PersistenceOptions>;
  /** Relay live edits to and from other web processes through Postgres (STAGEBOOK_COLLAB_RELAY). */
  relay?: boolean;
};

export const DEFAULT_MAX_UPDATE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;

export const COLLAB_PATH = '/collab';

const truncate = (reason: string) => (Buffer.byteLength(reason) > 120 ? reason.slice(0, 100) : reason);

/**
 * The collaboration endpoint: y-websocket protocol on `/collab/<notebookId>`, authorised per
 * notebook, persisted to Postgres. One instance per process; it holds the notebooks its clients
 * have open and implements `LiveNotebooks` for the services.
 *
 * Several processes may serve one notebook: with `relay` (STAGEBOOK_COLLAB_RELAY=postgres) stored
 * edits and presence fan out to the other processes through LISTEN/NOTIFY (relay.ts); without it,
 * fan-out is per process and a split deployment must route `/collab/<id>` to one process per notebook.
 */
export class CollabServer implements LiveNotebooks {
  private readonly docs = new Map<string, { nb: SharedNotebook; ready: Promise<void> }>();
  private readonly wss: WebSocketServer;
  private readonly idleTimers = new Map<SharedNotebook, ReturnType<typeof setTimeout>>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly persistenceOptions: PersistenceOptions;
  private readonly limits: CollabLimits;
  private pendingUpgrades = 0;
  private readonly unsubscribe: () => void;
  private closing = false;
  private readonly relay: CollabRelay | null = null;
  private readonly relayId: string | null = null;

  constructor(private readonly opts: CollabServerOptions) {
    this.limits = { maxUpdateBytes: opts.maxUpdateBytes ?? DEFAULT_MAX_UPDATE_BYTES, maxDocumentBytes: opts.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES };
    // ws itself cuts frames at maxPayload (close 1009, which the stock client answers by reconnecting
    // and resending); up to the document cap, frames reach our check and get 4413, which it respects.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(this.limits.maxUpdateBytes, this.limits.maxDocumentBytes) + 64 });
    const relayId = opts.relay ? newRelayId() : null;
    this.relayId = relayId;
    this.persistenceOptions = { ...defaultPersistenceOptions, ...opts.persistence, ...(relayId ? { relay: relayId } : {}) };
    if (relayId) {
      this.relay = listenForCollabEdits(opts.db, relayId, {
        onEdit: (m) => {
          if ('awareness' in m) this.docs.get(m.notebookId)?.nb.applyRelayedAwareness(m.awareness);
          else if (m.update) this.applyLocally(m.notebookId, m.update);
          else void this.reload(m.notebookId);
        },
        // Notifications sent while we were not listening are lost: merge the stored state of all we hold.
        onReset: () => {
          for (const id of this.docs.keys()) void this.reload(id);
        },
        onError: (err) => opts.log.warn({ err }, 'collab relay: connection lost, reconnecting'),
      });
    }
    this.heartbeat = setInterval(() => {
      for (const { nb } of this.docs.values()) nb.heartbeat();
    }, opts.pingIntervalMs ?? 30_000);
    this.heartbeat.unref();
    // Membership changes (this process at once, others through LISTEN/NOTIFY) re-check the open
    // connections of that member: access is not only decided at connect. A lost listener connection
    // (null) may have hidden changes: re-check everyone.
    this.unsubscribe = scoringRuntime(opts.db).subscribe((change) => {
      if (change === null) this.recheck(() => true);
      else if (change.kind === 'membership') this.recheck((a) => a.teamId === change.teamId && a.user.userId === change.userId);
    });
  }

  private recheck(match: Parameters<SharedNotebook['connectionsOf']>[0]): void {
    for (const { nb } of this.docs.values()) {
      for (const ws of nb.connectionsOf(match)) {
        nb.hold(ws);
        const c = nb.conns.get(ws)!;
        recheckCollabAccess(this.opts.db, c.access.user, c.access.projectId).then(
          (access) => nb.release(ws, 'code' in access ? { code: access.code, reason: access.code === CloseCode.forbidden ? 'no longer a member of this team' : access.reason } : access),
          (err: unknown) => {
            this.opts.log.error({ err, notebookId: nb.notebookId }, 'collab: re-checking access failed; closing the connection');
            nb.release(ws, { code: CloseCode.tryAgainLater, reason: 'access could not be checked; reconnect' });
          },
        );
      }
    }
  }

  /** For the HTTP server's 'upgrade' event; returns false for paths that are not ours. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const path = (req.url ?? '').split('?')[0]!;
    if (path !== COLLAB_PATH && !path.startsWith(`${COLLAB_PATH}/`)) return false;
    socket.on('error', () => socket.destroy());
    // Refused before any WebSocket exists: a cross-site page never gets an open socket to probe.
    if (!originAllowed(req, this.opts.publicUrl)) {
      answerUpgrade(socket, 403, 'cross-site WebSocket refused: Origin does not match this server');
      return true;
    }
    // Each pending upgrade holds a socket and a database query; without a bound, a flood of them
    // (valid or not) exhausts file descriptors and the connection pool.
    if (this.pendingUpgrades >= (this.opts.maxPendingUpgrades ?? 256)) {
      answerUpgrade(socket, 503, 'too many connections being set up; retry shortly');
      return true;
    }
    this.pendingUpgrades++;
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      this.pendingUpgrades--;
      answerUpgrade(socket, 408, 'connection setup timed out');
    }, this.opts.upgradeTimeoutMs ?? 10_000);
    timer.unref();
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      this.pendingUpgrades--;
      return true;
    };
    this.accept(req, socket, head, settle)
      .catch((err: unknown) => {
        this.opts.log.error({ err }, 'collab: connection setup failed');
        this.refuse(req, socket, head, CloseCode.internalError, 'internal error');
      })
      .finally(() => settle());
    return true;
  };

  /** `settle` is called once the socket is answered or upgraded (it stops the setup timeout). */
  private async accept(req: IncomingMessage, socket: Duplex, head: Buffer, settle: () => boolean): Promise<void> {
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
      // False when it timed out meanwhile: the socket was answered 408 and is closing.
      if (!settle()) return;
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
      const nb = new SharedNotebook(notebookId, this.opts.db, this.persistenceOptions, this.opts.log, (n) => this.scheduleUnload(n), this.limits);
      const relayId = this.relayId;
      if (relayId) {
        nb.relayAwareness = (update) =>
          void notifyAwareness(this.opts.db, relayId, notebookId, update).catch((err: unknown) => this.opts.log.warn({ err, notebookId }, 'collab relay: presence not sent'));
      }
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

  /**
   * An update a service stored itself (a cell's output reference, a restored version): applied here,
   * and relayed to the other web processes, whose clients would otherwise not see it until a reload.
   */
  applyStored(notebookId: string, update: Uint8Array): void {
    this.applyLocally(notebookId, update);
    const relayId = this.relayId;
    if (relayId) {
      void notifyStored(this.opts.db, relayId, notebookId, update).catch((err: unknown) =>
        this.opts.log.warn({ err, notebookId }, 'collab relay: a stored server-side edit was not relayed; other processes see it on their next reload'),
      );
    }
  }

  private applyLocally(notebookId: string, update: Uint8Array): void {
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
  /** Waits until edits from other processes are being received (tests). */
  relayReady(): Promise<void> {
    return this.relay?.ready ?? Promise.resolve();
  }

  private async reload(notebookId: string): Promise<void> {
    if (!this.docs.has(notebookId)) return;
    try {
      const { updates } = await loadStoredState(this.opts.db, notebookId);
      for (const u of updates) this.applyLocally(notebookId, u);
    } catch (err) {
      this.opts.log.warn({ err, notebookId }, 'collab relay: could not reload a notebook; its next relayed edit will');
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unsubscribe();
    await this.relay?.close();
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
