/**
 * OffsetIndex (`.index`): the §10.7 vectors byte for byte, Kafka 2.7.1's empty index files read
 * in place, append validation, full and overflow, truncation, trim/resize file lengths, the
 * zero-filled tail a crash leaves, sanity-check failures, and a seeded model test of
 * append/lookup/truncateTo across close and reload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { OffsetIndex, type OffsetPosition } from '../../src/segment/offset-index.js';
import { KAFKA_FIXTURES, hex } from '../helpers/paths.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-offset-index-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const indexPath = (base: number, d = dir) => path.join(d, `${String(base).padStart(20, '0')}.index`);

/** Raw `.index` bytes for (relativeOffset, position) pairs. */
function entries(...pairs: [number, number][]): Buffer {
  const b = Buffer.alloc(pairs.length * 8);
  pairs.forEach(([rel, pos], i) => {
    b.writeInt32BE(rel, i * 8);
    b.writeInt32BE(pos, i * 8 + 4);
  });
  return b;
}

function expectCode(fn: () => unknown, code: string): SeglogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    expect((err as SeglogError).code).toBe(code);
    return err as SeglogError;
  }
  throw new Error(`expected a ${code} error`);
}

describe('§10.7 vectors', () => {
  it('writes the closed .index of (105 → 4168), (230 → 8400) at base 100 byte for byte', () => {
    const file = indexPath(100);
    const idx = new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: true });
    expect(fs.existsSync(file)).toBe(false); // no I/O in the constructor
    expect(idx.entries).toBe(0);
    expect(fs.existsSync(file)).toBe(false); // created on first append, not on load
    idx.append(105, 4168);
    expect(fs.statSync(file).size).toBe(1024);
    expect(idx.maxEntries).toBe(128);
    idx.append(230, 8400);
    expect(idx.lookup(99)).toEqual({ offset: 100, position: 0 });
    expect(idx.lookup(105)).toEqual({ offset: 105, position: 4168 });
    expect(idx.lookup(200)).toEqual({ offset: 105, position: 4168 });
    expect(idx.lookup(1000)).toEqual({ offset: 230, position: 8400 });
    idx.trimToValidSize();
    idx.close();
    expect(fs.readFileSync(file)).toEqual(hex('00 00 00 05 00 00 10 48 00 00 00 82 00 00 20 d0'));

    const again = new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: false });
    expect(again.entries).toBe(2);
    expect(again.lastOffset).toBe(230);
    expect(again.entry(0)).toEqual({ offset: 105, position: 4168 });
    expect(again.entry(1)).toEqual({ offset: 230, position: 8400 });
    expect(again.lookup(99)).toEqual({ offset: 100, position: 0 });
    expect(again.lookup(105)).toEqual({ offset: 105, position: 4168 });
    expect(again.lookup(200)).toEqual({ offset: 105, position: 4168 });
    expect(again.lookup(1000)).toEqual({ offset: 230, position: 8400 });
    again.sanityCheck();
  });

  it('creates a new index with maxIndexSize 1024 as a 1024-byte file of 128 slots', () => {
    const file = indexPath(100);
    const idx = new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: true });
    idx.resize(1024);
    expect(fs.statSync(file).size).toBe(1024);
    expect(fs.readFileSync(file).equals(Buffer.alloc(1024))).toBe(true);
    expect(idx.entries).toBe(0);
    expect(idx.maxEntries).toBe(128);
    expect(idx.lastOffset).toBe(100);
    idx.sanityCheck();
    idx.close();
  });
});

describe('Kafka 2.7.1 fixtures', () => {
  for (const partition of [17, 28, 39]) {
    it(`reads __consumer_offsets-${partition}'s empty .index in place`, () => {
      const file = path.join(KAFKA_FIXTURES, `__consumer_offsets-${partition}`, '00000000000000000000.index');
      const before = fs.statSync(file);
      const idx = new OffsetIndex(file, 0, { maxIndexSize: 10 * 1024 * 1024, writable: false });
      expect(idx.entries).toBe(0);
      expect(idx.maxEntries).toBe(1_310_720); // §4.4: 10 MiB of 8-byte entries
      expect(idx.lastOffset).toBe(0);
      expect(idx.lookup(5)).toEqual({ offset: 0, position: 0 });
      expect(idx.length).toBe(0);
      idx.sanityCheck();
      idx.trimToValidSize(); // already trimmed: no write to the read-only fixture
      idx.flush();
      idx.close();
      const after = fs.statSync(file);
      expect(after.size).toBe(0);
      expect(after.mtimeMs).toBe(before.mtimeMs);
    });
  }
});

describe('append', () => {
  const opts = { maxIndexSize: 1024, writable: true };

  it('accepts the base offset itself as the first entry, then only larger offsets', () => {
    const idx = new OffsetIndex(indexPath(50), 50, opts);
    idx.append(50, 0);
    expect(idx.lastOffset).toBe(50);
    expectCode(() => idx.append(50, 10), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(49, 10), ErrorCode.INVALID_ARGUMENT);
    idx.append(51, 0); // equal positions are allowed (non-decreasing)
    expect(idx.entries).toBe(2);
    idx.close();
  });

  it('rejects a decreasing position, naming the file and both values', () => {
    const file = indexPath(0);
    const idx = new OffsetIndex(file, 0, opts);
    idx.append(10, 500);
    const err = expectCode(() => idx.append(20, 499), ErrorCode.INVALID_ARGUMENT);
    expect(err.message).toContain(file);
    expect(err.message).toContain('499');
    expect(err.message).toContain('500');
    expect(idx.entries).toBe(1);
    idx.close();
  });

  it('rejects relative offsets outside 0..2^31 − 1 and bad numbers', () => {
    const base = 2 ** 40;
    const idx = new OffsetIndex(indexPath(base), base, opts);
    expect(idx.canAppendOffset(base - 1)).toBe(false);
    expect(idx.canAppendOffset(base + 2 ** 31)).toBe(false);
    expect(idx.canAppendOffset(base + 2 ** 31 - 1)).toBe(true);
    expectCode(() => idx.append(base - 1, 0), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(base + 2 ** 31, 0), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(1.5, 0), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(base + 1, -1), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(base + 1, 2 ** 31), ErrorCode.INVALID_ARGUMENT);
    expect(idx.entries).toBe(0);
    expect(fs.existsSync(indexPath(base))).toBe(false); // nothing was written
    idx.append(base + 2 ** 31 - 1, 2 ** 31 - 1);
    expect(idx.lookup(Number.MAX_SAFE_INTEGER)).toEqual({ offset: base + 2 ** 31 - 1, position: 2 ** 31 - 1 });
    idx.close();
  });

  it('fills up at floor(maxIndexSize / 8) entries and then refuses appends', () => {
    const file = indexPath(0);
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 20, writable: true });
    expect(idx.maxEntries).toBe(2);
    idx.append(1, 10);
    expect(idx.isFull).toBe(false);
    idx.append(2, 20);
    expect(idx.isFull).toBe(true);
    expect(fs.statSync(file).size).toBe(16); // roundDown(20, 8)
    const err = expectCode(() => idx.append(3, 30), ErrorCode.INVALID_ARGUMENT);
    expect(err.message).toContain('full');
    expect(fs.statSync(file).size).toBe(16);
    expect(idx.entries).toBe(2);
    idx.close();
  });

  it('rejects maxIndexSize below one entry or above 2^31 − 1, without I/O', () => {
    expectCode(() => new OffsetIndex(indexPath(0), 0, { maxIndexSize: 7, writable: true }), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new OffsetIndex(indexPath(0), 0, { maxIndexSize: 2 ** 31, writable: true }), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new OffsetIndex(indexPath(0), -1, { maxIndexSize: 1024, writable: true }), ErrorCode.INVALID_ARGUMENT);
  });

  it('writes every entry through to the file before returning', () => {
    const file = indexPath(0);
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 64, writable: true });
    idx.append(3, 100);
    idx.append(9, 250);
    // Another reader sees the entries at once (no trim, no flush), followed by the zero tail.
    expect(fs.readFileSync(file)).toEqual(Buffer.concat([entries([3, 100], [9, 250]), Buffer.alloc(48)]));
    idx.close();
  });

  it('fails with IO_ERROR when the directory does not exist, and leaves the index unchanged', () => {
    const file = indexPath(0, path.join(dir, 'missing'));
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 1024, writable: true });
    expect(idx.entries).toBe(0);
    const err = expectCode(() => idx.append(1, 0), ErrorCode.IO_ERROR);
    expect(err.errno).toBe('ENOENT');
    expect(err.file).toBe(file);
    expect(idx.entries).toBe(0);
  });
});

describe('lookup and entry', () => {
  it('finds the largest entry ≤ target over many entries', () => {
    const idx = new OffsetIndex(indexPath(1000), 1000, { maxIndexSize: 8 * 5000, writable: true });
    for (let i = 1; i <= 5000; i++) idx.append(1000 + i * 3, i * 100);
    expect(idx.isFull).toBe(true);
    expect(idx.lookup(1000)).toEqual({ offset: 1000, position: 0 });
    expect(idx.lookup(1002)).toEqual({ offset: 1000, position: 0 });
    expect(idx.lookup(1003)).toEqual({ offset: 1003, position: 100 });
    expect(idx.lookup(1000 + 3 * 2500 + 2)).toEqual({ offset: 1000 + 3 * 2500, position: 250000 });
    expect(idx.lookup(10 ** 9)).toEqual({ offset: 16000, position: 500000 });
    expect(idx.entry(4999)).toEqual({ offset: 16000, position: 500000 });
    expectCode(() => idx.entry(5000), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.entry(-1), ErrorCode.INVALID_ARGUMENT);
    idx.close();
  });
});

describe('truncateTo, reset, trim and resize', () => {
  function filled(file = indexPath(100), maxIndexSize = 1024): OffsetIndex {
    const idx = new OffsetIndex(file, 100, { maxIndexSize, writable: true });
    for (const [o, p] of [[105, 10], [110, 20], [120, 30], [130, 40]]) idx.append(o, p);
    return idx;
  }

  it('drops entries ≥ the offset: exact, between, below all, above all', () => {
    const idx = filled();
    idx.truncateTo(1000);
    expect(idx.entries).toBe(4);
    idx.truncateTo(120); // exact: 120 goes
    expect(idx.entries).toBe(2);
    expect(idx.lastOffset).toBe(110);
    idx.truncateTo(107); // between 105 and 110
    expect(idx.entries).toBe(1);
    idx.truncateTo(0);
    expect(idx.entries).toBe(0);
    expect(idx.lastOffset).toBe(100);
    expect(idx.lookup(500)).toEqual({ offset: 100, position: 0 });
    idx.append(101, 0); // appends continue after truncation
    expect(idx.entries).toBe(1);
    idx.close();
  });

  it('zeroes truncated entries in a preallocated file, so a reload does not bring them back', () => {
    const file = indexPath(100);
    const idx = filled(file);
    idx.truncateTo(110);
    expect(fs.statSync(file).size).toBe(1024);
    idx.close(); // as after a crash: no trim
    expect(fs.readFileSync(file)).toEqual(Buffer.concat([entries([5, 10]), Buffer.alloc(1016)]));
    const again = new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: true });
    expect(again.entries).toBe(1);
    again.close();
  });

  it('keeps a trimmed file trimmed when truncating it', () => {
    const file = indexPath(100);
    const idx = filled(file);
    idx.trimToValidSize();
    idx.close();
    const inactive = new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: false });
    inactive.truncateTo(120);
    expect(fs.statSync(file).size).toBe(16);
    expect(inactive.length).toBe(16);
    inactive.close();
    expect(fs.readFileSync(file)).toEqual(entries([5, 10], [10, 20]));
  });

  it('trims to entries × 8 and resizes back to roundDown(max, 8), zero-filled', () => {
    const file = indexPath(100);
    const idx = filled(file);
    expect(idx.length).toBe(1024);
    idx.trimToValidSize();
    expect(fs.statSync(file).size).toBe(32);
    expect(idx.length).toBe(32);
    idx.resize(1030);
    expect(fs.statSync(file).size).toBe(1024);
    expect(idx.maxIndexSize).toBe(1030);
    expect(idx.maxEntries).toBe(128);
    expect(fs.readFileSync(file).subarray(32).equals(Buffer.alloc(992))).toBe(true);
    idx.resize(2048); // a larger segment.index.bytes takes effect
    expect(idx.maxEntries).toBe(256);
    expect(fs.statSync(file).size).toBe(2048);
    expectCode(() => idx.resize(31), ErrorCode.INVALID_ARGUMENT); // 4 entries need 32 bytes
    expect(idx.entries).toBe(4);
    idx.append(140, 50);
    idx.trimToValidSize();
    idx.close();
    expect(fs.statSync(file).size).toBe(40);
  });

  it('trimToValidSize creates an empty file for a writable index that never had an entry', () => {
    const file = indexPath(7);
    const idx = new OffsetIndex(file, 7, { maxIndexSize: 1024, writable: true });
    idx.trimToValidSize();
    expect(fs.statSync(file).size).toBe(0);
    idx.close();
    const inactive = new OffsetIndex(indexPath(8), 8, { maxIndexSize: 1024, writable: false });
    inactive.trimToValidSize(); // a missing inactive index stays missing (the segment rebuilds)
    expect(fs.existsSync(indexPath(8))).toBe(false);
  });

  it('reset empties the index and the file, preallocated again', () => {
    const file = indexPath(100);
    const idx = filled(file);
    idx.trimToValidSize();
    idx.reset();
    expect(idx.entries).toBe(0);
    expect(fs.statSync(file).size).toBe(1024);
    expect(fs.readFileSync(file).equals(Buffer.alloc(1024))).toBe(true);
    idx.close();
    expect(new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: false }).entries).toBe(0);
  });

  it('reset creates a missing index (recovery rebuilding it)', () => {
    const file = indexPath(5);
    const idx = new OffsetIndex(file, 5, { maxIndexSize: 80, writable: false });
    idx.reset();
    expect(fs.statSync(file).size).toBe(80);
    idx.append(9, 100);
    idx.trimToValidSize();
    idx.close();
    expect(fs.readFileSync(file)).toEqual(entries([4, 100]));
  });
});

describe('loading', () => {
  it('strips the zero-filled tail a crash leaves in a preallocated file', () => {
    const file = indexPath(100);
    fs.writeFileSync(file, Buffer.concat([entries([0, 0], [5, 4168], [130, 8400]), Buffer.alloc(1000)]));
    const idx = new OffsetIndex(file, 100, { maxIndexSize: 1024, writable: true });
    expect(idx.entries).toBe(3); // entry 0 = (base, 0) is real: entry 1 is not zero
    expect(idx.entry(0)).toEqual({ offset: 100, position: 0 });
    expect(idx.lookup(300)).toEqual({ offset: 230, position: 8400 });
    idx.sanityCheck();
    idx.close();
  });

  it('reads a preallocated file nobody wrote to as empty, even a one-slot one', () => {
    const pre = indexPath(0);
    fs.writeFileSync(pre, Buffer.alloc(1024));
    const idx = new OffsetIndex(pre, 0, { maxIndexSize: 1024, writable: true });
    expect(idx.entries).toBe(0);
    idx.append(12, 300); // lands in slot 0
    idx.close();
    expect(fs.readFileSync(pre).subarray(0, 8)).toEqual(entries([12, 300]));

    const one = indexPath(1);
    fs.writeFileSync(one, Buffer.alloc(8));
    const single = new OffsetIndex(one, 1, { maxIndexSize: 1024, writable: false });
    expect(single.entries).toBe(0);
    expect(single.lookup(5)).toEqual({ offset: 1, position: 0 }); // what (1, 0) would have answered
  });

  it('reads a file of 10 MiB of zeros without allocating 10 MiB', () => {
    const file = indexPath(0);
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, 10 * 1024 * 1024);
    fs.writeSync(fd, entries([3, 10], [4, 20]), 0, 16, 0);
    fs.closeSync(fd);
    const alloc = vi.spyOn(Buffer, 'alloc');
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 10 * 1024 * 1024, writable: false });
    expect(idx.entries).toBe(2);
    const largest = Math.max(...alloc.mock.calls.map((c) => c[0] as number));
    expect(largest).toBeLessThanOrEqual(4096);
  });

  it('cleans stale bytes after the first zero entry before writing, so they never come back', () => {
    const file = indexPath(0);
    // Two entries, a zero slot, then a stale entry from an older life of the file.
    fs.writeFileSync(file, Buffer.concat([entries([1, 10], [2, 20], [0, 0], [900, 9000]), Buffer.alloc(32)]));
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 64, writable: true });
    expect(idx.entries).toBe(2);
    idx.append(3, 30);
    idx.close();
    expect(fs.readFileSync(file)).toEqual(Buffer.concat([entries([1, 10], [2, 20], [3, 30]), Buffer.alloc(40)]));
    expect(new OffsetIndex(file, 0, { maxIndexSize: 64, writable: false }).entries).toBe(3);
  });

  it('accepts a file longer than maxIndexSize whose zero tail starts within it', () => {
    const file = indexPath(0);
    fs.writeFileSync(file, Buffer.concat([entries([1, 10], [2, 20]), Buffer.alloc(4096)]));
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 16, writable: true });
    expect(idx.entries).toBe(2);
    expect(idx.isFull).toBe(true);
    idx.resize(16);
    expect(fs.statSync(file).size).toBe(16);
    idx.close();
  });

  it('refuses (CORRUPT_INDEX) a file with more valid entries than maxEntries', () => {
    const file = indexPath(0);
    fs.writeFileSync(file, entries([1, 10], [2, 20], [3, 30]));
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 16, writable: false });
    const err = expectCode(() => idx.entries, ErrorCode.CORRUPT_INDEX);
    expect(err.file).toBe(file);
    expect(err.message).toContain('2 entries');
    // With the bound it was written under, the same file loads.
    expect(new OffsetIndex(file, 0, { maxIndexSize: 24, writable: false }).entries).toBe(3);
  });

  it('close drops the loaded entries; the next use reloads them from the file', () => {
    const file = indexPath(0);
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 64, writable: true });
    idx.append(4, 40);
    idx.close();
    fs.writeFileSync(file, entries([4, 40], [6, 60])); // changed behind our back
    expect(idx.entries).toBe(2);
    idx.close();
  });
});

describe('sanityCheck', () => {
  const load = (bytes: Buffer, base = 100) => {
    const file = indexPath(base);
    fs.writeFileSync(file, bytes);
    return new OffsetIndex(file, base, { maxIndexSize: 1024, writable: false });
  };

  it('accepts Kafka-shaped files', () => {
    load(entries([5, 4168], [130, 8400])).sanityCheck();
    load(Buffer.alloc(0)).sanityCheck();
  });

  it('rejects a length that is not a multiple of 8, naming the file', () => {
    const idx = load(Buffer.concat([entries([5, 4168], [130, 8400]), Buffer.from([1])]));
    expect(idx.entries).toBe(2);
    const err = expectCode(() => idx.sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.file).toBe(indexPath(100));
    expect(err.message).toContain(indexPath(100));
    expect(err.message).toContain('17');
  });

  it('rejects decreasing or repeated offsets', () => {
    const err = expectCode(() => load(entries([5, 10], [30, 20], [20, 30])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.position).toBe(16);
    expectCode(() => load(entries([5, 10], [5, 20])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
  });

  it('rejects decreasing or negative positions', () => {
    expectCode(() => load(entries([5, 100], [6, 99])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expectCode(() => load(entries([5, -1])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
  });

  it('rejects a last offset below the base offset', () => {
    const err = expectCode(() => load(entries([1, 0], [-3, 10])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.message).toContain('below the base offset');
  });
});

describe('lifecycle', () => {
  it('flush fdatasyncs only when something was written', () => {
    const sync = vi.spyOn(fs, 'fdatasyncSync');
    const idx = new OffsetIndex(indexPath(0), 0, { maxIndexSize: 64, writable: true });
    idx.flush();
    expect(sync).not.toHaveBeenCalled();
    idx.append(1, 0);
    idx.flush();
    expect(sync).toHaveBeenCalledTimes(1);
    idx.flush();
    expect(sync).toHaveBeenCalledTimes(1);
    idx.close();
  });

  it('renames with an open descriptor, and renames a never-created file by name only', () => {
    const file = indexPath(0);
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 64, writable: true });
    idx.append(1, 0);
    idx.renameTo(file + '.deleted');
    expect(idx.file).toBe(file + '.deleted');
    expect(fs.existsSync(file)).toBe(false);
    idx.append(2, 10); // the descriptor still points at the renamed file
    idx.close();
    expect(fs.readFileSync(file + '.deleted').subarray(0, 16)).toEqual(entries([1, 0], [2, 10]));

    const lazy = new OffsetIndex(indexPath(9), 9, { maxIndexSize: 64, writable: true });
    lazy.renameTo(indexPath(9) + '.swap');
    expect(lazy.file).toBe(indexPath(9) + '.swap');
    expect(fs.existsSync(indexPath(9) + '.swap')).toBe(false);
  });

  it('deleteIfExists deletes once, and the index is then empty', () => {
    const file = indexPath(0);
    const idx = new OffsetIndex(file, 0, { maxIndexSize: 64, writable: true });
    idx.append(1, 0);
    expect(idx.deleteIfExists()).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    expect(idx.deleteIfExists()).toBe(false);
    expect(idx.entries).toBe(0);
  });
});

describe('model test (seeded)', () => {
  type Op =
    | { t: 'append'; dOffset: number; dPosition: number }
    | { t: 'lookup'; d: number }
    | { t: 'truncate'; d: number }
    | { t: 'reopen'; trim: boolean; writable: boolean }
    | { t: 'reset' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('append' as const), dOffset: fc.integer({ min: -2, max: 40 }), dPosition: fc.integer({ min: -3, max: 500 }) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('lookup' as const), d: fc.integer({ min: -5, max: 45 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('truncate' as const), d: fc.integer({ min: -5, max: 45 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const), trim: fc.boolean(), writable: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
  );

  /** The model's lookup: the largest entry ≤ target, else (base, 0). */
  const modelLookup = (m: OffsetPosition[], base: number, target: number): OffsetPosition =>
    m.filter((e) => e.offset <= target).at(-1) ?? { offset: base, position: 0 };

  it('agrees with an array model across append, lookup, truncateTo, reset and reload', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.constantFrom(0, 100, 2 ** 40), fc.integer({ min: 8, max: 200 }), fc.array(op, { maxLength: 80 }), (base, maxIndexSize, ops) => {
        const file = path.join(dir, `${run++}.index`);
        const maxEntries = Math.floor(maxIndexSize / 8);
        let idx = new OffsetIndex(file, base, { maxIndexSize, writable: true });
        let model: OffsetPosition[] = [];
        const lastOffset = () => model.at(-1)?.offset ?? base;
        for (const o of ops) {
          if (o.t === 'append') {
            const last = model.at(-1);
            const offset = (last?.offset ?? base) + o.dOffset;
            const position = (last?.position ?? 0) + o.dPosition;
            const ok =
              model.length < maxEntries && offset >= base && (last === undefined || (offset > last.offset && position >= last.position)) && position >= 0;
            if (ok) {
              idx.append(offset, position);
              model.push({ offset, position });
            } else {
              expectCode(() => idx.append(offset, position), ErrorCode.INVALID_ARGUMENT);
            }
          } else if (o.t === 'lookup') {
            const target = lastOffset() + o.d - 20;
            expect(idx.lookup(target)).toEqual(modelLookup(model, base, target));
          } else if (o.t === 'truncate') {
            const at = lastOffset() + o.d - 20;
            idx.truncateTo(at);
            model = model.filter((e) => e.offset < at);
          } else if (o.t === 'reset') {
            idx.reset();
            model = [];
          } else {
            if (o.trim) idx.trimToValidSize();
            idx.close();
            if (o.trim) expect(fs.existsSync(file) ? fs.statSync(file).size : 0).toBe(model.length * 8);
            // A lone all-zero entry 0 reads back as a preallocated empty file (documented).
            if (model.length === 1 && model[0].offset === base && model[0].position === 0) model = [];
            idx = new OffsetIndex(file, base, { maxIndexSize, writable: o.writable });
          }
          expect(idx.entries).toBe(model.length);
          expect(idx.lastOffset).toBe(lastOffset());
          expect(idx.isFull).toBe(model.length >= maxEntries);
        }
        idx.sanityCheck();
        for (let i = 0; i < model.length; i++) expect(idx.entry(i)).toEqual(model[i]);
        idx.trimToValidSize();
        idx.close();
        if (model.length === 1 && model[0].offset === base && model[0].position === 0) model = [];
        const reloaded = new OffsetIndex(file, base, { maxIndexSize, writable: false });
        expect(reloaded.entries).toBe(model.length);
        for (let d = -2; d <= 45; d += 3) expect(reloaded.lookup(lastOffset() + d - 20)).toEqual(modelLookup(model, base, lastOffset() + d - 20));
      }),
      { seed: 0x5e6106, numRuns: 300 },
    );
  });
});
