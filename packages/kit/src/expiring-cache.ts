/**
 * Answers remembered for `ttlMs`, at most `maxEntries` of them (the oldest go first), for
 * caches that another service keeps honest with announcements (see followAnnouncements).
 * An answer still being fetched when an entry is forgotten is not kept: it may predate
 * the change that was announced.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  /** Moves on with every forget: a fetch begun before one is not kept. */
  private epoch = 0;

  constructor(private readonly ttlMs: number, private readonly maxEntries: number) {}

  /** The remembered answer for `key`, or `load`'s, remembered from now on. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const epoch = this.epoch;
    const value = await load();
    if (epoch === this.epoch) {
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, until: Date.now() + this.ttlMs });
    }
    return value;
  }

  forget(key: string): void {
    this.entries.delete(key);
    this.epoch += 1;
  }

  forgetAll(): void {
    this.entries.clear();
    this.epoch += 1;
  }
}
