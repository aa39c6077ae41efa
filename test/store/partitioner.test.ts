/**
 * Kafka's default partitioner, bit for bit: murmur2 vectors (format notes §10.3), toPositive,
 * Java's String.hashCode and Utils.abs (the group → __consumer_offsets partition mapping), and
 * EventStore.append's placement of keyed, null-keyed and explicitly partitioned records.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { offsetsPartitionFor } from '../../src/store/offsets.js';
import { DefaultPartitioner, javaAbs, javaStringHashCode, murmur2, partitionForKey, toPositive } from '../../src/store/partitioner.js';
import { EventStore } from '../../src/store/store.js';
import { prng } from '../helpers/prng.js';

/** §10.3: key, murmur2, toPositive, %3, %12. */
const VECTORS: [string, number, number, number, number][] = [
  ['21', -973932308, 1173551340, 0, 0],
  ['foobar', -790332482, 1357151166, 0, 6],
  ['a-little-bit-long-string', -985981536, 1161502112, 2, 8],
  ['a-little-bit-longer-string', -1486304829, 661178819, 2, 11],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, 2088585677, 2, 5],
  ['kafka', -798503068, 1348980580, 1, 4],
  ['', 275646681, 275646681, 0, 9],
  ['key-1', 193331640, 193331640, 0, 0],
];

describe('murmur2 and the keyed partition', () => {
  it.each(VECTORS)('%j matches Kafka', (key, hash, positive, mod3, mod12) => {
    const bytes = Buffer.from(key, 'utf8');
    expect(murmur2(bytes)).toBe(hash);
    expect(toPositive(murmur2(bytes))).toBe(positive);
    expect(partitionForKey(bytes, 3)).toBe(mod3);
    expect(partitionForKey(bytes, 12)).toBe(mod12);
  });

  it('reads bytes as unsigned and handles every tail length', () => {
    // Reference values from a direct transcription of Utils.murmur2 with Java int semantics.
    const ref = (data: Uint8Array): number => {
      const m = 0x5bd1e995n;
      const toInt = (v: bigint) => BigInt.asIntN(32, v);
      let h = toInt(BigInt(0x9747b28c ^ data.length));
      const mul = (a: bigint, b: bigint) => toInt(a * b);
      const ushr = (a: bigint, n: bigint) => BigInt.asIntN(32, BigInt.asUintN(32, a) >> n);
      const n4 = Math.floor(data.length / 4);
      for (let i = 0; i < n4; i++) {
        let k = toInt(BigInt(data[i * 4] | (data[i * 4 + 1] << 8) | (data[i * 4 + 2] << 16) | (data[i * 4 + 3] << 24)));
        k = mul(k, m);
        k = toInt(k ^ ushr(k, 24n));
        k = mul(k, m);
        h = mul(h, m);
        h = toInt(h ^ k);
      }
      const t = data.length & ~3;
      const rest = data.length % 4;
      if (rest >= 3) h = toInt(h ^ BigInt(data[t + 2] << 16));
      if (rest >= 2) h = toInt(h ^ BigInt(data[t + 1] << 8));
      if (rest >= 1) h = mul(toInt(h ^ BigInt(data[t])), m);
      h = toInt(h ^ ushr(h, 13n));
      h = mul(h, m);
      h = toInt(h ^ ushr(h, 15n));
      return Number(h);
    };
    const rng = prng(7);
    for (let len = 0; len < 40; len++) {
      const bytes = Uint8Array.from({ length: len }, () => Math.floor(rng() * 256));
      expect(murmur2(bytes), `length ${len}`).toBe(ref(bytes));
    }
  });

  it('toPositive clears the sign bit (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-0x80000000)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });
});

describe("Java's String.hashCode and the group's offsets partition", () => {
  it('matches Java for known strings', () => {
    // Values of "…".hashCode() in Java.
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('a')).toBe(97);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('polygenelubricants')).toBe(-0x80000000);
    expect(javaStringHashCode('Aa')).toBe(javaStringHashCode('BB'));
    expect(javaStringHashCode('Hello World')).toBe(-862545276);
    // UTF-16 code units, as Java's char: a surrogate pair counts as two.
    expect(javaStringHashCode('\u{1F600}')).toBe(0xd83d * 31 + 0xde00);
  });

  it('places groups as Kafka 2.7.1 did in the fixture (abs, with MIN_VALUE → 0)', () => {
    // The broker wrote each group's records to these partitions of __consumer_offsets.
    expect(offsetsPartitionFor('console-consumer-65070', 50)).toBe(39);
    expect(offsetsPartitionFor('console-consumer-10731', 50)).toBe(33);
    expect(offsetsPartitionFor('console-consumer-55231', 50)).toBe(17);
    expect(offsetsPartitionFor('console-consumer-70596', 50)).toBe(28);
    expect(javaAbs(-0x80000000)).toBe(0);
    expect(offsetsPartitionFor('polygenelubricants', 50)).toBe(0);
    // Utils.abs, not toPositive: they differ for negative hash codes.
    expect(offsetsPartitionFor('Hello World', 50)).toBe(862545276 % 50);
    expect(toPositive(javaStringHashCode('Hello World')) % 50).not.toBe(862545276 % 50);
  });
});

describe('DefaultPartitioner', () => {
  it('explicit partition wins; out of range is INVALID_ARGUMENT', () => {
    const p = new DefaultPartitioner(() => 0);
    expect(p.partition({ key: 'kafka', partition: 2 }, 3, () => 0)).toBe(2);
    for (const partition of [3, -1, 1.5]) {
      expect(() => p.partition({ partition }, 3, () => 0)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }) as SeglogError);
    }
  });

  it('null keys stick to one partition per batch and move round-robin between batches', () => {
    const p = new DefaultPartitioner(() => 0.5);
    expect([0, 1, 2, 3, 4].map(() => p.nextStickyPartition('t', 4))).toEqual([2, 3, 0, 1, 2]);
    expect(p.nextStickyPartition('other', 3)).toBe(1);
  });
});

describe('EventStore.append partitioning', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('keyed records land where the Java client puts them; one batch per partition touched', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-part-'));
    dirs.push(dir);
    const store = await EventStore.open(dir, { maintenanceIntervalMs: 0, random: () => 0 });
    try {
      await store.createTopic('t12', { partitions: 12 });
      const result = await store.append('t12', VECTORS.map(([key]) => ({ key, value: key })));
      // In order of each partition's first record.
      expect(result.map((r) => r.partition)).toEqual([0, 6, 8, 11, 5, 4, 9]);
      for (const [key, , , , mod12] of VECTORS) {
        const records = await store.read('t12', mod12, 0);
        expect(records.map((r) => r.key!.toString())).toContain(key);
      }
      // '21' and 'key-1' share partition 0, in input order, in one batch.
      expect((await store.read('t12', 0, 0)).map((r) => [r.offset, r.key!.toString()])).toEqual([
        [0, '21'],
        [1, 'key-1'],
      ]);
      expect(store.manager.log('t12', 0).numberOfSegments).toBe(1);
      let batches = 0;
      for (const _ of store.manager.log('t12', 0).batches()) batches++;
      expect(batches).toBe(1);

      // Null keys: one sticky partition per call, the next call the next partition.
      await store.createTopic('n', { partitions: 3 });
      const a = await store.append('n', [{ value: '1' }, { value: '2' }, { key: null, value: '3' }]);
      const b = await store.append('n', [{ value: '4' }]);
      const c = await store.append('n', [{ value: '5' }, { value: '6', partition: 0 }]);
      expect(a).toEqual([{ partition: 0, firstOffset: 0, lastOffset: 2 }]);
      expect(b).toEqual([{ partition: 1, firstOffset: 0, lastOffset: 0 }]);
      expect(c).toEqual([
        { partition: 2, firstOffset: 0, lastOffset: 0 },
        { partition: 0, firstOffset: 3, lastOffset: 3 },
      ]);
      await expect(store.append('n', [{ value: 'x', partition: 3 }])).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
      await expect(store.append('missing', [{ value: 'x' }])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC });
      expect(await store.append('n', [])).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
