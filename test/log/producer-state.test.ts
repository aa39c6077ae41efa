/**
 * Producer state (ProducerStateManager and friends): the §10.7 snapshot vectors byte for byte,
 * every real `.snapshot` of the Kafka 2.7.1 fixture, Kafka's validation rules one by one
 * (duplicates, epochs, sequences with the int32 wrap, transactions, coordinator fencing, the
 * lenient 'replication' origin), transactions and the LSO / `.txnindex` entry, the undo of an
 * applied append, expiry, snapshot round trips and corrupt snapshots (deleted, the older one
 * used), Kafka's truncateAndReload and removeStraySnapshots rules, and the rebuild and recovery
 * paths against the state built by live appends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/assert.js';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import {
  PRODUCER_SNAPSHOT_ENTRY_SIZE,
  PRODUCER_SNAPSHOT_HEADER_SIZE,
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  listSnapshotFiles,
  producerSnapshotFile,
  type ProducerSnapshotEntry,
} from '../../src/log/producer-snapshot.js';
import {
  BatchMetadata,
  ProducerStateEntry,
  ProducerStateManager,
  decrementSequence,
  lastStableOffsetOfLog,
  producerBatchInfo,
  rebuildProducerState,
  type AppendOrigin,
  type ProducerBatch,
  type ProducerBatchInfo,
  type ProducerStateSegment,
} from '../../src/log/producer-state.js';
import { RecordBatch, buildBatchSync, buildEndTransactionMarker, crc32c } from '../../src/records/index.js';
import { TransactionIndex } from '../../src/segment/txn-index.js';
import { KAFKA_FIXTURES, hex } from '../helpers/paths.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-producer-state-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const INT32_MAX = 0x7fffffff;
const T0 = 1_700_000_000_000;

function expectCode(fn: () => unknown, code: string): SeglogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    expect((err as SeglogError).code).toBe(code);
    return err as SeglogError;
  }
  throw new Error(`expected a ${code} error`);
}

/** lastSequence of a batch as Kafka computes it (wrapping at int32 max). */
const lastSeqOf = (baseSeq: number, delta: number) => (baseSeq + delta > INT32_MAX ? baseSeq + delta - INT32_MAX - 1 : baseSeq + delta);

/** A data batch header of `count` records. */
function data(pid: number, epoch: number, baseSeq: number, count: number, baseOffset: number, o: { txn?: boolean; ts?: number } = {}): ProducerBatchInfo {
  return {
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: baseSeq,
    lastSequence: lastSeqOf(baseSeq, count - 1),
    baseOffset,
    lastOffset: baseOffset + count - 1,
    maxTimestamp: o.ts ?? T0 + baseOffset,
    isTransactional: o.txn ?? false,
    isControl: false,
  };
}

/** A COMMIT/ABORT marker header. */
function marker(pid: number, epoch: number, offset: number, type: 'COMMIT' | 'ABORT', coordinatorEpoch = 0, ts = T0 + offset): ProducerBatchInfo {
  return {
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: -1,
    lastSequence: -1,
    baseOffset: offset,
    lastOffset: offset,
    maxTimestamp: ts,
    isTransactional: true,
    isControl: true,
    marker: { type, coordinatorEpoch, timestamp: ts },
  };
}

/** Everything observable about a manager's state, for equality checks. */
function stateOf(psm: ProducerStateManager): unknown {
  return {
    producers: [...psm.activeProducers().values()]
      .sort((a, b) => a.producerId - b.producerId)
      .map((e) => ({
        pid: e.producerId,
        epoch: e.producerEpoch,
        coordinatorEpoch: e.coordinatorEpoch,
        lastTimestamp: e.lastTimestamp,
        txn: e.currentTxnFirstOffset,
        batches: e.batchMetadata.map((b) => [b.lastSeq, b.lastOffset, b.offsetDelta, b.timestamp]),
      })),
    ongoing: psm.ongoingTransactions().map((t) => [t.producerId, t.firstOffset, t.lastOffset]),
    unreplicated: psm.unreplicatedTransactions().map((t) => [t.producerId, t.firstOffset, t.lastOffset]),
    mapEndOffset: psm.mapEndOffset,
  };
}

/**
 * What a snapshot keeps of a state: per producer only the last batch, whose timestamp becomes
 * the producer's lastTimestamp (the file stores one timestamp per producer).
 */
function snapshotView(state: unknown): unknown {
  const x = state as { producers: { lastTimestamp: number; batches: number[][] }[] };
  return { ...x, producers: x.producers.map((p) => ({ ...p, batches: p.batches.slice(-1).map(([seq, off, delta]) => [seq, off, delta, p.lastTimestamp]) })) };
}

/** Appends as a log does: analyze, apply with nextOffset = last batch's lastOffset + 1. */
function append(psm: ProducerStateManager, batches: ProducerBatch[], origin: AppendOrigin = 'client') {
  const analysis = psm.analyze(batches, origin);
  if (analysis.duplicate !== null) return { duplicate: analysis.duplicate, applied: null };
  return { duplicate: null, applied: psm.applyAppend(analysis, batches[batches.length - 1].lastOffset + 1) };
}

const newManager = (d = dir, expirationMs?: number) => new ProducerStateManager({ dir: d, producerIdExpirationMs: expirationMs });

// ---------------------------------------------------------------------------------------------

describe('§10.7 snapshot vectors', () => {
  const VECTOR = hex(`00 01 | 14 70 d8 8c | 00 00 00 01 | 00 00 00 00 00 00 10 92 | 00 03 | 00 00 00 12 |
    00 00 00 00 00 00 00 65 | 00 00 00 01 | 00 00 01 8b cf e5 68 7b | 00 00 00 0b | ff ff ff ff ff ff ff ff`);
  const EMPTY = hex('00 01 48 67 4b c7 00 00 00 00');
  const ENTRY: ProducerSnapshotEntry = {
    producerId: 4242,
    producerEpoch: 3,
    lastSequence: 18,
    lastOffset: 101,
    offsetDelta: 1,
    timestamp: 1700000000123,
    coordinatorEpoch: 11,
    currentTxnFirstOffset: -1,
  };

  it('encodes and decodes the 56-byte one-producer snapshot and the 10-byte empty one', () => {
    expect(VECTOR.length).toBe(56);
    expect(PRODUCER_SNAPSHOT_HEADER_SIZE + PRODUCER_SNAPSHOT_ENTRY_SIZE).toBe(56);
    expect(Buffer.compare(encodeProducerSnapshot([ENTRY]), VECTOR)).toBe(0);
    expect(decodeProducerSnapshot(VECTOR)).toEqual([ENTRY]);
    expect(Buffer.compare(encodeProducerSnapshot([]), EMPTY)).toBe(0);
    expect(crc32c(hex('00 00 00 00'))).toBe(0x48674bc7);
    expect(decodeProducerSnapshot(EMPTY)).toEqual([]);
  });

  it('takeSnapshot writes those bytes from the manager state, named by the 20-digit map end offset', () => {
    const psm = newManager();
    psm.loadProducerEntry(new ProducerStateEntry(4242, 3, 11, 1700000000123, null, new BatchMetadata(18, 101, 1, 1700000000123)));
    psm.updateMapEndOffset(102);
    const file = psm.takeSnapshot();
    expect(file).toBe(path.join(dir, '00000000000000000102.snapshot'));
    expect(Buffer.compare(fs.readFileSync(file!), VECTOR)).toBe(0);
    expect(psm.takeSnapshot()).toBeNull(); // never twice for one offset

    const empty = newManager(fs.mkdtempSync(path.join(dir, 'e')));
    empty.updateMapEndOffset(7);
    expect(Buffer.compare(fs.readFileSync(empty.takeSnapshot()!), EMPTY)).toBe(0);
  });

  it('refuses to encode values that do not fit their fields', () => {
    expectCode(() => encodeProducerSnapshot([{ ...ENTRY, producerEpoch: 40000 }]), ErrorCode.VALUE_OUT_OF_RANGE);
    expectCode(() => encodeProducerSnapshot([{ ...ENTRY, lastOffset: 2 ** 53 }]), ErrorCode.VALUE_OUT_OF_RANGE);
    expectCode(() => encodeProducerSnapshot([{ ...ENTRY, coordinatorEpoch: 2 ** 31 }]), ErrorCode.VALUE_OUT_OF_RANGE);
  });
});

describe('Kafka 2.7.1 fixture snapshots', () => {
  const snapshots = fs
    .readdirSync(KAFKA_FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'expected')
    .flatMap((d) => listSnapshotFiles(path.join(KAFKA_FIXTURES, d.name)).map((s) => ({ part: d.name, ...s })));

  it('finds the nine snapshot files', () => {
    expect(snapshots.length).toBe(9);
  });

  it.each(snapshots.map((s) => [`${s.part}/${path.basename(s.file)}`, s]))('%s loads through truncateAndReload', (_, s) => {
    const copy = path.join(dir, s.part);
    fs.cpSync(path.join(KAFKA_FIXTURES, s.part), copy, { recursive: true });
    const psm = newManager(copy);
    const end = psm.truncateAndReload(0, s.offset, 1670071262224 + 1000);
    // Only the newest snapshot of the directory is loaded.
    expect(end).toBe(psm.latestSnapshotOffset());
    expect(psm.ongoingTransactions()).toEqual([]);
    if (s.part !== 'myTopic-0') {
      expect(psm.producerIdCount).toBe(0);
      return;
    }
    expect(end).toBe(38);
    expect(stateOf(psm)).toEqual({
      producers: [
        { pid: 4001, epoch: 0, coordinatorEpoch: -1, lastTimestamp: 1670068129797, txn: null, batches: [[11, 11, 2, 1670068129797]] },
        { pid: 4002, epoch: 0, coordinatorEpoch: -1, lastTimestamp: 1670068739452, txn: null, batches: [[11, 23, 11, 1670068739452]] },
        { pid: 4003, epoch: 0, coordinatorEpoch: -1, lastTimestamp: 1670071262224, txn: null, batches: [[13, 37, 13, 1670071262224]] },
      ],
      ongoing: [],
      unreplicated: [],
      mapEndOffset: 38,
    });
    expect(psm.lastEntry(4001)!.firstSeq).toBe(9);
  });

  it('myTopic-0: its producers continue from the snapshot (next sequence, duplicate of the last batch)', () => {
    const copy = path.join(dir, 'myTopic-0');
    fs.cpSync(path.join(KAFKA_FIXTURES, 'myTopic-0'), copy, { recursive: true });
    const psm = newManager(copy);
    psm.truncateAndReload(0, 38, 1670071262224);
    expect(append(psm, [data(4001, 0, 9, 3, 38)]).duplicate).toMatchObject({ firstOffset: 9, lastOffset: 11, firstSeq: 9, lastSeq: 11 });
    expectCode(() => psm.analyze([data(4001, 0, 13, 1, 38)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    append(psm, [data(4001, 0, 12, 2, 38)]);
    expect(psm.lastEntry(4001)!.lastSeq).toBe(13);
    expect(psm.mapEndOffset).toBe(40);
    // A day after their last write the producers are expired when the snapshot is loaded.
    const later = newManager(copy);
    later.truncateAndReload(0, 38, 1670068739452 + 86_400_000);
    expect([...later.activeProducers().keys()]).toEqual([4003]);
  });
});

describe('validation (origin client)', () => {
  it('a new producer may start at any sequence; then each batch must follow the last', () => {
    const psm = newManager();
    append(psm, [data(1, 0, 5, 3, 0)]);
    append(psm, [data(1, 0, 8, 2, 3)]);
    expectCode(() => psm.analyze([data(1, 0, 11, 1, 5)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    expectCode(() => psm.analyze([data(1, 0, 9, 1, 5)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    append(psm, [data(1, 0, 10, 1, 5)]);
    expect(psm.lastEntry(1)!.batchMetadata.map((b) => [b.firstSeq, b.lastSeq, b.firstOffset, b.lastOffset])).toEqual([
      [5, 7, 0, 2],
      [8, 9, 3, 4],
      [10, 10, 5, 5],
    ]);
  });

  it('a retry of any of the last five batches is a duplicate with its original offsets; the sixth is not', () => {
    const psm = newManager();
    let offset = 0;
    for (let i = 0; i < 6; i++) {
      append(psm, [data(1, 0, i * 2, 2, offset, { ts: T0 + i })]);
      offset += 2;
    }
    for (let i = 1; i < 6; i++) {
      const r = append(psm, [data(1, 0, i * 2, 2, 100)]);
      expect(r.duplicate).toEqual({ producerId: 1, producerEpoch: 0, firstSeq: i * 2, lastSeq: i * 2 + 1, firstOffset: i * 2, lastOffset: i * 2 + 1, timestamp: T0 + i });
    }
    expectCode(() => psm.analyze([data(1, 0, 0, 2, 100)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    // Same range but a different length does not match.
    expectCode(() => psm.analyze([data(1, 0, 10, 1, 100)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    // Duplicates are checked against the state before the append: a batch repeated inside one append is out of order.
    expectCode(() => psm.analyze([data(1, 0, 12, 1, 12), data(1, 0, 12, 1, 13)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    // Only 'client' appends look for duplicates.
    expect(psm.analyze([data(1, 0, 10, 2, 100)], 'replication').duplicate).toBeNull();
  });

  it('an older epoch is fenced; a new epoch must start at 0 and clears the history', () => {
    const psm = newManager();
    append(psm, [data(1, 3, 0, 2, 0)]);
    expectCode(() => psm.analyze([data(1, 2, 2, 1, 2)], 'client'), ErrorCode.INVALID_PRODUCER_EPOCH);
    expectCode(() => psm.analyze([data(1, 2, 0, 1, 2)], 'coordinator'), ErrorCode.INVALID_PRODUCER_EPOCH);
    expectCode(() => psm.analyze([data(1, 4, 2, 1, 2)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    append(psm, [data(1, 4, 0, 1, 2)]);
    expect(psm.lastEntry(1)!.producerEpoch).toBe(4);
    expect(psm.lastEntry(1)!.batchMetadata.length).toBe(1);
    // A retry of the old epoch's batch is neither a duplicate nor accepted.
    expectCode(() => psm.analyze([data(1, 3, 0, 2, 3)], 'client'), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('sequences wrap from int32 max to 0, inside a batch and between batches', () => {
    const psm = newManager();
    append(psm, [data(1, 0, INT32_MAX - 3, 2, 0)]);
    const spanning = data(1, 0, INT32_MAX - 1, 3, 2);
    expect(spanning.lastSequence).toBe(0);
    append(psm, [spanning]);
    expect(psm.lastEntry(1)!.lastSeq).toBe(0);
    expect(decrementSequence(0, 2)).toBe(INT32_MAX - 1);
    expect(psm.lastEntry(1)!.batchMetadata[1].firstSeq).toBe(INT32_MAX - 1);
    expect(append(psm, [data(1, 0, INT32_MAX - 1, 3, 9)]).duplicate).toMatchObject({ firstOffset: 2, lastOffset: 4 });
    append(psm, [data(1, 0, 1, 1, 5)]);
    const p2 = newManager(fs.mkdtempSync(path.join(dir, 'w')));
    append(p2, [data(2, 0, INT32_MAX, 1, 0)]);
    append(p2, [data(2, 0, 0, 1, 1)]);
    expectCode(() => p2.analyze([data(2, 0, 2, 1, 2)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
  });

  it('a producer whose epoch is unknown (state lost) accepts any sequence at any epoch', () => {
    const psm = newManager();
    psm.loadProducerEntry(new ProducerStateEntry(1, -1, -1, T0, null, null));
    append(psm, [data(1, 5, 42, 1, 0)]);
    expect(psm.lastEntry(1)!.lastSeq).toBe(42);
  });

  it('transactions: non-transactional data inside an open transaction, coordinator fencing', () => {
    const psm = newManager();
    append(psm, [data(1, 0, 0, 2, 0, { txn: true })]);
    expectCode(() => psm.analyze([data(1, 0, 2, 1, 2)], 'client'), ErrorCode.INVALID_TXN_STATE);
    expectCode(() => psm.analyze([data(1, 0, 2, 1, 2)], 'replication'), ErrorCode.INVALID_TXN_STATE); // as Kafka: any origin
    append(psm, [marker(1, 0, 2, 'COMMIT', 5)], 'coordinator');
    expect(psm.lastEntry(1)!.coordinatorEpoch).toBe(5);
    expectCode(() => psm.analyze([marker(1, 0, 3, 'ABORT', 4)], 'coordinator'), ErrorCode.COORDINATOR_FENCED);
    expectCode(() => psm.analyze([marker(1, 0, 3, 'ABORT', 4)], 'client'), ErrorCode.COORDINATOR_FENCED);
    expectCode(() => psm.analyze([marker(1, -1, 3, 'ABORT', 6)], 'coordinator'), ErrorCode.INVALID_PRODUCER_EPOCH);
    // Replication follows the data.
    append(psm, [marker(1, 0, 3, 'ABORT', 4)], 'replication');
    expect(psm.lastEntry(1)!.coordinatorEpoch).toBe(4);
    // A marker without an open transaction completes nothing but still sets epoch and coordinator epoch.
    const r = append(psm, [marker(1, 2, 4, 'ABORT', 7)], 'coordinator');
    expect(r.applied!.completedTxns).toEqual([]);
    expect(psm.lastEntry(1)!.producerEpoch).toBe(2);
    // The epoch bump cleared the history: the next batch must start at 0.
    expectCode(() => psm.analyze([data(1, 2, 2, 1, 5)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
    append(psm, [data(1, 2, 0, 1, 5)]);
  });

  it("'replication' applies out-of-order sequences and older epochs without complaint", () => {
    const psm = newManager();
    append(psm, [data(1, 5, 0, 2, 0)]);
    append(psm, [data(1, 5, 10, 1, 2)], 'replication');
    append(psm, [data(1, 4, 3, 1, 3)], 'replication');
    expect(psm.lastEntry(1)!.producerEpoch).toBe(4);
    expect(psm.lastEntry(1)!.lastSeq).toBe(3);
  });

  it('analyze changes nothing, whether it succeeds, finds a duplicate or throws', () => {
    const psm = newManager();
    append(psm, [data(1, 0, 0, 2, 0), data(2, 0, 0, 1, 2, { txn: true })]);
    const before = JSON.stringify(stateOf(psm));
    psm.analyze([data(1, 0, 2, 1, 3), marker(2, 0, 4, 'ABORT'), data(3, 0, 0, 1, 5, { txn: true })], 'client');
    psm.analyze([data(1, 0, 0, 2, 3)], 'client');
    expect(() => psm.analyze([data(1, 0, 2, 1, 3), data(1, 0, 9, 1, 4)], 'client')).toThrow(SeglogError);
    expect(JSON.stringify(stateOf(psm))).toBe(before);
  });

  it('skips batches without a producer id, and an empty (cleaned) control batch changes nothing', () => {
    const psm = newManager();
    const r = append(psm, [data(-1, -1, -1, 3, 0), { ...marker(1, 0, 3, 'COMMIT'), marker: null }]);
    expect(r.applied!.completedTxns).toEqual([]);
    expect(psm.mapEndOffset).toBe(4);
    // Kafka still registers the producer, with nothing known.
    expect(stateOf(psm)).toMatchObject({ producers: [{ pid: 1, epoch: -1, coordinatorEpoch: -1, lastTimestamp: -1, txn: null, batches: [] }] });
  });
});

describe('real batches', () => {
  it('reads data batches and decodes markers from RecordBatch views', () => {
    const d = RecordBatch.at(buildBatchSync([{ value: 'a' }, { value: 'b' }], { baseOffset: 10, producerId: 7, producerEpoch: 1, baseSequence: 4, isTransactional: true, now: T0 }));
    const m = RecordBatch.at(buildEndTransactionMarker({ type: 'ABORT', producerId: 7, producerEpoch: 1, coordinatorEpoch: 3, timestamp: T0 + 9, baseOffset: 12 }));
    expect(producerBatchInfo(d)).toEqual({ producerId: 7, producerEpoch: 1, baseSequence: 4, lastSequence: 5, baseOffset: 10, lastOffset: 11, maxTimestamp: T0, isTransactional: true, isControl: false });
    expect(producerBatchInfo(m).marker).toEqual({ type: 'ABORT', coordinatorEpoch: 3, timestamp: T0 + 9 });
    const psm = newManager();
    const r = append(psm, [d, m]);
    expect(r.applied!.abortedTxns).toEqual([{ producerId: 7, firstOffset: 10, lastOffset: 12, lastStableOffset: 13 }]);
    expect(psm.lastEntry(7)!.lastTimestamp).toBe(T0 + 9);
  });

  it('a control batch of another type with a producer id is CORRUPT_RECORD', () => {
    const b = RecordBatch.at(buildBatchSync([{ key: hex('0000 0002'), value: hex('0000') }], { producerId: 1, producerEpoch: 0, isControl: true, isTransactional: true, now: T0 }));
    expectCode(() => producerBatchInfo(b), ErrorCode.CORRUPT_RECORD);
  });

  it('a plain control header without its marker is INVALID_ARGUMENT', () => {
    const { marker: _m, ...noMarker } = marker(1, 0, 0, 'COMMIT');
    expectCode(() => newManager().analyze([noMarker], 'client'), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('transactions, the LSO and the .txnindex entry', () => {
  it('tracks ongoing and unreplicated transactions and computes the abort entry as Kafka', () => {
    const psm = newManager();
    const idx = new TransactionIndex(path.join(dir, '00000000000000000000.txnindex'), 0);
    append(psm, [data(9, 0, 0, 10, 0)]);
    append(psm, [data(1, 0, 0, 2, 10, { txn: true })]);
    append(psm, [data(2, 0, 0, 3, 15, { txn: true })]);
    expect(psm.firstUnstableOffset()).toBe(10);
    expect(psm.ongoingTransactions().map((t) => t.firstOffset)).toEqual([10, 15]);
    expect(lastStableOffsetOfLog(psm.firstUnstableOffset(), 18, 0)).toBe(10);

    // Producer 1 aborts at 20: the LSO after it is producer 2's first offset.
    const a = append(psm, [marker(1, 0, 20, 'ABORT', 0)], 'coordinator').applied!;
    expect(a.abortedTxns).toEqual([{ producerId: 1, firstOffset: 10, lastOffset: 20, lastStableOffset: 15 }]);
    for (const t of a.abortedTxns) idx.append(t);
    // Completed but not yet below the high watermark: still unstable.
    expect(psm.firstUnstableOffset()).toBe(10);
    psm.onHighWatermarkUpdated(20);
    expect(psm.firstUnstableOffset()).toBe(10);
    psm.onHighWatermarkUpdated(21);
    expect(psm.firstUnstableOffset()).toBe(15);

    // Producer 2 commits at 25: nothing to index; with nothing else open, marker + 1.
    const c = append(psm, [marker(2, 0, 25, 'COMMIT', 0)], 'coordinator').applied!;
    expect(c.abortedTxns).toEqual([]);
    expect(psm.lastStableOffset(c.completedTxns[0])).toBe(26);
    expect(psm.firstUnstableOffset()).toBe(15);
    psm.onHighWatermarkUpdated(26);
    expect(psm.firstUnstableOffset()).toBeNull();
    expect(lastStableOffsetOfLog(null, 26, 0)).toBe(26);
    expect(idx.allAbortedTxns()).toEqual([{ producerId: 1, firstOffset: 10, lastOffset: 20, lastStableOffset: 15 }]);
  });

  it('the LSO helper clamps to the log start and caps at the high watermark', () => {
    expect(lastStableOffsetOfLog(5, 100, 20)).toBe(20);
    expect(lastStableOffsetOfLog(150, 100, 0)).toBe(100);
    expect(lastStableOffsetOfLog(50, 100, 0)).toBe(50);
  });

  it('several producers and markers in one append complete in batch order', () => {
    const psm = newManager();
    append(psm, [data(1, 0, 0, 1, 0, { txn: true }), data(2, 0, 0, 1, 1, { txn: true }), data(3, 0, 0, 1, 2, { txn: true })]);
    const r = append(psm, [marker(2, 0, 3, 'ABORT'), marker(1, 0, 4, 'ABORT'), data(1, 0, 1, 1, 5, { txn: true })], 'coordinator').applied!;
    // Producer 2's abort: the earliest other open txn is producer 1's (0). Producer 1's: 3's (2).
    expect(r.abortedTxns).toEqual([
      { producerId: 2, firstOffset: 1, lastOffset: 3, lastStableOffset: 0 },
      { producerId: 1, firstOffset: 0, lastOffset: 4, lastStableOffset: 2 },
    ]);
    expect(psm.ongoingTransactions().map((t) => [t.producerId, t.firstOffset])).toEqual([
      [3, 2],
      [1, 5],
    ]);
  });
});

describe('undo of an applied append', () => {
  function busy(): ProducerStateManager {
    const psm = newManager();
    append(psm, [data(1, 0, 0, 2, 0), data(2, 0, 0, 1, 2, { txn: true })]);
    append(psm, [data(3, 0, 0, 1, 3, { txn: true })]);
    return psm;
  }

  it('restores producers, transactions and the map end offset', () => {
    const psm = busy();
    const before = JSON.stringify(stateOf(psm));
    const batches = [data(1, 0, 2, 1, 4), marker(2, 0, 5, 'ABORT'), data(4, 0, 0, 1, 6, { txn: true }), marker(4, 0, 7, 'COMMIT'), data(5, 0, 0, 1, 8, { txn: true }), data(1, 1, 0, 1, 9)];
    const { applied } = append(psm, batches, 'coordinator');
    expect(JSON.stringify(stateOf(psm))).not.toBe(before);
    applied!.undo();
    expect(JSON.stringify(stateOf(psm))).toBe(before);
    applied!.undo(); // idempotent
    // The same append goes through again (it is not taken for a duplicate).
    const again = append(psm, batches, 'coordinator').applied!;
    expect(again.abortedTxns).toEqual(applied!.abortedTxns);
  });

  it('undoes appends in reverse order; any other order, or a change in between, is a bug', () => {
    const psm = busy();
    const s0 = JSON.stringify(stateOf(psm));
    const a = append(psm, [data(1, 0, 2, 1, 4)]).applied!;
    const s1 = JSON.stringify(stateOf(psm));
    const b = append(psm, [data(1, 0, 3, 1, 5), marker(3, 0, 6, 'COMMIT')]).applied!;
    expect(() => a.undo()).toThrow(AssertionError);
    b.undo();
    expect(JSON.stringify(stateOf(psm))).toBe(s1);
    a.undo();
    expect(JSON.stringify(stateOf(psm))).toBe(s0);

    const c = append(psm, [data(1, 0, 2, 1, 4)]).applied!;
    psm.takeSnapshot({ sync: false });
    expect(() => c.undo()).toThrow(AssertionError);
  });

  it('refuses to apply a duplicate', () => {
    const psm = busy();
    const analysis = psm.analyze([data(1, 0, 0, 2, 10)], 'client');
    expect(analysis.duplicate).not.toBeNull();
    expectCode(() => psm.applyAppend(analysis, 11), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('expiry', () => {
  it('hasLateTransaction: the oldest open transaction\'s producer silent past the timeout + 5 minutes', () => {
    const psm = newManager();
    expect(psm.hasLateTransaction(T0 * 2, 60_000)).toBe(false);
    append(psm, [data(1, 0, 0, 1, 0, { ts: T0, txn: true })]);
    expect(psm.hasLateTransaction(T0 + 60_000 + 300_000, 60_000)).toBe(false);
    expect(psm.hasLateTransaction(T0 + 60_000 + 300_001, 60_000)).toBe(true);
  });

  it('drops producers idle for producer.id.expiration.ms, never one with an open transaction', () => {
    const psm = newManager(dir, 1000);
    append(psm, [data(1, 0, 0, 1, 0, { ts: T0 })]);
    append(psm, [data(2, 0, 0, 1, 1, { ts: T0, txn: true })]);
    append(psm, [data(3, 0, 0, 1, 2, { ts: T0 + 500 })]);
    psm.removeExpiredProducers(T0 + 999);
    expect([...psm.activeProducers().keys()].sort()).toEqual([1, 2, 3]);
    psm.removeExpiredProducers(T0 + 1000);
    expect([...psm.activeProducers().keys()].sort()).toEqual([2, 3]);
    psm.removeExpiredProducers(T0 + 10_000_000);
    expect([...psm.activeProducers().keys()]).toEqual([2]);
  });
});

describe('snapshots', () => {
  it('round trip: the same state, except that only the last batch of each producer is kept (stamped with its lastTimestamp)', () => {
    const psm = newManager();
    let offset = 0;
    for (let i = 0; i < 7; i++) {
      append(psm, [data(1, 2, i * 3, 3, offset)]);
      offset += 3;
    }
    append(psm, [data(2, 0, 0, 2, offset, { txn: true })], 'client');
    append(psm, [marker(3, 4, offset + 2, 'ABORT', 9)], 'coordinator');
    append(psm, [data(4, 0, 0, 1, offset + 3, { txn: true }), marker(4, 0, offset + 4, 'COMMIT', 2)], 'coordinator');
    psm.onHighWatermarkUpdated(psm.mapEndOffset);
    const file = psm.takeSnapshot()!;
    expect(path.basename(file)).toBe(`${String(psm.mapEndOffset).padStart(20, '0')}.snapshot`);

    const loaded = newManager();
    expect(loaded.truncateAndReload(0, psm.mapEndOffset, T0)).toBe(psm.mapEndOffset);
    expect(stateOf(loaded)).toEqual(snapshotView(stateOf(psm)));
    expect(loaded.firstUnstableOffset()).toBe(psm.firstUnstableOffset());
    // The reloaded producer continues from its last batch; older retries are no longer duplicates.
    expect(append(loaded, [data(1, 2, 18, 3, 100)]).duplicate).toMatchObject({ firstOffset: 18, lastOffset: 20 });
    expectCode(() => loaded.analyze([data(1, 2, 15, 3, 100)], 'client'), ErrorCode.OUT_OF_ORDER_SEQUENCE);
  });

  function writeSnapshots(offsets: number[]): ProducerStateManager {
    const psm = newManager();
    for (const o of offsets) {
      append(psm, [data(1, 0, o, 1, o - 1)], 'replication');
      psm.takeSnapshot({ sync: false });
    }
    return new ProducerStateManager({ dir });
  }

  const corruptions: [string, (b: Buffer) => Buffer][] = [
    ['bad CRC', (b) => ((b[b.length - 1] ^= 1), b)],
    ['truncated', (b) => b.subarray(0, b.length - 5)],
    ['shorter than the header', (b) => b.subarray(0, 7)],
    ['wrong version', (b) => (b.writeInt16BE(2, 0), b.writeUInt32BE(crc32c(b, 6), 2), b)],
    ['huge entry count', (b) => (b.writeInt32BE(0x7fffffff, 6), b.writeUInt32BE(crc32c(b, 6), 2), b)],
    ['negative entry count', (b) => (b.writeInt32BE(-1, 6), b.writeUInt32BE(crc32c(b, 6), 2), b)],
    ['empty file', () => Buffer.alloc(0)],
  ];

  it.each(corruptions)('a corrupt latest snapshot (%s) is deleted and the older one is used', (_, corrupt) => {
    const psm = writeSnapshots([10, 20, 30]);
    const f30 = producerSnapshotFile(dir, 30);
    fs.writeFileSync(f30, corrupt(fs.readFileSync(f30)));
    expectCode(() => decodeProducerSnapshot(fs.readFileSync(f30)), ErrorCode.CORRUPT_SNAPSHOT);
    expect(psm.truncateAndReload(0, 40, T0)).toBe(20);
    expect(fs.existsSync(f30)).toBe(false);
    expect(psm.snapshotOffsets()).toEqual([10, 20]);
    expect(psm.lastEntry(1)!.lastSeq).toBe(20);
  });

  it('with every snapshot corrupt the state starts empty at the log start offset', () => {
    const psm = writeSnapshots([10, 20]);
    for (const o of [10, 20]) fs.writeFileSync(producerSnapshotFile(dir, o), Buffer.from('garbage!!!!!'));
    expect(psm.truncateAndReload(5, 40, T0)).toBe(5);
    expect(psm.producerIdCount).toBe(0);
    expect(listSnapshotFiles(dir)).toEqual([]);
  });

  it('a valid snapshot with an int64 beyond 2^53 is not deleted: VALUE_OUT_OF_RANGE propagates', () => {
    const psm = writeSnapshots([10]);
    const f = producerSnapshotFile(dir, 10);
    const b = fs.readFileSync(f);
    b.writeBigInt64BE(2n ** 62n, PRODUCER_SNAPSHOT_HEADER_SIZE);
    b.writeUInt32BE(crc32c(b, 6), 2);
    fs.writeFileSync(f, b);
    expectCode(() => psm.truncateAndReload(0, 40, T0), ErrorCode.VALUE_OUT_OF_RANGE);
    expect(fs.existsSync(f)).toBe(true);
  });

  it('truncateAndReload deletes snapshots above the log end and at or below the log start (Kafka\'s rule)', () => {
    const psm = writeSnapshots([10, 20, 30, 40]);
    expect(psm.truncateAndReload(20, 35, T0)).toBe(30);
    expect(psm.snapshotOffsets()).toEqual([30]);
    expect(listSnapshotFiles(dir).map((s) => s.offset)).toEqual([30]);
  });

  it('truncateAndReload at the current map end keeps the state and only moves the start', () => {
    const psm = newManager();
    append(psm, [data(1, 0, 0, 5, 0)]);
    psm.takeSnapshot();
    append(psm, [data(1, 0, 5, 5, 5)]);
    const before = stateOf(psm) as { mapEndOffset: number };
    expect(psm.truncateAndReload(0, 10, T0)).toBe(10);
    expect(stateOf(psm)).toEqual(before);
    expect(psm.takeSnapshot()).not.toBeNull(); // lastSnapOffset went back to the latest snapshot (5)
    // Moving the start past the map end raises it.
    psm.onLogStartOffsetIncremented(12);
    expect(psm.mapEndOffset).toBe(12);
  });

  it('removeStraySnapshots keeps snapshots at segment bases and the newest stray above them', () => {
    writeSnapshots([5, 10, 15, 20, 25, 30]);
    const psm = newManager();
    psm.removeStraySnapshots([10, 20]);
    expect(psm.snapshotOffsets()).toEqual([10, 20, 30]);
    psm.removeStraySnapshots([10, 40]);
    expect(psm.snapshotOffsets()).toEqual([10]);
    expect(listSnapshotFiles(dir).map((s) => s.offset)).toEqual([10]);
    psm.removeStraySnapshots([]);
    expect(psm.snapshotOffsets()).toEqual([10]); // the newest stray stays when there are no segments
  });

  it('renames a deleted segment\'s snapshot to .snapshot.deleted, which is no longer listed', () => {
    const psm = writeSnapshots([10, 20]);
    const renamed = psm.removeAndMarkSnapshotForDeletion(10);
    expect(renamed).toBe(`${producerSnapshotFile(dir, 10)}.deleted`);
    expect(fs.existsSync(renamed!)).toBe(true);
    expect(psm.snapshotOffsets()).toEqual([20]);
    expect(listSnapshotFiles(dir).map((s) => s.offset)).toEqual([20]);
    expect(psm.removeAndMarkSnapshotForDeletion(10)).toBeNull();
    fs.rmSync(producerSnapshotFile(dir, 20));
    expect(psm.removeAndMarkSnapshotForDeletion(20)).toBeNull(); // already gone: as Kafka, no error
  });

  it('deleteSnapshot, deleteSnapshotsBefore, truncateFullyAndStartAt, oldest / latest', () => {
    const psm = writeSnapshots([10, 20, 30, 40]);
    expect(psm.oldestSnapshotOffset()).toBe(10);
    expect(psm.latestSnapshotOffset()).toBe(40);
    expect(psm.snapshotFileForOffset(20)).toBe(producerSnapshotFile(dir, 20));
    expect(psm.deleteSnapshot(20)).toBe(true);
    expect(psm.deleteSnapshot(20)).toBe(false);
    psm.deleteSnapshotsBefore(40);
    expect(psm.snapshotOffsets()).toEqual([40]);
    psm.truncateAndReload(0, 40, T0);
    psm.truncateFullyAndStartAt(100);
    expect(psm.snapshotOffsets()).toEqual([]);
    expect(listSnapshotFiles(dir)).toEqual([]);
    expect(stateOf(psm)).toEqual({ producers: [], ongoing: [], unreplicated: [], mapEndOffset: 100 });
    expect(path.basename(psm.takeSnapshot()!)).toBe('00000000000000000100.snapshot');
  });

  it('lists only <digits>.snapshot regular files', () => {
    fs.writeFileSync(path.join(dir, '00000000000000000007.snapshot'), encodeProducerSnapshot([]));
    fs.writeFileSync(path.join(dir, '00000000000000000008.snapshot.deleted'), '');
    fs.writeFileSync(path.join(dir, 'abc.snapshot'), '');
    fs.mkdirSync(path.join(dir, '00000000000000000009.snapshot'));
    expect(listSnapshotFiles(dir)).toEqual([{ offset: 7, file: path.join(dir, '00000000000000000007.snapshot') }]);
    expect(listSnapshotFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** A small log: batches appended live, split into segments, as rebuild and recovery read them. */
function buildLog(psm: ProducerStateManager): { segments: { baseOffset: number; batches: ProducerBatch[] }[]; aborted: unknown[]; end: number } {
  const segments: { baseOffset: number; batches: ProducerBatch[] }[] = [];
  const aborted: unknown[] = [];
  let offset = 0;
  const seq = new Map<number, number>();
  const push = (batches: ProducerBatch[], origin: AppendOrigin) => {
    if (segments.length === 0 || offset - segments[segments.length - 1].baseOffset >= 12) {
      segments.push({ baseOffset: offset, batches: [] });
      psm.takeSnapshot({ sync: false }); // at the roll, as a log does
    }
    const r = append(psm, batches, origin);
    aborted.push(...r.applied!.abortedTxns);
    segments[segments.length - 1].batches.push(...batches);
    offset = batches[batches.length - 1].lastOffset + 1;
  };
  const next = (pid: number, n: number) => {
    const s = seq.get(pid) ?? 0;
    seq.set(pid, s + n);
    return s;
  };
  for (let round = 0; round < 6; round++) {
    push([data(1, 0, next(1, 3), 3, offset)], 'client');
    push([data(2, 0, next(2, 2), 2, offset, { txn: true })], 'client');
    push([data(-1, -1, -1, 2, offset)], 'client');
    push([data(3, 1, next(3, 1), 1, offset, { txn: round % 2 === 0 })], 'client');
    // Real batches, so that the replay decodes markers too.
    push([RecordBatch.at(buildEndTransactionMarker({ type: round % 3 === 0 ? 'ABORT' : 'COMMIT', producerId: 2, producerEpoch: 0, coordinatorEpoch: 1, timestamp: T0 + offset, baseOffset: offset }))], 'coordinator');
    if (round % 2 === 0) push([marker(3, 1, offset, 'ABORT', 0)], 'coordinator');
  }
  return { segments, aborted, end: offset };
}

function sources(segments: { baseOffset: number; batches: ProducerBatch[] }[]): ProducerStateSegment[] {
  return segments.map((s) => ({ baseOffset: s.baseOffset, batches: () => s.batches }));
}

describe('rebuild and recovery', () => {
  it('rebuilding from no snapshot replays the whole log to the live state', () => {
    const live = newManager();
    const log = buildLog(live);
    for (const s of listSnapshotFiles(dir)) fs.rmSync(s.file);
    const rebuilt = newManager();
    rebuildProducerState(rebuilt, sources(log.segments), { logStartOffset: 0, lastOffset: log.end, now: T0 });
    live.onHighWatermarkUpdated(log.end);
    rebuilt.onHighWatermarkUpdated(log.end);
    expect(stateOf(rebuilt)).toEqual(stateOf(live));
    // It ends with a snapshot at the log end and snapshots at the last two segment bases.
    const bases = log.segments.map((s) => s.baseOffset);
    expect(rebuilt.snapshotOffsets()).toEqual([...bases.slice(-2), log.end]);
  });

  it('rebuilding from a middle snapshot: the same state, with the history the snapshot kept', () => {
    const live = newManager();
    const log = buildLog(live);
    const mid = log.segments[2].baseOffset;
    for (const s of listSnapshotFiles(dir)) if (s.offset !== mid) fs.rmSync(s.file);
    const rebuilt = newManager();
    rebuildProducerState(rebuilt, sources(log.segments), { logStartOffset: 0, lastOffset: log.end, now: T0 });
    live.onHighWatermarkUpdated(log.end);
    rebuilt.onHighWatermarkUpdated(log.end);
    expect(snapshotView(stateOf(rebuilt))).toEqual(snapshotView(stateOf(live)));
  });

  it('rebuilding to a lower offset (truncation) equals the live state at that offset', () => {
    const live = newManager();
    const log = buildLog(live);
    const cut = log.segments[3].baseOffset;
    const prefix = newManager(fs.mkdtempSync(path.join(dir, 'p')));
    for (const s of log.segments.slice(0, 3)) for (const b of s.batches) prefix.loadProducersFromRecords([b]);
    prefix.updateMapEndOffset(cut);
    rebuildProducerState(live, sources(log.segments), { logStartOffset: 0, lastOffset: cut, now: T0 });
    expect(live.snapshotOffsets().every((o) => o <= cut)).toBe(true);
    for (const p of [live, prefix]) p.onHighWatermarkUpdated(cut);
    expect(snapshotView(stateOf(live))).toEqual(snapshotView(stateOf(prefix)));
  });

  it('recoverBatch yields the .txnindex entries the live appends wrote', () => {
    const live = newManager();
    const log = buildLog(live);
    const rec = newManager(fs.mkdtempSync(path.join(dir, 'r')));
    const entries: unknown[] = [];
    for (const s of log.segments) for (const b of s.batches) {
      const e = rec.recoverBatch(b);
      if (e !== null) entries.push(e);
    }
    expect(entries.length).toBeGreaterThan(0);
    expect(entries).toEqual(log.aborted);
    expect(rec.mapEndOffset).toBe(log.end);
    for (const p of [live, rec]) p.onHighWatermarkUpdated(log.end);
    expect(stateOf(rec)).toEqual(stateOf(live));
  });

  it('after a clean shutdown with no snapshots, writes empty ones instead of scanning (upgrade path)', () => {
    const psm = newManager();
    const segs: ProducerStateSegment[] = [0, 100, 200].map((b) => ({
      baseOffset: b,
      batches: () => {
        throw new Error('must not scan');
      },
    }));
    rebuildProducerState(psm, segs, { logStartOffset: 0, lastOffset: 250, now: T0, reloadFromCleanShutdown: true });
    expect(psm.snapshotOffsets()).toEqual([100, 200, 250]);
    expect(decodeProducerSnapshot(fs.readFileSync(producerSnapshotFile(dir, 250)))).toEqual([]);
  });

  it('an empty state already at the end skips the scan', () => {
    const psm = newManager();
    psm.updateMapEndOffset(300);
    const segs: ProducerStateSegment[] = [{ baseOffset: 0, batches: () => { throw new Error('must not scan'); } }];
    rebuildProducerState(psm, segs, { logStartOffset: 0, lastOffset: 250, now: T0 });
    expect(psm.mapEndOffset).toBe(250);
  });
});
