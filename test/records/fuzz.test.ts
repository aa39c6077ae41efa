/**
 * Hostile input: random and mutated bytes fed to every decoder must produce SeglogErrors or
 * valid results, never another exception, a hang or a giant allocation. Seeds come from real
 * batches (Kafka vectors, Kafka 2.7.1 fixtures, seglog batches in every codec).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SeglogError } from '../../src/errors.js';
import {
  BatchWalker,
  LegacyBatch,
  RecordBatch,
  buildBatchSync,
  gzip,
  lz4,
  parseControlRecordKey,
  parseEndTransactionMarker,
  snappy,
  zstd,
  type CompressionName,
} from '../../src/records/index.js';
import { KAFKA_FIXTURES, logFiles } from '../helpers/paths.js';

/** Bound for the fuzzers: small, so an unbounded allocation shows up as a failure, not a crash. */
const MAX = 1 << 20;

function seeds(): Buffer[] {
  const out: Buffer[] = logFiles(KAFKA_FIXTURES).map((f) => fs.readFileSync(f)).filter((b) => b.length > 0);
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    out.push(
      buildBatchSync(
        Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(i * 7), headers: [['h', i % 2 ? null : 'x']] as const, timestamp: 1_700_000_000_000 + i })),
        { compression, producerId: 7, producerEpoch: 1, baseSequence: 0 },
      ),
    );
  }
  return out;
}

/** Decodes everything decodable in `buf`; returns normally or throws only SeglogError. */
function decodeAll(buf: Buffer): void {
  const walker = new BatchWalker(buf);
  for (const { batch } of walker) {
    batch.isValid();
    if (batch instanceof LegacyBatch) continue;
    void [batch.baseOffset, batch.lastOffset, batch.maxTimestamp, batch.producerId, batch.compression, batch.lastSequence];
    for (const r of batch.records({ maxUncompressedBytes: MAX })) {
      if (batch.isControl) {
        try {
          parseControlRecordKey(r.key);
          parseEndTransactionMarker(r.value);
        } catch (err) {
          if (!(err instanceof SeglogError)) throw err;
        }
      }
    }
  }
}

function onlySeglogErrors(f: () => void): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    expect(typeof err.code).toBe('string');
  }
}

const SEEDS = seeds();

/** A mutation: flip bits, overwrite with extreme ints, truncate, splice garbage. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('int32' as const), at: fc.nat(), value: fc.constantFrom(0, -1, 1, 0x7fffffff, -0x80000000, 13, 48, 49, 1 << 24) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), junk: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(src: Buffer, muts: Mutation[]): Buffer {
  let buf = Buffer.from(src);
  for (const m of muts) {
    if (buf.length === 0) break;
    const at = m.at % buf.length;
    if (m.kind === 'flip') buf[at] ^= 1 << m.bit;
    else if (m.kind === 'int32' && at + 4 <= buf.length) buf.writeInt32BE(m.value, at);
    else if (m.kind === 'truncate') buf = buf.subarray(0, at);
    else if (m.kind === 'splice') buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.junk), buf.subarray(at)]);
  }
  return buf;
}

describe('fuzz: decoders only ever throw SeglogError', () => {
  it('mutated real batches (fixtures and every codec)', () => {
    fc.assert(
      fc.property(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, muts) => {
        onlySeglogErrors(() => decodeAll(apply(SEEDS[i], muts)));
      }),
      { seed: 424242, numRuns: 3000 },
    );
  });

  it('mutations that keep the CRC valid still decode safely (the CRC is no shield)', () => {
    fc.assert(
      fc.property(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (i, muts) => {
        const buf = apply(SEEDS[i], muts);
        // Re-sign every complete v2 batch so decoding goes past the CRC check.
        onlySeglogErrors(() => {
          for (const { batch } of new BatchWalker(buf)) {
            if (batch instanceof RecordBatch) batch.buffer.writeUInt32BE(batch.computeCrc(), 17);
          }
        });
        onlySeglogErrors(() => decodeAll(buf));
      }),
      { seed: 99, numRuns: 2000 },
    );
  });

  it('random bytes, with and without a plausible v2 header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (u, header) => {
        const buf = Buffer.from(u);
        if (header && buf.length >= 61) {
          buf.writeInt32BE(buf.length - 12, 8);
          buf[16] = 2;
        }
        onlySeglogErrors(() => decodeAll(buf));
        onlySeglogErrors(() => RecordBatch.at(buf).toArray());
      }),
      { seed: 7, numRuns: 3000 },
    );
  });

  it('codecs given garbage or mutated streams', () => {
    const payload = Buffer.from('x'.repeat(5000) + 'yz'.repeat(3000));
    const streams = [gzip, snappy, lz4, zstd].map((c) => [c, c.compressSync(payload)] as const);
    fc.assert(
      fc.property(fc.nat({ max: 3 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (i, muts) => {
        const [codec, stream] = streams[i];
        onlySeglogErrors(() => {
          const out = codec.decompressSync(apply(stream, muts), MAX);
          expect(out.length).toBeLessThanOrEqual(MAX);
        });
      }),
      { seed: 3, numRuns: 2000 },
    );
  });

  it('huge length fields never allocate: a 2 GiB record count, key length and batch length', () => {
    const good = buildBatchSync([{ key: 'k', value: 'v' }]);
    const count = Buffer.from(good);
    count.writeInt32BE(0x7fffffff, 57);
    count.writeUInt32BE(RecordBatch.at(count).computeCrc(), 17);
    expect(() => RecordBatch.at(count).toArray()).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
    const length = Buffer.from(good);
    length.writeInt32BE(0x7fffffff, 8);
    expect(() => RecordBatch.at(length)).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
    expect([...new BatchWalker(length)]).toEqual([]); // a partial batch: end of data
    const key = Buffer.from(good);
    key[61 + 4] = 0xfe; // key length varint → huge
    key.writeUInt32BE(RecordBatch.at(key).computeCrc(), 17);
    expect(() => RecordBatch.at(key).toArray()).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
  });

  it('a zero-filled preallocated tail is CORRUPT_RECORD at its position', () => {
    const good = buildBatchSync([{ value: 'v' }]);
    const walker = new BatchWalker(Buffer.concat([good, Buffer.alloc(100)]), { file: 'x.log' });
    expect(walker.next().done).toBe(false);
    expect(() => walker.next()).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD', position: good.length }));
    expect(walker.position).toBe(good.length);
  });

  it('unknown magic is UNSUPPORTED_FORMAT; unknown codec id is UNKNOWN_COMPRESSION', () => {
    const good = buildBatchSync([{ value: 'v' }]);
    const magic = Buffer.from(good);
    magic[16] = 3;
    expect(() => new BatchWalker(magic).next()).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    const codec = Buffer.from(good);
    codec[22] |= 5;
    expect(() => RecordBatch.at(codec).toArray()).toThrow(expect.objectContaining({ code: 'UNKNOWN_COMPRESSION' }));
  });
});
