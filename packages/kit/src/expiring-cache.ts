/**
 * Answers remembered for `ttlMs`, at most `maxEntries` of them (the oldest go first), for
 * caches that another service keeps honest with announcements (see followAnnouncements).
 * Callers asking for a key while its answer is being fetched share that fetch. An answer
 * still being fetched when an entry is forgotten is not kept, and later callers fetch
 * anew: it may predate the change that was announced.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private readonly loading = new Map<string, Promise<V>>();
  /** Moves on with every forget: a fetch begun before one is not kept. */
  private epoch = 0;

  constructor(private readonly ttlMs: number, private readonly maxEntries: number) {}

  /** The remembered answer for `key`, or `load`'s (shared with whoever asks meanwhile), remembered from now on. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now()) return Promise.resolve(hit.value);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const loaded: Promise<V> = this.fetch(key, load).finally(() => {
      if (this.loading.get(key) === loaded) this.loading.delete(key);
    });
    this.loading.set(key, loaded);
    return loaded;
  }

  forget(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
    this.epoch += 1;
  }

  forgetAll(): void {
    this.entries.clear();
    this.loading.clear();
    this.epoch += 1;
  }

  private async fetch(key: string, load: () => Promise<V>): Promise<V> {
    const epoch = this.epoch;
    const value = await load();
    if (epoch === this.epoch) {
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, until: Date.now() + this.ttlMs });
    }
    return value;
  }
}
