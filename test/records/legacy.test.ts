/**
 * Legacy (magic 0/1) message decoding: the §10.6 vectors, the kafkalite fixtures (real
 * pre-0.10 Kafka logs with their golden outputs), Kafka's wrapper rules, the decompression
 * bound, and a seeded fuzz test that only SeglogErrors come out of hostile bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { gzip, lz4, snappy } from '../../src/records/compression/index.js';
import { LegacyBatch } from '../../src/records/legacy.js';
import type { LogRecord } from '../../src/records/types.js';
import { BatchWalker } from '../../src/records/walker.js';
import { hex } from '../helpers/paths.js';

const KAFKALITE = path.resolve(import.meta.dirname, '../../../shared/fixtures/kafkalite-legacy/tests/test-data');

/** The segment of one kafkalite topic-partition, read in place. */
function fixtureLog(name: string): Buffer {
  return fs.readFileSync(path.join(KAFKALITE, 'fs-data', name, '00000000000000000000.log'));
}

/** A golden file: lines `N: "json string"` as [N, string] pairs. */
function golden(name: string): [number, string][] {
  const lines = fs.readFileSync(path.join(KAFKALITE, 'golden', name), 'utf8').split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    const m = /^(\d+): (".*")$/.exec(line);
    if (m === null) throw new Error(`unexpected golden line ${JSON.stringify(line)}`);
    return [Number(m[1]), JSON.parse(m[2]) as string];
  });
}

/** Every legacy message of a segment, via the walker. */
function legacyMessages(buf: Buffer): LegacyBatch[] {
  const walker = new BatchWalker(buf);
  const out: LegacyBatch[] = [];
  for (const { batch } of walker) {
    if (!(batch instanceof LegacyBatch)) throw new Error(`magic ${batch.magic} in a legacy fixture`);
    out.push(batch);
  }
  expect(walker.remainingBytes).toBe(0);
  return out;
}

interface MessageSpec {
  magic: 0 | 1;
  offset?: number;
  /** The whole attributes byte (codec, timestamp type). */
  attributes?: number;
  timestamp?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
}

function sized(bytes: Buffer | string | null | undefined): Buffer {
  if (bytes === null || bytes === undefined) return hex('ffffffff');
  const b = Buffer.from(bytes);
  const length = Buffer.alloc(4);
  length.writeInt32BE(b.length);
  return Buffer.concat([length, b]);
}

/** Encodes one legacy message (offset | size | crc | magic | attributes | [ts] | key | value). */
function message(spec: MessageSpec): Buffer {
  const fixed = Buffer.alloc(spec.magic === 0 ? 2 : 10);
  fixed.writeInt8(spec.magic, 0);
  fixed.writeUInt8(spec.attributes ?? 0, 1);
  if (spec.magic === 1) fixed.writeBigInt64BE(BigInt(spec.timestamp ?? 0), 2);
  const body = Buffer.concat([fixed, sized(spec.key), sized(spec.value)]);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(BigInt(spec.offset ?? 0), 0);
  head.writeInt32BE(body.length + 4, 8);
  head.writeUInt32BE(zlib.crc32(body) >>> 0, 12);
  return Buffer.concat([head, body]);
}

type Codec = 'gzip' | 'snappy' | 'lz4';
const CODEC_ID: Record<Codec, number> = { gzip: 1, snappy: 2, lz4: 3 };

/** Compresses an inner set; magic-0 LZ4 gets Kafka's broken header checksum (§2.4). */
function compress(codec: Codec, set: Buffer, magic: 0 | 1): Buffer {
  if (codec === 'gzip') return gzip.compressSync(set);
  if (codec === 'snappy') return snappy.compressSync(set);
  const frame = Buffer.from(lz4.compressSync(set));
  expect(frame.subarray(4, 7)).toEqual(hex('60 40 82')); // the descriptor Kafka writes
  if (magic === 0) frame[6] = 0x1a; // xxh32 over magic + FLG + BD, as KAFKA-3160
  return frame;
}

interface WrapperSpec {
  magic: 0 | 1;
  codec: Codec;
  offset: number;
  timestamp?: number;
  logAppendTime?: boolean;
  inner: Buffer[];
}

/** A compressed wrapper around inner messages (their offsets as given). */
function wrapper(spec: WrapperSpec): Buffer {
  return message({
    magic: spec.magic,
    offset: spec.offset,
    attributes: CODEC_ID[spec.codec] | (spec.logAppendTime ? 0x08 : 0),
    timestamp: spec.timestamp,
    key: null,
    value: compress(spec.codec, Buffer.concat(spec.inner), spec.magic),
  });
}

/** Three inner messages with offsets `offsets`, values "a", "b", "c", timestamps 100, 101, 102. */
function threeInner(magic: 0 | 1, offsets: number[]): Buffer[] {
  return ['a', 'b', 'c'].map((v, i) => message({ magic, offset: offsets[i], timestamp: 100 + i, key: `k${v}`, value: v }));
}

function summary(records: Iterable<LogRecord>): [number, number, string | null, string | null][] {
  return [...records].map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null]);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SeglogError) return err.code;
    throw err;
  }
  throw new Error('expected a SeglogError');
}

const V0_VECTOR = hex('00 00 00 00 00 00 00 00 | 00 00 00 16 | 23 56 c1 37 | 00 | 00 | 00 00 00 03 6b 65 79 | 00 00 00 05 76 61 6c 75 65');
const V1_VECTOR = hex(
  '00 00 00 00 00 00 00 00 | 00 00 00 1e | 6a d0 5d b8 | 01 | 00 | 00 00 01 8b cf e5 68 00 | 00 00 00 03 6b 65 79 | 00 00 00 05 76 61 6c 75 65',
);

describe('LegacyBatch: §10.6 vectors', () => {
  it('reads the v0 vector (CRC 0x2356C137, no timestamp)', () => {
    const b = LegacyBatch.at(V0_VECTOR);
    expect(b.sizeInBytes).toBe(34);
    expect([b.magic, b.offset, b.crc, b.computeCrc(), b.isValid()]).toEqual([0, 0, 0x2356c137, 0x2356c137, true]);
    expect([b.compressionId, b.compression, b.isCompressed]).toEqual([0, 'none', false]);
    expect([b.timestamp, b.timestampType]).toEqual([-1, null]);
    expect([b.key?.toString(), b.value?.toString()]).toEqual(['key', 'value']);
    expect(b.toArray()).toEqual([{ offset: 0, timestamp: -1, key: Buffer.from('key'), value: Buffer.from('value'), headers: [] }]);
  });

  it('reads the v1 vector (CreateTime 1700000000000)', () => {
    const b = LegacyBatch.at(V1_VECTOR);
    expect(b.sizeInBytes).toBe(42);
    expect([b.magic, b.crc, b.isValid()]).toEqual([1, 0x6ad05db8, true]);
    expect([b.timestamp, b.timestampType, b.compression]).toEqual([1700000000000, 'CreateTime', 'none']);
    expect(summary(b.records())).toEqual([[0, 1700000000000, 'key', 'value']]);
  });

  it("the tests' encoder reproduces both vectors byte for byte", () => {
    expect(message({ magic: 0, key: 'key', value: 'value' })).toEqual(V0_VECTOR);
    expect(message({ magic: 1, timestamp: 1700000000000, key: 'key', value: 'value' })).toEqual(V1_VECTOR);
  });

  it('detects a CRC mismatch with isValid() but still decodes (the caller decides)', () => {
    for (const vector of [V0_VECTOR, V1_VECTOR]) {
      const damaged = Buffer.from(vector);
      damaged[damaged.length - 1] ^= 0x01;
      const b = LegacyBatch.at(damaged);
      expect(b.isValid()).toBe(false);
      expect(b.value?.toString()).toBe('valud');
      const badCrc = Buffer.from(vector);
      badCrc[12] ^= 0x80;
      expect(LegacyBatch.at(badCrc).isValid()).toBe(false);
    }
  });

  it('reads null keys and values (length −1) and an empty value', () => {
    expect(summary(LegacyBatch.at(message({ magic: 0, key: null, value: null })).records())).toEqual([[0, -1, null, null]]);
    const b = LegacyBatch.at(message({ magic: 1, offset: 9, timestamp: 5, key: null, value: '' }));
    expect([b.key, b.value]).toEqual([null, Buffer.alloc(0)]);
  });

  it('reads LogAppendTime from a v1 attribute and ignores bit 3 in v0', () => {
    expect(LegacyBatch.at(message({ magic: 1, attributes: 0x08, timestamp: 7 })).timestampType).toBe('LogAppendTime');
    expect(LegacyBatch.at(message({ magic: 0, attributes: 0x08 })).timestampType).toBeNull();
  });
});

describe('LegacyBatch: kafkalite fixtures (pre-0.10 Kafka logs, magic 0)', () => {
  it('numbers-0: 11394 uncompressed messages equal to the golden file', () => {
    const messages = legacyMessages(fixtureLog('numbers-0'));
    const expected = golden('numbers-0');
    expect(messages.length).toBe(11394);
    expect(messages.every((m) => m.magic === 0 && !m.isCompressed && m.isValid())).toBe(true);
    const records = messages.flatMap((m) => m.toArray());
    expect(records.length).toBe(11394);
    expect(records.map((r) => [r.offset, r.value?.toString('utf8')])).toEqual(expected);
    expect(records.every((r) => r.key === null && r.timestamp === -1 && r.headers.length === 0)).toBe(true);
  });

  for (const [name, codec] of [['hamlet-gzip-0', 'gzip'], ['hamlet-snappy-0', 'snappy']] as const) {
    it(`${name}: 22 ${codec} wrappers holding 5382 messages equal to golden/hamlet-gzip-0`, () => {
      const wrappers = legacyMessages(fixtureLog(name));
      expect(wrappers.length).toBe(22);
      expect(wrappers.every((w) => w.magic === 0 && w.compression === codec && w.key === null && w.isValid())).toBe(true);
      const records = wrappers.flatMap((w) => {
        const inner = w.toArray();
        expect(inner[inner.length - 1].offset).toBe(w.offset); // the wrapper carries the last inner offset
        return inner;
      });
      expect(records.length).toBe(5382);
      expect(records.map((r) => [r.offset, r.value?.toString('utf8')])).toEqual(golden('hamlet-gzip-0'));
    });
  }
});

describe('LegacyBatch: compressed wrappers', () => {
  const CODECS: Codec[] = ['gzip', 'snappy', 'lz4'];

  for (const codec of CODECS) {
    it(`${codec} v1: relative inner offsets become wrapperOffset − lastInner + inner`, () => {
      const w = LegacyBatch.at(wrapper({ magic: 1, codec, offset: 10, timestamp: 102, inner: threeInner(1, [0, 1, 2]) }));
      expect(w.compression).toBe(codec);
      expect(summary(w.records())).toEqual([
        [8, 100, 'ka', 'a'],
        [9, 101, 'kb', 'b'],
        [10, 102, 'kc', 'c'],
      ]);
    });

    it(`${codec} v0: inner offsets are absolute, whatever the wrapper says`, () => {
      const w = LegacyBatch.at(wrapper({ magic: 0, codec, offset: 7, inner: threeInner(0, [5, 6, 7]) }));
      expect(summary(w.records())).toEqual([
        [5, -1, 'ka', 'a'],
        [6, -1, 'kb', 'b'],
        [7, -1, 'kc', 'c'],
      ]);
    });
  }

  it('v1 wrapper offset 0 (some librdkafka versions) keeps the relative offsets', () => {
    const w = LegacyBatch.at(wrapper({ magic: 1, codec: 'gzip', offset: 0, inner: threeInner(1, [0, 1, 2]) }));
    expect(summary(w.records()).map((r) => r[0])).toEqual([0, 1, 2]);
  });

  it('v1 wrapper offset below the last inner offset (and not 0) is CORRUPT_RECORD', () => {
    const w = LegacyBatch.at(wrapper({ magic: 1, codec: 'snappy', offset: 1, inner: threeInner(1, [0, 1, 2]) }));
    expect(codeOf(() => w.records())).toBe(ErrorCode.CORRUPT_RECORD);
  });

  it('v1 LogAppendTime wrappers give inner messages the wrapper timestamp; CreateTime keeps theirs', () => {
    const inner = threeInner(1, [0, 1, 2]);
    const append = LegacyBatch.at(wrapper({ magic: 1, codec: 'lz4', offset: 2, timestamp: 999, logAppendTime: true, inner }));
    expect(append.timestampType).toBe('LogAppendTime');
    expect(summary(append.records()).map((r) => r[1])).toEqual([999, 999, 999]);
    const create = LegacyBatch.at(wrapper({ magic: 1, codec: 'lz4', offset: 2, timestamp: 999, inner }));
    expect(summary(create.records()).map((r) => r[1])).toEqual([100, 101, 102]);
  });

  it('mixed inner magics: a v0 inner message has no timestamp even under LogAppendTime', () => {
    const inner = [message({ magic: 0, offset: 0, value: 'x' }), message({ magic: 1, offset: 1, timestamp: 5, value: 'y' })];
    const w = LegacyBatch.at(wrapper({ magic: 1, codec: 'gzip', offset: 41, timestamp: 50, logAppendTime: true, inner }));
    expect(summary(w.records())).toEqual([
      [40, -1, null, 'x'],
      [41, 50, null, 'y'],
    ]);
  });

  it('magic-0 LZ4 with the broken header checksum decodes; in magic 1 it is CORRUPT_COMPRESSION', () => {
    const set = Buffer.concat(threeInner(1, [0, 1, 2]));
    const broken = compress('lz4', set, 0);
    expect(broken[6]).toBe(0x1a);
    const v0 = LegacyBatch.at(message({ magic: 0, offset: 2, attributes: 3, key: null, value: broken }));
    expect(summary(v0.records()).map((r) => r[3])).toEqual(['a', 'b', 'c']);
    const v1 = LegacyBatch.at(message({ magic: 1, offset: 2, attributes: 3, key: null, value: broken }));
    expect(codeOf(() => v1.records())).toBe(ErrorCode.CORRUPT_COMPRESSION);
  });

  it('decodes a v1 gzip message set written by kafkajs (Produce v2 encoder, wrapper offset 0)', async () => {
    const require = createRequire(import.meta.url);
    const MessageSet = require('kafkajs/src/protocol/messageSet') as (o: object) => { buffer: Buffer };
    const { Types, lookupCodec } = require('kafkajs/src/protocol/message/compression') as {
      Types: { GZIP: number };
      lookupCodec: (t: number) => { compress(e: unknown): Promise<Buffer> };
    };
    const entries = [{ key: 'k1', value: 'one', timestamp: 11 }, { key: null, value: 'two', timestamp: 12 }];
    const inner = MessageSet({ messageVersion: 1, compression: Types.GZIP, entries });
    const value = await lookupCodec(Types.GZIP).compress(inner);
    const bytes = MessageSet({ messageVersion: 1, entries: [{ compression: Types.GZIP, timestamp: 12, value }] }).buffer;
    const [w] = legacyMessages(bytes);
    expect([w.offset, w.magic, w.compression, w.isValid()]).toEqual([0, 1, 'gzip', true]);
    expect(summary(w.records())).toEqual([
      [0, 11, 'k1', 'one'],
      [1, 12, null, 'two'],
    ]);
  });
});

describe('LegacyBatch: Kafka rules for bad wrappers', () => {
  it('a compressed inner message is CORRUPT_RECORD when reached, after the ones before it', () => {
    const nested = wrapper({ magic: 1, codec: 'gzip', offset: 0, inner: [message({ magic: 1, value: 'deep' })] });
    nested.writeBigInt64BE(1n, 0); // its offset within the outer set
    const w = LegacyBatch.at(wrapper({ magic: 1, codec: 'snappy', offset: 1, inner: [message({ magic: 1, value: 'ok' }), nested] }));
    const it = w.records();
    expect(it.next().value?.value?.toString()).toBe('ok');
    expect(codeOf(() => it.next())).toBe(ErrorCode.CORRUPT_RECORD);
  });

  it('an empty inner set, or a null wrapper value, is CORRUPT_RECORD', () => {
    const empty = LegacyBatch.at(message({ magic: 0, attributes: 1, key: null, value: gzip.compressSync(Buffer.alloc(0)) }));
    expect(codeOf(() => empty.records())).toBe(ErrorCode.CORRUPT_RECORD);
    const nullValue = LegacyBatch.at(message({ magic: 1, attributes: 2, key: null, value: null }));
    expect(codeOf(() => nullValue.records())).toBe(ErrorCode.CORRUPT_RECORD);
  });

  it('an inner size below 14 is CORRUPT_RECORD; a partial last inner entry ends the set (as Kafka)', () => {
    const good = threeInner(0, [0, 1, 2]);
    const small = Buffer.concat([good[0], hex('00 00 00 00 00 00 00 01 | 00 00 00 0d'), Buffer.alloc(13)]);
    const w = LegacyBatch.at(message({ magic: 0, offset: 1, attributes: 1, key: null, value: gzip.compressSync(small) }));
    expect(codeOf(() => w.records())).toBe(ErrorCode.CORRUPT_RECORD);
    const partial = Buffer.concat([good[0], good[1], good[2].subarray(0, good[2].length - 1)]);
    const p = LegacyBatch.at(message({ magic: 0, offset: 1, attributes: 1, key: null, value: gzip.compressSync(partial) }));
    expect(summary(p.records()).map((r) => r[3])).toEqual(['a', 'b']);
  });

  it('an inner message with magic other than 0/1, or too short for v1, is CORRUPT_RECORD', () => {
    const inner = message({ magic: 0, value: 'x' });
    inner[16] = 2;
    const w = LegacyBatch.at(wrapper({ magic: 0, codec: 'gzip', offset: 0, inner: [inner] }));
    expect(codeOf(() => [...w.records()])).toBe(ErrorCode.CORRUPT_RECORD);
    const shortV1 = message({ magic: 0, value: 'x' });
    shortV1[16] = 1; // a v0-sized body claiming magic 1
    const s = LegacyBatch.at(wrapper({ magic: 0, codec: 'gzip', offset: 0, inner: [shortV1] }));
    expect(codeOf(() => [...s.records()])).toBe(ErrorCode.CORRUPT_RECORD);
  });

  it('codec ids 4 (zstd) to 7 are UNKNOWN_COMPRESSION in legacy messages', () => {
    for (const id of [4, 5, 6, 7]) {
      const b = LegacyBatch.at(message({ magic: 1, attributes: id, key: null, value: 'zz' }));
      expect(b.compressionId).toBe(id);
      expect(codeOf(() => b.compression)).toBe(ErrorCode.UNKNOWN_COMPRESSION);
      expect(codeOf(() => b.records())).toBe(ErrorCode.UNKNOWN_COMPRESSION);
    }
  });

  it('a key or value length past the end is CORRUPT_RECORD', () => {
    const bad = Buffer.from(V0_VECTOR);
    bad.writeInt32BE(1000, 18); // key length
    const b = LegacyBatch.at(bad);
    expect(codeOf(() => b.key)).toBe(ErrorCode.CORRUPT_RECORD);
    expect(codeOf(() => b.value)).toBe(ErrorCode.CORRUPT_RECORD);
    expect(codeOf(() => b.records())).toBe(ErrorCode.CORRUPT_RECORD);
    const badValue = Buffer.from(V1_VECTOR);
    badValue.writeInt32BE(6, 33); // value length one past the end
    expect(codeOf(() => LegacyBatch.at(badValue).value)).toBe(ErrorCode.CORRUPT_RECORD);
  });

  it('a decompressed size over maxUncompressedBytes is RECORD_TOO_LARGE', () => {
    const [first] = legacyMessages(fixtureLog('hamlet-gzip-0'));
    expect(codeOf(() => first.records({ maxUncompressedBytes: 1024 }))).toBe(ErrorCode.RECORD_TOO_LARGE);
    expect(first.toArray({ maxUncompressedBytes: 1 << 20 }).length).toBeGreaterThan(0);
    const [snappyFirst] = legacyMessages(fixtureLog('hamlet-snappy-0'));
    expect(codeOf(() => snappyFirst.records({ maxUncompressedBytes: 1024 }))).toBe(ErrorCode.RECORD_TOO_LARGE);
    const big = [message({ magic: 1, value: Buffer.alloc(4096, 0x61) })];
    for (const magic of [0, 1] as const) {
      const w = LegacyBatch.at(wrapper({ magic, codec: 'lz4', offset: 0, inner: big }));
      expect(codeOf(() => w.records({ maxUncompressedBytes: 1024 }))).toBe(ErrorCode.RECORD_TOO_LARGE);
    }
  });
});

describe('LegacyBatch: fuzz (seeded)', () => {
  /** Codes hostile bytes may produce; VALUE_OUT_OF_RANGE is an int64 offset or timestamp past 2^53. */
  const ALLOWED: string[] = [
    ErrorCode.CORRUPT_RECORD,
    ErrorCode.UNSUPPORTED_FORMAT,
    ErrorCode.UNKNOWN_COMPRESSION,
    ErrorCode.CORRUPT_COMPRESSION,
    ErrorCode.RECORD_TOO_LARGE,
    ErrorCode.VALUE_OUT_OF_RANGE,
  ];
  const gzipWrappers = legacyMessages(fixtureLog('hamlet-gzip-0')).slice(0, 3);
  const snappyWrappers = legacyMessages(fixtureLog('hamlet-snappy-0')).slice(0, 3);
  const plain = legacyMessages(fixtureLog('numbers-0')).slice(0, 3);
  /** Wrappers by their parts, so the fuzz test can mutate the inner set and recompress it. */
  const WRAPPER_SEEDS: WrapperSpec[] = [
    ...[...gzipWrappers, ...snappyWrappers].map((w): WrapperSpec => {
      const codec = w.compression as 'gzip' | 'snappy';
      const set = (codec === 'gzip' ? gzip : snappy).decompressSync(w.value as Buffer, 1 << 20);
      return { magic: 0, codec, offset: w.offset, inner: [set] };
    }),
    ...(['gzip', 'snappy', 'lz4'] as const).flatMap((codec): WrapperSpec[] => [
      { magic: 1, codec, offset: 5, timestamp: 3, logAppendTime: true, inner: threeInner(1, [0, 1, 2]) },
      { magic: 0, codec, offset: 2, inner: threeInner(0, [0, 1, 2]) },
    ]),
  ];
  const SEEDS: Buffer[] = [...WRAPPER_SEEDS.map(wrapper), ...plain.map((m) => m.buffer), V0_VECTOR, V1_VECTOR];

  /** Decodes everything a caller can ask of a message; rethrows anything that is not a typed error. */
  function decodeAll(buf: Buffer): void {
    try {
      const b = LegacyBatch.at(buf, 0);
      void [b.offset, b.timestamp, b.timestampType, b.key, b.value, b.isValid(), b.compressionId];
      for (const r of b.records({ maxUncompressedBytes: 1 << 20 })) void r.value;
    } catch (err) {
      if (!(err instanceof SeglogError) || !ALLOWED.includes(err.code)) throw err;
    }
  }

  const INTERESTING = [-1, 0, 1, 13, 14, 21, 22, 0x7fffffff, -0x80000000, 0x40000000];
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('int32' as const), at: fc.nat(), value: fc.constantFrom(...INTERESTING) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  );
  type Mutation = { kind: 'byte' | 'int32' | 'truncate'; at: number; value: number };

  function mutate(input: Buffer, mutations: Mutation[]): Buffer {
    let buf = Buffer.from(input);
    for (const m of mutations) {
      if (buf.length === 0) break;
      const at = m.at % buf.length;
      if (m.kind === 'byte') buf[at] = m.value;
      else if (m.kind === 'int32' && at + 4 <= buf.length) buf.writeInt32BE(m.value, at);
      else if (m.kind === 'truncate') buf = buf.subarray(0, at);
    }
    return buf;
  }

  /** Mutates a wrapper's decompressed inner set and recompresses it, so the inner parser is reached. */
  function mutateInner(spec: WrapperSpec, mutations: Mutation[]): Buffer {
    return wrapper({ ...spec, inner: [mutate(Buffer.concat(spec.inner), mutations)] });
  }

  it('mutated and truncated messages throw only SeglogErrors', () => {
    fc.assert(
      fc.property(fc.nat(SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, mutations) => {
        decodeAll(mutate(SEEDS[i], mutations));
      }),
      { seed: 7, numRuns: 1500 },
    );
  });

  it('mutated inner sets, recompressed with a valid wrapper, throw only SeglogErrors', () => {
    fc.assert(
      fc.property(fc.nat(WRAPPER_SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, mutations) => {
        decodeAll(mutateInner(WRAPPER_SEEDS[i], mutations));
      }),
      { seed: 7, numRuns: 400 },
    );
  });
});
