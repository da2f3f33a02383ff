/**
 * A small LRU cache for the function's pure steps (spec validation, rendering).
 *
 * Crossplane calls the function for every XR on every reconcile, and almost every call repeats the previous
 * one: the same spec, the same platform input. Validation and rendering are pure functions of their inputs, so
 * their results are kept, keyed by the exact serialised inputs; a hit returns what a miss would have computed
 * (outputs are never mutated after they are built). Size bounds memory: entries beyond it are evicted, least
 * recently used first.
 */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get(key: string, compute: () => V): V {
    if (this.capacity <= 0) return compute();
    const found = this.map.get(key);
    if (found !== undefined) {
      this.hits++;
      this.map.delete(key);
      this.map.set(key, found);
      return found;
    }
    this.misses++;
    const v = compute();
    this.map.set(key, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
    return v;
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
