import { describe, expect, it } from 'vitest';
import { DEFAULT_DEDUPE_BUFFER_BYTES, OFFSET_MAP_BYTES_PER_ENTRY, OffsetMap } from '../../src/cleaner/offset-map.js';

const key = (i: number) => Buffer.from(`key-${i}`);

describe('OffsetMap (SkimpyOffsetMap with a growing table)', () => {
  it('stores and overwrites the latest offset per key; unknown keys read −1', () => {
    const map = new OffsetMap({ maxBytes: 1 << 20 });
    expect(map.get(key(1))).toBe(-1);
    expect(map.put(key(1), 10)).toBe(true);
    expect(map.put(key(2), 11)).toBe(true);
    expect(map.put(key(1), 12)).toBe(true);
    expect(map.size).toBe(2);
    expect(map.get(key(1))).toBe(12);
    expect(map.get(key(2))).toBe(11);
    // Offsets past 2^32 and 0 round-trip (offset + 1 is stored so 0 is not "empty").
    map.put(key(3), 0);
    map.put(key(4), 2 ** 40 + 7);
    map.put(Buffer.alloc(0), 5); // an empty key is a key
    expect([map.get(key(3)), map.get(key(4)), map.get(Buffer.alloc(0))]).toEqual([0, 2 ** 40 + 7, 5]);
  });

  it('fills up to the load factor of the largest table the bound allows, then refuses new keys only', () => {
    const maxBytes = 48_000; // 2000 slots
    const map = new OffsetMap({ maxBytes, loadFactor: 0.9 });
    expect(map.maxSlots).toBe(2000);
    let stored = 0;
    for (let i = 0; map.put(key(i), i); i++) stored++;
    expect(map.isFull).toBe(true);
    expect(stored).toBe(map.maxEntries);
    // The last growth step leaves at least 90 % of the bound usable.
    expect(map.maxEntries).toBeGreaterThanOrEqual(Math.floor(0.9 * 0.9 * map.maxSlots));
    // A known key can still be updated; a new one cannot.
    expect(map.put(key(0), 99_999)).toBe(true);
    expect(map.get(key(0))).toBe(99_999);
    expect(map.put(key(1_000_000), 1)).toBe(false);
    expect(map.get(key(1_000_000))).toBe(-1);
    // Every stored key is still found after all the rehashes.
    for (let i = 1; i < stored; i++) expect(map.get(key(i))).toBe(i);
  });

  it('never holds more than the dedupe buffer, counting old and new tables while growing', () => {
    const maxBytes = 10_000 * OFFSET_MAP_BYTES_PER_ENTRY;
    const map = new OffsetMap({ maxBytes });
    const seen: number[] = [];
    let last = map.slots;
    for (let i = 0; map.put(key(i), i); i++) {
      if (map.slots !== last) {
        // Old table + new table during the rehash.
        expect((last + map.slots) * OFFSET_MAP_BYTES_PER_ENTRY).toBeLessThanOrEqual(maxBytes);
        last = map.slots;
      }
      seen.push(map.memoryBytes);
    }
    expect(Math.max(...seen)).toBeLessThanOrEqual(maxBytes);
    // It starts small: an embedded engine does not pay 128 MiB for a small log.
    const small = new OffsetMap();
    expect(small.memoryBytes).toBeLessThan(DEFAULT_DEDUPE_BUFFER_BYTES / 100);
    expect(small.maxEntries).toBeGreaterThan(0.8 * (DEFAULT_DEDUPE_BUFFER_BYTES / OFFSET_MAP_BYTES_PER_ENTRY));
  });

  it('tracks latestOffset as Kafka does (a plain set) and clears', () => {
    const map = new OffsetMap({ maxBytes: 1 << 16 });
    expect(map.latestOffset).toBe(-1);
    map.updateLatestOffset(40);
    map.updateLatestOffset(30);
    expect(map.latestOffset).toBe(30);
    map.put(key(1), 3);
    map.clear();
    expect([map.size, map.get(key(1)), map.latestOffset]).toEqual([0, -1, -1]);
  });

  it('keeps probing short at the 0.9 load factor (the hash bits spread keys)', () => {
    const map = new OffsetMap({ maxBytes: 20_000 * OFFSET_MAP_BYTES_PER_ENTRY });
    for (let i = 0; map.put(key(i), i); i++);
    expect(map.utilization).toBeGreaterThan(0.8);
    expect(map.probesPerLookup).toBeLessThan(3);
  });

  it('refuses a bound that cannot hold one key and a load factor outside (0, 1)', () => {
    expect(() => new OffsetMap({ maxBytes: 24 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new OffsetMap({ maxBytes: 48, loadFactor: 0.4 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new OffsetMap({ loadFactor: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
