/**
 * The per-batch decision of a cleaning: Kafka's `Cleaner.cleanInto` filter
 * (`checkBatchRetention` + `shouldRetainRecord`) applied through `MemoryRecords.filterTo`.
 *
 * For each source batch, in log order:
 *
 * 1. Transaction bookkeeping ({@link TransactionTracker}) says whether a control batch is
 *    removable: a COMMIT or ABORT marker is removable once no data batch of its transaction
 *    was seen in this cleaning. Data batches are never discarded whole here: Kafka discards
 *    aborted transactional data using the aborted-transaction index, which seglog does not
 *    have yet (see the tracker).
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
import type { OffsetMap } from './offset-map.js';
import type { ActiveProducers } from './producers.js';

/**
 * Transaction state carried across a cleaning round, from the log start (Kafka's
 * CleanedTransactionMetadata without aborted transactions).
 *
 * Limitation: without the `.txnindex` (the exactly-once issue), seglog cannot tell aborted
 * data from committed data, so aborted transactional records are kept and compacted like
 * committed ones, and an ABORT marker is handled like a COMMIT marker: it is kept while any
 * transactional data batch of its producer was seen since that producer's previous marker, so
 * a marker is never removed while data of its transaction remains.
 */
export class TransactionTracker {
  /** Producers with transactional data batches seen since their last marker. */
  private readonly ongoing = new Set<number>();

  /** A data batch was read. Returns whether it may be discarded whole (never, without aborted-txn data). */
  onDataBatch(batch: RecordBatch): boolean {
    if (batch.isTransactional) this.ongoing.add(batch.producerId);
    return false;
  }

  /**
   * A control batch was read (with its first record's key, null when empty). Returns whether
   * it may be removed: an empty control batch was already cleaned; an ABORT or COMMIT marker
   * when no data batch of its transaction was seen in this round; never for other control types.
   */
  onControlBatch(batch: RecordBatch, firstKey: Buffer | null | undefined): boolean {
    if (firstKey === undefined) return true;
    const type = parseControlRecordKey(firstKey).type;
    if (type !== 'ABORT' && type !== 'COMMIT') return false;
    return !this.ongoing.delete(batch.producerId);
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

/** The bytes to write for one source batch, or null when it goes. */
export type FilterOutcome = { buffer: Buffer; kind: 'copy' | 'rebuilt' | 'empty' } | null;

/**
 * Decides one batch. `keepEvenIfEmpty` is the caller's extra retention (the last batch of a
 * group). Throws INVALID_CRC on a damaged batch: the cleaner never copies or launders one.
 */
export async function filterBatch(batch: RecordBatch, ctx: FilterContext, keepEvenIfEmpty: boolean): Promise<FilterOutcome> {
  batch.ensureValid();
  const records = [...(await batch.recordsAsync())];
  ctx.stats.recordsRead += records.length;
  const isControl = batch.isControl;
  const canDiscard = isControl ? ctx.txns.onControlBatch(batch, records[0]?.key) : ctx.txns.onDataBatch(batch);
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
    return { kind: 'empty', buffer: emptyCopyOf(batch) };
  }
  const needHorizon = (containsTombstones || (canDiscard && isControl)) && horizon === null;
  if (retained.length === records.length && !needHorizon) {
    ctx.stats.batchesCopied++;
    return { kind: 'copy', buffer: batch.buffer };
  }
  ctx.stats.batchesRebuilt++;
  const newHorizon = needHorizon ? ctx.now + ctx.deleteRetentionMs : (horizon ?? undefined);
  return { kind: 'rebuilt', buffer: await rebuild(batch, retained, newHorizon) };
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
