/**
 * `LogSegment`: one segment of a partition, Kafka's LogSegment. Three files named by the
 * 20-digit base offset: `.log` (batches), `.index` (sparse offset → position) and `.timeindex`
 * (sparse max timestamp → offset).
 *
 * Owns: appending whole batches and indexing them every `indexIntervalBytes`, translating an
 * offset to a file position, reading slices, finding offsets by timestamp, recovery (re-validate
 * every batch by CRC, rebuild both indexes, cut a torn tail), truncation, the roll decision and
 * the files' lifecycle (trim on roll/close, rename for deletion and swaps).
 *
 * Invariants:
 * - every offset in the segment is ≥ baseOffset and its relative offset fits an int32;
 * - an offset-index entry (O, P) means "the batch at position P has last offset O";
 * - a time-index entry (T, O) means "T is the largest timestamp up to the batch whose last
 *   offset is O"; entries strictly increase in T;
 * - indexes are never trusted over the log: recovery rebuilds them from the batches.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { LOG_OVERHEAD, MAX_TIMESTAMP_OFFSET, RECORD_BATCH_OVERHEAD } from '../limits.js';
import { RecordBatch } from '../records/batch.js';
import { readInt64 } from '../records/varint.js';
import { BatchWalker } from '../records/walker.js';
import { LogFile, type BatchPosition } from './log-file.js';
import { MAX_RELATIVE_OFFSET } from './index-file.js';
import { OffsetIndex } from './offset-index.js';
import { TransactionIndex } from './txn-index.js';
import { TimeIndex } from './time-index.js';

/** File suffixes of a segment. */
export const LOG_FILE_SUFFIX = '.log';
/** Offset index suffix. */
export const INDEX_FILE_SUFFIX = '.index';
/** Time index suffix. */
export const TIME_INDEX_FILE_SUFFIX = '.timeindex';
/** Aborted-transaction index suffix. */
export const TXN_INDEX_FILE_SUFFIX = '.txnindex';
/** Appended to a file scheduled for deletion. */
export const DELETED_FILE_SUFFIX = '.deleted';

/** Bytes read per chunk during recovery; a larger batch is read whole on its own. */
const RECOVERY_CHUNK_BYTES = 1024 * 1024;

/** Kafka's 20-digit zero-padded file name prefix for an offset. */
export function segmentFilePrefix(offset: number): string {
  assert(Number.isSafeInteger(offset) && offset >= 0, 'segment base offsets are non-negative');
  return String(offset).padStart(20, '0');
}

/** Parses the base offset from a segment file name (`00000000000000000042.log` → 42). */
export function offsetFromFileName(name: string): number {
  const prefix = path.basename(name).split('.')[0];
  if (!/^\d{1,20}$/.test(prefix)) throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `${name} is not named by an offset`);
  const n = Number(prefix);
  if (!Number.isSafeInteger(n)) throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `${name}: base offset beyond 2^53`);
  return n;
}

/** Index of the segment holding `offset` in a sorted list (the last whose base ≤ offset; 0 when below all). */
export function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid].baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** What a segment needs from the log's configuration. */
export interface SegmentConfig {
  /** Bytes of log between index entries (index.interval.bytes). */
  indexIntervalBytes: number;
  /** Maximum size of each index file (segment.index.bytes). */
  segmentIndexBytes: number;
  /** Preallocate the `.log` file to segmentBytes (preallocate). */
  preallocate: boolean;
  /** segment.bytes. */
  segmentBytes: number;
}

/** One batch handed to {@link LogSegment.append}, with the facts the indexes need. */
export interface SegmentAppend {
  /** The batch bytes (offsets already assigned). */
  buffer: Buffer;
  /** The batch's last offset. */
  lastOffset: number;
  /** The batch's maxTimestamp. */
  maxTimestamp: number;
}

/** A byte range of the `.log` file. */
export interface SegmentSlice {
  /** Position of the first byte. */
  position: number;
  /** Number of bytes. */
  size: number;
}

/** What recovering a segment did. */
export interface SegmentRecovery {
  /** Bytes of valid batches kept. */
  validBytes: number;
  /** Bytes cut from the end (a torn or corrupt tail). */
  truncatedBytes: number;
  /** Batches re-validated. */
  batches: number;
  /** Why recovery stopped early, when it did. */
  stoppedBy?: SeglogError;
}

/** Inputs of the roll decision (Kafka's RollParams). */
export interface RollParams {
  /** Bytes about to be appended. */
  messagesSize: number;
  /** Largest timestamp among them. */
  maxTimestampInMessages: number;
  /** Largest offset among them. */
  maxOffsetInMessages: number;
  /** Now, from the log's clock. */
  now: number;
  /** segment.ms (or min with max.compaction.lag.ms for compacted logs). */
  maxSegmentMs: number;
  /** segment.bytes. */
  maxSegmentBytes: number;
}

/** One segment's files and in-memory state. */
export class LogSegment {
  /** The base offset (the file names' number). */
  readonly baseOffset: number;
  /** The `.log` file. */
  readonly log: LogFile;
  /** The `.index` file. */
  readonly offsetIndex: OffsetIndex;
  /** The `.timeindex` file. */
  readonly timeIndex: TimeIndex;
  /** The `.txnindex` file (aborted transactions whose ABORT marker is in this segment; created on first entry). */
  readonly txnIndex: TransactionIndex;
  /** Random jitter subtracted from segment.ms for this segment (chosen once). */
  readonly rollJitterMs: number;
  /** When this segment object was created (wall clock of the log's clock). */
  readonly createdMs: number;
  private readonly config: SegmentConfig;
  private bytesSinceLastIndexEntry = 0;
  private indexesChecked = false;
  /** Whether this segment's indexes failed their sanity check and were rebuilt from the log. */
  rebuiltIndexes = false;
  private maxTimestampSoFar: number | null = null;
  private offsetOfMaxTimestampSoFar = 0;
  private firstBatchMaxTimestamp: number | null = null;

  private constructor(baseOffset: number, log: LogFile, offsetIndex: OffsetIndex, timeIndex: TimeIndex, txnIndex: TransactionIndex, config: SegmentConfig, rollJitterMs: number, createdMs: number) {
    this.baseOffset = baseOffset;
    this.log = log;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.txnIndex = txnIndex;
    this.config = config;
    this.rollJitterMs = rollJitterMs;
    this.createdMs = createdMs;
  }

  /** Paths of a segment's files in `dir`. */
  static paths(dir: string, baseOffset: number, suffix = ''): { log: string; index: string; timeIndex: string; txnIndex: string } {
    const prefix = path.join(dir, segmentFilePrefix(baseOffset));
    return {
      log: prefix + LOG_FILE_SUFFIX + suffix,
      index: prefix + INDEX_FILE_SUFFIX + suffix,
      timeIndex: prefix + TIME_INDEX_FILE_SUFFIX + suffix,
      txnIndex: prefix + TXN_INDEX_FILE_SUFFIX + suffix,
    };
  }

  /**
   * Creates a new, empty active segment: `.log` (preallocated when configured) and both
   * indexes, preallocated to segment.index.bytes. Existing files of that name are replaced.
   */
  static create(dir: string, baseOffset: number, config: SegmentConfig, options: { now: number; rollJitterMs?: number; suffix?: string }): LogSegment {
    const p = LogSegment.paths(dir, baseOffset, options.suffix);
    for (const f of [p.log, p.index, p.timeIndex, p.txnIndex]) rmIfExists(f);
    const log = LogFile.open(p.log, { create: true, preallocateBytes: config.preallocate ? config.segmentBytes : undefined });
    const opts = { maxIndexSize: config.segmentIndexBytes, writable: true };
    const seg = new LogSegment(baseOffset, log, new OffsetIndex(p.index, baseOffset, opts), new TimeIndex(p.timeIndex, baseOffset, opts), new TransactionIndex(p.txnIndex, baseOffset), config, options.rollJitterMs ?? 0, options.now);
    seg.offsetIndex.resize(config.segmentIndexBytes);
    seg.timeIndex.resize(config.segmentIndexBytes);
    return seg;
  }

  /**
   * Opens an existing segment without reading its indexes (they load on first use). The
   * active segment passes `writable` so its indexes can grow; `logSize` is the logical size
   * when known (a preallocated file's data ends before the file does).
   */
  static open(dir: string, baseOffset: number, config: SegmentConfig, options: { now: number; writable: boolean; rollJitterMs?: number; logSize?: number; fileSuffix?: string }): LogSegment {
    const p = LogSegment.paths(dir, baseOffset, options.fileSuffix);
    const log = LogFile.open(p.log, { size: options.logSize });
    const opts = { maxIndexSize: config.segmentIndexBytes, writable: options.writable };
    return new LogSegment(baseOffset, log, new OffsetIndex(p.index, baseOffset, opts), new TimeIndex(p.timeIndex, baseOffset, opts), new TransactionIndex(p.txnIndex, baseOffset), config, options.rollJitterMs ?? 0, options.now);
  }

  /**
   * Reopens this segment's files as the active segment (writable indexes grown back to
   * segment.index.bytes), closing this object's handles. Used when the segments after it
   * are removed (recovery, truncation).
   */
  reopenAsActive(now: number, rollJitterMs: number): LogSegment {
    const size = this.log.size;
    this.offsetIndex.close();
    this.timeIndex.close();
    this.txnIndex.close();
    this.log.close();
    const seg = LogSegment.open(path.dirname(this.log.file), this.baseOffset, this.config, { now, writable: true, rollJitterMs, logSize: size });
    seg.offsetIndex.resize(this.config.segmentIndexBytes);
    seg.timeIndex.resize(this.config.segmentIndexBytes);
    return seg;
  }

  /** Whether this is the active segment (its indexes may grow). */
  get isActive(): boolean {
    return this.offsetIndex.writable;
  }

  /** Bytes of batches in the segment. */
  get size(): number {
    return this.log.size;
  }

  /** Whether `offset` can be stored relative to this segment's base. */
  canConvertToRelativeOffset(offset: number): boolean {
    const rel = offset - this.baseOffset;
    return rel >= 0 && rel <= MAX_RELATIVE_OFFSET;
  }

  /**
   * Checks both indexes the first time they are used (they load lazily) and rebuilds them from
   * the `.log` when they fail: wrong length, entries out of order, an offset-index entry
   * pointing at or past the end of the log, a time-index entry past the last offset. An index
   * is never trusted over the log.
   */
  private ensureIndexes(): void {
    if (this.indexesChecked) return;
    this.indexesChecked = true;
    try {
      this.offsetIndex.sanityCheck();
      this.timeIndex.sanityCheck();
      const n = this.offsetIndex.entries;
      if (n > 0 && this.offsetIndex.entry(n - 1).position >= this.log.size) {
        throw new SeglogError(ErrorCode.CORRUPT_INDEX, `${this.offsetIndex.file}: last entry points past the end of the log (${this.log.size} bytes)`);
      }
      if (this.timeIndex.entries > 0 && this.log.size === 0) {
        throw indexCorrupt(this.timeIndex.file, 'entries in an empty segment');
      }
      if (this.log.size > 0 && (!fs.existsSync(this.offsetIndex.file) || !fs.existsSync(this.timeIndex.file))) {
        // Kafka recreates a missing .timeindex empty; rebuilding it keeps ListOffsets and
        // time retention right for this segment.
        throw indexCorrupt(this.log.file, 'an index file is missing');
      }
      if (this.timeIndex.entries > 0 && this.timeIndex.lastEntry().offset >= this.readNextOffset()) {
        throw indexCorrupt(this.timeIndex.file, `last entry points at offset ${this.timeIndex.lastEntry().offset}, past the segment's data`);
      }
    } catch (err) {
      if (!(err instanceof SeglogError) || (err.code !== ErrorCode.CORRUPT_INDEX && err.code !== ErrorCode.VALUE_OUT_OF_RANGE && err.code !== ErrorCode.CORRUPT_RECORD)) throw err;
      this.rebuildIndexes();
    }
  }

  private rebuildIndexes(): void {
    this.indexesChecked = true;
    this.recover();
    this.rebuiltIndexes = true;
  }

  private loadMaxTimestamp(): void {
    this.ensureIndexes();
    if (this.maxTimestampSoFar !== null) return;
    // The last time-index entry, then every batch after it (Kafka's loadLargestTimestamp): an
    // active or truncated segment may hold batches the time index has not seen yet.
    const last = this.timeIndex.lastEntry();
    let max = last.timestamp;
    let offset = last.offset;
    const from = this.timeIndex.entries === 0 ? null : this.translateOffset(last.offset + 1);
    for (const b of this.log.scan(from === null ? 0 : from.position)) {
      if (b.maxTimestamp > max) {
        max = b.maxTimestamp;
        offset = b.lastOffset;
      }
    }
    this.maxTimestampSoFar = max;
    this.offsetOfMaxTimestampSoFar = offset;
  }

  /** The largest timestamp appended so far and the offset of the batch holding it. */
  maxTimestampAndOffset(): { timestamp: number; offset: number } {
    this.loadMaxTimestamp();
    return { timestamp: this.maxTimestampSoFar as number, offset: this.offsetOfMaxTimestampSoFar };
  }

  /**
   * Appends whole batches with one writev and indexes them. Each batch is considered for an
   * index entry before it is written: when more than indexIntervalBytes were written since the
   * last entry, (its lastOffset, its position) goes into the offset index and the running max
   * timestamp into the time index. Returns the position of the first batch.
   * Needs the log's append lock (the writer queue); not re-entrant.
   */
  append(batches: readonly SegmentAppend[]): number {
    if (batches.length === 0) return this.log.size;
    this.loadMaxTimestamp();
    const first = batches[0];
    const last = batches[batches.length - 1];
    if (!this.canConvertToRelativeOffset(last.lastOffset) || first.lastOffset < this.baseOffset) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `offset ${last.lastOffset} cannot be stored in the segment at ${this.baseOffset}`);
    }
    const start = this.log.append(batches.map((b) => b.buffer));
    if (this.firstBatchMaxTimestamp === null && start === 0) this.firstBatchMaxTimestamp = first.maxTimestamp;
    let position = start;
    for (const b of batches) {
      if (b.maxTimestamp > (this.maxTimestampSoFar as number)) {
        this.maxTimestampSoFar = b.maxTimestamp;
        this.offsetOfMaxTimestampSoFar = b.lastOffset;
      }
      this.indexIfDue(b.lastOffset, position);
      this.bytesSinceLastIndexEntry += b.buffer.length;
      position += b.buffer.length;
    }
    return start;
  }

  private indexIfDue(lastOffset: number, position: number): void {
    if (this.bytesSinceLastIndexEntry <= this.config.indexIntervalBytes) return;
    // A group commit can bring more batches than a nearly full index has slots for (the roll
    // check ran before the group). The index is sparse: skip the entry; the next append sees
    // the full index and rolls.
    if (this.offsetIndex.isFull || this.timeIndex.isFull) return;
    this.offsetIndex.append(lastOffset, position);
    this.timeIndex.maybeAppend(this.maxTimestampSoFar as number, this.offsetOfMaxTimestampSoFar);
    this.bytesSinceLastIndexEntry = 0;
  }

  /** The first batch at or after `startingPosition` whose last offset is ≥ `offset`, or null. */
  translateOffset(offset: number, startingPosition = 0): BatchPosition | null {
    this.ensureIndexes();
    for (let attempt = 0; ; attempt++) {
      const mapping = this.offsetIndex.lookup(offset);
      const from = Math.max(mapping.position, startingPosition);
      // An entry (O, P) promises that the batch at P has last offset O. Checking the promise
      // costs nothing (the scan reads that header anyway) and catches an index that passed its
      // structural check but points inside batches: it is rebuilt from the log, once.
      const verify = attempt === 0 && mapping.position > 0 && from === mapping.position;
      try {
        let first = true;
        for (const b of this.log.scan(from)) {
          if (first && verify && b.lastOffset !== mapping.offset) {
            throw indexCorrupt(this.offsetIndex.file, `entry (${mapping.offset}, ${mapping.position}) points at a batch ending at ${b.lastOffset}`);
          }
          first = false;
          if (b.lastOffset >= offset) return b;
        }
        if (first && verify) throw indexCorrupt(this.offsetIndex.file, `entry (${mapping.offset}, ${mapping.position}) points past the last batch`);
        return null;
      } catch (err) {
        const fixable = err instanceof SeglogError && (err.code === ErrorCode.CORRUPT_INDEX || err.code === ErrorCode.CORRUPT_RECORD);
        if (!verify || !fixable) throw err;
        this.rebuildIndexes();
      }
    }
  }

  /**
   * The bytes to read for a fetch from `startOffset`: starting at the batch holding it, at most
   * `maxSize` bytes (at least the whole first batch when `minOneMessage`), never past
   * `maxPosition`. Like Kafka's fetch, the range may end inside a batch; readers treat a
   * partial last batch as the end. Null when no batch here reaches `startOffset`.
   */
  read(startOffset: number, maxSize: number, maxPosition = this.size, minOneMessage = true): SegmentSlice | null {
    const start = this.translateOffset(startOffset);
    if (start === null || start.position >= maxPosition) return null;
    const adjusted = minOneMessage ? Math.max(maxSize, start.size) : maxSize;
    const size = Math.min(maxPosition - start.position, adjusted);
    return size <= 0 ? null : { position: start.position, size };
  }

  /** The offset after the last batch: scans from the last index entry; baseOffset if empty. */
  readNextOffset(): number {
    this.ensureIndexes();
    const n = this.offsetIndex.entries;
    const from = n === 0 ? 0 : this.offsetIndex.entry(n - 1).position;
    let next = this.baseOffset;
    for (const b of this.log.scan(from)) next = b.lastOffset + 1;
    return next;
  }

  /** The maxTimestamp of the first batch (time-based rolling), or null when empty. */
  firstBatchTimestamp(): number | null {
    if (this.firstBatchMaxTimestamp === null && this.log.size >= RECORD_BATCH_OVERHEAD) {
      const head = this.log.read(0, RECORD_BATCH_OVERHEAD);
      if (head.length === RECORD_BATCH_OVERHEAD && head.readInt8(16) >= 2) {
        this.firstBatchMaxTimestamp = readInt64(head, MAX_TIMESTAMP_OFFSET, 'maxTimestamp');
      }
    }
    return this.firstBatchMaxTimestamp;
  }

  /** Kafka's shouldRoll: size, time (with jitter), full indexes, relative-offset overflow. */
  shouldRoll(p: RollParams): boolean {
    const firstTs = this.size > 0 ? this.firstBatchTimestamp() : null;
    const waited = firstTs === null || firstTs < 0 ? p.now - this.createdMs : p.maxTimestampInMessages - firstTs;
    return (
      this.size > p.maxSegmentBytes - p.messagesSize ||
      (this.size > 0 && waited > p.maxSegmentMs - this.rollJitterMs) ||
      this.offsetIndex.isFull ||
      this.timeIndex.isFull ||
      !this.canConvertToRelativeOffset(p.maxOffsetInMessages)
    );
  }

  /**
   * Re-validates every batch from the start (size, magic, CRC, relative offsets), rebuilds
   * both indexes, empties the transaction index, and cuts the file after the last valid batch.
   * `onBatch` sees each valid batch in order: the log assigns leader epochs from it and replays
   * producer state, which appends the aborted transactions back into {@link txnIndex}.
   */
  recover(onBatch?: (batch: RecordBatch, position: number) => void): SegmentRecovery {
    this.indexesChecked = true;
    resetIndex(this.offsetIndex);
    resetIndex(this.timeIndex);
    resetIndex(this.txnIndex);
    this.maxTimestampSoFar = -1;
    this.offsetOfMaxTimestampSoFar = this.baseOffset;
    this.firstBatchMaxTimestamp = null;
    this.bytesSinceLastIndexEntry = 0;
    let validBytes = 0;
    let batches = 0;
    let stoppedBy: SeglogError | undefined;
    const fileSize = fileLength(this.log.file);
    try {
      while (validBytes < fileSize) {
        const chunk = this.log.read(validBytes, Math.min(RECOVERY_CHUNK_BYTES, fileSize - validBytes));
        const walker = new BatchWalker(chunk, { file: this.log.file });
        const chunkStart = validBytes;
        let consumed = 0;
        for (const { position, batch } of walker) {
          if (!(batch instanceof RecordBatch)) {
            throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `${this.log.file}: legacy message at ${chunkStart + position} (seglog recovers v2 only)`);
          }
          this.recoverBatch(batch, chunkStart + position, onBatch);
          batches++;
          consumed = position + batch.sizeInBytes;
          // Advance per batch, so a failure later in the chunk keeps everything before it.
          validBytes = chunkStart + consumed;
        }
        if (consumed === 0) {
          // The next batch is larger than the chunk (or partial): read exactly what it claims.
          const head = this.log.read(validBytes, LOG_OVERHEAD);
          const whole = head.length === LOG_OVERHEAD ? LOG_OVERHEAD + head.readInt32BE(8) : 0;
          if (whole <= chunk.length || whole > fileSize - validBytes) break;
          const big = this.log.read(validBytes, whole);
          const w = new BatchWalker(big, { file: this.log.file }).next();
          if (w.done || !(w.value.batch instanceof RecordBatch)) break;
          this.recoverBatch(w.value.batch, validBytes, onBatch);
          batches++;
          validBytes += whole;
        }
      }
    } catch (err) {
      if (!(err instanceof SeglogError) || err.code === ErrorCode.IO_ERROR) throw err;
      stoppedBy = err;
    }
    const truncatedBytes = fileSize - validBytes;
    if (truncatedBytes > 0 || this.log.size !== validBytes) this.log.truncateTo(validBytes);
    this.offsetIndex.trimToValidSize();
    this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true);
    this.timeIndex.trimToValidSize();
    return { validBytes, truncatedBytes, batches, stoppedBy };
  }

  private recoverBatch(batch: RecordBatch, position: number, onBatch?: (batch: RecordBatch, position: number) => void): void {
    batch.ensureValid();
    const lastOffset = batch.lastOffset;
    if (batch.baseOffset < this.baseOffset || !this.canConvertToRelativeOffset(lastOffset)) {
      throw new SeglogError(ErrorCode.CORRUPT_RECORD, `${this.log.file}: batch offsets ${batch.baseOffset}..${lastOffset} do not belong to the segment at ${this.baseOffset}`);
    }
    const maxTs = batch.maxTimestamp;
    if (position === 0) this.firstBatchMaxTimestamp = maxTs;
    if (maxTs > (this.maxTimestampSoFar as number)) {
      this.maxTimestampSoFar = maxTs;
      this.offsetOfMaxTimestampSoFar = lastOffset;
    }
    this.indexIfDue(lastOffset, position);
    this.bytesSinceLastIndexEntry += batch.sizeInBytes;
    onBatch?.(batch, position);
  }

  /**
   * Kafka's findOffsetByTimestamp: the first record at or after `startingOffset` whose
   * timestamp is ≥ `timestamp`, with its timestamp; null when there is none here.
   */
  findOffsetByTimestamp(timestamp: number, startingOffset = this.baseOffset): { offset: number; timestamp: number } | null {
    this.ensureIndexes();
    const entry = this.timeIndex.lookup(timestamp);
    const start = this.translateOffset(Math.max(entry.offset, startingOffset));
    if (start === null) return null;
    for (const b of this.log.scan(start.position)) {
      const bytes = this.log.read(b.position, b.size);
      const batch = RecordBatch.at(bytes);
      if (batch.maxTimestamp < timestamp) continue;
      for (const r of batch.records()) {
        if (r.timestamp >= timestamp && r.offset >= startingOffset) return { offset: r.offset, timestamp: r.timestamp };
      }
    }
    return null;
  }

  /**
   * Removes every batch holding an offset ≥ `offset` (a batch is kept or removed whole, as
   * Kafka's truncation is batch-aligned) and the index entries pointing at them. Returns the
   * bytes removed.
   */
  truncateTo(offset: number): number {
    const mapping = this.translateOffset(offset);
    this.offsetIndex.truncateTo(offset);
    this.timeIndex.truncateTo(offset);
    this.txnIndex.truncateTo(offset);
    if (mapping === null) return 0;
    // The batch found holds `offset` (or starts after it): cut from its start.
    const removed = this.log.truncateTo(mapping.position);
    this.bytesSinceLastIndexEntry = 0;
    if (this.log.size === 0) this.firstBatchMaxTimestamp = null;
    this.maxTimestampSoFar = null;
    this.loadMaxTimestamp();
    if (this.offsetIndex.writable) {
      this.offsetIndex.resize(this.config.segmentIndexBytes);
      this.timeIndex.resize(this.config.segmentIndexBytes);
    }
    return removed;
  }

  /** The largest timestamp in the segment for retention; the file's mtime when it has none. */
  largestTimestamp(): number {
    const { timestamp } = this.maxTimestampAndOffset();
    return timestamp >= 0 ? timestamp : this.log.lastModifiedMs();
  }

  /** Called when a newer segment takes over: final time entry, indexes and file trimmed. */
  onBecomeInactiveSegment(): void {
    const { timestamp, offset } = this.maxTimestampAndOffset();
    this.timeIndex.maybeAppend(timestamp, offset, true);
    this.offsetIndex.trimToValidSize();
    this.timeIndex.trimToValidSize();
    this.log.trimToSize();
  }

  /** fsyncs the log and the indexes. */
  flush(): void {
    this.log.flush();
    this.offsetIndex.flush();
    this.timeIndex.flush();
    this.txnIndex.flush();
  }

  /** fsyncs the log in the thread pool, then the indexes. */
  async flushAsync(): Promise<void> {
    await this.log.flushAsync();
    this.offsetIndex.flush();
    this.timeIndex.flush();
    this.txnIndex.flush();
  }

  /** Closes the files; a writable segment gets its final time entry and trimmed files first. */
  close(): void {
    if (this.offsetIndex.writable) this.onBecomeInactiveSegment();
    this.offsetIndex.close();
    this.timeIndex.close();
    this.txnIndex.close();
    this.log.close();
  }

  /** Renames every file to add `suffix` (`.deleted`), keeping open descriptors valid. */
  renameWithSuffix(suffix: string): void {
    const renamed = (f: string) => f + suffix;
    this.log.renameTo(renamed(this.log.file));
    if (fs.existsSync(this.offsetIndex.file)) this.offsetIndex.renameTo(renamed(this.offsetIndex.file));
    if (fs.existsSync(this.timeIndex.file)) this.timeIndex.renameTo(renamed(this.timeIndex.file));
    this.txnIndex.renameTo(renamed(this.txnIndex.file));
  }

  /** Closes and deletes every file of the segment. */
  deleteFiles(): void {
    this.offsetIndex.close();
    this.timeIndex.close();
    this.log.deleteIfExists();
    this.offsetIndex.deleteIfExists();
    this.timeIndex.deleteIfExists();
    this.txnIndex.deleteIfExists();
  }
}

function indexCorrupt(file: string, message: string): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_INDEX, `${file}: ${message}`, { file });
}

/** Empties an index for a rebuild; a file too damaged to load is deleted and made anew. */
function resetIndex(index: OffsetIndex | TimeIndex | TransactionIndex): void {
  try {
    index.reset();
  } catch (err) {
    if (!(err instanceof SeglogError) || err.code !== ErrorCode.CORRUPT_INDEX) throw err;
    index.deleteIfExists();
    index.reset();
  }
}

function rmIfExists(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, file);
  }
}

function fileLength(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (err) {
    throw ioError(err, file);
  }
}
