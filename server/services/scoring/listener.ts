import pg from 'pg';
import { SCORING_CHANNEL, parseScoringChange, type ScoringChange } from './changes';

export type ChangeListener = {
  /** Resolves once the first LISTEN is in place (tests wait for it; the server does not). */
  ready: Promise<void>;
  close: () => Promise<void>;
};

/**
 * One dedicated connection per process doing `LISTEN stagebook_scoring` (a pooled connection would
 * lose the LISTEN when it is handed back). When the connection drops, notifications sent meanwhile
 * are lost: `onReset` (clear every cache) runs on every (re)connect, before changes are trusted again,
 * and reconnection backs off from 0.5 s to 15 s.
 */
export function listenForScoringChanges(pool: pg.Pool, handlers: { onChange: (c: ScoringChange) => void; onReset: () => void; onError?: (err: Error) => void }): ChangeListener {
  const options = (pool as unknown as { options: pg.ClientConfig }).options;
  let client: pg.Client | null = null;
  let closed = false;
  let delay = 500;
  let timer: NodeJS.Timeout | null = null;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 15_000);
  };

  const connect = async () => {
    const c = new pg.Client({ ...options, application_name: 'stagebook-scoring-listener' });
    client = c;
    c.on('notification', (msg) => {
      if (msg.channel !== SCORING_CHANNEL) return;
      const change = parseScoringChange(msg.payload);
      // A payload we cannot read still means something changed: forget everything.
      if (change) handlers.onChange(change);
      else handlers.onReset();
    });
    c.on('error', (err) => {
      handlers.onError?.(err);
      handlers.onReset();
      void c.end().catch(() => {});
      if (client === c) client = null;
      schedule();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${SCORING_CHANNEL}`);
      if (closed) {
        await c.end();
        return;
      }
      delay = 500;
      handlers.onReset();
      markReady();
    } catch (err) {
      handlers.onError?.(err as Error);
      await c.end().catch(() => {});
      if (client === c) client = null;
      schedule();
    }
  };
  void connect();

  return {
    ready,
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      await c?.end().catch(() => {});
      markReady();
    },
  };
}
