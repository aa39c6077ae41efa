/**
 * CRC-32C parity: the addon's dispatched path (hardware where the CPU has it), the addon's table
 * path and the JavaScript implementation must agree with each other and with the standard check
 * value, on every length 0..4096, at odd offsets, through subarrays and on 8 MiB.
 *
 * The JavaScript block always runs; the native blocks run when the addon is loaded. With
 * SEGLOG_NATIVE=0 (see fallback.test.ts, which re-runs this file that way) the dispatching
 * `crc32c` is the JavaScript path and the same expectations hold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { binding, native } from '../../src/native/index.js';
import { NATIVE_MIN_BYTES, crc32c, crc32cJs, crc32cUpdate, crc32cUpdateJs } from '../../src/records/crc32c.js';
import { REPO } from '../helpers/paths.js';

/** Bit-at-a-time CRC-32C from the definition: the oracle for the JavaScript tables. */
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Seeded xorshift32 bytes: the same "random" buffers every run. */
function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const CHECK = Buffer.from('123456789', 'latin1');
const CHECK_VALUE = 0xe3069283;
const POOL = randomBytes(64 * 1024, 0x5eed);
const LARGE = randomBytes(8 << 20, 0xc0ffee);

type Crc = (crc: number, bytes: Uint8Array, start: number, end: number) => number;

/** The same cases for each implementation. */
function parity(name: string, update: Crc): void {
  const whole = (bytes: Uint8Array) => update(0, bytes, 0, bytes.length);

  it(`${name}: check value CRC32C("123456789") = 0xE3069283, empty = 0`, () => {
    expect(whole(CHECK)).toBe(CHECK_VALUE);
    expect(whole(Buffer.alloc(0))).toBe(0);
    expect(whole(new Uint8Array(0))).toBe(0);
    // 32 bytes of zeros / ones: RFC 3720 (iSCSI) B.4 vectors.
    expect(whole(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(whole(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it(`${name}: random buffers of every length 0..4096 match the JavaScript path`, () => {
    for (let n = 0; n <= 4096; n++) {
      // A different stretch of the pool per length, at every alignment.
      const start = (n * 7919) % (POOL.length - n);
      const expected = crc32cUpdateJs(0, POOL, start, start + n);
      const viaRange = update(0, POOL, start, start + n);
      const viaSubarray = whole(POOL.subarray(start, start + n));
      if (viaRange !== expected || viaSubarray !== expected) {
        expect({ n, start, viaRange, viaSubarray }).toEqual({ n, start, viaRange: expected, viaSubarray: expected });
      }
    }
  });

  it(`${name}: odd offsets and plain Uint8Array views over a shared ArrayBuffer`, () => {
    const ab = new ArrayBuffer(10_000);
    const all = new Uint8Array(ab);
    all.set(POOL.subarray(0, ab.byteLength));
    for (const offset of [1, 3, 5, 7, 9, 13, 4093]) {
      for (const n of [1, 7, 8, 9, 63, 64, 65, 767, 768, 769, 2305, 5000]) {
        const view = new Uint8Array(ab, offset, n);
        expect(whole(view)).toBe(crc32cUpdateJs(0, all, offset, offset + n));
      }
    }
  });

  it(`${name}: 8 MiB whole, at odd bounds, and chained in pieces`, () => {
    const expected = crc32cUpdateJs(0, LARGE, 0, LARGE.length);
    expect(whole(LARGE)).toBe(expected);
    expect(update(0, LARGE, 3, LARGE.length - 5)).toBe(crc32cUpdateJs(0, LARGE, 3, LARGE.length - 5));
    // Cuts around the three-stream block sizes of the hardware loop (3 × 8 KiB, 3 × 256 B).
    for (const cut of [1, 767, 768, 769, 24_575, 24_576, 24_577, 1 << 20]) {
      expect(update(update(0, LARGE, 0, cut), LARGE, cut, LARGE.length)).toBe(expected);
    }
  });

  it(`${name}: continues from a previous CRC`, () => {
    for (const cut of [0, 1, 21, 100, 4000, 4096]) {
      expect(update(update(0, POOL, 0, cut), POOL, cut, 4096)).toBe(crc32cUpdateJs(0, POOL, 0, 4096));
    }
    // A seed above 2^31 (CRCs are unsigned) must not be mangled.
    const seed = crc32cUpdateJs(0, CHECK, 0, 9);
    expect(seed).toBeGreaterThan(0x7fffffff);
    expect(update(seed, POOL, 0, 1000)).toBe(crc32cUpdateJs(seed, POOL, 0, 1000));
  });
}

describe('crc32c: JavaScript implementation', () => {
  it('the sliced tables match the bit-at-a-time definition', () => {
    for (let n = 0; n <= 300; n++) expect(crc32cJs(POOL, n, 2 * n)).toBe(reference(POOL.subarray(n, 2 * n)));
    expect(crc32cJs(LARGE.subarray(0, 100_001))).toBe(reference(LARGE.subarray(0, 100_001)));
  });
  parity('JavaScript', crc32cUpdateJs);
});

describe('crc32c: the dispatching function (native when loaded, else JavaScript)', () => {
  parity('crc32cUpdate', crc32cUpdate);

  it('crc32c(bytes, start, end) is the finished CRC of the range', () => {
    expect(crc32c(CHECK)).toBe(CHECK_VALUE);
    expect(crc32c(LARGE, 21)).toBe(crc32cJs(LARGE, 21));
    for (const n of [NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, NATIVE_MIN_BYTES + 1]) expect(crc32c(POOL, 5, 5 + n)).toBe(crc32cJs(POOL, 5, 5 + n));
  });

  it('a range outside the input is INVALID_ARGUMENT on either path, not a read past the end', () => {
    for (const [start, end] of [
      [-1, 10],
      [5, 4],
      [0, POOL.length + 1],
      [Number.NaN, 10],
    ]) {
      let caught: unknown;
      try {
        crc32c(POOL, start, end);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SeglogError);
      expect((caught as SeglogError).code).toBe(ErrorCode.INVALID_ARGUMENT);
    }
  });
});

describe.skipIf(!native.loaded)('crc32c: native addon', () => {
  const b = binding!;

  it(`reports its implementation (${native.crc32cImplementation ?? 'none'})`, () => {
    expect(native.crc32c).toBe(true);
    expect(['sse4.2', 'armv8-crc', 'software']).toContain(native.crc32cImplementation);
    // This project's machines are x86-64 with SSE4.2; an arm64 Linux box has the CRC extension.
    if (process.arch === 'x64') expect(native.crc32cImplementation).toBe('sse4.2');
  });

  parity('native (dispatched)', (crc, bytes, start, end) => b.crc32c(crc, bytes, start, end));
  parity('native (table path)', (crc, bytes, start, end) => b.crc32cSoftware(crc, bytes, start, end));

  it('the binding bounds-checks its own arguments (RangeError / TypeError, never a wild read)', () => {
    expect(() => b.crc32c(0, POOL, 0, POOL.length + 1)).toThrow(RangeError);
    expect(() => b.crc32c(0, POOL, 10, 9)).toThrow(RangeError);
    expect(() => b.crc32c(0, POOL, -1, 9)).toThrow(RangeError);
    expect(() => b.crc32c(0, POOL, Number.NaN, 9)).toThrow(RangeError);
    expect(() => b.crc32c(0, [1, 2, 3] as unknown as Uint8Array, 0, 3)).toThrow(TypeError);
    expect(() => b.crc32c(0, new Uint16Array(4) as unknown as Uint8Array, 0, 3)).toThrow(TypeError);
  });

  it('noop() is callable (the benchmark baseline)', () => {
    expect(b.noop()).toBeUndefined();
  });
});

describe('crc32c: the addon is used wherever it was built', () => {
  it('a built addon loads unless SEGLOG_NATIVE=0', () => {
    const built = fs.existsSync(path.join(REPO, 'native/build/Release/seglog_native.node'));
    if (process.env.SEGLOG_NATIVE === '0') {
      expect(native).toMatchObject({ loaded: false, crc32c: false, sendfile: false });
      expect(native.error).toMatch(/SEGLOG_NATIVE=0/);
    } else if (built) {
      expect(native.error).toBeUndefined();
      expect(native.loaded).toBe(true);
    }
    // In CI on Linux the install step must have built it: a silent JS-only CI would not test
    // the native paths at all.
    if (process.env.CI === 'true' && process.platform === 'linux') expect(built).toBe(true);
  });
});
