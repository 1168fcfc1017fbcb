import pg from 'pg';

export type ChannelListener = {
  /** Resolves once the first LISTEN is in place (tests wait for it; the server does not). */
  ready: Promise<void>;
  close: () => Promise<void>;
};

/**
 * One dedicated connection doing `LISTEN <channel>` (a pooled connection would lose the LISTEN when it
 * is handed back). Notifications sent while the connection is down are lost: `onReset` runs on every
 * (re)connect, before notifications are trusted again, and on a dropped connection when
 * `resetOnError`. Reconnection backs off from 0.5 s to 15 s.
 */
export function listenOnChannel(
  pool: pg.Pool,
  opts: {
    channel: string;
    applicationName: string;
    onNotification: (payload: string | undefined) => void;
    onReset: () => void;
    onError?: ((err: Error) => void) | undefined;
    resetOnError?: boolean;
  },
): ChannelListener {
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
    const c = new pg.Client({ ...options, application_name: opts.applicationName });
    client = c;
    c.on('notification', (msg) => {
      if (msg.channel === opts.channel) opts.onNotification(msg.payload);
    });
    c.on('error', (err) => {
      opts.onError?.(err);
      if (opts.resetOnError) opts.onReset();
      void c.end().catch(() => {});
      if (client === c) client = null;
      schedule();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${opts.channel}`);
      if (closed) {
        await c.end();
        return;
      }
      delay = 500;
      opts.onReset();
      markReady();
    } catch (err) {
      opts.onError?.(err as Error);
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
