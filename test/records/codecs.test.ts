import { describe, expect, it } from 'vitest';
import snappyLib from 'snappy';
import zlib from 'node:zlib';
import { gzip, lz4, snappy, zstd, codecForId, compressionName, type Codec } from '../../src/records/compression/index.js';
import { walkLz4Frame } from '../../src/records/compression/lz4.js';
import { hex } from '../helpers/paths.js';

const CODECS: Codec[] = [gzip, snappy, lz4, zstd];

/** Byte equality without vitest's element-by-element diffing (slow on megabytes). */
function same(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}
const MiB = 1024 * 1024;

/** Deterministic bytes that compress somewhat (text-like with noise). */
function sample(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = i % 64 < 40 ? 97 + (i % 23) : x & 0xff;
  }
  return b;
}

describe.each(CODECS)('$name codec', (codec) => {
  it.each([0, 1, 15, 4096, 65_537, 300_000, 3 * MiB])('round-trips %d bytes sync and async', async (n) => {
    const input = sample(n, n);
    const a = codec.compressSync(input);
    const b = await codec.compress(input);
    same(codec.decompressSync(a, 4 * MiB), input);
    same(await codec.decompress(b, 4 * MiB), input);
    same(codec.decompressSync(b, 4 * MiB), input);
    same(await codec.decompress(a, 4 * MiB), input);
  });

  it('refuses output over maxBytes with RECORD_TOO_LARGE before producing it', async () => {
    const input = Buffer.alloc(2 * MiB, 0x61); // compresses to almost nothing
    const c = codec.compressSync(input);
    expect(() => codec.decompressSync(c, MiB)).toThrow(expect.objectContaining({ code: 'RECORD_TOO_LARGE' }));
    await expect(codec.decompress(c, MiB)).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    same(codec.decompressSync(c, 2 * MiB), input);
  });

  it('turns garbage into CORRUPT_COMPRESSION', async () => {
    const garbage = sample(1000, 99);
    expect(() => codec.decompressSync(garbage, MiB)).toThrow(expect.objectContaining({ code: expect.stringMatching(/CORRUPT_COMPRESSION|RECORD_TOO_LARGE/) }));
    await expect(codec.decompress(garbage, MiB)).rejects.toMatchObject({ code: expect.stringMatching(/CORRUPT_COMPRESSION|RECORD_TOO_LARGE/) });
  });

  it('turns every truncation into a typed error', () => {
    const c = codec.compressSync(sample(100_000));
    for (let cut = 0; cut < c.length; cut += Math.max(1, Math.floor(c.length / 97))) {
      let out: Buffer | undefined;
      try {
        out = codec.decompressSync(c.subarray(0, cut), MiB);
      } catch (err) {
        expect(err).toMatchObject({ code: expect.stringMatching(/CORRUPT_COMPRESSION|RECORD_TOO_LARGE/) });
        continue;
      }
      // A codec may only "succeed" on a prefix if it yields a prefix of the data (never garbage).
      same(out, sample(100_000).subarray(0, out.length));
      expect(out.length).toBeLessThan(100_000);
    }
  });
});

describe('codec registry', () => {
  it('maps Kafka ids and rejects 5..7 with UNKNOWN_COMPRESSION', () => {
    expect([1, 2, 3, 4].map((id) => codecForId(id).name)).toEqual(['gzip', 'snappy', 'lz4', 'zstd']);
    expect(compressionName(0)).toBe('none');
    for (const id of [5, 6, 7]) {
      expect(() => codecForId(id)).toThrow(expect.objectContaining({ code: 'UNKNOWN_COMPRESSION' }));
      expect(() => compressionName(id)).toThrow(expect.objectContaining({ code: 'UNKNOWN_COMPRESSION' }));
    }
  });
});

describe('gzip framing', () => {
  it('reads concatenated members, as GZIPInputStream does', () => {
    const both = Buffer.concat([zlib.gzipSync('hello '), zlib.gzipSync('world')]);
    expect(gzip.decompressSync(both, 100).toString()).toBe('hello world');
  });
});

describe('snappy xerial framing (§2.3)', () => {
  it('writes the xerial header and 32 KiB chunks', () => {
    const input = sample(70_000);
    const out = snappy.compressSync(input);
    expect(out.subarray(0, 16)).toEqual(hex('82 53 4e 41 50 50 59 00 00 00 00 01 00 00 00 01'));
    // Walk the chunks: three of them (32 KiB, 32 KiB, the rest).
    let pos = 16;
    const sizes: number[] = [];
    while (pos < out.length) {
      const len = out.readInt32BE(pos);
      sizes.push(snappyLib.uncompressSync(out.subarray(pos + 4, pos + 4 + len), { asBuffer: true }).length);
      pos += 4 + len;
    }
    expect(sizes).toEqual([32768, 32768, 70_000 - 65536]);
  });

  it('reads raw snappy without the xerial header', () => {
    const input = sample(5000);
    expect(snappy.decompressSync(snappyLib.compressSync(input), MiB)).toEqual(input);
  });

  it('reads a concatenated xerial stream (a header where a chunk length is expected)', () => {
    const a = snappy.compressSync(Buffer.from('first '));
    const b = snappy.compressSync(Buffer.from('second'));
    expect(snappy.decompressSync(Buffer.concat([a, b]), MiB).toString()).toBe('first second');
  });

  it('rejects a negative or overlong chunk length', () => {
    const good = snappy.compressSync(Buffer.from('data'));
    const neg = Buffer.from(good);
    neg.writeInt32BE(-1, 16);
    expect(() => snappy.decompressSync(neg, MiB)).toThrow(expect.objectContaining({ code: 'CORRUPT_COMPRESSION' }));
    const long = Buffer.from(good);
    long.writeInt32BE(0x7fffffff, 16);
    expect(() => snappy.decompressSync(long, MiB)).toThrow(expect.objectContaining({ code: 'CORRUPT_COMPRESSION' }));
  });

  it('checks a block\'s declared size against the bound before decompressing', () => {
    // Raw block claiming 2^31 bytes: varint ff ff ff ff 07, then nothing.
    const hostile = hex('ff ff ff ff 07 00');
    expect(() => snappy.decompressSync(hostile, MiB)).toThrow(expect.objectContaining({ code: 'RECORD_TOO_LARGE' }));
  });
});

describe('lz4 frame (§2.4)', () => {
  const KAFKA_HELLO = hex('04 22 4d 18 60 40 82 0f 00 00 00 6e 68 65 6c 6c 6f 20 06 00 50 68 65 6c 6c 6f 00 00 00 00');

  it('reads the frame Kafka wrote for "hello hello hello hello hello"', () => {
    expect(lz4.decompressSync(KAFKA_HELLO, 100).toString()).toBe('hello hello hello hello hello');
  });

  it('writes independent blocks with the correct header checksum', () => {
    const out = lz4.compressSync(Buffer.from('hello hello hello hello hello'));
    expect(out.subarray(0, 7)).toEqual(hex('04 22 4d 18 60 40 82'));
    expect(out.subarray(-4)).toEqual(hex('00 00 00 00'));
  });

  it('rejects the broken (magic-0) header checksum 0x1A for v2 data', () => {
    const broken = Buffer.from(KAFKA_HELLO);
    broken[6] = 0x1a;
    expect(() => lz4.decompressSync(broken, 100)).toThrow(expect.objectContaining({ code: 'CORRUPT_COMPRESSION' }));
    expect(walkLz4Frame(broken, { legacyHeaderChecksum: true }).frameLength).toBe(KAFKA_HELLO.length);
  });

  it('rejects dependent blocks, reserved bits, a small block size code and a missing end mark', () => {
    const variants: [string, (b: Buffer) => void][] = [
      ['dependent blocks', (b) => { b[4] = 0x40; }],
      ['dictionary id bit', (b) => { b[4] = 0x61; }],
      ['block size code 3', (b) => { b[5] = 0x30; }],
    ];
    for (const [, mutate] of variants) {
      const b = Buffer.from(KAFKA_HELLO);
      mutate(b);
      expect(() => lz4.decompressSync(b, 100)).toThrow(expect.objectContaining({ code: 'CORRUPT_COMPRESSION' }));
    }
    expect(() => lz4.decompressSync(KAFKA_HELLO.subarray(0, KAFKA_HELLO.length - 4), 100)).toThrow(
      expect.objectContaining({ code: 'CORRUPT_COMPRESSION' }),
    );
  });

  it('verifies block checksums when the frame has them', () => {
    // Build a frame with FLG block-checksum set around one stored block.
    const data = Buffer.from('abcdefgh');
    const { xxh32 } = xxhModule;
    const flg = 0x60 | 0x10;
    const desc = Buffer.from([flg, 0x40]);
    const hc = (xxh32(desc) >>> 8) & 0xff;
    const size = Buffer.alloc(4);
    size.writeUInt32LE((data.length | 0x80000000) >>> 0);
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(xxh32(data));
    const frame = Buffer.concat([hex('04 22 4d 18'), desc, Buffer.from([hc]), size, data, sum, Buffer.alloc(4)]);
    expect(lz4.decompressSync(frame, 100)).toEqual(data);
    frame[frame.length - 8] ^= 1;
    expect(() => lz4.decompressSync(frame, 100)).toThrow(expect.objectContaining({ code: 'CORRUPT_COMPRESSION' }));
  });
});

describe('zstd frames (§2.5)', () => {
  it('reads the frame Kafka wrote (no content size, raw blocks)', () => {
    const frame = hex('28 b5 2f fd 00 58 78 00 00 1c 00 00 00 06 6b 65 79 0a 76 61 6c 75 65 00 01 00 00');
    expect(zstd.decompressSync(frame, 100)).toEqual(hex('1c 00 00 00 06 6b 65 79 0a 76 61 6c 75 65 00'));
  });

  it('reads concatenated frames', () => {
    const both = Buffer.concat([zstd.compressSync(Buffer.from('ab')), zstd.compressSync(Buffer.from('cd'))]);
    expect(zstd.decompressSync(both, 100).toString()).toBe('abcd');
  });

  it('honours the level and rejects out-of-range levels', () => {
    const input = sample(200_000);
    const fast = zstd.compressSync(input, 1);
    const strong = zstd.compressSync(input, 19);
    expect(Buffer.compare(fast, strong)).not.toBe(0); // the level reaches the encoder
    same(zstd.decompressSync(strong, MiB), input);
    expect(() => zstd.compressSync(input, 23)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('stops a frame that declares more than the bound before allocating', () => {
    const c = zstd.compressSync(Buffer.alloc(MiB));
    expect(() => zstd.decompressSync(c, 1000)).toThrow(expect.objectContaining({ code: 'RECORD_TOO_LARGE' }));
  });
});

import * as xxhModule from '../../src/records/compression/xxh32.js';
