import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ByteReader,
  decodeVarlongBigInt,
  readInt64,
  sizeOfVarint,
  sizeOfVarlong,
  writeInt64,
  writeVarint,
  writeVarlong,
  writeVarlongBigInt,
} from '../../src/records/varint.js';
import { SeglogError } from '../../src/errors.js';
import { hex } from '../helpers/paths.js';

// kafka-log-format.md §10.2, produced by Kafka's ByteUtils.
const VARINTS: [number, string][] = [
  [0, '00'], [-1, '01'], [1, '02'], [-2, '03'], [63, '7e'], [-64, '7f'], [64, '80 01'],
  [150, 'ac 02'], [300, 'd8 04'], [-300, 'd7 04'], [2147483647, 'fe ff ff ff 0f'], [-2147483648, 'ff ff ff ff 0f'],
];
const VARLONGS: [bigint, string][] = [
  [0n, '00'], [-1n, '01'], [1700000000000n, '80 a0 ab fe f9 62'], [-1700000000000n, 'ff 9f ab fe f9 62'],
  [2n ** 63n - 1n, 'fe ff ff ff ff ff ff ff ff 01'], [-(2n ** 63n), 'ff ff ff ff ff ff ff ff ff 01'],
];

describe('varint (Kafka §10.2 vectors)', () => {
  it.each(VARINTS)('encodes and decodes %d', (value, bytes) => {
    const expected = hex(bytes);
    const buf = Buffer.alloc(5);
    expect(writeVarint(buf, 0, value)).toBe(expected.length);
    expect(buf.subarray(0, expected.length)).toEqual(expected);
    expect(sizeOfVarint(value)).toBe(expected.length);
    const r = new ByteReader(expected);
    expect(r.readVarint()).toBe(value);
    expect(r.pos).toBe(expected.length);
  });

  it('rejects a fifth byte with the continuation bit, as Java does', () => {
    expect(() => new ByteReader(hex('ff ff ff ff 8f 01')).readVarint()).toThrow(SeglogError);
  });

  it('drops bits above 32 in the fifth byte, as Java does', () => {
    // 0x7f in the fifth byte: only its low 4 bits survive the << 28.
    expect(new ByteReader(hex('fe ff ff ff 7f')).readVarint()).toBe(2147483647);
  });

  it('reports truncation as CORRUPT_RECORD', () => {
    expect(() => new ByteReader(hex('80 80')).readVarint()).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
    expect(() => new ByteReader(Buffer.alloc(0)).readVarlong()).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
  });

  it('round-trips every int32 it is given', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
        const buf = Buffer.alloc(5);
        const end = writeVarint(buf, 0, v);
        expect(end).toBe(sizeOfVarint(v));
        expect(new ByteReader(buf.subarray(0, end)).readVarint()).toBe(v);
      }),
      { seed: 1, numRuns: 2000 },
    );
  });
});

describe('varlong (Kafka §10.2 vectors)', () => {
  it.each(VARLONGS)('encodes and decodes %s', (value, bytes) => {
    const expected = hex(bytes);
    const buf = Buffer.alloc(10);
    expect(writeVarlongBigInt(buf, 0, value)).toBe(expected.length);
    expect(buf.subarray(0, expected.length)).toEqual(expected);
    expect(decodeVarlongBigInt(expected)).toEqual({ value, next: expected.length });
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
      const n = Number(value);
      const b2 = Buffer.alloc(10);
      expect(writeVarlong(b2, 0, n)).toBe(expected.length);
      expect(b2.subarray(0, expected.length)).toEqual(expected);
      expect(sizeOfVarlong(n)).toBe(expected.length);
      expect(new ByteReader(expected).readVarlong()).toBe(n);
    } else {
      // Beyond 2^53 the number API refuses rather than rounds.
      expect(() => new ByteReader(expected).readVarlong()).toThrow(expect.objectContaining({ code: 'VALUE_OUT_OF_RANGE' }));
    }
  });

  it('rejects a tenth byte with the continuation bit', () => {
    expect(() => decodeVarlongBigInt(hex('ff ff ff ff ff ff ff ff ff 81 01'))).toThrow(SeglogError);
  });

  it('round-trips every safe integer, and agrees with the bigint path', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        const buf = Buffer.alloc(10);
        const end = writeVarlong(buf, 0, v);
        expect(end).toBe(sizeOfVarlong(v));
        const big = Buffer.alloc(10);
        expect(writeVarlongBigInt(big, 0, BigInt(v))).toBe(end);
        expect(big.subarray(0, end)).toEqual(buf.subarray(0, end));
        const r = new ByteReader(buf.subarray(0, end));
        expect(r.readVarlong()).toBe(v);
        expect(r.pos).toBe(end);
      }),
      { seed: 2, numRuns: 2000 },
    );
  });
});

describe('int64 fields', () => {
  it('round-trips safe integers, negative ones included', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        const buf = Buffer.alloc(8);
        writeInt64(buf, 0, v);
        expect(buf.readBigInt64BE(0)).toBe(BigInt(v));
        expect(readInt64(buf, 0)).toBe(v);
      }),
      { seed: 3, numRuns: 2000 },
    );
  });

  it('refuses values beyond 2^53 instead of rounding', () => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64BE(2n ** 53n, 0);
    expect(() => readInt64(buf, 0, 'baseOffset')).toThrow(expect.objectContaining({ code: 'VALUE_OUT_OF_RANGE' }));
    buf.writeBigInt64BE(-(2n ** 63n), 0);
    expect(() => readInt64(buf, 0)).toThrow(expect.objectContaining({ code: 'VALUE_OUT_OF_RANGE' }));
  });
});
