/** The render and spec caches' LRU (src/render/cache.ts): bounded by entries and by approximate bytes. */
import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/render/cache.js';

describe('Lru', () => {
  it('evicts the least recently used entry beyond its entry bound', () => {
    const c = new Lru<number>(2);
    c.get('a', () => 1);
    c.get('b', () => 2);
    c.get('a', () => 0); // a is now the most recent
    c.get('c', () => 3);
    expect(c.get('b', () => 20)).toBe(20); // b was evicted
    expect(c.get('a', () => 10)).toBe(10); // … and a by b's return
    expect(c.size).toBe(2);
  });

  it('evicts by approximate bytes, oldest first, and never holds more than its budget', () => {
    const c = new Lru<string>({ entries: 100, maxBytes: 1000, maxEntryBytes: 1000, sizeOf: (v) => v.length * 2 });
    for (let i = 0; i < 10; i++) c.get(`k${i}`, () => 'x'.repeat(100));
    expect(c.bytes).toBeLessThanOrEqual(1000);
    expect(c.size).toBe(4); // 4 × (2 × 2 + 200) = 816; a fifth would make 1020
    expect(c.get('k9', () => 'miss')).not.toBe('miss');
    expect(c.get('k0', () => 'miss')).toBe('miss');
  });

  it('computes but never keeps an entry over maxEntryBytes, and never looks up an outsized key', () => {
    const c = new Lru<string>({ entries: 100, maxBytes: 10_000, maxEntryBytes: 1000, sizeOf: (v) => v.length * 2 });
    c.get('small', () => 'x');
    expect(c.get('big', () => 'y'.repeat(600))).toHaveLength(600);
    expect(c.size).toBe(1);
    const huge = 'k'.repeat(1000);
    expect(c.get(huge, () => 'first')).toBe('first');
    expect(c.get(huge, () => 'second')).toBe('second');
    expect(c.skipped).toBe(3);
    expect(c.get('small', () => 'other')).toBe('x');
  });

  it('is disabled by 0 entries or 0 bytes', () => {
    for (const c of [new Lru<number>(0), new Lru<number>({ entries: 10, maxBytes: 0 })]) {
      let n = 0;
      c.get('a', () => ++n);
      c.get('a', () => ++n);
      expect(n).toBe(2);
      expect(c.size).toBe(0);
    }
  });
});
