/**
 * TimeIndex (`.timeindex`): the §10.7 vectors byte for byte, Kafka 2.7.1's time indexes read
 * in place, Kafka's maybeAppend rules (equal skipped, smaller refused, the slot kept for
 * roll), truncation, trim/resize file lengths, the zero-filled tail a crash leaves,
 * sanity-check failures, and a seeded model test across close and reload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { TimeIndex, type TimestampOffset } from '../../src/segment/time-index.js';
import { KAFKA_FIXTURES, hex } from '../helpers/paths.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-time-index-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const timeIndexPath = (base: number) => path.join(dir, `${String(base).padStart(20, '0')}.timeindex`);

/** Raw `.timeindex` bytes for (timestamp, relativeOffset) pairs. */
function entries(...pairs: [number, number][]): Buffer {
  const b = Buffer.alloc(pairs.length * 12);
  pairs.forEach(([ts, rel], i) => {
    b.writeBigInt64BE(BigInt(ts), i * 12);
    b.writeInt32BE(rel, i * 12 + 8);
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

const T0 = 1_700_000_000_000;

describe('§10.7 vectors', () => {
  it('writes the closed .timeindex of (T0 → 105), (T0 + 500 → 230) at base 100 byte for byte', () => {
    const file = timeIndexPath(100);
    const idx = new TimeIndex(file, 100, { maxIndexSize: 1200, writable: true });
    expect(fs.existsSync(file)).toBe(false);
    expect(idx.lastEntry()).toEqual({ timestamp: -1, offset: 100 });
    idx.maybeAppend(T0, 105);
    expect(fs.statSync(file).size).toBe(1200);
    expect(idx.maxEntries).toBe(100);
    idx.maybeAppend(T0 + 500, 230);
    idx.maybeAppend(T0 + 500, 230, true); // the roll path re-offers the last entry: skipped
    expect(idx.entries).toBe(2);
    idx.trimToValidSize();
    idx.close();
    expect(fs.readFileSync(file)).toEqual(hex('00 00 01 8b cf e5 68 00 00 00 00 05 00 00 01 8b cf e5 69 f4 00 00 00 82'));

    const again = new TimeIndex(file, 100, { maxIndexSize: 1200, writable: false });
    expect(again.entries).toBe(2);
    expect(again.entry(0)).toEqual({ timestamp: T0, offset: 105 });
    expect(again.lastEntry()).toEqual({ timestamp: T0 + 500, offset: 230 });
    expect(again.lookup(T0 - 1)).toEqual({ timestamp: -1, offset: 100 });
    expect(again.lookup(T0)).toEqual({ timestamp: T0, offset: 105 });
    expect(again.lookup(T0 + 499)).toEqual({ timestamp: T0, offset: 105 });
    expect(again.lookup(T0 + 10_000)).toEqual({ timestamp: T0 + 500, offset: 230 });
    again.sanityCheck();
  });

  it('creates a new index with maxIndexSize 1200 as a 1200-byte file of 100 slots', () => {
    const file = timeIndexPath(100);
    const idx = new TimeIndex(file, 100, { maxIndexSize: 1200, writable: true });
    idx.resize(1200);
    expect(fs.statSync(file).size).toBe(1200);
    expect(idx.maxEntries).toBe(100);
    expect(idx.entries).toBe(0);
    idx.sanityCheck();
    idx.close();
  });

  it('rounds segment.index.bytes down to a multiple of 12 (§4.4: 10 MiB → 873,813 entries)', () => {
    const file = timeIndexPath(0);
    const idx = new TimeIndex(file, 0, { maxIndexSize: 10 * 1024 * 1024, writable: true });
    expect(idx.maxEntries).toBe(873_813);
    idx.resize(10 * 1024 * 1024);
    expect(fs.statSync(file).size).toBe(10_485_756);
    idx.close();
  });
});

describe('Kafka 2.7.1 fixtures', () => {
  const cases: [number, TimestampOffset][] = [
    [17, { timestamp: 1670071252901, offset: 0 }],
    [28, { timestamp: 1660065823488, offset: 1 }],
    [39, { timestamp: 1685814551582, offset: 17 }],
  ];
  for (const [partition, expected] of cases) {
    it(`reads __consumer_offsets-${partition}'s .timeindex in place`, () => {
      const file = path.join(KAFKA_FIXTURES, `__consumer_offsets-${partition}`, '00000000000000000000.timeindex');
      const before = fs.statSync(file);
      const idx = new TimeIndex(file, 0, { maxIndexSize: 10 * 1024 * 1024, writable: false });
      expect(idx.entries).toBe(1);
      expect(idx.length).toBe(12);
      expect(idx.entry(0)).toEqual(expected);
      expect(idx.lastEntry()).toEqual(expected);
      expect(idx.lookup(expected.timestamp - 1)).toEqual({ timestamp: -1, offset: 0 });
      expect(idx.lookup(expected.timestamp)).toEqual(expected);
      expect(idx.lookup(Number.MAX_SAFE_INTEGER)).toEqual(expected);
      expect(idx.isFull).toBe(false);
      idx.sanityCheck();
      idx.trimToValidSize();
      idx.maybeAppend(expected.timestamp, expected.offset, true); // close path: equal, skipped
      idx.close();
      const after = fs.statSync(file);
      expect(after.size).toBe(12);
      expect(after.mtimeMs).toBe(before.mtimeMs);
    });
  }
});

describe('maybeAppend', () => {
  it('appends only strictly larger timestamps and refuses smaller ones or smaller offsets', () => {
    const idx = new TimeIndex(timeIndexPath(10), 10, { maxIndexSize: 1200, writable: true });
    idx.maybeAppend(-1, 10); // v0 data: no timestamps, the index stays empty
    expect(idx.entries).toBe(0);
    idx.maybeAppend(100, 12);
    idx.maybeAppend(100, 15); // equal timestamp: skipped even with a new offset
    expect(idx.lastEntry()).toEqual({ timestamp: 100, offset: 12 });
    idx.maybeAppend(101, 12); // equal offset with a larger timestamp is allowed
    expect(idx.entries).toBe(2);
    const err = expectCode(() => idx.maybeAppend(99, 20), ErrorCode.INVALID_ARGUMENT);
    expect(err.message).toContain('99');
    expectCode(() => idx.maybeAppend(200, 11), ErrorCode.INVALID_ARGUMENT);
    expect(idx.entries).toBe(2);
    idx.close();
  });

  it('refuses offsets whose relative offset does not fit an int32 and unsafe numbers', () => {
    const idx = new TimeIndex(timeIndexPath(1000), 1000, { maxIndexSize: 1200, writable: true });
    expectCode(() => idx.maybeAppend(5, 999), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.maybeAppend(5, 1000 + 2 ** 31), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.maybeAppend(2 ** 53, 1001), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.maybeAppend(5.5, 1001), ErrorCode.INVALID_ARGUMENT);
    expect(idx.entries).toBe(0);
    idx.maybeAppend(Number.MAX_SAFE_INTEGER, 1000 + 2 ** 31 - 1);
    expect(idx.lookup(Number.MAX_SAFE_INTEGER)).toEqual({ timestamp: Number.MAX_SAFE_INTEGER, offset: 1000 + 2 ** 31 - 1 });
    idx.close();
  });

  it('is full at maxEntries − 1, keeping the last slot for the roll entry', () => {
    const file = timeIndexPath(0);
    const idx = new TimeIndex(file, 0, { maxIndexSize: 40, writable: true });
    expect(idx.maxEntries).toBe(3);
    idx.maybeAppend(10, 1);
    expect(idx.isFull).toBe(false);
    idx.maybeAppend(20, 2);
    expect(idx.isFull).toBe(true);
    expectCode(() => idx.maybeAppend(30, 3), ErrorCode.INVALID_ARGUMENT);
    idx.maybeAppend(30, 3, true); // on roll
    expect(idx.entries).toBe(3);
    idx.maybeAppend(30, 3, true); // equal again: skipped, no error
    const err = expectCode(() => idx.maybeAppend(40, 4, true), ErrorCode.INVALID_ARGUMENT);
    expect(err.message).toContain('no slot left');
    expect(fs.statSync(file).size).toBe(36);
    idx.close();
  });
});

describe('truncateTo, reset, trim and resize', () => {
  function filled(file = timeIndexPath(100)): TimeIndex {
    const idx = new TimeIndex(file, 100, { maxIndexSize: 1200, writable: true });
    for (const [t, o] of [[T0, 105], [T0 + 10, 110], [T0 + 20, 110], [T0 + 30, 130]]) idx.maybeAppend(t, o);
    return idx;
  }

  it('drops every entry with offset ≥ the target, including repeated offsets', () => {
    const idx = filled();
    idx.truncateTo(131);
    expect(idx.entries).toBe(4);
    idx.truncateTo(110); // both entries at offset 110 go (Kafka could keep the first)
    expect(idx.entries).toBe(1);
    expect(idx.lastEntry()).toEqual({ timestamp: T0, offset: 105 });
    idx.maybeAppend(T0 + 5, 106); // appends continue from the new last entry
    idx.truncateTo(100);
    expect(idx.entries).toBe(0);
    expect(idx.lastEntry()).toEqual({ timestamp: -1, offset: 100 });
    idx.close();
  });

  it('truncation survives a reload without trim, and a trimmed file stays trimmed', () => {
    const file = timeIndexPath(100);
    const idx = filled(file);
    idx.truncateTo(130);
    idx.close();
    expect(fs.statSync(file).size).toBe(1200);
    const again = new TimeIndex(file, 100, { maxIndexSize: 1200, writable: false });
    expect(again.entries).toBe(3);
    again.trimToValidSize();
    expect(fs.statSync(file).size).toBe(36);
    again.truncateTo(106);
    expect(fs.statSync(file).size).toBe(12);
    again.close();
  });

  it('trims to entries × 12, resizes to roundDown(max, 12), resets to empty', () => {
    const file = timeIndexPath(100);
    const idx = filled(file);
    idx.trimToValidSize();
    expect(fs.statSync(file).size).toBe(48);
    idx.resize(1000);
    expect(fs.statSync(file).size).toBe(996);
    expect(idx.maxEntries).toBe(83);
    expectCode(() => idx.resize(47), ErrorCode.INVALID_ARGUMENT);
    idx.reset();
    expect(idx.entries).toBe(0);
    expect(fs.statSync(file).size).toBe(996);
    expect(fs.readFileSync(file).equals(Buffer.alloc(996))).toBe(true);
    idx.close();
  });
});

describe('loading', () => {
  it('strips the zero-filled tail of a preallocated file', () => {
    const file = timeIndexPath(100);
    fs.writeFileSync(file, Buffer.concat([entries([T0, 5], [T0 + 500, 130]), Buffer.alloc(1176)]));
    const idx = new TimeIndex(file, 100, { maxIndexSize: 1200, writable: true });
    expect(idx.entries).toBe(2);
    expect(idx.lastEntry()).toEqual({ timestamp: T0 + 500, offset: 230 });
    idx.maybeAppend(T0 + 600, 240);
    idx.close();
    expect(new TimeIndex(file, 100, { maxIndexSize: 1200, writable: false }).entries).toBe(3);
  });

  it('reads an all-zero preallocated file as empty, not as a segment with max timestamp 0', () => {
    const file = timeIndexPath(0);
    fs.writeFileSync(file, Buffer.alloc(1200));
    const idx = new TimeIndex(file, 0, { maxIndexSize: 1200, writable: false });
    expect(idx.entries).toBe(0);
    expect(idx.lastEntry()).toEqual({ timestamp: -1, offset: 0 });
  });

  it('keeps a zero entry 0 when real entries follow it', () => {
    const file = timeIndexPath(0);
    fs.writeFileSync(file, Buffer.concat([entries([0, 0], [7, 3]), Buffer.alloc(24)]));
    const idx = new TimeIndex(file, 0, { maxIndexSize: 1200, writable: false });
    expect(idx.entries).toBe(2);
    expect(idx.lookup(3)).toEqual({ timestamp: 0, offset: 0 });
  });

  it('refuses (CORRUPT_INDEX) a file with more valid entries than maxEntries', () => {
    const file = timeIndexPath(0);
    fs.writeFileSync(file, entries([1, 0], [2, 1], [3, 2]));
    expectCode(() => new TimeIndex(file, 0, { maxIndexSize: 24, writable: false }).lastEntry(), ErrorCode.CORRUPT_INDEX);
  });
});

describe('sanityCheck', () => {
  const load = (bytes: Buffer, base = 100) => {
    const file = timeIndexPath(base);
    fs.writeFileSync(file, bytes);
    return new TimeIndex(file, base, { maxIndexSize: 1200, writable: false });
  };

  it('rejects a length that is not a multiple of 12, naming the file', () => {
    const err = expectCode(() => load(Buffer.concat([entries([T0, 5]), Buffer.from([9])])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.file).toBe(timeIndexPath(100));
    expect(err.message).toContain('13');
  });

  it('rejects a last timestamp below the first, and any decrease in between', () => {
    expectCode(() => load(entries([T0, 5], [T0 - 1, 6])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    const err = expectCode(() => load(entries([T0, 5], [T0 + 9, 6], [T0 + 3, 7], [T0 + 10, 8])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.position).toBe(24);
    expectCode(() => load(entries([T0, 5], [T0, 6])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
  });

  it('rejects decreasing offsets and a last offset below the base', () => {
    expectCode(() => load(entries([T0, 5], [T0 + 1, 4])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    const err = expectCode(() => load(entries([T0, -2])).sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.message).toContain('below the base offset');
  });

  it('rejects timestamps beyond ±2^53 as corruption', () => {
    const b = entries([T0, 5], [T0 + 1, 6]);
    b.writeBigInt64BE(2n ** 62n, 12);
    expectCode(() => load(b).sanityCheck(), ErrorCode.CORRUPT_INDEX);
  });
});

describe('model test (seeded)', () => {
  type Op =
    | { t: 'append'; dTs: number; dOffset: number; skip: boolean }
    | { t: 'lookup'; d: number }
    | { t: 'truncate'; d: number }
    | { t: 'reopen'; trim: boolean; writable: boolean }
    | { t: 'reset' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('append' as const),
        dTs: fc.integer({ min: -2, max: 30 }),
        dOffset: fc.integer({ min: -2, max: 20 }),
        skip: fc.boolean(),
      }),
    },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('lookup' as const), d: fc.integer({ min: -5, max: 35 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('truncate' as const), d: fc.integer({ min: -5, max: 25 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const), trim: fc.boolean(), writable: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
  );

  it('agrees with an array model across maybeAppend, lookup, truncateTo, reset and reload', () => {
    let run = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(0, 100, 2 ** 40),
        fc.constantFrom(0, T0),
        fc.integer({ min: 12, max: 300 }),
        fc.array(op, { maxLength: 80 }),
        (base, epoch, maxIndexSize, ops) => {
          const file = path.join(dir, `${run++}.timeindex`);
          const maxEntries = Math.floor(maxIndexSize / 12);
          let idx = new TimeIndex(file, base, { maxIndexSize, writable: true });
          let model: TimestampOffset[] = [];
          const last = (): TimestampOffset => model.at(-1) ?? { timestamp: -1, offset: base };
          const lookup = (target: number): TimestampOffset => model.filter((e) => e.timestamp <= target).at(-1) ?? { timestamp: -1, offset: base };
          const dropLoneZero = () => {
            if (model.length === 1 && model[0].timestamp === 0 && model[0].offset === base) model = [];
          };
          for (const o of ops) {
            if (o.t === 'append') {
              const prev = last();
              const timestamp = model.length === 0 ? epoch + o.dTs - 1 : prev.timestamp + o.dTs;
              const offset = prev.offset + o.dOffset;
              const n = model.length;
              let outcome: 'throw' | 'skip' | 'append';
              if (!o.skip && n >= maxEntries - 1) outcome = 'throw';
              else if (n > 0 && (offset < prev.offset || timestamp < prev.timestamp)) outcome = 'throw';
              else if (timestamp <= prev.timestamp) outcome = 'skip';
              else if (n >= maxEntries || offset < base) outcome = 'throw';
              else outcome = 'append';
              if (outcome === 'throw') {
                expectCode(() => idx.maybeAppend(timestamp, offset, o.skip), ErrorCode.INVALID_ARGUMENT);
              } else {
                idx.maybeAppend(timestamp, offset, o.skip);
                if (outcome === 'append') model.push({ timestamp, offset });
              }
            } else if (o.t === 'lookup') {
              const target = last().timestamp + o.d - 20;
              expect(idx.lookup(target)).toEqual(lookup(target));
            } else if (o.t === 'truncate') {
              const at = last().offset + o.d - 15;
              idx.truncateTo(at);
              model = model.filter((e) => e.offset < at);
            } else if (o.t === 'reset') {
              idx.reset();
              model = [];
            } else {
              if (o.trim) idx.trimToValidSize();
              idx.close();
              if (o.trim) expect(fs.existsSync(file) ? fs.statSync(file).size : 0).toBe(model.length * 12);
              dropLoneZero(); // documented: a lone all-zero entry 0 reads back as empty
              idx = new TimeIndex(file, base, { maxIndexSize, writable: o.writable });
            }
            expect(idx.entries).toBe(model.length);
            expect(idx.lastEntry()).toEqual(last());
            expect(idx.isFull).toBe(model.length >= maxEntries - 1);
          }
          idx.sanityCheck();
          for (let i = 0; i < model.length; i++) expect(idx.entry(i)).toEqual(model[i]);
          idx.trimToValidSize();
          idx.close();
          dropLoneZero();
          const reloaded = new TimeIndex(file, base, { maxIndexSize, writable: false });
          expect(reloaded.entries).toBe(model.length);
          for (let d = -3; d <= 35; d += 2) expect(reloaded.lookup(last().timestamp + d - 20)).toEqual(lookup(last().timestamp + d - 20));
        },
      ),
      { seed: 0x71e1d3, numRuns: 300 },
    );
  });
});
