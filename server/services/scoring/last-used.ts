import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';

/**
 * The scoring hot path never writes per request: it notes which keys it served and this writes
 * their last use in one UPDATE every `intervalMs` (and on close). A key's `last_used_at` is thus at
 * most that much behind, like the once-a-minute resolution of the other routes.
 */
export class LastUsedRecorder {
  /** `at` in epoch ms; an entry is updated in place on each use (no object per request). */
  private pending = new Map<string, { at: number; where: string | null }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 30_000,
  ) {}

  /** `where`: the request, as "POST /api/v1/endpoints/credit/predict from 10.0.0.7". */
  record(keyId: string, where: string | null = null): void {
    const noted = this.pending.get(keyId);
    if (noted) {
      noted.at = Date.now();
      noted.where = where;
    } else {
      this.pending.set(keyId, { at: Date.now(), where });
    }
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
    const times = `{${[...batch.values()].map((u) => `"${new Date(u.at).toISOString()}"`).join(',')}}`;
    // JSON text: a Postgres array literal would need its own quoting of the request paths.
    const wheres = JSON.stringify([...batch.values()].map((u) => u.where));
    this.flushing = this.db
      .execute(
        sql`update api_keys as k set last_used_at = v.t, last_used_where = coalesce(v.w, k.last_used_where)
            from (select unnest(${ids}::uuid[]) as id, unnest(${times}::timestamptz[]) as t,
                         jsonb_array_elements_text(${wheres}::jsonb) as w) as v
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
