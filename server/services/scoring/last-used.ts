import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';

/**
 * The scoring hot path never writes per request: it notes which keys it served and this writes
 * their last use in one UPDATE every `intervalMs` (and on close). A key's `last_used_at` is thus at
 * most that much behind, like the once-a-minute resolution of the other routes.
 */
export class LastUsedRecorder {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 30_000,
  ) {}

  record(keyId: string): void {
    this.pending.set(keyId, new Date());
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    await this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const ids = `{${[...batch.keys()].join(',')}}`;
    const times = `{${[...batch.values()].map((t) => `"${t.toISOString()}"`).join(',')}}`;
    this.flushing = this.db
      .execute(
        sql`update api_keys as k set last_used_at = v.t
            from (select unnest(${ids}::uuid[]) as id, unnest(${times}::timestamptz[]) as t) as v
            where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.t)`,
      )
      .then(
        () => undefined,
        // Last use is informational: a failed write (database restarting) is not worth a crash.
        (err: unknown) => console.error('could not record API key last use', err),
      );
    await this.flushing;
    this.flushing = null;
  }
}
