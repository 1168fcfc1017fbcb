/**
 * A small LRU map with a time-to-live per entry. The TTL is the safety net behind explicit
 * invalidation: if a change notification is ever lost, a stale entry lives at most this long.
 */
export class TtlLru<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  /** The entry last in `entries` (the most recently used), when known. */
  private newest: { value: V; expiresAt: number } | null = null;
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get(key: K, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    // Most recently used last: eviction takes the first entry. The entry used last is there
    // already: a hot key (one endpoint, one API key) costs one lookup, not a delete and an insert.
    if (this.newest !== e) {
      this.entries.delete(key);
      this.entries.set(key, e);
      this.newest = e;
    }
    return e.value;
  }

  set(key: K, value: V, ttlMs = this.ttlMs): void {
    this.entries.delete(key);
    const e = { value, expiresAt: Date.now() + ttlMs };
    this.entries.set(key, e);
    this.newest = e;
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: K): void {
    if (this.newest !== null && this.entries.get(key) === this.newest) this.newest = null;
    this.entries.delete(key);
  }

  /** Removes the entries whose value matches. */
  deleteWhere(match: (value: V, key: K) => boolean): void {
    for (const [k, e] of this.entries) if (match(e.value, k)) this.delete(k);
  }

  clear(): void {
    this.entries.clear();
    this.newest = null;
  }

  get size(): number {
    return this.entries.size;
  }
}
