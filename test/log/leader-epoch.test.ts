/**
 * LeaderEpochCache: Kafka's LeaderEpochFileCache rules (cases after Kafka's own
 * LeaderEpochFileCacheTest), persistence through leader-epoch-checkpoint, the Kafka 2.7.1
 * fixtures, and a seeded property test against a filter-based model.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry } from '../../src/log/leader-epoch.js';
import { KAFKA_FIXTURES } from '../helpers/paths.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-epoch-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const E = (epoch: number, startOffset: number): EpochEntry => ({ epoch, startOffset });

function cacheWith(...entries: [number, number][]): LeaderEpochCache {
  const c = LeaderEpochCache.empty(dir);
  for (const [e, o] of entries) c.assign(e, o);
  return c;
}

function errorOf(fn: () => unknown): SeglogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return err as SeglogError;
  }
  throw new Error('expected a SeglogError');
}

describe('assign', () => {
  it('adds the first entry and answers for the latest epoch with the log end offset', () => {
    const c = LeaderEpochCache.empty(dir);
    expect(c.latestEpoch).toBeUndefined();
    expect(c.assign(2, 10)).toBe(true);
    expect(c.latestEpoch).toBe(2);
    expect(c.endOffsetFor(2, 11)).toEqual({ epoch: 2, endOffset: 11 });
  });

  it('the same epoch at a higher offset changes nothing (every later batch of the epoch)', () => {
    const c = cacheWith([2, 6]);
    expect(c.assign(2, 7)).toBe(false);
    expect(c.assign(2, 6)).toBe(false);
    expect(c.entries()).toEqual([E(2, 6)]);
  });

  it('the same epoch at a lower offset replaces the entry', () => {
    const c = cacheWith([5, 11]);
    expect(c.assign(5, 10)).toBe(true);
    expect(c.entries()).toEqual([E(5, 10)]);
  });

  it('a higher epoch at a lower or equal offset removes the conflicting entries', () => {
    const c = cacheWith([2, 6]);
    expect(c.assign(3, 5)).toBe(true);
    expect(c.entries()).toEqual([E(3, 5)]);
    const d = cacheWith([1, 0], [2, 6]);
    expect(d.assign(3, 6)).toBe(true);
    expect(d.entries()).toEqual([E(1, 0), E(3, 6)]);
  });

  it('a lower epoch removes every entry with a higher or equal epoch', () => {
    const c = cacheWith([1, 0], [3, 10], [4, 20]);
    expect(c.assign(2, 30)).toBe(true);
    expect(c.entries()).toEqual([E(1, 0), E(2, 30)]);
  });

  it('rejects negative, non-int32 and non-integer values', () => {
    const c = LeaderEpochCache.empty(dir);
    expect(errorOf(() => c.assign(-1, 0)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => c.assign(2 ** 31, 0)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => c.assign(1.5, 0)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => c.assign(0, -1)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => c.assign(0, 0.5)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => c.assign(0, 2 ** 53)).code).toBe(ErrorCode.VALUE_OUT_OF_RANGE);
    expect(c.entries()).toEqual([]);
    expect(c.dirty).toBe(false);
  });
});

describe('endOffsetFor (OffsetsForLeaderEpoch)', () => {
  it('undefined epoch → (-1, -1)', () => {
    expect(cacheWith([0, 0]).endOffsetFor(UNDEFINED_EPOCH, 5)).toEqual({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
  });

  it('an empty cache knows nothing', () => {
    expect(LeaderEpochCache.empty(dir).endOffsetFor(0, 5)).toEqual({ epoch: -1, endOffset: -1 });
  });

  it('an epoch between known ones → the previous known epoch, ended by the next start', () => {
    const c = cacheWith([0, 10], [2, 13], [4, 17]);
    expect(c.endOffsetFor(0, 100)).toEqual({ epoch: 0, endOffset: 13 });
    expect(c.endOffsetFor(1, 100)).toEqual({ epoch: 0, endOffset: 13 });
    expect(c.endOffsetFor(2, 100)).toEqual({ epoch: 2, endOffset: 17 });
    expect(c.endOffsetFor(3, 100)).toEqual({ epoch: 2, endOffset: 17 });
    expect(c.endOffsetFor(4, 100)).toEqual({ epoch: 4, endOffset: 100 });
  });

  it('an epoch below every known one → itself, ended by the first start', () => {
    expect(cacheWith([5, 11]).endOffsetFor(4, 20)).toEqual({ epoch: 4, endOffset: 11 });
  });

  it('an epoch above every known one → (-1, -1)', () => {
    expect(cacheWith([2, 100]).endOffsetFor(3, 200)).toEqual({ epoch: -1, endOffset: -1 });
  });
});

describe('truncation', () => {
  const base = () => cacheWith([2, 6], [3, 8], [4, 11]);

  it('truncateFromEnd removes entries starting at or after the new end', () => {
    let c = base();
    expect(c.truncateFromEnd(9)).toEqual([E(4, 11)]);
    expect(c.entries()).toEqual([E(2, 6), E(3, 8)]);
    c = base();
    c.truncateFromEnd(8);
    expect(c.entries()).toEqual([E(2, 6)]);
    c = base();
    c.truncateFromEnd(0);
    expect(c.entries()).toEqual([]);
  });

  it('truncateFromEnd past the last start, or with a negative offset, changes nothing', () => {
    const c = base();
    c.flush();
    expect(c.truncateFromEnd(12)).toEqual([]);
    expect(c.truncateFromEnd(-1)).toEqual([]);
    expect(c.entries()).toHaveLength(3);
    expect(c.dirty).toBe(false);
  });

  it('truncateFromStart keeps the straddling epoch, moved up to the new start', () => {
    let c = base();
    c.truncateFromStart(7);
    expect(c.entries()).toEqual([E(2, 7), E(3, 8), E(4, 11)]);
    c = base();
    c.truncateFromStart(9);
    expect(c.entries()).toEqual([E(3, 9), E(4, 11)]);
    c = base();
    expect(c.truncateFromStart(12)).toEqual([E(2, 6), E(3, 8), E(4, 11)]);
    expect(c.entries()).toEqual([E(4, 12)]);
  });

  it('truncateFromStart exactly at an entry keeps that entry (Kafka: "exclusive")', () => {
    const c = base();
    c.truncateFromStart(8);
    expect(c.entries()).toEqual([E(3, 8), E(4, 11)]);
  });

  it('truncateFromStart before the first entry, or exactly at it, changes nothing', () => {
    const c = base();
    c.flush();
    expect(c.truncateFromStart(5)).toEqual([]);
    c.truncateFromStart(6);
    expect(c.entries()).toEqual([E(2, 6), E(3, 8), E(4, 11)]);
    expect(c.dirty).toBe(false);
  });

  it('epochForOffset', () => {
    const c = base();
    expect(c.epochForOffset(5)).toBeUndefined();
    expect(c.epochForOffset(6)).toBe(2);
    expect(c.epochForOffset(10)).toBe(3);
    expect(c.epochForOffset(1000)).toBe(4);
  });
});

describe('persistence', () => {
  const file = () => path.join(dir, 'leader-epoch-checkpoint');

  it('flush writes Kafka’s bytes, and only when something changed', () => {
    const c = cacheWith([0, 0], [3, 1200]);
    expect(c.dirty).toBe(true);
    expect(c.flush()).toBe(true);
    expect(fs.readFileSync(file(), 'utf8')).toBe('0\n2\n0 0\n3 1200\n');
    // Overwrite the file: a flush that wrote anyway would restore it.
    fs.writeFileSync(file(), 'sentinel');
    expect(c.assign(3, 1300)).toBe(false);
    expect(c.flush()).toBe(false);
    expect(fs.readFileSync(file(), 'utf8')).toBe('sentinel');
    c.truncateFromEnd(1200);
    expect(c.flush()).toBe(true);
    expect(fs.readFileSync(file(), 'utf8')).toBe('0\n1\n0 0\n');
    c.clear();
    expect(c.flush()).toBe(true);
    expect(fs.readFileSync(file(), 'utf8')).toBe('0\n0\n');
  });

  it('load reads back what flush wrote, clean', () => {
    const c = cacheWith([1, 5], [4, 50], [7, 500]);
    c.flush();
    const d = LeaderEpochCache.load(dir);
    expect(d.entries()).toEqual(c.entries());
    expect(d.dirty).toBe(false);
    expect(d.file).toBe(file());
  });

  it('load of a directory without a checkpoint is empty; empty() writes nothing until flushed', () => {
    const c = LeaderEpochCache.load(dir);
    expect(c.entries()).toEqual([]);
    expect(c.flush()).toBe(false);
    expect(fs.existsSync(file())).toBe(false);
  });

  it('load assigns each stored entry, so a non-monotonic file loads as Kafka would build it, dirty', () => {
    fs.writeFileSync(file(), '0\n3\n1 10\n2 5\n3 20\n');
    const c = LeaderEpochCache.load(dir);
    expect(c.entries()).toEqual([E(2, 5), E(3, 20)]);
    expect(c.dirty).toBe(true);
    c.flush();
    expect(fs.readFileSync(file(), 'utf8')).toBe('0\n2\n2 5\n3 20\n');
  });

  it('load rejects a negative epoch or offset in the file', () => {
    fs.writeFileSync(file(), '0\n1\n-1 0\n');
    expect(errorOf(() => LeaderEpochCache.load(dir)).code).toBe(ErrorCode.CORRUPT_CHECKPOINT);
    fs.writeFileSync(file(), '0\n1\n1 -5\n');
    expect(errorOf(() => LeaderEpochCache.load(dir)).message).toContain('malformed checkpoint');
  });

  it('a .tmp left by a crashed flush is ignored by load', () => {
    cacheWith([0, 0]).flush();
    fs.writeFileSync(`${file()}.tmp`, '0\n2\n0 0\n5 ');
    expect(LeaderEpochCache.load(dir).entries()).toEqual([E(0, 0)]);
  });

  it.each([
    ['myTopic-0', 38],
    ['test_topic-0', 12],
    ['test_topic_0603-0', 9],
    ['__consumer_offsets-8', 0],
  ])('Kafka 2.7.1 fixture %s loads as epoch 0 from offset %i', (partition, start) => {
    const c = LeaderEpochCache.load(path.join(KAFKA_FIXTURES, partition));
    expect(c.entries()).toEqual([E(0, start)]);
    expect(c.dirty).toBe(false);
    expect(c.endOffsetFor(0, start)).toEqual({ epoch: 0, endOffset: start });
  });
});

/** The rules restated without the cache's in-place loops: filters over the whole list. */
class Model {
  entries: EpochEntry[] = [];
  assign(epoch: number, start: number): boolean {
    const last = this.entries.at(-1);
    if (last && last.epoch === epoch && start >= last.startOffset) return false;
    this.entries = [...this.entries.filter((x) => x.epoch < epoch && x.startOffset < start), E(epoch, start)];
    return true;
  }
  truncateFromEnd(end: number): void {
    if (end >= 0) this.entries = this.entries.filter((x) => x.startOffset < end);
  }
  truncateFromStart(start: number): void {
    const before = this.entries.filter((x) => x.startOffset <= start);
    if (before.length === 0) return;
    this.entries = [E(before.at(-1)!.epoch, start), ...this.entries.filter((x) => x.startOffset > start)];
  }
  endOffsetFor(epoch: number, leo: number): { epoch: number; endOffset: number } {
    if (epoch === -1) return { epoch: -1, endOffset: -1 };
    if (this.entries.at(-1)?.epoch === epoch) return { epoch, endOffset: leo };
    const next = this.entries.find((x) => x.epoch > epoch);
    if (!next) return { epoch: -1, endOffset: -1 };
    const floor = this.entries.filter((x) => x.epoch <= epoch).at(-1);
    return { epoch: floor ? floor.epoch : epoch, endOffset: next.startOffset };
  }
}

describe('property: the cache matches the model (seeded)', () => {
  it('after any sequence of assign / truncate, and through flush + load', () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('assign' as const), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 60 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('end' as const), fc.integer({ min: -1, max: 60 }), fc.constant(0)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('start' as const), fc.integer({ min: 0, max: 60 }), fc.constant(0)) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: -1, max: 14 }), (ops, asked) => {
        fs.rmSync(path.join(dir, 'leader-epoch-checkpoint'), { force: true });
        const cache = LeaderEpochCache.empty(dir);
        const model = new Model();
        for (const [kind, a, b] of ops) {
          if (kind === 'assign') expect(cache.assign(a, b)).toBe(model.assign(a, b));
          else if (kind === 'end') {
            cache.truncateFromEnd(a);
            model.truncateFromEnd(a);
          } else {
            cache.truncateFromStart(a);
            model.truncateFromStart(a);
          }
          expect(cache.entries()).toEqual(model.entries);
        }
        expect(cache.endOffsetFor(asked, 99)).toEqual(model.endOffsetFor(asked, 99));
        cache.flush();
        const loaded = LeaderEpochCache.load(dir);
        expect(loaded.entries()).toEqual(model.entries);
        expect(loaded.dirty).toBe(false);
      }),
      { seed: 42_2024, numRuns: 200 },
    );
  });
});
