/**
 * The per-batch decision of a cleaning: Kafka's `Cleaner.cleanInto` filter
 * (`checkBatchRetention` + `shouldRetainRecord`) applied through `MemoryRecords.filterTo`.
 *
 * For each source batch, in log order:
 *
 * 1. Transaction bookkeeping ({@link TransactionTracker}) says whether a batch may go whole:
 *    a data batch of an aborted transaction (known from the `.txnindex` files) always; a COMMIT
 *    marker once no data batch of its transaction was seen in this cleaning; an ABORT marker
 *    once no data of its transaction was seen either (while data went in this cleaning the
 *    marker stays, and its entry is copied into the output's `.txnindex`).
 * 2. Batch retention: the batch holding an active producer's last sequence (or its last
 *    epoch-carrying marker) and the last batch before the round's upper bound are kept even
 *    when all their records go (an empty batch, format notes §1.8); so is the last batch of a
 *    group's last source segment (a seglog addition, see `cleaner.ts`: it keeps every `.swap`
 *    covering the offsets of all the segments it replaces, which crash recovery relies on).
 *    A removable marker whose delete horizon has passed is dropped; everything else that ends
 *    up empty is dropped.
 * 3. Records of data batches: kept when past the offset map's latest offset; else a record
 *    without a key is dropped; else kept iff it is the latest for its key and it has a value or
 *    its batch's delete horizon has not passed (no horizon yet, or now < horizon).
 * 4. Output: nothing removed and no horizon to stamp → the original bytes; some records kept →
 *    rebuilt with the same codec (default level), baseOffset, lastOffsetDelta (offsets keep
 *    their gaps), producer fields, leader epoch and timestamp type, and the delete horizon set
 *    to now + delete.retention.ms the first time a kept tombstone or removable marker is seen;
 *    nothing kept but retention says keep → an empty batch.
 */
import { assert } from '../assert.js';
import { ErrorCode, SeglogError } from '../errors.js';
import { RecordBatch } from '../records/batch.js';
import { buildBatch, buildEmptyBatch } from '../records/builder.js';
import { parseControlRecordKey } from '../records/control.js';
import type { LogRecord, RecordInput } from '../records/types.js';
import type { AbortedTxn } from '../segment/txn-index.js';
import type { OffsetMap } from './offset-map.js';
import type { ActiveProducers } from './producers.js';

/**
 * Transaction state carried across a cleaning round, from the log start (Kafka's
 * CleanedTransactionMetadata).
 *
 * The aborted transactions of each source segment are fed in (from the `.txnindex` files,
 * over the segment's whole offset range) before the segment is read. A transaction becomes
 * "aborting" for its producer once a batch at or past its first offset is read; its data
 * batches are then discarded whole, and its ABORT marker ends it: the marker stays (and its
 * entry goes into the output's `.txnindex`) when data of the transaction was discarded in this
 * round, so a reader of the cleaned log still knows the transaction was aborted; otherwise it
 * is removable like a COMMIT marker whose transaction left no data in the round.
 */
export class TransactionTracker {
  /** Producers with committed (not aborted) transactional data seen since their last marker. */
  private readonly ongoingCommitted = new Set<number>();
  /** Producers whose current transaction is aborted, with whether data of it was discarded. */
  private readonly ongoingAborted = new Map<number, { txn: AbortedTxn; sawData: boolean }>();
  /** Aborted transactions not yet reached, sorted by first offset. */
  private pending: AbortedTxn[] = [];
  private readonly known = new Set<string>();

  /** Adds the aborted transactions of the next source segment's range (duplicates are ignored). */
  addAbortedTransactions(txns: readonly AbortedTxn[]): void {
    let added = false;
    for (const t of txns) {
      const id = `${t.producerId}:${t.firstOffset}`;
      if (this.known.has(id)) continue;
      this.known.add(id);
      this.pending.push(t);
      added = true;
    }
    if (added) this.pending.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  private consumeUpTo(offset: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n].firstOffset <= offset) {
      const t = this.pending[n++];
      if (!this.ongoingAborted.has(t.producerId)) this.ongoingAborted.set(t.producerId, { txn: t, sawData: false });
    }
    if (n > 0) this.pending = this.pending.slice(n);
  }

  /** A data batch was read. Returns whether it may be discarded whole: it belongs to an aborted transaction. */
  onDataBatch(batch: RecordBatch): boolean {
    this.consumeUpTo(batch.lastOffset);
    if (!batch.isTransactional) return false;
    const aborted = this.ongoingAborted.get(batch.producerId);
    if (aborted !== undefined) {
      aborted.sawData = true;
      return true;
    }
    this.ongoingCommitted.add(batch.producerId);
    return false;
  }

  /**
   * A control batch was read (with its first record's key, null when empty). Returns whether
   * it may be removed, and for an ABORT marker that must stay, the `.txnindex` entry to write
   * beside it: an empty control batch was already cleaned; a COMMIT marker when no data batch
   * of its transaction was seen in this round; an ABORT marker when none of its data was
   * discarded in this round; never other control types.
   */
  onControlBatch(batch: RecordBatch, firstKey: Buffer | null | undefined): { removable: boolean; abortedTxn: AbortedTxn | null } {
    this.consumeUpTo(batch.lastOffset);
    if (firstKey === undefined) return { removable: true, abortedTxn: null };
    const type = parseControlRecordKey(firstKey).type;
    if (type === 'ABORT') {
      const aborted = this.ongoingAborted.get(batch.producerId);
      this.ongoingAborted.delete(batch.producerId);
      this.ongoingCommitted.delete(batch.producerId);
      if (aborted !== undefined && aborted.sawData) return { removable: false, abortedTxn: aborted.txn };
      return { removable: true, abortedTxn: null };
    }
    if (type === 'COMMIT') return { removable: !this.ongoingCommitted.delete(batch.producerId), abortedTxn: null };
    return { removable: false, abortedTxn: null };
  }
}

/** Counters of one cleaning. */
export interface FilterStats {
  /** Records decoded from the cleaned segments. */
  recordsRead: number;
  /** Records written to the outputs. */
  recordsKept: number;
  /** Records without a key that were dropped (Kafka counts them as invalid). */
  keylessRemoved: number;
  /** Tombstones dropped because their delete horizon had passed. */
  tombstonesRemoved: number;
  /** Batches written byte for byte. */
  batchesCopied: number;
  /** Batches rebuilt (records removed or a horizon stamped). */
  batchesRebuilt: number;
  /** Empty batches written to keep producer state or the round's last offset. */
  emptyBatches: number;
  /** Batches removed entirely. */
  batchesRemoved: number;
}

/** A fresh set of counters. */
export function newFilterStats(): FilterStats {
  return { recordsRead: 0, recordsKept: 0, keylessRemoved: 0, tombstonesRemoved: 0, batchesCopied: 0, batchesRebuilt: 0, emptyBatches: 0, batchesRemoved: 0 };
}

/** What the filter needs for a round. */
export interface FilterContext {
  /** The offset map of the dirty section. */
  map: OffsetMap;
  /** The cleaning time (epoch ms). */
  now: number;
  /** delete.retention.ms. */
  deleteRetentionMs: number;
  /** Producers whose last batch must stay. */
  producers: ActiveProducers;
  /** Transaction bookkeeping, carried across the round. */
  txns: TransactionTracker;
  /** The round's upper bound (first uncleanable offset): the batch ending just before it stays. */
  upperBoundOffset: number;
  /** Counters. */
  stats: FilterStats;
}

/** The bytes to write for one source batch (and, for a kept ABORT marker, its `.txnindex` entry), or null when it goes. */
export type FilterOutcome = { buffer: Buffer; kind: 'copy' | 'rebuilt' | 'empty'; abortedTxn?: AbortedTxn } | null;

/**
 * Decides one batch. `keepEvenIfEmpty` is the caller's extra retention (the last batch of a
 * group). Throws INVALID_CRC on a damaged batch: the cleaner never copies or launders one.
 */
export async function filterBatch(batch: RecordBatch, ctx: FilterContext, keepEvenIfEmpty: boolean): Promise<FilterOutcome> {
  batch.ensureValid();
  const records = [...(await batch.recordsAsync())];
  ctx.stats.recordsRead += records.length;
  const isControl = batch.isControl;
  const control = isControl ? ctx.txns.onControlBatch(batch, records[0]?.key) : null;
  const canDiscard = control !== null ? control.removable : ctx.txns.onDataBatch(batch);
  const horizon = batch.deleteHorizonMs;
  // Markers piggy-back on the tombstone horizon: removable ones are stamped first, dropped after it.
  const discardRecords = isControl ? canDiscard && horizon !== null && horizon <= ctx.now : canDiscard;
  const retainEmpty = (batch.producerId >= 0 && ctx.producers.isLastBatchOfProducer(batch)) || batch.nextOffset === ctx.upperBoundOffset || keepEvenIfEmpty;
  if (!retainEmpty && discardRecords) {
    ctx.stats.batchesRemoved++;
    return null;
  }
  const retained: LogRecord[] = [];
  let containsTombstones = false;
  for (const r of records) {
    if (discardRecords) continue;
    if (!isControl && !shouldRetainRecord(r, horizon, ctx)) continue;
    retained.push(r);
    if (!isControl && r.value === null) containsTombstones = true;
  }
  ctx.stats.recordsKept += retained.length;
  if (retained.length === 0) {
    if (!retainEmpty) {
      ctx.stats.batchesRemoved++;
      return null;
    }
    ctx.stats.emptyBatches++;
    return withTxn({ kind: 'empty', buffer: emptyCopyOf(batch) }, control);
  }
  const needHorizon = (containsTombstones || (canDiscard && isControl)) && horizon === null;
  if (retained.length === records.length && !needHorizon) {
    ctx.stats.batchesCopied++;
    return withTxn({ kind: 'copy', buffer: batch.buffer }, control);
  }
  ctx.stats.batchesRebuilt++;
  const newHorizon = needHorizon ? ctx.now + ctx.deleteRetentionMs : (horizon ?? undefined);
  return withTxn({ kind: 'rebuilt', buffer: await rebuild(batch, retained, newHorizon) }, control);
}

/** Adds a kept ABORT marker's `.txnindex` entry to its outcome. */
function withTxn(outcome: NonNullable<FilterOutcome>, control: { abortedTxn: AbortedTxn | null } | null): NonNullable<FilterOutcome> {
  return control?.abortedTxn != null ? { ...outcome, abortedTxn: control.abortedTxn } : outcome;
}

/** Kafka's Cleaner.shouldRetainRecord for a v2 data record. */
function shouldRetainRecord(r: LogRecord, horizon: number | null, ctx: FilterContext): boolean {
  if (r.offset > ctx.map.latestOffset) return true;
  if (r.key === null) {
    ctx.stats.keylessRemoved++;
    return false;
  }
  const found = ctx.map.get(r.key);
  if (r.offset < found) return false;
  if (r.value !== null) return true;
  const retainDeletes = horizon === null || ctx.now < horizon;
  if (!retainDeletes) ctx.stats.tombstonesRemoved++;
  return retainDeletes;
}

/** Kafka's MemoryRecords.buildRetainedRecordsInto: same codec and header fields, original offsets. */
function rebuild(batch: RecordBatch, retained: readonly LogRecord[], deleteHorizonMs: number | undefined): Promise<Buffer> {
  const base = batch.baseOffset;
  const logAppend = batch.timestampType === 'LogAppendTime';
  const inputs: RecordInput[] = retained.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
  const out = buildBatch(inputs, {
    baseOffset: base,
    partitionLeaderEpoch: batch.partitionLeaderEpoch,
    compression: batch.compression,
    timestampType: batch.timestampType,
    logAppendTime: logAppend ? batch.maxTimestamp : undefined,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    isTransactional: batch.isTransactional,
    isControl: batch.isControl,
    deleteHorizonMs,
    offsetDeltas: retained.map((r) => r.offset - base),
    lastOffsetDelta: batch.lastOffsetDelta,
  });
  return out.then((buf) => {
    const b = RecordBatch.at(buf);
    assert(b.baseOffset === base && b.lastOffset === batch.lastOffset, 'a rebuilt batch keeps its offsets');
    return buf;
  });
}

/** An empty batch with the header fields of `batch` (Kafka's writeEmptyHeader). */
function emptyCopyOf(batch: RecordBatch): Buffer {
  if (batch.magic < 2) throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, 'empty batches exist only in magic v2');
  return buildEmptyBatch({
    baseOffset: batch.baseOffset,
    lastOffsetDelta: batch.lastOffsetDelta,
    maxTimestamp: batch.maxTimestamp,
    partitionLeaderEpoch: batch.partitionLeaderEpoch,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    timestampType: batch.timestampType,
    isTransactional: batch.isTransactional,
    isControl: batch.isControl,
  });
}
