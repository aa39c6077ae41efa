/**
 * Property tests: random record sets (keys, values, headers, timestamps, producer fields,
 * codecs) encode into a batch that decodes to exactly the model, sync and async, and walk
 * back out of a buffer of many batches in order. Seeded, so failures reproduce.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BatchWalker,
  RecordBatch,
  buildBatch,
  buildBatchSync,
  type BatchOptions,
  type CompressionName,
  type LogRecord,
  type RecordInput,
} from '../../src/records/index.js';

const bytes = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  fc.uint8Array({ maxLength: 40 }),
);
const header = fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), bytes);
const record = fc.record(
  {
    key: bytes,
    value: bytes,
    headers: fc.array(header, { maxLength: 4 }),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  },
  { requiredKeys: ['value', 'headers', 'timestamp'] },
);
const codec = fc.constantFrom<CompressionName>('none', 'gzip', 'snappy', 'lz4', 'zstd');
const options = fc.record({
  compression: codec,
  baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  producerId: fc.integer({ min: -1, max: 2 ** 50 }),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  isTransactional: fc.boolean(),
});

const toBuf = (b: unknown): Buffer | null =>
  b === null || b === undefined ? null : typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b as Uint8Array);

/** The model: what a correct codec must give back for a record. */
function expected(recs: RecordInput[], o: BatchOptions): LogRecord[] {
  return recs.map((r, i) => ({
    offset: (o.baseOffset ?? 0) + i,
    timestamp: r.timestamp as number,
    key: toBuf(r.key),
    value: toBuf(r.value),
    headers: (r.headers as [string, unknown][]).map(([k, v]) => [k, toBuf(v)] as [string, Buffer | null]),
  }));
}

function checkHeader(b: RecordBatch, recs: RecordInput[], o: BatchOptions): void {
  expect(b.isValid()).toBe(true);
  expect(b.compression).toBe(o.compression);
  expect(b.count).toBe(recs.length);
  expect(b.baseOffset).toBe(o.baseOffset);
  expect(b.lastOffset).toBe((o.baseOffset ?? 0) + recs.length - 1);
  expect(b.baseTimestamp).toBe(recs[0].timestamp);
  expect(b.maxTimestamp).toBe(Math.max(...recs.map((r) => r.timestamp as number)));
  expect([b.partitionLeaderEpoch, b.producerId, b.producerEpoch, b.baseSequence]).toEqual([
    o.partitionLeaderEpoch, o.producerId, o.producerEpoch, o.baseSequence,
  ]);
  expect(b.isTransactional).toBe(o.isTransactional);
}

describe('batch round trip (property)', () => {
  it('sync build → view → records equals the model', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), options, (recs, o) => {
        const b = RecordBatch.at(buildBatchSync(recs, o));
        checkHeader(b, recs, o);
        expect(b.toArray()).toEqual(expected(recs, o));
      }),
      { seed: 20261123, numRuns: 300 },
    );
  });

  it('async build → async records equals the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 20 }), options, async (recs, o) => {
        const b = RecordBatch.at(await buildBatch(recs, o));
        checkHeader(b, recs, o);
        expect([...(await b.recordsAsync())]).toEqual(expected(recs, o));
      }),
      { seed: 11, numRuns: 100 },
    );
  });

  it('many batches back to back walk out in order; a cut tail is end of data', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(record, { minLength: 1, maxLength: 5 }), codec), { minLength: 1, maxLength: 8 }), fc.nat(), (batches, cutSeed) => {
        let offset = 0;
        const bufs = batches.map(([recs, compression]) => {
          const buf = buildBatchSync(recs, { compression, baseOffset: offset });
          offset += recs.length;
          return buf;
        });
        const all = Buffer.concat(bufs);
        const seen = [...new BatchWalker(all)].map((w) => w.position);
        let pos = 0;
        expect(seen).toEqual(bufs.map((b) => ((pos += b.length), pos - b.length)));
        // Cut inside the last batch: the walker stops before it, with the valid prefix intact.
        const last = bufs[bufs.length - 1];
        const cut = all.length - 1 - (cutSeed % last.length);
        const walker = new BatchWalker(all.subarray(0, cut));
        expect([...walker].length).toBe(bufs.length - 1);
        expect(walker.position).toBe(all.length - last.length);
      }),
      { seed: 5, numRuns: 150 },
    );
  });
});
