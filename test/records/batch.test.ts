import { describe, expect, it } from 'vitest';
import {
  RecordBatch,
  buildBatch,
  buildBatchSync,
  buildEmptyBatch,
  buildEndTransactionMarker,
  parseControlRecordKey,
  parseEndTransactionMarker,
  type CompressionName,
} from '../../src/records/index.js';
import { hex } from '../helpers/paths.js';

// kafka-log-format.md §10.4, bytes produced by Kafka's own classes.
const VECTOR_A = hex(`
  00 00 00 00 00 00 00 00  00 00 00 40  00 00 00 00  02  db 5e 9c dd  00 00  00 00 00 00
  00 00 01 8b cf e5 68 00  00 00 01 8b cf e5 68 00  ff ff ff ff ff ff ff ff  ff ff  ff ff ff ff
  00 00 00 01  1c 00 00 00 06 6b 65 79 0a 76 61 6c 75 65 00`);
const VECTOR_B = hex(`
  00 00 00 00 00 00 00 64 | 00 00 00 47 | 00 00 00 05 | 02 | 10 92 34 37 | 00 00 | 00 00 00 01
  00 00 01 8b cf e5 68 00 | 00 00 01 8b cf e5 68 7b | 00 00 00 00 00 00 10 92 | 00 03 | 00 00 00 11
  00 00 00 02
  16 00 00 00 01 02 61 02 02 68 02 78
  12 00 f6 01 02 04 6b 32 01 00`);
const VECTOR_COMMIT = hex(`
  00 00 00 00 00 00 00 c8 00 00 00 42 00 00 00 07
  02 72 eb cb e4 00 30 00 00 00 00 00 00 01 8b cf
  e5 68 00 00 00 01 8b cf e5 68 00 00 00 00 00 00
  00 10 92 00 03 ff ff ff ff 00 00 00 01 20 00 00
  00 08 00 00 00 01 0c 00 00 00 00 00 0b 00`);
const VECTOR_ABORT = hex(`
  00 00 00 00 00 00 00 c9 00 00 00 42 00 00 00 07
  02 86 d5 1d ac 00 30 00 00 00 00 00 00 01 8b cf
  e5 68 00 00 00 01 8b cf e5 68 00 00 00 00 00 00
  00 10 92 00 03 ff ff ff ff 00 00 00 01 20 00 00
  00 08 00 00 00 00 0c 00 00 00 00 00 0b 00`);
const VECTOR_EMPTY = hex(`
  00 00 00 00 00 00 00 64 00 00 00 31 00 00 00 05
  02 90 18 c3 30 00 00 00 00 00 01 ff ff ff ff ff
  ff ff ff 00 00 01 8b cf e5 68 7b 00 00 00 00 00
  00 10 92 00 03 00 00 00 11 00 00 00 00`);

const TS = 1700000000000;

/** §10.5: batch (a) compressed by Kafka with each codec: attributes, length, CRC and region. */
const COMPRESSED_A: { codec: CompressionName; attrs: number; crc: number; region: string }[] = [
  { codec: 'gzip', attrs: 1, crc: 0x5fdeaf8b, region: '1f 8b 08 00 00 00 00 00 00 ff 93 61 60 60 60 cb 4e ad e4 2a 4b cc 29 4d 65 00 00 55 dc 04 54 0f 00 00 00' },
  { codec: 'snappy', attrs: 2, crc: 0x1e8178b0, region: '82 53 4e 41 50 50 59 00 00 00 00 01 00 00 00 01 00 00 00 11 0f 38 1c 00 00 00 06 6b 65 79 0a 76 61 6c 75 65 00' },
  { codec: 'lz4', attrs: 3, crc: 0x52cd4346, region: '04 22 4d 18 60 40 82 0f 00 00 80 1c 00 00 00 06 6b 65 79 0a 76 61 6c 75 65 00 00 00 00 00' },
  { codec: 'zstd', attrs: 4, crc: 0x41398efb, region: '28 b5 2f fd 00 58 78 00 00 1c 00 00 00 06 6b 65 79 0a 76 61 6c 75 65 00 01 00 00' },
];

function kafkaCompressedA(attrs: number, crc: number, region: string): Buffer {
  const body = hex(region);
  const buf = Buffer.concat([Buffer.from(VECTOR_A.subarray(0, 61)), body]);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeUInt32BE(crc, 17);
  buf.writeInt16BE(attrs, 21);
  return buf;
}

describe('RecordBatch v2 against Kafka vectors (§10.4)', () => {
  it('(a) builds byte-for-byte and reads every header field', () => {
    const built = buildBatchSync([{ key: 'key', value: 'value', timestamp: TS }], { partitionLeaderEpoch: 0 });
    expect(built).toEqual(VECTOR_A);
    const b = RecordBatch.at(VECTOR_A);
    expect(b.sizeInBytes).toBe(76);
    expect(b.length).toBe(64);
    expect(b.crc).toBe(0xdb5e9cdd);
    expect(b.isValid()).toBe(true);
    expect(b.baseOffset).toBe(0);
    expect(b.lastOffset).toBe(0);
    expect(b.nextOffset).toBe(1);
    expect(b.magic).toBe(2);
    expect(b.compression).toBe('none');
    expect(b.timestampType).toBe('CreateTime');
    expect(b.baseTimestamp).toBe(TS);
    expect(b.maxTimestamp).toBe(TS);
    expect(b.producerId).toBe(-1);
    expect(b.producerEpoch).toBe(-1);
    expect(b.baseSequence).toBe(-1);
    expect(b.lastSequence).toBe(-1);
    expect(b.count).toBe(1);
    expect(b.isControl).toBe(false);
    expect(b.isTransactional).toBe(false);
    expect(b.deleteHorizonMs).toBeNull();
    const [r] = b.toArray();
    expect(r).toEqual({ offset: 0, timestamp: TS, key: Buffer.from('key'), value: Buffer.from('value'), headers: [] });
  });

  it('(b) idempotent producer, null key, header, tombstone', () => {
    const built = buildBatchSync(
      [
        { key: null, value: 'a', headers: [['h', 'x']], timestamp: TS },
        { key: 'k2', value: null, timestamp: TS + 123 },
      ],
      { baseOffset: 100, partitionLeaderEpoch: 5, producerId: 4242, producerEpoch: 3, baseSequence: 17 },
    );
    expect(built).toEqual(VECTOR_B);
    const b = RecordBatch.at(VECTOR_B);
    expect(b.isValid()).toBe(true);
    expect([b.baseOffset, b.lastOffset, b.partitionLeaderEpoch]).toEqual([100, 101, 5]);
    expect([b.producerId, b.producerEpoch, b.baseSequence, b.lastSequence]).toEqual([4242, 3, 17, 18]);
    expect(b.maxTimestamp).toBe(TS + 123);
    expect(b.toArray()).toEqual([
      { offset: 100, timestamp: TS, key: null, value: Buffer.from('a'), headers: [['h', Buffer.from('x')]] },
      { offset: 101, timestamp: TS + 123, key: Buffer.from('k2'), value: null, headers: [] },
    ]);
  });

  it.each([
    ['COMMIT', VECTOR_COMMIT, 200],
    ['ABORT', VECTOR_ABORT, 201],
  ] as const)('(c) %s marker builds byte-for-byte and parses', (type, vector, baseOffset) => {
    const built = buildEndTransactionMarker({ type, producerId: 4242, producerEpoch: 3, coordinatorEpoch: 11, timestamp: TS, baseOffset, partitionLeaderEpoch: 7 });
    expect(built).toEqual(vector);
    const b = RecordBatch.at(vector);
    expect(b.isValid()).toBe(true);
    expect(b.isControl).toBe(true);
    expect(b.isTransactional).toBe(true);
    expect(b.attributes).toBe(0x30);
    const [r] = b.toArray();
    expect(parseControlRecordKey(r.key)).toEqual({ version: 0, typeId: type === 'COMMIT' ? 1 : 0, type });
    expect(parseEndTransactionMarker(r.value)).toEqual({ version: 0, coordinatorEpoch: 11 });
  });

  it('(d) empty batch as the cleaner writes it', () => {
    const built = buildEmptyBatch({ baseOffset: 100, lastOffsetDelta: 1, producerId: 4242, producerEpoch: 3, baseSequence: 17, partitionLeaderEpoch: 5, maxTimestamp: TS + 123 });
    expect(built).toEqual(VECTOR_EMPTY);
    const b = RecordBatch.at(VECTOR_EMPTY);
    expect(b.isValid()).toBe(true);
    expect([b.count, b.baseTimestamp, b.lastOffset, b.lastSequence]).toEqual([0, -1, 101, 18]);
    expect(b.toArray()).toEqual([]);
  });
});

describe('compressed batches written by Kafka (§10.5)', () => {
  it.each(COMPRESSED_A)('$codec decodes to the record of batch (a)', async ({ codec, attrs, crc, region }) => {
    const b = RecordBatch.at(kafkaCompressedA(attrs, crc, region));
    expect(b.isValid()).toBe(true);
    expect(b.compression).toBe(codec);
    const expected = [{ offset: 0, timestamp: TS, key: Buffer.from('key'), value: Buffer.from('value'), headers: [] }];
    expect(b.toArray()).toEqual(expected);
    expect([...(await b.recordsAsync())]).toEqual(expected);
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)('%s batches seglog writes have Kafka\'s header and decode back', async (compression) => {
    const recs = [{ key: 'key', value: 'value', timestamp: TS }];
    for (const buf of [buildBatchSync(recs, { compression, partitionLeaderEpoch: 0 }), await buildBatch(recs, { compression, partitionLeaderEpoch: 0 })]) {
      const b = RecordBatch.at(buf);
      expect(b.isValid()).toBe(true);
      expect(b.compression).toBe(compression);
      // Everything but length, CRC and attributes matches the uncompressed vector's header.
      expect(buf.subarray(23, 61)).toEqual(VECTOR_A.subarray(23, 61));
      expect(b.toArray()[0].value).toEqual(Buffer.from('value'));
    }
  });
});

describe('in-place header updates used by a log', () => {
  it('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid (not covered)', () => {
    const buf = Buffer.from(VECTOR_B);
    const b = RecordBatch.at(buf);
    b.setBaseOffset(2 ** 40);
    b.setPartitionLeaderEpoch(9);
    expect(b.isValid()).toBe(true);
    expect(b.crc).toBe(0x10923437);
    expect(b.baseOffset).toBe(2 ** 40);
    expect(b.toArray().map((r) => r.offset)).toEqual([2 ** 40, 2 ** 40 + 1]);
  });

  it('setMaxTimestamp(LogAppendTime) recomputes the CRC and every record reports the append time', () => {
    const buf = Buffer.from(VECTOR_B);
    const b = RecordBatch.at(buf);
    b.setMaxTimestamp('LogAppendTime', TS + 5000);
    expect(b.isValid()).toBe(true);
    expect(b.crc).not.toBe(0x10923437);
    expect(b.timestampType).toBe('LogAppendTime');
    expect(b.toArray().map((r) => r.timestamp)).toEqual([TS + 5000, TS + 5000]);
    // baseTimestamp and deltas are untouched, as Kafka leaves them.
    expect(b.baseTimestamp).toBe(TS);
  });

  it('a LogAppendTime build stamps maxTimestamp with the append time', () => {
    const b = RecordBatch.at(buildBatchSync([{ value: 'v', timestamp: TS }], { timestampType: 'LogAppendTime', logAppendTime: TS + 1 }));
    expect(b.timestampType).toBe('LogAppendTime');
    expect(b.maxTimestamp).toBe(TS + 1);
    expect(b.toArray()[0].timestamp).toBe(TS + 1);
  });
});

describe('builder options', () => {
  it('delete horizon: bit 6 set, baseTimestamp holds it, record timestamps survive', () => {
    const horizon = TS + 86_400_000;
    const b = RecordBatch.at(buildBatchSync([{ key: 'k', value: null, timestamp: TS }, { key: 'j', value: null, timestamp: TS + 7 }], { deleteHorizonMs: horizon }));
    expect(b.hasDeleteHorizon).toBe(true);
    expect(b.attributes & 0x40).toBe(0x40);
    expect(b.deleteHorizonMs).toBe(horizon);
    expect(b.baseTimestamp).toBe(horizon);
    expect(b.maxTimestamp).toBe(TS + 7);
    expect(b.toArray().map((r) => r.timestamp)).toEqual([TS, TS + 7]);
  });

  it('offset deltas with gaps and a kept lastOffsetDelta, as the cleaner writes', () => {
    const b = RecordBatch.at(
      buildBatchSync([{ value: 'x', timestamp: TS }, { value: 'y', timestamp: TS }], { baseOffset: 10, offsetDeltas: [2, 7], lastOffsetDelta: 9 }),
    );
    expect([b.baseOffset, b.lastOffset, b.count]).toEqual([10, 19, 2]);
    expect(b.toArray().map((r) => r.offset)).toEqual([12, 17]);
  });

  it('headers: pairs keep order and duplicates; objects are accepted; null values kept', () => {
    const b = RecordBatch.at(
      buildBatchSync([
        { value: 'v', headers: [['a', '1'], ['a', null], ['ü', Buffer.from([0])]] },
        { value: 'v', headers: { x: 'y', n: null } },
      ]),
    );
    const [r1, r2] = b.toArray();
    expect(r1.headers).toEqual([['a', Buffer.from('1')], ['a', null], ['ü', Buffer.from([0])]]);
    expect(r2.headers).toEqual([['x', Buffer.from('y')], ['n', null]]);
  });

  it('many records with many headers (the size pass grows its scratch space mid-batch)', () => {
    const recs = Array.from({ length: 300 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      headers: Array.from({ length: 1 + (i % 7) }, (_, h) => [`h${h}`, h % 2 ? null : `x${i}-${h}`] as [string, string | null]),
    }));
    const out = RecordBatch.at(buildBatchSync(recs, { now: 1 })).toArray();
    expect(out.map((r) => r.headers.map(([k, v]) => `${k}=${v?.toString() ?? 'null'}`).join(','))).toEqual(
      recs.map((r) => r.headers.map(([k, v]) => `${k}=${v ?? 'null'}`).join(',')),
    );
  });

  it('uses `now` for records without a timestamp, and rejects bad input with INVALID_ARGUMENT', () => {
    const b = RecordBatch.at(buildBatchSync([{ value: 'v' }], { now: 42 }));
    expect(b.toArray()[0].timestamp).toBe(42);
    const bad = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    bad(() => buildBatchSync([]));
    bad(() => buildBatchSync([{ value: 5 as unknown as string }]));
    bad(() => buildBatchSync([{ value: 'v' }], { producerEpoch: 70000 }));
    bad(() => buildBatchSync([{ value: 'v' }], { compression: 'brotli' as CompressionName }));
    bad(() => buildBatchSync([{ value: 'v' }], { baseOffset: -1 }));
    bad(() => buildBatchSync([{ value: 'v', timestamp: 1.5 }]));
    bad(() => buildBatchSync([{ value: 'v' }, { value: 'w' }], { offsetDeltas: [1, 1] }));
    bad(() => buildBatchSync([{ value: 'v' }], { compression: 'gzip', compressionLevel: 12 }));
  });
});
