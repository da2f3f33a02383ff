/**
 * A small LRU cache for the function's pure steps (spec validation, rendering).
 *
 * Crossplane calls the function for every XR on every reconcile, and almost every call repeats the previous
 * one: the same spec, the same platform input. Validation and rendering are pure functions of their inputs, so
 * their results are kept, keyed by the exact serialised inputs; a hit returns what a miss would have computed
 * (outputs are never mutated after they are built).
 *
 * Bounded twice: by entries and by approximate bytes (key plus the caller's estimate of the value, strings counted
 * at 2 bytes a character to stay on the safe side). Entries beyond either bound are evicted, least recently used
 * first, and an entry larger than `maxEntryBytes` is computed but never kept, so a few outsized specs cannot push
 * out every ordinary one or hold memory the pod does not have.
 */
export interface LruOptions<V> {
  /** Most entries kept (0 disables the cache). */
  entries: number;
  /** Most bytes kept, approximately (Infinity: no byte bound). */
  maxBytes?: number;
  /** Largest single entry kept; larger ones are not cached (default maxBytes / 8). */
  maxEntryBytes?: number;
  /** Approximate size of a value in bytes (default: 0, only the key counts). */
  sizeOf?: (v: V) => number;
}

export class Lru<V> {
  private readonly map = new Map<string, { v: V; bytes: number }>();
  private total = 0;
  hits = 0;
  misses = 0;
  /** Values computed but not kept because they were larger than maxEntryBytes. */
  skipped = 0;
  readonly capacity: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  private readonly sizeOf: (v: V) => number;

  constructor(opts: number | LruOptions<V>) {
    const o: LruOptions<V> = typeof opts === 'number' ? { entries: opts } : opts;
    this.capacity = o.entries;
    this.maxBytes = o.maxBytes ?? Infinity;
    this.maxEntryBytes = o.maxEntryBytes ?? this.maxBytes / 8;
    this.sizeOf = o.sizeOf ?? (() => 0);
  }

  /** The cached value for `key`, else compute() (kept when small enough); `sizeOf` overrides the constructor's. */
  get(key: string, compute: () => V, sizeOf: (v: V) => number = this.sizeOf): V {
    if (this.capacity <= 0 || this.maxBytes <= 0) return compute();
    // Never look a cache up with a key that would not be kept anyway (its size alone is over the bound).
    if (key.length * 2 > this.maxEntryBytes) {
      this.misses++;
      this.skipped++;
      return compute();
    }
    const found = this.map.get(key);
    if (found !== undefined) {
      this.hits++;
      this.map.delete(key);
      this.map.set(key, found);
      return found.v;
    }
    this.misses++;
    const v = compute();
    const bytes = key.length * 2 + sizeOf(v);
    if (bytes > this.maxEntryBytes) {
      this.skipped++;
      return v;
    }
    this.map.set(key, { v, bytes });
    this.total += bytes;
    while (this.map.size > this.capacity || this.total > this.maxBytes) {
      const oldest = this.map.keys().next().value as string;
      this.total -= this.map.get(oldest)!.bytes;
      this.map.delete(oldest);
    }
    return v;
  }

  get size(): number {
    return this.map.size;
  }

  /** Approximate bytes held. */
  get bytes(): number {
    return this.total;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
