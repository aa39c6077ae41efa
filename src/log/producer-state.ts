/**
 * Producer state: idempotence and transactions for one partition, as Kafka's
 * ProducerStateManager, ProducerStateEntry, ProducerAppendInfo, BatchMetadata, TxnMetadata and
 * CompletedTxn (format notes §7). The byte format of snapshots is in producer-snapshot.ts; the
 * `.txnindex` is segment/txn-index.ts. This file holds no bytes of its own.
 *
 * State per producer id (ProducerStateEntry): epoch, coordinatorEpoch, lastTimestamp,
 * currentTxnFirstOffset (null when no transaction is open) and at most
 * {@link NUM_BATCHES_TO_RETAIN} BatchMetadata (lastSeq, lastOffset, offsetDelta, timestamp), oldest
 * first, all of the current epoch. Five is the idempotent producer's limit of in-flight requests:
 * a retry of any of them is recognised as a duplicate.
 *
 * Manager state: the entries by producer id; the ongoing transactions sorted by first offset;
 * the completed transactions whose marker is not yet below the high watermark ("unreplicated");
 * `mapEndOffset`, the offset the state reflects (every batch below it has been applied); and the
 * list of snapshot files with `lastSnapOffset`, the offset of the last snapshot taken or loaded.
 *
 * How the log uses it (Kafka's UnifiedLog.append, with an undo because seglog applies the state
 * before the bytes are written):
 * 1. `analyze(batches, 'client')` — no mutation. It returns a duplicate hit (answer the producer
 *    with the original offsets and write nothing), or throws a typed error, or returns the
 *    per-producer {@link ProducerAppendInfo}s and the transactions the batches complete.
 * 2. `applyAppend(analysis, nextOffset)` — updates the producers, computes each completed
 *    transaction's last stable offset, completes them, sets mapEndOffset = nextOffset. It returns
 *    the AbortedTxn entries for the active segment's `.txnindex` and an `undo()` that restores
 *    the state if writing the bytes (or the txnindex) fails.
 * Recovery replays batches with origin 'replication' (sequence and epoch violations are not
 * errors there): {@link ProducerStateManager.recoverBatch} per batch while a segment is recovered,
 * {@link rebuildProducerState} to bring the state from the latest snapshot up to an offset.
 *
 * Concurrency: single writer. Every mutating method needs the log's append lock and is not
 * re-entrant; the readers (`firstUnstableOffset`, `activeProducers`, `lastEntry`, ...) are
 * synchronous and safe between mutations.
 *
 * Not ported: KIP-890 (transaction version 2: markers bump the epoch, verification guards), so
 * markers follow the pre-2 rule (a marker's epoch may equal the producer's), and transactional
 * writes are not checked against a coordinator's verification. Kafka's five classes share this
 * one file; they only make sense together.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { NO_PRODUCER_EPOCH, NO_SEQUENCE, NO_TIMESTAMP } from '../limits.js';
import { RecordBatch } from '../records/batch.js';
import { parseControlRecordKey, parseEndTransactionMarker } from '../records/control.js';
import type { AbortedTxn } from '../segment/txn-index.js';
import {
  listSnapshotFiles,
  producerSnapshotFile,
  readProducerSnapshot,
  writeProducerSnapshot,
  type ProducerSnapshotEntry,
  type SnapshotFile,
} from './producer-snapshot.js';

/** Batches of duplicate history kept per producer (Kafka's NUM_BATCHES_TO_RETAIN). */
export const NUM_BATCHES_TO_RETAIN = 5;
/** Kafka's producer.id.expiration.ms default: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/**
 * Slack before an open transaction counts as hanging: its producer has been silent for longer
 * than the transaction timeout plus this (Kafka's LATE_TRANSACTION_BUFFER_MS, five minutes).
 */
export const LATE_TRANSACTION_BUFFER_MS = 5 * 60 * 1000;
/** Appended to a snapshot scheduled for deletion. */
const DELETED_SUFFIX = '.deleted';
const INT32_MAX = 0x7fffffff;

// ------------------------------------------------------------------------------ inputs

/**
 * Who is appending, which decides how strictly a batch is checked (Kafka's AppendOrigin):
 * - `client`: a producer's request. Duplicates are detected; epoch, sequence, transaction and
 *   coordinator-epoch rules throw.
 * - `coordinator`: a transaction coordinator writing markers (or a group coordinator's own
 *   writes). Epoch and coordinator-epoch rules throw; sequences are not checked.
 * - `replication`: data that is already in a log (a follower, or recovery and rebuild). Nothing
 *   about epochs or sequences throws; the state just follows the data. A non-transactional batch
 *   inside an open transaction still throws INVALID_TXN_STATE, as in Kafka.
 */
export type AppendOrigin = 'client' | 'coordinator' | 'replication';

/** An end-transaction marker read from a control batch. */
export interface EndTxnMarker {
  /** COMMIT or ABORT. */
  type: 'COMMIT' | 'ABORT';
  /** The coordinator epoch stored in the marker. */
  coordinatorEpoch: number;
  /** The marker record's timestamp (becomes the producer's lastTimestamp). */
  timestamp: number;
}

/**
 * The batch header fields producer state reads, with offsets already assigned. A
 * {@link RecordBatch} is converted by {@link producerBatchInfo}; tests and replays may pass
 * these objects directly (their fields are trusted as a header's would be).
 */
export interface ProducerBatchInfo {
  /** producerId; batches with a negative id carry no producer state and are skipped. */
  producerId: number;
  /** producerEpoch. */
  producerEpoch: number;
  /** baseSequence (−1 for markers). */
  baseSequence: number;
  /** lastSequence = baseSequence + lastOffsetDelta, wrapping at int32 max. */
  lastSequence: number;
  /** The assigned baseOffset. */
  baseOffset: number;
  /** The assigned lastOffset. */
  lastOffset: number;
  /** maxTimestamp of the batch. */
  maxTimestamp: number;
  /** Transactional attribute. */
  isTransactional: boolean;
  /** Control attribute. */
  isControl: boolean;
  /**
   * For a control batch: the marker in its first record, or null when the batch has no records
   * (the cleaner emptied it; it then changes nothing). Required when `isControl` is true.
   */
  marker?: EndTxnMarker | null;
}

/** A batch view or its header fields. */
export type ProducerBatch = RecordBatch | ProducerBatchInfo;

/**
 * Reads the fields producer state needs from a batch. For a control batch it decodes the first
 * record: CORRUPT_RECORD when that record is not an ABORT or COMMIT marker (Kafka's
 * EndTransactionMarker.deserialize refuses other control types too).
 */
export function producerBatchInfo(batch: RecordBatch): ProducerBatchInfo {
  const info: ProducerBatchInfo = {
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    lastSequence: batch.lastSequence,
    baseOffset: batch.baseOffset,
    lastOffset: batch.lastOffset,
    maxTimestamp: batch.maxTimestamp,
    isTransactional: batch.isTransactional,
    isControl: batch.isControl,
  };
  if (info.isControl) {
    const first = batch.records().next();
    if (first.done === true) {
      info.marker = null;
    } else {
      const r = first.value;
      const key = parseControlRecordKey(r.key);
      if (key.type !== 'ABORT' && key.type !== 'COMMIT') {
        throw new SeglogError(ErrorCode.CORRUPT_RECORD, `control batch at offset ${info.baseOffset} of producer ${info.producerId} holds a ${key.type} record (type ${key.typeId}), not a transaction marker`);
      }
      info.marker = { type: key.type, coordinatorEpoch: parseEndTransactionMarker(r.value).coordinatorEpoch, timestamp: r.timestamp };
    }
  }
  return info;
}

function toInfo(batch: ProducerBatch): ProducerBatchInfo {
  if (batch instanceof RecordBatch) return producerBatchInfo(batch);
  if (batch.isControl && batch.marker === undefined) {
    throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `control batch at offset ${batch.baseOffset}: its marker (or null) is required`);
  }
  return batch;
}

/** Kafka's DefaultRecordBatch.decrementSequence: sequences wrap from int32 max to 0. */
export function decrementSequence(sequence: number, decrement: number): number {
  return sequence < decrement ? INT32_MAX - (decrement - sequence) + 1 : sequence - decrement;
}

/** Whether `nextSeq` follows `lastSeq` (Kafka's inSequence, with the wrap from int32 max to 0). */
export function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

// ------------------------------------------------------------------------------ entries

/** One retained batch of a producer (Kafka's BatchMetadata). */
export class BatchMetadata {
  /**
   * @param lastSeq - the batch's last sequence
   * @param lastOffset - the batch's last offset
   * @param offsetDelta - lastOffset − baseOffset
   * @param timestamp - the batch's max timestamp
   */
  constructor(
    readonly lastSeq: number,
    readonly lastOffset: number,
    readonly offsetDelta: number,
    readonly timestamp: number,
  ) {}

  /** The batch's first sequence: lastSeq − offsetDelta, wrapping as Kafka does. */
  get firstSeq(): number {
    return decrementSequence(this.lastSeq, this.offsetDelta);
  }

  /** The batch's first offset: lastOffset − offsetDelta. */
  get firstOffset(): number {
    return this.lastOffset - this.offsetDelta;
  }
}

/**
 * The state of one producer id (Kafka's ProducerStateEntry). Entries handed out by the manager
 * are its live state: read them, do not call the mutators (they are public for the manager and
 * for tests, as in Kafka).
 */
export class ProducerStateEntry {
  /** The producer id. */
  readonly producerId: number;
  /** Current epoch (−1 when unknown). */
  producerEpoch: number;
  /** Epoch of the coordinator that wrote the last marker (−1 when none). */
  coordinatorEpoch: number;
  /** Max timestamp of the last batch, or the last marker's time (−1 when none). */
  lastTimestamp: number;
  /** First offset of the open transaction, null when none is open. */
  currentTxnFirstOffset: number | null;
  private readonly batches: BatchMetadata[] = [];

  /** An entry with no epoch, no batches and no transaction (Kafka's ProducerStateEntry.empty). */
  static empty(producerId: number): ProducerStateEntry {
    return new ProducerStateEntry(producerId, NO_PRODUCER_EPOCH, -1, NO_TIMESTAMP, null, null);
  }

  /**
   * @param producerId - the producer id
   * @param producerEpoch - its epoch
   * @param coordinatorEpoch - last marker's coordinator epoch
   * @param lastTimestamp - last timestamp
   * @param currentTxnFirstOffset - open transaction's first offset, or null
   * @param firstBatch - a batch to start the history with, or null
   */
  constructor(producerId: number, producerEpoch: number, coordinatorEpoch: number, lastTimestamp: number, currentTxnFirstOffset: number | null, firstBatch: BatchMetadata | null) {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.coordinatorEpoch = coordinatorEpoch;
    this.lastTimestamp = lastTimestamp;
    this.currentTxnFirstOffset = currentTxnFirstOffset;
    if (firstBatch !== null) this.batches.push(firstBatch);
  }

  /** The retained batches, oldest first (at most five, all of the current epoch). */
  get batchMetadata(): readonly BatchMetadata[] {
    return this.batches;
  }

  /** Whether no batch is retained. */
  get isEmpty(): boolean {
    return this.batches.length === 0;
  }

  /** First sequence of the oldest retained batch, −1 when none. */
  get firstSeq(): number {
    return this.isEmpty ? NO_SEQUENCE : this.batches[0].firstSeq;
  }

  /** Last sequence of the newest retained batch, −1 when none. */
  get lastSeq(): number {
    return this.isEmpty ? NO_SEQUENCE : this.batches[this.batches.length - 1].lastSeq;
  }

  /** First offset of the oldest retained batch, −1 when none. */
  get firstDataOffset(): number {
    return this.isEmpty ? -1 : this.batches[0].firstOffset;
  }

  /** Last offset of the newest retained batch, −1 when none (the cleaner keeps this batch). */
  get lastDataOffset(): number {
    return this.isEmpty ? -1 : this.batches[this.batches.length - 1].lastOffset;
  }

  /** offsetDelta of the newest retained batch, 0 when none. */
  get lastOffsetDelta(): number {
    return this.isEmpty ? 0 : this.batches[this.batches.length - 1].offsetDelta;
  }

  /** A deep copy. */
  copy(): ProducerStateEntry {
    const c = new ProducerStateEntry(this.producerId, this.producerEpoch, this.coordinatorEpoch, this.lastTimestamp, this.currentTxnFirstOffset, null);
    c.batches.push(...this.batches);
    return c;
  }

  /** A copy with the same epochs, time and transaction but no batches (how an append starts). */
  withoutBatches(): ProducerStateEntry {
    return new ProducerStateEntry(this.producerId, this.producerEpoch, this.coordinatorEpoch, this.lastTimestamp, this.currentTxnFirstOffset, null);
  }

  /** Records a data batch: switches to its epoch (dropping older-epoch batches) and keeps ≤ 5. */
  addBatch(producerEpoch: number, lastSeq: number, lastOffset: number, offsetDelta: number, timestamp: number): void {
    this.maybeUpdateProducerEpoch(producerEpoch);
    this.addBatchMetadata(new BatchMetadata(lastSeq, lastOffset, offsetDelta, timestamp));
    this.lastTimestamp = timestamp;
  }

  /** Sets the epoch; a change clears the batch history. Returns whether it changed. */
  maybeUpdateProducerEpoch(producerEpoch: number): boolean {
    if (this.producerEpoch === producerEpoch) return false;
    this.batches.length = 0;
    this.producerEpoch = producerEpoch;
    return true;
  }

  private addBatchMetadata(batch: BatchMetadata): void {
    if (this.batches.length === NUM_BATCHES_TO_RETAIN) this.batches.shift();
    this.batches.push(batch);
  }

  /**
   * Merges the result of an append (Kafka's update(ProducerStateEntry)): its epoch (clearing the
   * history on a change), its batches, coordinator epoch, transaction and time.
   */
  update(next: ProducerStateEntry): void {
    this.maybeUpdateProducerEpoch(next.producerEpoch);
    for (const b of next.batches) this.addBatchMetadata(b);
    this.coordinatorEpoch = next.coordinatorEpoch;
    this.currentTxnFirstOffset = next.currentTxnFirstOffset;
    this.lastTimestamp = next.lastTimestamp;
  }

  /** What a marker does (Kafka's update(epoch, coordinatorEpoch, lastTimestamp)): closes the transaction. */
  updateAfterMarker(producerEpoch: number, coordinatorEpoch: number, lastTimestamp: number): void {
    this.maybeUpdateProducerEpoch(producerEpoch);
    this.coordinatorEpoch = coordinatorEpoch;
    this.currentTxnFirstOffset = null;
    this.lastTimestamp = lastTimestamp;
  }

  /**
   * The retained batch this one repeats: same epoch as the entry and the exact sequence range
   * (Kafka's findDuplicateBatch); null when it is not a duplicate.
   */
  findDuplicateBatch(batch: Pick<ProducerBatchInfo, 'producerEpoch' | 'baseSequence' | 'lastSequence'>): BatchMetadata | null {
    if (batch.producerEpoch !== this.producerEpoch) return null;
    return this.batchWithSequenceRange(batch.baseSequence, batch.lastSequence);
  }

  /** The retained batch with exactly this sequence range, or null. */
  batchWithSequenceRange(firstSeq: number, lastSeq: number): BatchMetadata | null {
    return this.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq) ?? null;
  }
}

// ------------------------------------------------------------------------------ transactions

/** An ongoing or completed transaction the manager tracks (Kafka's TxnMetadata). */
export interface TxnMetadata {
  /** The producer. */
  readonly producerId: number;
  /** Offset of its first batch. */
  readonly firstOffset: number;
  /** Offset of its marker once completed, else null. */
  lastOffset: number | null;
}

/** A transaction a marker completed (Kafka's CompletedTxn). */
export interface CompletedTxn {
  /** The producer. */
  producerId: number;
  /** Offset of its first batch. */
  firstOffset: number;
  /** Offset of the marker. */
  lastOffset: number;
  /** ABORT (true) or COMMIT (false). */
  isAborted: boolean;
}

/** Transactions keyed and sorted by first offset (Kafka's TreeMap<Long, TxnMetadata>). */
class TxnsByFirstOffset {
  private readonly items: TxnMetadata[] = [];

  get size(): number {
    return this.items.length;
  }

  first(): TxnMetadata | undefined {
    return this.items[0];
  }

  values(): readonly TxnMetadata[] {
    return this.items;
  }

  /** Inserts or replaces the transaction with the same first offset. */
  put(txn: TxnMetadata): void {
    const i = this.search(txn.firstOffset);
    if (i < this.items.length && this.items[i].firstOffset === txn.firstOffset) this.items[i] = txn;
    else this.items.splice(i, 0, txn);
  }

  remove(firstOffset: number): TxnMetadata | undefined {
    const i = this.search(firstOffset);
    if (i < this.items.length && this.items[i].firstOffset === firstOffset) return this.items.splice(i, 1)[0];
    return undefined;
  }

  removeWhere(pred: (t: TxnMetadata) => boolean): void {
    for (let i = this.items.length - 1; i >= 0; i--) if (pred(this.items[i])) this.items.splice(i, 1);
  }

  clear(): void {
    this.items.length = 0;
  }

  /** Position of the first item with firstOffset ≥ `offset`. */
  private search(offset: number): number {
    let lo = 0;
    let hi = this.items.length;
    // Appends arrive in offset order: check the end first.
    if (hi === 0 || this.items[hi - 1].firstOffset < offset) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid].firstOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ------------------------------------------------------------------------------ one append

/**
 * Validates the batches of one producer in one append against its state and accumulates the
 * new state, without touching the manager (Kafka's ProducerAppendInfo). Built by
 * {@link ProducerStateManager.prepareUpdate}; applied by {@link ProducerStateManager.update}.
 */
export class ProducerAppendInfo {
  /** The producer id. */
  readonly producerId: number;
  /** How strictly batches are checked. */
  readonly origin: AppendOrigin;
  /** The state before this append; never mutated here. */
  private readonly currentEntry: ProducerStateEntry;
  /** The state after the batches seen so far (history: only this append's batches). */
  private readonly updatedEntry: ProducerStateEntry;
  private readonly transactions: TxnMetadata[] = [];

  /**
   * @param producerId - the producer id
   * @param currentEntry - its state before the append (an empty entry for a new producer)
   * @param origin - how strictly to check
   */
  constructor(producerId: number, currentEntry: ProducerStateEntry, origin: AppendOrigin) {
    this.producerId = producerId;
    this.currentEntry = currentEntry;
    this.origin = origin;
    this.updatedEntry = currentEntry.withoutBatches();
  }

  /**
   * Validates and records one batch of this producer. Returns the transaction a marker
   * completes (only when one was open), else null. An empty control batch changes nothing.
   * Throws INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE, INVALID_TXN_STATE or COORDINATOR_FENCED
   * per the rules of the origin (see {@link AppendOrigin}).
   */
  append(batch: ProducerBatch): CompletedTxn | null {
    const b = toInfo(batch);
    if (b.producerId !== this.producerId) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `batch of producer ${b.producerId} given to the append of producer ${this.producerId}`);
    }
    if (b.isControl) {
      if (b.marker === null || b.marker === undefined) return null;
      return this.appendEndTxnMarker(b.marker, b.producerEpoch, b.baseOffset, b.marker.timestamp);
    }
    this.appendDataBatch(b.producerEpoch, b.baseSequence, b.lastSequence, b.maxTimestamp, b.baseOffset, b.lastOffset, b.isTransactional);
    return null;
  }

  /** Validates and records a data batch (Kafka's appendDataBatch). */
  appendDataBatch(epoch: number, firstSeq: number, lastSeq: number, lastTimestamp: number, firstOffset: number, lastOffset: number, isTransactional: boolean): void {
    this.checkProducerEpoch(epoch, firstOffset);
    if (this.origin === 'client') this.checkSequence(epoch, firstSeq, firstOffset);
    this.updatedEntry.addBatch(epoch, lastSeq, lastOffset, lastOffset - firstOffset, lastTimestamp);
    const open = this.updatedEntry.currentTxnFirstOffset;
    if (open !== null && !isTransactional) {
      throw new SeglogError(ErrorCode.INVALID_TXN_STATE, `expected a transactional write from producer ${this.producerId} at offset ${firstOffset}: its transaction from offset ${open} is open`);
    }
    if (open === null && isTransactional) {
      this.updatedEntry.currentTxnFirstOffset = firstOffset;
      this.transactions.push({ producerId: this.producerId, firstOffset, lastOffset: null });
    }
  }

  /**
   * Validates and records a COMMIT/ABORT marker at `offset` (Kafka's appendEndTxnMarker with the
   * pre-KIP-890 epoch rule: a marker's epoch may equal the current one). The transaction is
   * completed only when one is open; a marker always closes it and sets the epoch.
   */
  appendEndTxnMarker(marker: Pick<EndTxnMarker, 'type' | 'coordinatorEpoch'>, producerEpoch: number, offset: number, timestamp: number): CompletedTxn | null {
    this.checkProducerEpoch(producerEpoch, offset);
    if (this.updatedEntry.coordinatorEpoch > marker.coordinatorEpoch && this.origin !== 'replication') {
      throw new SeglogError(
        ErrorCode.COORDINATOR_FENCED,
        `invalid coordinator epoch for producer ${this.producerId} at offset ${offset}: ${marker.coordinatorEpoch} (zombie), ${this.updatedEntry.coordinatorEpoch} (current)`,
      );
    }
    const open = this.updatedEntry.currentTxnFirstOffset;
    const completed = open === null ? null : { producerId: this.producerId, firstOffset: open, lastOffset: offset, isAborted: marker.type === 'ABORT' };
    this.updatedEntry.updateAfterMarker(producerEpoch, marker.coordinatorEpoch, timestamp);
    return completed;
  }

  /** The producer's state after the batches appended so far. */
  toEntry(): ProducerStateEntry {
    return this.updatedEntry;
  }

  /** Transactions opened by these batches. */
  get startedTransactions(): readonly TxnMetadata[] {
    return this.transactions;
  }

  private checkProducerEpoch(epoch: number, offset: number): void {
    const current = this.updatedEntry.producerEpoch;
    if (epoch >= current || this.origin === 'replication') return;
    // Kafka reports InvalidProducerEpoch (since 2.7, rather than ProducerFenced) so that the
    // producer can abort and retry.
    throw new SeglogError(ErrorCode.INVALID_PRODUCER_EPOCH, `epoch of producer ${this.producerId} at offset ${offset} is ${epoch}, below the last seen epoch ${current}`);
  }

  private checkSequence(epoch: number, firstSeq: number, offset: number): void {
    if (epoch !== this.updatedEntry.producerEpoch) {
      // A new epoch starts at sequence 0, unless the epoch was unknown (state lost or expired).
      if (firstSeq !== 0 && this.updatedEntry.producerEpoch !== NO_PRODUCER_EPOCH) {
        throw new SeglogError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE,
          `invalid sequence number for new epoch of producer ${this.producerId} at offset ${offset}: ${epoch} (request epoch), ${firstSeq} (seq. number), ${this.updatedEntry.producerEpoch} (current producer epoch)`,
        );
      }
      return;
    }
    let currentLastSeq: number;
    if (!this.updatedEntry.isEmpty) currentLastSeq = this.updatedEntry.lastSeq;
    else if (epoch === this.currentEntry.producerEpoch) currentLastSeq = this.currentEntry.lastSeq;
    else currentLastSeq = NO_SEQUENCE;
    // Without a known epoch (the producer's data was deleted) any sequence is accepted.
    if (this.currentEntry.producerEpoch !== NO_PRODUCER_EPOCH && !inSequence(currentLastSeq, firstSeq)) {
      throw new SeglogError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE,
        `out of order sequence number for producer ${this.producerId} at offset ${offset}: ${firstSeq} (incoming seq. number), ${currentLastSeq} (current end sequence number)`,
      );
    }
  }
}

// ------------------------------------------------------------------------------ the manager

/** How a {@link ProducerStateManager} is set up. */
export interface ProducerStateManagerOptions {
  /** The partition directory (snapshots live there). */
  dir: string;
  /** producer.id.expiration.ms (default one day). */
  producerIdExpirationMs?: number;
}

/** A retried batch found among a producer's last five: answer with its original offsets. */
export interface DuplicateBatch {
  /** The producer. */
  producerId: number;
  /** Its epoch. */
  producerEpoch: number;
  /** First sequence of the original batch. */
  firstSeq: number;
  /** Last sequence of the original batch. */
  lastSeq: number;
  /** First offset the original was written at. */
  firstOffset: number;
  /** Last offset the original was written at. */
  lastOffset: number;
  /** The original's max timestamp (Kafka returns it as the log append time). */
  timestamp: number;
}

/** What {@link ProducerStateManager.analyze} found; nothing has changed yet. */
export interface ProducerStateAnalysis {
  /** Per producer id, its validated append (insertion order = first batch order). */
  updatedProducers: Map<number, ProducerAppendInfo>;
  /** The transactions the markers complete, in batch order. */
  completedTxns: CompletedTxn[];
  /**
   * A duplicate, when one batch repeats one of its producer's last five (checked only for origin
   * 'client'): then nothing must be written or applied, and the other fields are partial.
   */
  duplicate: DuplicateBatch | null;
}

/** The result of {@link ProducerStateManager.applyAppend}. */
export interface AppliedAppend {
  /** Entries for the `.txnindex` of the segment the batches go to, in order (aborts only). */
  abortedTxns: AbortedTxn[];
  /** Every completed transaction, with commits. */
  completedTxns: CompletedTxn[];
  /**
   * Restores the state as it was before the append (producers, transactions, mapEndOffset).
   * Call it when the bytes could not be written. Valid only while this append is the latest
   * change to the manager: undo appends in reverse order, before any other mutation
   * (AssertionError otherwise). Idempotent.
   */
  undo(): void;
}

/**
 * The producer state of one partition and its snapshot files (Kafka's ProducerStateManager).
 * The constructor lists the snapshot files in `dir` (no state is loaded until
 * {@link ProducerStateManager.truncateAndReload}); mapEndOffset starts at 0.
 */
export class ProducerStateManager {
  /** producer.id.expiration.ms. */
  readonly producerIdExpirationMs: number;
  private logDir: string;
  private readonly producers = new Map<number, ProducerStateEntry>();
  private readonly ongoingTxns = new TxnsByFirstOffset();
  private readonly unreplicatedTxns = new TxnsByFirstOffset();
  /** Snapshot files, sorted by offset. */
  private snapshots: SnapshotFile[];
  private lastMapOffset = 0;
  private lastSnapOffset = 0;
  /** Bumped by every mutation; an undo checks that nothing happened since its append. */
  private generation = 0;

  /**
   * @param options - directory and expiration
   * @throws SeglogError IO_ERROR when the directory cannot be listed
   */
  constructor(options: ProducerStateManagerOptions) {
    const expiration = options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    if (!Number.isSafeInteger(expiration) || expiration < 0) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `producer.id.expiration.ms ${expiration} is not a non-negative integer`);
    }
    this.producerIdExpirationMs = expiration;
    this.logDir = options.dir;
    this.snapshots = listSnapshotFiles(this.logDir);
  }

  /** The partition directory. */
  get dir(): string {
    return this.logDir;
  }

  // ---- reading ------------------------------------------------------------------------

  /** The offset the state reflects: every batch below it has been applied (exclusive end). */
  get mapEndOffset(): number {
    return this.lastMapOffset;
  }

  /** Number of producer ids held. */
  get producerIdCount(): number {
    return this.producers.size;
  }

  /** Live view of the producers by id (the cleaner keeps each one's last data batch). */
  activeProducers(): ReadonlyMap<number, ProducerStateEntry> {
    return this.producers;
  }

  /** The state of one producer, or undefined. */
  lastEntry(producerId: number): ProducerStateEntry | undefined {
    return this.producers.get(producerId);
  }

  /** No producers and no completed transactions waiting for the high watermark. */
  isEmpty(): boolean {
    return this.producers.size === 0 && this.unreplicatedTxns.size === 0;
  }

  /** The open transactions, sorted by first offset. */
  ongoingTransactions(): readonly TxnMetadata[] {
    return this.ongoingTxns.values();
  }

  /** Completed transactions whose marker is not yet below the high watermark, by first offset. */
  unreplicatedTransactions(): readonly TxnMetadata[] {
    return this.unreplicatedTxns.values();
  }

  /**
   * The earliest offset not yet "stable" (§7.3): the first offset of the oldest open
   * transaction, or of a completed one whose marker is not yet below the high watermark;
   * null when there is none. The log clamps it to its start offset
   * ({@link lastStableOffsetOfLog}).
   */
  firstUnstableOffset(): number | null {
    const undecided = this.ongoingTxns.first()?.firstOffset;
    const unreplicated = this.unreplicatedTxns.first()?.firstOffset;
    if (unreplicated === undefined) return undecided ?? null;
    if (undecided === undefined) return unreplicated;
    return undecided < unreplicated ? undecided : unreplicated;
  }

  /**
   * Whether the oldest open transaction looks abandoned (Kafka's hasLateTransaction): its
   * producer's last write is more than `maxTransactionTimeoutMs` + {@link LATE_TRANSACTION_BUFFER_MS}
   * before `now`. Such a transaction holds the LSO back until a coordinator aborts it.
   */
  hasLateTransaction(now: number, maxTransactionTimeoutMs: number): boolean {
    const oldest = this.ongoingTxns.first();
    if (oldest === undefined) return false;
    const last = this.producers.get(oldest.producerId)?.lastTimestamp ?? -1;
    return last > 0 && now - last > maxTransactionTimeoutMs + LATE_TRANSACTION_BUFFER_MS;
  }

  /** The first offset of the oldest open transaction, or null (ignores replication). */
  firstUndecidedOffset(): number | null {
    return this.ongoingTxns.first()?.firstOffset ?? null;
  }

  /**
   * The lastStableOffset to store in the `.txnindex` entry of `completedTxn` (before
   * {@link completeTxn} is called for it): the first offset of the earliest open transaction of
   * another producer, else the marker's offset + 1.
   */
  lastStableOffset(completedTxn: CompletedTxn): number {
    for (const t of this.ongoingTxns.values()) if (t.producerId !== completedTxn.producerId) return t.firstOffset;
    return completedTxn.lastOffset + 1;
  }

  // ---- the append path -----------------------------------------------------------------

  /** A validator for one producer's batches, starting from its current state (or an empty one). */
  prepareUpdate(producerId: number, origin: AppendOrigin): ProducerAppendInfo {
    return new ProducerAppendInfo(producerId, this.producers.get(producerId) ?? ProducerStateEntry.empty(producerId), origin);
  }

  /**
   * Validates the batches of one append without changing anything (Kafka's
   * analyzeAndValidateProducerState). Batches without a producer id are skipped. For origin
   * 'client', a batch that repeats one of its producer's last five (same epoch and sequence
   * range, checked against the state before this append) stops the analysis with a
   * {@link DuplicateBatch}. Throws the typed errors of {@link ProducerAppendInfo.append}.
   */
  analyze(batches: Iterable<ProducerBatch>, origin: AppendOrigin): ProducerStateAnalysis {
    const updatedProducers = new Map<number, ProducerAppendInfo>();
    const completedTxns: CompletedTxn[] = [];
    for (const batch of batches) {
      // Skip producer-less batches before decoding anything (KRaft control batches have none).
      if (batch.producerId < 0) continue;
      const b = toInfo(batch);
      if (origin === 'client') {
        const dup = this.producers.get(b.producerId)?.findDuplicateBatch(b) ?? null;
        if (dup !== null) {
          return {
            updatedProducers,
            completedTxns,
            duplicate: { producerId: b.producerId, producerEpoch: b.producerEpoch, firstSeq: dup.firstSeq, lastSeq: dup.lastSeq, firstOffset: dup.firstOffset, lastOffset: dup.lastOffset, timestamp: dup.timestamp },
          };
        }
      }
      let info = updatedProducers.get(b.producerId);
      if (info === undefined) {
        info = this.prepareUpdate(b.producerId, origin);
        updatedProducers.set(b.producerId, info);
      }
      const completed = info.append(b);
      if (completed !== null) completedTxns.push(completed);
    }
    return { updatedProducers, completedTxns, duplicate: null };
  }

  /**
   * Applies an analysis (Kafka's append path after the write): updates every producer,
   * then for each completed transaction in order computes its last stable offset and completes
   * it, then sets mapEndOffset to `nextOffset` (the append's last offset + 1). Returns the
   * `.txnindex` entries to append to the segment the batches were written to, and an undo.
   * INVALID_ARGUMENT for an analysis that found a duplicate (there is nothing to apply).
   */
  applyAppend(analysis: ProducerStateAnalysis, nextOffset: number): AppliedAppend {
    if (analysis.duplicate !== null) throw new SeglogError(ErrorCode.INVALID_ARGUMENT, 'a duplicate append has nothing to apply');
    const before = this.generation;
    const previous = new Map<number, ProducerStateEntry | undefined>();
    for (const pid of analysis.updatedProducers.keys()) previous.set(pid, this.producers.get(pid)?.copy());
    const startedOffsets: number[] = [];
    for (const info of analysis.updatedProducers.values()) for (const t of info.startedTransactions) startedOffsets.push(t.firstOffset);
    const previousMapEnd = this.lastMapOffset;
    const removedOngoing: TxnMetadata[] = [];
    const restore = (): void => {
      for (const [pid, entry] of previous) {
        if (entry === undefined) this.producers.delete(pid);
        else this.producers.set(pid, entry);
      }
      for (const offset of startedOffsets) this.ongoingTxns.remove(offset);
      for (const t of removedOngoing) this.ongoingTxns.put({ producerId: t.producerId, firstOffset: t.firstOffset, lastOffset: null });
      for (const txn of analysis.completedTxns) {
        // Only what this append moved there: an older entry with the same first offset cannot exist.
        if (this.unreplicatedTxns.values().some((t) => t.firstOffset === txn.firstOffset && t.lastOffset === txn.lastOffset)) {
          this.unreplicatedTxns.remove(txn.firstOffset);
        }
      }
      this.lastMapOffset = previousMapEnd;
      this.generation = before;
    };

    const abortedTxns: AbortedTxn[] = [];
    try {
      for (const info of analysis.updatedProducers.values()) this.update(info);
      for (const txn of analysis.completedTxns) {
        const lso = this.lastStableOffset(txn);
        if (txn.isAborted) abortedTxns.push({ producerId: txn.producerId, firstOffset: txn.firstOffset, lastOffset: txn.lastOffset, lastStableOffset: lso });
        const ongoing = this.ongoingTxns.values().find((t) => t.firstOffset === txn.firstOffset);
        if (ongoing !== undefined && !startedOffsets.includes(ongoing.firstOffset)) removedOngoing.push({ ...ongoing });
        this.completeTxn(txn);
      }
      this.updateMapEndOffset(nextOffset);
    } catch (err) {
      // All or nothing: a failure half-way (only bad state gets here) leaves the state as it was.
      restore();
      throw err;
    }
    const after = this.generation;

    let undone = false;
    const undo = (): void => {
      if (undone) return;
      assert(this.generation === after, 'undo of an append that is not the latest change to the producer state');
      restore();
      undone = true;
    };
    return { abortedTxns, completedTxns: analysis.completedTxns.slice(), undo };
  }

  /** Applies one producer's append (Kafka's update): merges the entry, registers started transactions. */
  update(appendInfo: ProducerAppendInfo): void {
    const pid = appendInfo.producerId;
    if (pid < 0) throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `invalid producer id ${pid} passed to update`);
    const updated = appendInfo.toEntry();
    const current = this.producers.get(pid);
    if (current !== undefined) current.update(updated);
    else this.producers.set(pid, updated.copy());
    for (const t of appendInfo.startedTransactions) this.ongoingTxns.put({ producerId: t.producerId, firstOffset: t.firstOffset, lastOffset: null });
    this.generation++;
  }

  /**
   * Marks a transaction completed (Kafka's completeTxn): it leaves the ongoing set and waits in
   * the unreplicated set until the high watermark passes its marker. INVALID_TXN_STATE when it
   * was not started (only bad data — two producers claiming one first offset — gets here).
   */
  completeTxn(completedTxn: CompletedTxn): void {
    const txn = this.ongoingTxns.remove(completedTxn.firstOffset);
    if (txn === undefined) {
      throw new SeglogError(ErrorCode.INVALID_TXN_STATE, `cannot complete the transaction of producer ${completedTxn.producerId} from offset ${completedTxn.firstOffset}: it was not started`);
    }
    txn.lastOffset = completedTxn.lastOffset;
    this.unreplicatedTxns.put(txn);
    this.generation++;
  }

  /** Sets mapEndOffset (after every append, even of batches without producers). */
  updateMapEndOffset(offset: number): void {
    this.lastMapOffset = offset;
    this.generation++;
  }

  /** Drops completed transactions whose marker is below the high watermark. */
  onHighWatermarkUpdated(highWatermark: number): void {
    this.unreplicatedTxns.removeWhere((t) => t.lastOffset !== null && t.lastOffset < highWatermark);
    this.generation++;
  }

  /**
   * The log start offset moved up (Kafka's onLogStartOffsetIncremented): drops completed
   * transactions below it, raises mapEndOffset to it, and resets lastSnapOffset to the latest
   * snapshot (or the new start).
   */
  onLogStartOffsetIncremented(logStartOffset: number): void {
    this.unreplicatedTxns.removeWhere((t) => t.lastOffset !== null && t.lastOffset < logStartOffset);
    if (this.lastMapOffset < logStartOffset) this.lastMapOffset = logStartOffset;
    this.lastSnapOffset = this.latestSnapshotOffset() ?? logStartOffset;
    this.generation++;
  }

  // ---- recovery --------------------------------------------------------------------------

  /**
   * Applies one batch read back during segment recovery (Kafka's LogSegment.updateProducerState):
   * origin 'replication', applied at once, the completed transaction (if any) completed, and
   * mapEndOffset set to the batch's last offset + 1. Returns the `.txnindex` entry for an
   * abort (the caller appends it to the recovering segment's index, which it reset first), else
   * null.
   */
  recoverBatch(batch: ProducerBatch): AbortedTxn | null {
    let aborted: AbortedTxn | null = null;
    if (batch.producerId >= 0) {
      const info = this.prepareUpdate(batch.producerId, 'replication');
      const completed = info.append(batch);
      this.update(info);
      if (completed !== null) {
        const lso = this.lastStableOffset(completed);
        if (completed.isAborted) aborted = { producerId: completed.producerId, firstOffset: completed.firstOffset, lastOffset: completed.lastOffset, lastStableOffset: lso };
        this.completeTxn(completed);
      }
    }
    this.updateMapEndOffset(batch.lastOffset + 1);
    return aborted;
  }

  /**
   * Applies batches already in the log, as one group (Kafka's loadProducersFromRecords): origin
   * 'replication', every producer updated, then the completed transactions completed. It does not
   * move mapEndOffset and writes no `.txnindex` entries (see {@link rebuildProducerState}).
   */
  loadProducersFromRecords(batches: Iterable<ProducerBatch>): void {
    const loaded = new Map<number, ProducerAppendInfo>();
    const completed: CompletedTxn[] = [];
    for (const batch of batches) {
      if (batch.producerId < 0) continue;
      let info = loaded.get(batch.producerId);
      if (info === undefined) {
        info = this.prepareUpdate(batch.producerId, 'replication');
        loaded.set(batch.producerId, info);
      }
      const c = info.append(batch);
      if (c !== null) completed.push(c);
    }
    for (const info of loaded.values()) this.update(info);
    for (const c of completed) this.completeTxn(c);
  }

  /** Adds a producer as read from a snapshot, registering its open transaction (Kafka's loadProducerEntry). */
  loadProducerEntry(entry: ProducerStateEntry): void {
    this.producers.set(entry.producerId, entry);
    if (entry.currentTxnFirstOffset !== null) {
      this.ongoingTxns.put({ producerId: entry.producerId, firstOffset: entry.currentTxnFirstOffset, lastOffset: null });
    }
    this.generation++;
  }

  // ---- expiry ----------------------------------------------------------------------------

  /** Whether a producer has expired: no open transaction and idle for producer.id.expiration.ms. */
  isProducerExpired(now: number, entry: ProducerStateEntry): boolean {
    return entry.currentTxnFirstOffset === null && now - entry.lastTimestamp >= this.producerIdExpirationMs;
  }

  /** Drops every expired producer (never one with an open transaction). */
  removeExpiredProducers(now: number): void {
    for (const [pid, entry] of this.producers) if (this.isProducerExpired(now, entry)) this.producers.delete(pid);
    this.generation++;
  }

  // ---- snapshots ---------------------------------------------------------------------------

  /** Offsets of the known snapshot files, ascending. */
  snapshotOffsets(): number[] {
    return this.snapshots.map((s) => s.offset);
  }

  /** Offset of the newest snapshot file, or null. */
  latestSnapshotOffset(): number | null {
    return this.snapshots.length === 0 ? null : this.snapshots[this.snapshots.length - 1].offset;
  }

  /** Offset of the oldest snapshot file, or null. */
  oldestSnapshotOffset(): number | null {
    return this.snapshots.length === 0 ? null : this.snapshots[0].offset;
  }

  /** Path of the snapshot at `offset`, or null when there is none. */
  snapshotFileForOffset(offset: number): string | null {
    return this.snapshots.find((s) => s.offset === offset)?.file ?? null;
  }

  /**
   * Writes `<mapEndOffset>.snapshot` if mapEndOffset is above the last snapshot's offset
   * (never twice for one offset), producers in ascending id order, only each one's last batch
   * (Kafka keeps no more). fsyncs the file when `sync` (default true; the roll path passes false
   * and fsyncs with the segment flush). Returns the file written, or null. IO_ERROR on failure.
   */
  takeSnapshot(options: { sync?: boolean } = {}): string | null {
    if (this.lastMapOffset <= this.lastSnapOffset) return null;
    const file = producerSnapshotFile(this.logDir, this.lastMapOffset);
    const entries = [...this.producers.values()].sort((a, b) => a.producerId - b.producerId).map(toSnapshotEntry);
    writeProducerSnapshot(file, entries, options.sync ?? true);
    this.putSnapshot({ offset: this.lastMapOffset, file });
    this.lastSnapOffset = this.lastMapOffset;
    // A snapshot freezes the state: an append applied before it can no longer be undone.
    this.generation++;
    return file;
  }

  /**
   * Brings the state to `logEndOffset` from the snapshots (Kafka's truncateAndReload):
   * 1. deletes every snapshot whose offset is > logEndOffset or ≤ logStartOffset (Kafka's exact
   *    rule: a snapshot at the start offset goes too);
   * 2. if mapEndOffset ≠ logEndOffset: clears all state and loads the latest remaining snapshot,
   *    skipping producers that expired by `now`; a CORRUPT_SNAPSHOT file is deleted and the next
   *    older one tried; with none left the state starts empty at logStartOffset. Otherwise it
   *    only applies {@link onLogStartOffsetIncremented}.
   * Returns mapEndOffset: the batches in [that, logEndOffset) must then be replayed
   * ({@link loadProducersFromRecords}, or all of it via {@link rebuildProducerState}).
   * VALUE_OUT_OF_RANGE (a valid Kafka snapshot holding an int64 past 2^53) and IO_ERROR propagate.
   */
  truncateAndReload(logStartOffset: number, logEndOffset: number, now: number): number {
    for (const s of this.snapshots.slice()) {
      if (s.offset > logEndOffset || s.offset <= logStartOffset) this.deleteSnapshot(s.offset);
    }
    if (logEndOffset !== this.lastMapOffset) {
      this.producers.clear();
      this.ongoingTxns.clear();
      // The log end is at or below the high watermark here, so these are replicated.
      this.unreplicatedTxns.clear();
      this.loadFromSnapshot(logStartOffset, now);
    } else {
      this.onLogStartOffsetIncremented(logStartOffset);
    }
    this.generation++;
    return this.lastMapOffset;
  }

  /** Clears all state and deletes every snapshot; mapEndOffset = `offset` (Kafka's truncateFullyAndStartAt). */
  truncateFullyAndStartAt(offset: number): void {
    this.producers.clear();
    this.ongoingTxns.clear();
    this.unreplicatedTxns.clear();
    for (const s of this.snapshots.slice()) this.deleteSnapshot(s.offset);
    this.lastSnapOffset = 0;
    this.lastMapOffset = offset;
    this.generation++;
  }

  /** Clears the state (and snapshots), then lists the snapshot files of the directory again. */
  truncateFullyAndReloadSnapshots(): void {
    this.truncateFullyAndStartAt(0);
    this.snapshots = listSnapshotFiles(this.logDir);
  }

  /** Deletes the snapshot files below `offset` (exclusive). */
  deleteSnapshotsBefore(offset: number): void {
    for (const s of this.snapshots.slice()) if (s.offset < offset) this.deleteSnapshot(s.offset);
  }

  /** Forgets the snapshot at `offset` and deletes its file; false when there was none (Kafka's removeAndDeleteSnapshot). */
  deleteSnapshot(offset: number): boolean {
    const s = this.removeSnapshot(offset);
    if (s === undefined) return false;
    try {
      fs.unlinkSync(s.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, s.file);
    }
    return true;
  }

  /**
   * Forgets the snapshot at `offset` and renames its file to `….snapshot.deleted`, for deletion
   * after file.delete.delay.ms, as when the segment with that base offset is deleted. Returns the
   * new path, or null when there was no such snapshot or its file was already gone.
   */
  removeAndMarkSnapshotForDeletion(offset: number): string | null {
    const s = this.removeSnapshot(offset);
    if (s === undefined) return null;
    const renamed = `${s.file}${DELETED_SUFFIX}`;
    try {
      fs.renameSync(s.file, renamed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(err, s.file);
    }
    return renamed;
  }

  /**
   * Deletes snapshots that match no segment base offset, except the newest such stray when it
   * is above every segment base (the one a clean shutdown wrote at the log end). Lists the
   * directory again first (Kafka's removeStraySnapshots).
   */
  removeStraySnapshots(segmentBaseOffsets: Iterable<number>): void {
    const bases = new Set(segmentBaseOffsets);
    let maxBase: number | null = null;
    for (const b of bases) if (maxBase === null || b > maxBase) maxBase = b;
    this.snapshots = listSnapshotFiles(this.logDir);
    let latestStray: SnapshotFile | null = null;
    for (const s of this.snapshots.slice()) {
      if (bases.has(s.offset)) continue;
      if (latestStray !== null) this.deleteSnapshot(latestStray.offset);
      latestStray = s;
    }
    if (latestStray !== null && maxBase !== null && latestStray.offset < maxBase) this.deleteSnapshot(latestStray.offset);
  }

  /** The partition directory was renamed: snapshots are now in `dir` (no I/O). */
  updateParentDir(dir: string): void {
    this.logDir = dir;
    this.snapshots = this.snapshots.map((s) => ({ offset: s.offset, file: path.join(dir, path.basename(s.file)) }));
  }

  private loadFromSnapshot(logStartOffset: number, now: number): void {
    for (;;) {
      const latest = this.snapshots[this.snapshots.length - 1];
      if (latest === undefined) {
        this.lastSnapOffset = logStartOffset;
        this.lastMapOffset = logStartOffset;
        return;
      }
      let entries: ProducerSnapshotEntry[];
      try {
        entries = readProducerSnapshot(latest.file);
      } catch (err) {
        if (!(err instanceof SeglogError && err.code === ErrorCode.CORRUPT_SNAPSHOT)) throw err;
        // As Kafka: a corrupt snapshot is deleted and the next older one is tried.
        this.deleteSnapshot(latest.offset);
        continue;
      }
      for (const e of entries) {
        const entry = fromSnapshotEntry(e);
        if (!this.isProducerExpired(now, entry)) this.loadProducerEntry(entry);
      }
      this.lastSnapOffset = latest.offset;
      this.lastMapOffset = latest.offset;
      return;
    }
  }

  private putSnapshot(s: SnapshotFile): void {
    this.removeSnapshot(s.offset);
    let i = this.snapshots.length;
    while (i > 0 && this.snapshots[i - 1].offset > s.offset) i--;
    this.snapshots.splice(i, 0, s);
  }

  private removeSnapshot(offset: number): SnapshotFile | undefined {
    const i = this.snapshots.findIndex((s) => s.offset === offset);
    return i < 0 ? undefined : this.snapshots.splice(i, 1)[0];
  }
}

/** A producer's snapshot entry: only its last batch is kept (Kafka's writeSnapshot). */
function toSnapshotEntry(e: ProducerStateEntry): ProducerSnapshotEntry {
  return {
    producerId: e.producerId,
    producerEpoch: e.producerEpoch,
    lastSequence: e.lastSeq,
    lastOffset: e.lastDataOffset,
    offsetDelta: e.lastOffsetDelta,
    timestamp: e.lastTimestamp,
    coordinatorEpoch: e.coordinatorEpoch,
    currentTxnFirstOffset: e.currentTxnFirstOffset ?? -1,
  };
}

/** A snapshot entry as a producer state (Kafka's readSnapshot): negative offsets mean "none". */
export function fromSnapshotEntry(e: ProducerSnapshotEntry): ProducerStateEntry {
  const batch = e.lastOffset >= 0 ? new BatchMetadata(e.lastSequence, e.lastOffset, e.offsetDelta, e.timestamp) : null;
  return new ProducerStateEntry(e.producerId, e.producerEpoch, e.coordinatorEpoch, e.timestamp, e.currentTxnFirstOffset >= 0 ? e.currentTxnFirstOffset : null, batch);
}

/**
 * The log's last stable offset (Kafka's UnifiedLog.lastStableOffset): the first unstable
 * offset, raised to the log start offset, when it is below the high watermark; else the high
 * watermark. With HW = LEO (a single-node log) that is the oldest open transaction's first
 * offset, or the log end.
 */
export function lastStableOffsetOfLog(firstUnstableOffset: number | null, highWatermark: number, logStartOffset: number): number {
  if (firstUnstableOffset === null) return highWatermark;
  const fuo = Math.max(firstUnstableOffset, logStartOffset);
  return fuo < highWatermark ? fuo : highWatermark;
}

// ------------------------------------------------------------------------------ rebuild

/** One segment as {@link rebuildProducerState} reads it. */
export interface ProducerStateSegment {
  /** The segment's base offset. */
  baseOffset: number;
  /**
   * The segment's batches in offset order. `startOffset` and `endOffset` are hints (the log may
   * seek with its offset index): batches ending below `startOffset` are skipped and the walk
   * stops at the first batch whose last offset is ≥ `endOffset`, whatever is yielded.
   */
  batches(startOffset: number, endOffset: number): Iterable<ProducerBatch>;
}

/** Parameters of {@link rebuildProducerState}. */
export interface RebuildProducerStateParams {
  /** The log start offset (from the checkpoint when loading). */
  logStartOffset: number;
  /** Rebuild up to here (exclusive): the log end, or a segment base during recovery. */
  lastOffset: number;
  /** The clock, for expiring producers read from the snapshot. */
  now: number;
  /**
   * After a clean shutdown with no snapshot at all (an upgrade from a broker without them),
   * Kafka skips the scan and writes empty snapshots at the last two segment bases and at
   * `lastOffset`. Default false.
   */
  reloadFromCleanShutdown?: boolean;
}

/**
 * Rebuilds the producer state up to `lastOffset` (Kafka's UnifiedLog.rebuildProducerState):
 * {@link ProducerStateManager.truncateAndReload} from the latest valid snapshot, then replays
 * the segments from mapEndOffset to `lastOffset`, taking snapshots at the last two segment bases
 * on the way, and ends with mapEndOffset = `lastOffset` and a snapshot there. The replay is
 * skipped when the state was empty and already at or past `lastOffset` (nobody uses
 * idempotence). `segments` are all the log's segments, ascending.
 */
export function rebuildProducerState(psm: ProducerStateManager, segments: readonly ProducerStateSegment[], params: RebuildProducerStateParams): void {
  const { logStartOffset, lastOffset, now } = params;
  const offsetsToSnapshot: number[] = [];
  if (segments.length >= 2) offsetsToSnapshot.push(segments[segments.length - 2].baseOffset);
  if (segments.length >= 1) offsetsToSnapshot.push(segments[segments.length - 1].baseOffset);
  offsetsToSnapshot.push(lastOffset);

  if (psm.latestSnapshotOffset() === null && params.reloadFromCleanShutdown === true) {
    for (const offset of offsetsToSnapshot) {
      psm.updateMapEndOffset(offset);
      psm.takeSnapshot();
    }
    return;
  }
  const isEmptyBeforeTruncation = psm.isEmpty() && psm.mapEndOffset >= lastOffset;
  psm.truncateAndReload(logStartOffset, lastOffset, now);
  if (lastOffset > psm.mapEndOffset && !isEmptyBeforeTruncation) {
    for (const segment of segmentsInRange(segments, psm.mapEndOffset, lastOffset)) {
      const startOffset = Math.max(segment.baseOffset, psm.mapEndOffset, logStartOffset);
      psm.updateMapEndOffset(startOffset);
      if (offsetsToSnapshot.includes(segment.baseOffset)) psm.takeSnapshot();
      psm.loadProducersFromRecords(batchesBetween(segment.batches(startOffset, lastOffset), startOffset, lastOffset));
    }
  }
  psm.updateMapEndOffset(lastOffset);
  psm.takeSnapshot();
}

/** Kafka's LogSegments.values(from, to): the segment holding `from` through those starting below `to`. */
function segmentsInRange(segments: readonly ProducerStateSegment[], from: number, to: number): ProducerStateSegment[] {
  let first = 0;
  for (let i = 0; i < segments.length; i++) if (segments[i].baseOffset <= from) first = i;
  return segments.slice(first).filter((s) => s.baseOffset < to);
}

function* batchesBetween(batches: Iterable<ProducerBatch>, startOffset: number, endOffset: number): Generator<ProducerBatch> {
  for (const b of batches) {
    const last = b.lastOffset;
    if (last >= endOffset) return;
    if (last >= startOffset) yield b;
  }
}
