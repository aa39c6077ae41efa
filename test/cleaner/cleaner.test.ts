/**
 * The cleaner's rules, one at a time (format notes §6.2–6.3, Kafka's Cleaner / LogCleanerManager):
 * latest record per key, offsets and batch boundaries, byte-for-byte copies, the tombstone
 * delete horizon, keyless records, empty batches, producer metadata, transaction markers,
 * grouping, the active segment, min/max compaction lag, the dirty ratio, the checkpoint, a full
 * offset map, the throttle, and the integration with Log (maintenance, truncation, appends).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { groupSegmentsBySize, planCleaning } from '../../src/cleaner/plan.js';
import { Throttler } from '../../src/cleaner/throttle.js';
import type { LogSegment } from '../../src/segment/segment.js';
import { buildBatchSync, buildEndTransactionMarker, encodeControlRecordKey, RecordBatch, type RecordInput } from '../../src/records/index.js';
import { DAY, T0, TestClock, fileBatches, openCompacted, readAll, segmentFiles, temporaries, tmpLogDir, type Seen } from './helpers.js';

const open: Log[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close().catch(() => undefined);
});

async function compacted(clock: TestClock, config: Record<string, unknown> = {}, dir = tmpLogDir()): Promise<Log> {
  const log = await openCompacted(dir, clock, config);
  open.push(log);
  return log;
}

/** Appends single-record batches key → value (null: tombstone) and returns their offsets. */
async function put(log: Log, pairs: [string, string | null][], clock?: TestClock): Promise<number[]> {
  const out: number[] = [];
  for (const [key, value] of pairs) out.push((await log.append([{ key, value, timestamp: clock?.now }])).firstOffset);
  return out;
}

/** What a reader must see after compaction of `written`: the last record per key (tombstones per `keepTombstones`). */
function expectedLatest(written: Seen[], keepTombstones: boolean): Seen[] {
  const last = new Map<string, Seen>();
  for (const r of written) last.set(r.key as string, r);
  return [...last.values()].filter((r) => keepTombstones || r.value !== null).sort((a, b) => a.offset - b.offset);
}

/** Writes hand-made batches as segment files (offsets already stamped), plus an empty active segment at `next`. */
function writeSegments(dir: string, segments: Buffer[][], next: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const batches of segments) {
    const base = RecordBatch.at(batches[0]).baseOffset;
    fs.writeFileSync(path.join(dir, `${String(base).padStart(20, '0')}.log`), Buffer.concat(batches));
  }
  fs.writeFileSync(path.join(dir, `${String(next).padStart(20, '0')}.log`), Buffer.alloc(0));
}

describe('latest value per key, offsets and batch boundaries', () => {
  it('keeps only the latest record of each key below the active segment, at its original offset and batch', async () => {
    const clock = new TestClock();
    const log = await compacted(clock);
    const ranges: [number, number][] = [];
    for (let i = 0; i < 60; i++) {
      const recs: RecordInput[] = Array.from({ length: 1 + (i % 3) }, (_, j) => ({ key: `k${(i * 7 + j) % 9}`, value: `v${i}.${j}` }));
      const r = await log.append(recs);
      ranges.push([r.firstOffset, r.lastOffset]);
    }
    await log.roll();
    const before = await readAll(log);
    const report = await log.clean();
    expect(report).toMatchObject({ ran: true, aborted: false, firstDirtyOffset: 0, endOffset: log.logEndOffset, firstUncleanableOffset: log.logEndOffset });
    const after = await readAll(log);
    expect(after).toEqual(expectedLatest(before, true));
    expect(report.recordsRead).toBe(before.length);
    expect(report.recordsKept).toBe(after.length);
    expect(report.recordsRemoved).toBe(before.length - after.length);
    // Every batch still on disk has the offsets it was appended with (empty ones included).
    const rangeSet = new Set(ranges.map(([a, b]) => `${a}-${b}`));
    for (const { batch } of fileBatches(log.dir)) expect(rangeSet.has(`${batch.baseOffset}-${batch.lastOffset}`)).toBe(true);
    // Nothing is left behind: no .cleaned, .swap or .deleted file (file.delete.delay.ms = 0).
    expect(temporaries(log.dir)).toEqual([]);
    expect(log.logEndOffset).toBe(ranges.at(-1)![1] + 1);
  });

  it('copies untouched batches byte for byte and rebuilds the others with gaps in their offsets', async () => {
    const clock = new TestClock();
    const log = await compacted(clock);
    await log.append([{ key: 'a', value: 'A' }, { key: 'b', value: 'B' }], { compression: 'gzip' }); // 0..1, never overwritten
    await log.append([{ key: 'c', value: 'C1' }, { key: 'd', value: 'D' }, { key: 'e', value: 'E1' }], { compression: 'snappy' }); // 2..4
    await put(log, [['c', 'C2'], ['e', 'E2']]); // 5, 6
    await log.roll();
    const original = fileBatches(log.dir).map((b) => Buffer.from(b.batch.buffer));
    const report = await log.clean();
    expect(report.batchesCopied).toBeGreaterThanOrEqual(3);
    expect(report.batchesRebuilt).toBe(1);
    const now = fileBatches(log.dir);
    expect(Buffer.compare(now[0].batch.buffer, original[0])).toBe(0);
    const rebuilt = now[1].batch;
    expect([rebuilt.baseOffset, rebuilt.lastOffset, rebuilt.count, rebuilt.compression]).toEqual([2, 4, 1, 'snappy']);
    expect(rebuilt.toArray().map((r) => r.offset)).toEqual([3]);
    expect(rebuilt.isValid()).toBe(true);
    expect((await readAll(log)).map((r) => `${r.offset}:${r.key}=${r.value}`)).toEqual(['0:a=A', '1:b=B', '3:d=D', '5:c=C2', '6:e=E2']);
  });
});

describe('tombstones and the delete horizon (§6.2)', () => {
  it('first rewrite stamps now + delete.retention.ms; a later cleaning drops the tombstone once now ≥ horizon', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { deleteRetentionMs: 1000 });
    await put(log, [['k1', 'v1'], ['k2', 'v2']], clock);
    clock.advance(10);
    await log.append([{ key: 'k3', value: 'v3' }, { key: 'k1', value: null }], { compression: 'lz4' }); // 2..3: a tombstone batch
    await put(log, [['k4', 'v4']], clock); // 4
    await log.roll();
    clock.advance(5);
    await log.clean();
    const [stamped] = fileBatches(log.dir).filter((b) => b.batch.baseOffset === 2);
    expect(stamped.batch.deleteHorizonMs).toBe(clock.now + 1000);
    expect(stamped.batch.baseTimestamp).toBe(clock.now + 1000);
    expect(stamped.batch.compression).toBe('lz4');
    // The record timestamps are kept (re-based onto the horizon).
    expect(stamped.batch.toArray().map((r) => [r.offset, r.timestamp, r.value])).toEqual([
      [2, T0 + 10, Buffer.from('v3')],
      [3, T0 + 10, null],
    ]);
    expect((await readAll(log)).map((r) => `${r.key}=${r.value}`)).toEqual(['k2=v2', 'k3=v3', 'k1=null', 'k4=v4']);

    // Before the horizon: kept, and the batch (nothing removed, horizon already set) is copied.
    clock.advance(500);
    const bytes = Buffer.from(stamped.batch.buffer);
    await log.clean({ force: true });
    const again = fileBatches(log.dir).find((b) => b.batch.baseOffset === 2)!;
    expect(Buffer.compare(again.batch.buffer, bytes)).toBe(0);

    // At the horizon: gone; the batch keeps its horizon and its other record.
    clock.now = stamped.batch.deleteHorizonMs! as number;
    const report = await log.clean({ force: true });
    expect(report.recordsRemoved).toBe(1);
    expect((await readAll(log)).map((r) => `${r.key}=${r.value}`)).toEqual(['k2=v2', 'k3=v3', 'k4=v4']);
    const last = fileBatches(log.dir).find((b) => b.batch.baseOffset === 2)!.batch;
    expect([last.count, last.lastOffset, last.deleteHorizonMs]).toEqual([1, 3, stamped.batch.deleteHorizonMs]);
  });

  it('a superseded tombstone goes at once, whatever its horizon', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { deleteRetentionMs: DAY });
    await put(log, [['k', 'a'], ['k', null], ['k', 'b']]);
    await log.roll();
    await log.clean();
    expect((await readAll(log)).map((r) => `${r.offset}:${r.value}`)).toEqual(['2:b']);
  });
});

describe('keyless records, empty batches, producer metadata', () => {
  it('drops records without a key (left from a time the topic was not compacted); compacted appends refuse them', async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    const plain = await Log.open(dir, { clock: clock.fn, config: { segmentBytes: 1024 } });
    await plain.append([{ key: 'k', value: 'v' }, { value: 'no key' }]);
    await plain.append([{ key: 'j', value: 'w' }]);
    await plain.append([{ value: 'last, no key' }]);
    await plain.close();
    const log = await compacted(clock, {}, dir);
    await log.roll();
    const report = await log.clean();
    expect(report.recordsRemoved).toBe(2);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['v', 'w']);
    // The round's last batch became empty and stays, so its offset is not lost.
    const last = fileBatches(dir).at(-1)!.batch;
    expect([last.baseOffset, last.count, last.sizeInBytes, last.baseTimestamp]).toEqual([3, 0, 61, -1]);

    await expect(log.append([{ key: 'a', value: '1' }, { value: '2' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(log.append([{ key: null, value: '2' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(log.appendBatches(buildBatchSync([{ value: 'x' }]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(log.appendBatches(buildBatchSync([{ key: 'a', value: 'x' }, { value: 'y' }], { compression: 'zstd' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await log.appendBatches(buildBatchSync([{ key: 'a', value: 'x' }], { compression: 'zstd' }))).firstOffset).toBe(4);
  });

  it("keeps an active producer's last batch as an empty batch with its producer fields, until the producer expires", async () => {
    const clock = new TestClock();
    const log = await compacted(clock);
    const produced = buildBatchSync([{ key: 'p', value: '1', timestamp: T0 }, { key: 'q', value: '1', timestamp: T0 }], { producerId: 42, producerEpoch: 3, baseSequence: 7 });
    await log.appendBatches(produced); // 0..1, producer 42's last batch
    await put(log, [['p', '2'], ['q', '2'], ['z', '1']], clock); // 2..4
    await log.roll();
    const r1 = await log.clean({ producerIdExpirationMs: 1000 });
    expect(r1.emptyBatches).toBeGreaterThanOrEqual(1);
    const kept = fileBatches(log.dir)[0].batch;
    expect([kept.baseOffset, kept.lastOffset, kept.count, kept.producerId, kept.producerEpoch, kept.baseSequence, kept.lastSequence, kept.maxTimestamp]).toEqual([0, 1, 0, 42, 3, 7, 8, T0]);
    expect((await readAll(log)).map((r) => r.offset)).toEqual([2, 3, 4]);
    // producer.id.expiration.ms passed: the producer is no longer active, its empty batch goes.
    clock.advance(1000);
    await log.clean({ force: true, producerIdExpirationMs: 1000 });
    expect(fileBatches(log.dir)[0].batch.baseOffset).toBe(2);
  });

  it('a rebuilt batch keeps codec, producer fields, leader epoch and LogAppendTime', async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    const log = await Log.open(dir, { clock: clock.fn, leaderEpoch: 7, config: { cleanupPolicy: 'compact', messageTimestampType: 'LogAppendTime', fileDeleteDelayMs: 0 } });
    open.push(log);
    const batch = buildBatchSync(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '1' },
        { key: 'c', value: '1' },
      ],
      { producerId: 9, producerEpoch: 2, baseSequence: 100, isTransactional: false, compression: 'lz4', now: T0 - 50 },
    );
    clock.advance(3);
    await log.appendBatches(batch); // 0..2, LogAppendTime T0+3
    await log.append([{ key: 'b', value: '2' }]);
    await log.append([{ key: 'z', value: '2' }]);
    await log.roll();
    await log.clean({ producerIdExpirationMs: 0 });
    const b = fileBatches(dir)[0].batch;
    expect({ base: b.baseOffset, last: b.lastOffset, count: b.count, pid: b.producerId, epoch: b.producerEpoch, seq: b.baseSequence, ple: b.partitionLeaderEpoch, type: b.timestampType, max: b.maxTimestamp, codec: b.compression }).toEqual({
      base: 0,
      last: 2,
      count: 2,
      pid: 9,
      epoch: 2,
      seq: 100,
      ple: 7,
      type: 'LogAppendTime',
      max: T0 + 3,
      codec: 'lz4',
    });
    expect(b.toArray().map((r) => [r.offset, r.timestamp])).toEqual([
      [0, T0 + 3],
      [2, T0 + 3],
    ]);
  });
});

describe('control batches (transaction markers)', () => {
  /** Producer 7: a transaction (k1, k2) and its marker, overwritten by plain records, plus a KRaft control batch. */
  function txnLog(dir: string, marker: 'COMMIT' | 'ABORT'): void {
    const data = buildBatchSync([{ key: 'k1', value: 't1', timestamp: T0 }, { key: 'k2', value: 't2', timestamp: T0 }], { baseOffset: 0, producerId: 7, producerEpoch: 1, baseSequence: 0, isTransactional: true });
    const end = buildEndTransactionMarker({ type: marker, producerId: 7, producerEpoch: 1, coordinatorEpoch: 5, timestamp: T0, baseOffset: 2 });
    const plain = buildBatchSync([{ key: 'k1', value: 'p1', timestamp: T0 }, { key: 'k2', value: 'p2', timestamp: T0 }], { baseOffset: 3 });
    const leaderChange = buildBatchSync([{ key: encodeControlRecordKey(2), value: Buffer.from([0, 0]), timestamp: T0 }], { baseOffset: 5, isControl: true });
    const tail = buildBatchSync([{ key: 'k3', value: 'p3', timestamp: T0 }], { baseOffset: 6 });
    writeSegments(dir, [[data, end, plain, leaderChange, tail]], 7);
  }
  const controls = (dir: string) => fileBatches(dir).filter((b) => b.batch.isControl).map((b) => ({ offset: b.batch.baseOffset, count: b.batch.count, horizon: b.batch.deleteHorizonMs }));

  for (const marker of ['COMMIT', 'ABORT'] as const) {
    it(`${marker}: kept while its transaction's data remains, then stamped with a horizon, then dropped after it`, async () => {
      const clock = new TestClock();
      clock.now = T0 + 2 * DAY; // producer 7 has expired (producer.id.expiration.ms, 1 day)
      const dir = tmpLogDir();
      txnLog(dir, marker);
      const log = await compacted(clock, { deleteRetentionMs: 1000 }, dir);
      // Pass 1: the transaction's data batch is superseded and goes; the marker saw it, so it stays as is.
      await log.clean({ force: true });
      expect(fileBatches(dir).map((b) => b.batch.baseOffset)).toEqual([2, 3, 5, 6]);
      expect(controls(dir)).toEqual([
        { offset: 2, count: 1, horizon: null },
        { offset: 5, count: 1, horizon: null },
      ]);
      // Pass 2: no data of the transaction left: the marker gets a delete horizon.
      await log.clean({ force: true });
      expect(controls(dir)).toEqual([
        { offset: 2, count: 1, horizon: clock.now + 1000 },
        { offset: 5, count: 1, horizon: null },
      ]);
      // Pass 3, after the horizon: the marker is gone; other control types always stay.
      clock.advance(1000);
      await log.clean({ force: true });
      expect(controls(dir)).toEqual([{ offset: 5, count: 1, horizon: null }]);
      expect((await readAll(log)).map((r) => `${r.key}=${r.value}`)).toEqual(['k1=p1', 'k2=p2', 'k3=p3']);
    });
  }

  it("an active transactional producer keeps its last data batch (empty) and so its marker", async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    txnLog(dir, 'COMMIT');
    const log = await compacted(clock, { deleteRetentionMs: 0 }, dir);
    for (let i = 0; i < 3; i++) await log.clean({ force: true });
    const first = fileBatches(dir)[0].batch;
    expect([first.baseOffset, first.lastOffset, first.count, first.producerId, first.isTransactional]).toEqual([0, 1, 0, 7, true]);
    expect(controls(dir).map((c) => c.offset)).toEqual([2, 5]);
  });
});

const controls = (dir: string) => fileBatches(dir).filter((b) => b.batch.isControl).map((b) => ({ offset: b.batch.baseOffset }));

describe('aborted transactions (from the .txnindex)', () => {
  it('removes aborted data, keeps the ABORT marker with its index entry while data went, then lets it go after the horizon', async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    const log = await compacted(clock, { deleteRetentionMs: 1000 }, dir);
    const txn = (producerId: number, baseSequence: number) => ({ producer: { producerId, producerEpoch: 0, baseSequence, transactional: true } });
    await log.append([{ key: 'a1', value: 'aborted' }, { key: 'a2', value: 'aborted' }], txn(7, 0));
    await log.append([{ key: 'c1', value: 'committed' }], txn(8, 0));
    await log.append([{ key: 'a3', value: 'aborted' }], txn(7, 2));
    await log.endTransaction(7, 0, false, 1);
    await log.endTransaction(8, 0, true, 1);
    await log.append([{ key: 'p1', value: 'plain' }]);
    await log.roll();
    const visible = async () => (await readAll(log)).map((r) => `${r.key}=${r.value}`);
    const committed = () => [...log.recordsSync(0, { isolation: 'read_committed' })].map((r) => `${r.key}=${r.value}`);
    expect(await visible()).toEqual(['a1=aborted', 'a2=aborted', 'c1=committed', 'a3=aborted', 'p1=plain']);
    expect(committed()).toEqual(['c1=committed', 'p1=plain']);
    const abortOffset = 4;
    // Both producers expire (producer.id.expiration.ms): their last batches need not stay.
    clock.advance(2 * DAY);

    await log.clean({ force: true });
    expect(await visible()).toEqual(['c1=committed', 'p1=plain']);
    expect(committed()).toEqual(['c1=committed', 'p1=plain']);
    expect(controls(dir).map((c) => c.offset)).toEqual([abortOffset, 5]);
    const txnIndexes = () => fs.readdirSync(dir).filter((f) => f.endsWith('.txnindex') && fs.statSync(path.join(dir, f)).size > 0);
    expect(txnIndexes()).toEqual(['00000000000000000000.txnindex']);

    // No aborted data left: the marker is stamped, then dropped after the horizon, with its entry.
    // The COMMIT stays: its transaction's record (c1) is still the latest of its key.
    await log.clean({ force: true });
    clock.advance(1000);
    await log.clean({ force: true });
    expect(controls(dir).map((c) => c.offset)).toEqual([5]);
    expect(txnIndexes()).toEqual([]);
    expect(await visible()).toEqual(['c1=committed', 'p1=plain']);
  });
});

describe('which segments: grouping, active segment, lags, dirty ratio', () => {
  it('merges small segments into outputs of at most segment.bytes', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { segmentBytes: 1024 });
    for (let i = 0; i < 200; i++) await put(log, [[`k${i % 20}`, `value-${i}`]]);
    await log.roll();
    const before = log.numberOfSegments;
    await log.clean();
    // Kafka groups by the sizes before cleaning: one output per full-size source.
    expect(log.numberOfSegments).toBe(before);
    const report = await log.clean({ force: true });
    expect(report.segmentsCleaned).toBeGreaterThan(report.segmentsWritten);
    expect(log.numberOfSegments).toBeLessThan(before / 3);
    for (const base of segmentFiles(log.dir)) expect(fs.statSync(path.join(log.dir, `${String(base).padStart(20, '0')}.log`)).size).toBeLessThanOrEqual(1024);
    expect((await readAll(log)).length).toBe(20);
  });

  it('groupSegmentsBySize: log bytes, index bytes and the int32 offset span each end a group', () => {
    const seg = (baseOffset: number, size: number, index = 0): LogSegment => ({ baseOffset, size, offsetIndex: { sizeInBytes: index }, timeIndex: { sizeInBytes: index } }) as unknown as LogSegment;
    const bases = (groups: LogSegment[][]) => groups.map((g) => g.map((s) => s.baseOffset));
    expect(bases(groupSegmentsBySize([seg(0, 400), seg(10, 400), seg(20, 400), seg(30, 100)], { maxSize: 1000, maxIndexSize: 1 << 20, firstUncleanableOffset: 40 }))).toEqual([[0, 10], [20, 30]]);
    expect(bases(groupSegmentsBySize([seg(0, 1, 600), seg(10, 1, 600), seg(20, 1, 300)], { maxSize: 1000, maxIndexSize: 1000, firstUncleanableOffset: 40 }))).toEqual([[0], [10, 20]]);
    const big = 2 ** 31;
    expect(bases(groupSegmentsBySize([seg(0, 1), seg(big - 10, 1), seg(big + 5, 1)], { maxSize: 1000, maxIndexSize: 1000, firstUncleanableOffset: big + 10 }))).toEqual([[0], [big - 10, big + 5]]);
    // An empty segment does not take part in the span check.
    expect(bases(groupSegmentsBySize([seg(0, 1), seg(big - 10, 0), seg(big + 5, 1)], { maxSize: 1000, maxIndexSize: 1000, firstUncleanableOffset: big + 10 }))).toEqual([[0, big - 10], [big + 5]]);
  });

  it('never touches the active segment', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { segmentBytes: 100_000 });
    for (let i = 0; i < 30; i++) await put(log, [[`k${i % 3}`, `v${i}`]]);
    const activeFile = path.join(log.dir, '00000000000000000000.log');
    const bytes = fs.readFileSync(activeFile);
    const report = await log.clean({ force: true });
    expect(report).toMatchObject({ ran: false, reason: 'nothing-to-clean' });
    await log.roll();
    for (let i = 0; i < 30; i++) await put(log, [[`k${i % 3}`, `w${i}`]]);
    const active = path.join(log.dir, `${String(30).padStart(20, '0')}.log`);
    const activeBytes = fs.readFileSync(active);
    await log.clean();
    expect(Buffer.compare(fs.readFileSync(active), activeBytes)).toBe(0);
    expect(fs.readFileSync(activeFile).length).toBeLessThan(bytes.length);
    // Duplicates in the active segment are all still there.
    expect((await readAll(log)).filter((r) => r.offset >= 30).length).toBe(30);
  });

  it('min.compaction.lag.ms: segments with a record younger than the lag are not cleaned yet', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { minCompactionLagMs: 10_000 });
    await put(log, [['k', 'old1'], ['k', 'old2']], clock);
    await log.roll();
    clock.advance(20_000);
    await put(log, [['k', 'young1'], ['k', 'young2']], clock);
    await log.roll();
    clock.advance(5_000); // the first segment is 25 s old, the second 5 s
    const r1 = await log.clean();
    expect(r1).toMatchObject({ ran: true, firstUncleanableOffset: 2, endOffset: 2 });
    expect((await readAll(log)).map((r) => r.value)).toEqual(['old2', 'young1', 'young2']);
    clock.advance(5_000);
    const r2 = await log.clean({ force: true });
    expect(r2.firstUncleanableOffset).toBe(4);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['young2']);
  });

  it('the dirty ratio decides, and max.compaction.lag.ms forces a round below it', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { segmentBytes: 4096, maxCompactionLagMs: 60_000, minCleanableDirtyRatio: 0.5 });
    for (let i = 0; i < 40; i++) await put(log, [[`k${i}`, `value-${i}`]], clock);
    await log.roll();
    expect((await log.clean()).ran).toBe(true); // all dirty: ratio 1
    await put(log, [['k1', 'again']], clock);
    await log.roll();
    const r1 = await log.clean();
    expect(r1).toMatchObject({ ran: false, reason: 'not-cleanable', needsCompactionNow: false });
    expect(r1.dirtyRatio).toBeGreaterThan(0);
    expect(r1.dirtyRatio).toBeLessThan(0.1);
    clock.advance(60_001);
    const r2 = await log.clean();
    expect(r2).toMatchObject({ ran: true, needsCompactionNow: true });
    expect((await readAll(log)).filter((r) => r.key === 'k1').map((r) => r.value)).toEqual(['again']);
  });

  it('planCleaning: checkpoint reset, high watermark bound, ratio', () => {
    const seg = (baseOffset: number, size: number): LogSegment =>
      ({ baseOffset, size, largestTimestamp: () => T0, firstBatchTimestamp: () => T0 }) as unknown as LogSegment;
    const segments = [seg(0, 100), seg(10, 100), seg(20, 100), seg(30, 0)];
    const base = { segments, logStartOffset: 0, logEndOffset: 30, highWatermark: 30, now: T0, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, minCleanableDirtyRatio: 0.5 };
    expect(planCleaning({ ...base, checkpoint: undefined })).toMatchObject({ firstDirtyOffset: 0, firstUncleanableOffset: 30, cleanBytes: 0, cleanableBytes: 300, dirtyRatio: 1, shouldClean: true, checkpointReset: true });
    expect(planCleaning({ ...base, checkpoint: 20 })).toMatchObject({ firstDirtyOffset: 20, cleanBytes: 200, cleanableBytes: 100, shouldClean: false, checkpointReset: false });
    expect(planCleaning({ ...base, checkpoint: 99 })).toMatchObject({ firstDirtyOffset: 0, checkpointReset: true });
    expect(planCleaning({ ...base, checkpoint: 0, logStartOffset: 10 })).toMatchObject({ firstDirtyOffset: 10, checkpointReset: true });
    // A high watermark inside a segment: that whole segment stays uncleaned.
    expect(planCleaning({ ...base, checkpoint: 0, highWatermark: 15 })).toMatchObject({ firstUncleanableOffset: 10, cleanableBytes: 100 });
  });
});

describe('checkpoint, full offset map, throttle', () => {
  it('writes cleaner-offset-checkpoint in Kafka format and lowers it when the log is truncated below it', async () => {
    const clock = new TestClock();
    const log = await compacted(clock);
    for (let i = 0; i < 40; i++) await put(log, [[`k${i % 4}`, `v${i}`]]);
    await log.roll();
    const r = await log.clean();
    const file = path.join(log.dir, 'cleaner-offset-checkpoint');
    expect(fs.readFileSync(file, 'utf8')).toBe(`0\n1\ntopic 0 ${r.endOffset}\n`);
    await put(log, [['k9', 'x']]);
    await log.truncateTo(10);
    expect(fs.readFileSync(file, 'utf8')).toBe(`0\n1\ntopic 0 ${log.segmentBaseOffsets().at(-1)}\n`);
    // Kafka only lowers it; one below the new log start is reset by the next round.
    await log.truncateFullyAndStartAt(100);
    expect(fs.readFileSync(file, 'utf8')).toBe('0\n1\ntopic 0 0\n');
    await put(log, [['a', '1']]);
    await log.roll();
    expect(await log.clean()).toMatchObject({ firstDirtyOffset: 100, endOffset: 101 });
  });

  it('a checkpoint beyond the log end is reset to the log start (and rewritten)', async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cleaner-offset-checkpoint'), '0\n1\ntopic 0 999\n');
    const log = await compacted(clock, {}, dir);
    await put(log, [['a', '1'], ['a', '2']]);
    await log.roll();
    const r = await log.clean();
    expect(r).toMatchObject({ firstDirtyOffset: 0, endOffset: 2, ran: true });
    expect((await readAll(log)).map((x) => x.value)).toEqual(['2']);
  });

  it('a full offset map ends the round early (endOffset); later rounds finish the work', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { segmentBytes: 2048 });
    const written: Seen[] = [];
    for (let i = 0; i < 600; i++) {
      const key = `key-${(i * 37) % 300}`;
      const off = (await log.append([{ key, value: `v${i}` }])).firstOffset;
      written.push({ offset: off, key, value: `v${i}`, timestamp: 0 });
    }
    await log.roll();
    const small = { dedupeBufferSize: 150 * 24 }; // ≈ 120 keys
    const r1 = await log.clean(small);
    expect(r1.ran).toBe(true);
    expect(r1.endOffset).toBeLessThan(r1.firstUncleanableOffset);
    expect(fs.readFileSync(path.join(log.dir, 'cleaner-offset-checkpoint'), 'utf8')).toContain(` ${r1.endOffset}\n`);
    let last = r1;
    for (let i = 0; i < 20 && last.endOffset < last.firstUncleanableOffset; i++) last = await log.clean({ ...small, force: true });
    expect(last.endOffset).toBe(600);
    // Each round is correct on its own: the latest value of every key survives all of them.
    expect(await readAll(log)).toEqual(expectedLatest(written, true).map((r) => ({ ...r, timestamp: expect.any(Number) })));
  });

  it('Throttler sleeps observed/rate − elapsed once a check interval has passed', async () => {
    let now = 0;
    const slept: number[] = [];
    const t = new Throttler({ bytesPerSecond: 1000, clock: () => now, sleep: async (ms) => void slept.push(ms) });
    await t.maybeThrottle(500); // interval not over: no check
    now = 301;
    await t.maybeThrottle(500); // 1000 bytes in 301 ms: sleep 1000 − 301
    expect(slept).toEqual([699]);
    now = 1000;
    await t.maybeThrottle(100); // 100 bytes in 699 ms: under the rate
    expect(slept).toEqual([699]);
    expect(new Throttler().enabled).toBe(false);
    expect(() => new Throttler({ bytesPerSecond: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('a round under log.cleaner.io.max.bytes.per.second takes at least (bytes read + written) / rate', async () => {
    // A clock that moves 10 ms whenever it is read (each chunk reads it), so check intervals
    // pass; the throttle's sleep moves it too.
    let t = T0;
    const dir = tmpLogDir();
    const log = await Log.open(dir, { clock: () => (t += 10), config: { cleanupPolicy: 'compact', segmentBytes: 4096, fileDeleteDelayMs: 0 } });
    open.push(log);
    for (let i = 0; i < 300; i++) await log.append([{ key: `k${i % 50}`, value: `value-${i}-${'x'.repeat(40)}` }]);
    await log.roll();
    const rate = 5000;
    const start = t;
    const report = await log.clean({
      ioMaxBytesPerSecond: rate,
      sleep: async (ms) => {
        t += ms;
      },
    });
    const io = report.bytesRead + report.bytesWritten;
    expect(report.throttledMs).toBeGreaterThan(0);
    // Paced at the rate, except the bytes of the last check interval (up to ~15 small chunks here).
    expect(t - start).toBeGreaterThan(((io / rate) * 1000) / 2);
    expect(report.throttledMs).toBeLessThanOrEqual((io / rate) * 1000);
  });
});

describe('Log integration', () => {
  it('runMaintenance cleans a compacted log and reports it; other policies report null', async () => {
    const clock = new TestClock();
    const log = await compacted(clock);
    for (let i = 0; i < 50; i++) await put(log, [[`k${i % 5}`, `v${i}`]]);
    await log.roll();
    const m = await log.runMaintenance();
    expect(m.cleaned).toMatchObject({ ran: true, aborted: false });
    expect((await readAll(log)).length).toBe(5);
    const m2 = await log.runMaintenance();
    expect(m2.cleaned).toMatchObject({ ran: false });
    const plain = await Log.open(tmpLogDir(), { clock: clock.fn });
    open.push(plain);
    expect((await plain.runMaintenance()).cleaned).toBeNull();
    expect(await plain.clean()).toMatchObject({ ran: false, reason: 'not-compacted' });
  });

  it('LogOptions.cleaner sets the defaults of every round (here a small dedupe buffer)', async () => {
    const clock = new TestClock();
    const log = await openCompacted(tmpLogDir(), clock, { segmentBytes: 2048 }, { cleaner: { dedupeBufferSize: 100 * 24 } });
    open.push(log);
    for (let i = 0; i < 300; i++) await put(log, [[`key-${i}`, `v${i}`]]);
    await log.roll();
    const m = await log.runMaintenance();
    expect(m.cleaned!.endOffset).toBeLessThan(m.cleaned!.firstUncleanableOffset);
    expect(m.cleaned!.offsetMapKeys).toBeLessThanOrEqual(100);
  });

  it('compaction and retention together (cleanup.policy=compact,delete)', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { cleanupPolicy: 'compact,delete', retentionMs: DAY });
    for (let i = 0; i < 50; i++) await put(log, [[`k${i % 5}`, `v${i}`]], clock);
    await log.roll();
    await log.runMaintenance();
    expect((await readAll(log)).length).toBe(5);
    clock.advance(2 * DAY);
    await put(log, [['n', 'new']], clock);
    const m = await log.runMaintenance();
    expect(m.deletedSegments).toBeGreaterThan(0);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['new']);
  });

  it('a cleaned log reopens with the same contents', async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    const log = await openCompacted(dir, clock, { deleteRetentionMs: DAY });
    for (let i = 0; i < 80; i++) await put(log, [[`k${i % 7}`, i % 11 === 0 ? null : `v${i}`]], clock);
    await log.roll();
    await log.clean();
    const contents = await readAll(log);
    await log.close();
    const again = await openCompacted(dir, clock);
    expect(await readAll(again)).toEqual(contents);
    expect(again.loadReport.completedSwaps).toBe(0);
    await again.close();
  });

  it('close during a round stops it and leaves no temporary files', async () => {
    const clock = new TestClock();
    const dir = tmpLogDir();
    const log = await openCompacted(dir, clock, { segmentBytes: 16 * 1024 });
    for (let i = 0; i < 40; i++) await log.append(Array.from({ length: 50 }, (_, j) => ({ key: `k${(i * 50 + j) % 500}`, value: `value-${i}-${j}` })));
    await log.roll();
    const round = log.clean();
    await new Promise((resolve) => setImmediate(resolve));
    await log.close();
    const report = await round;
    expect(report.aborted || report.ran).toBe(true);
    expect(temporaries(dir)).toEqual([]);
    const again = await openCompacted(dir, clock);
    const seen = await readAll(again);
    expect(new Set(seen.map((r) => r.key)).size).toBe(500);
    await again.close();
  });

  it('close does not wait out a long throttle sleep', async () => {
    // A clock that moves 100 ms per read: the first throttle check comes at once and asks for a
    // sleep of minutes at 100 bytes/s (real timer).
    let t = T0;
    const dir = tmpLogDir();
    const log = await Log.open(dir, { clock: () => (t += 100), config: { cleanupPolicy: 'compact', segmentBytes: 4096, fileDeleteDelayMs: 0 } });
    for (let i = 0; i < 200; i++) await log.append([{ key: `k${i % 10}`, value: `v${i}-${'x'.repeat(30)}` }]);
    await log.roll();
    const round = log.clean({ ioMaxBytesPerSecond: 100 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await log.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await round).toMatchObject({ aborted: true, reason: 'aborted-closed' });
    expect(temporaries(dir)).toEqual([]);
    await expect(log.clean()).rejects.toMatchObject({ code: 'LOG_CLOSED' });
  });

  it('a truncation during a round stops it before its next swap', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { segmentBytes: 2048 });
    for (let i = 0; i < 400; i++) await put(log, [[`k${i % 40}`, `v${i}`]]);
    await log.roll();
    let truncated = false;
    const report = await log.clean({
      onStep: (step) => {
        if (step === 'swapped' && !truncated) {
          truncated = true;
          void log.truncateTo(300);
        }
      },
    });
    expect(report).toMatchObject({ aborted: true, reason: 'aborted-truncated', ran: true });
    expect(log.logEndOffset).toBe(300);
    expect(temporaries(log.dir)).toEqual([]);
    const seen = await readAll(log);
    expect(seen.every((r) => r.offset < 300)).toBe(true);
    expect(fs.existsSync(path.join(log.dir, 'cleaner-offset-checkpoint'))).toBe(false);
  });

  it('retention deleting segments during a round abandons it cleanly', async () => {
    const clock = new TestClock();
    const log = await compacted(clock, { segmentBytes: 2048, cleanupPolicy: 'compact,delete', retentionMs: DAY });
    for (let i = 0; i < 300; i++) await put(log, [[`k${i % 40}`, `v${i}`]], clock);
    await log.roll();
    clock.advance(2 * DAY);
    await put(log, [['fresh', 'x']], clock);
    const round = log.clean({
      onStep: (step) => {
        if (step === 'cleaned-written') void log.deleteOldSegments();
      },
    });
    const report = await round;
    expect(report).toMatchObject({ aborted: true, reason: 'aborted-segments-changed' });
    expect(temporaries(log.dir)).toEqual([]);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['x']);
  });
});
