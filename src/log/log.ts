/**
 * `Log`: one partition directory, Kafka's UnifiedLog/LocalLog. The ordered segments, offset
 * assignment, append (group commit), read (zero-copy slices), roll, flush, truncation,
 * checkpoints, and the clean-shutdown marker.
 *
 * On disk (Kafka's layout, §3): `<20-digit base>.log/.index/.timeindex` per segment,
 * `leader-epoch-checkpoint`, plus, because a standalone log has no data-directory root,
 * `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` (one entry, keyed by the
 * directory's `<topic>-<partition>` name) and the `.kafka_cleanshutdown` marker in the
 * partition directory itself; `.lock` while open.
 *
 * Concurrency: one writer queue per log. `append*` calls enqueue and return a promise; the
 * queue drains in a microtask, so appends made in the same tick (or while an fsync is in
 * flight) are written with one writev (group commit). Offsets are assigned in call order.
 * Reads never wait on the writer: they take the segment list and the active segment's size as
 * their snapshot, and bytes below that size were completely written, so no torn batch is ever
 * visible. Maintenance calls (roll, flush, truncate, close) go through the same queue.
 *
 * Invariants: segments are sorted and non-overlapping; the last is the only active one;
 * logStartOffset ≤ highWatermark ≤ logEndOffset; recoveryPoint ≤ logEndOffset; offsets are
 * never reused except by an explicit truncation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, invalidArgument, ioError } from '../errors.js';
import { RecordBatch } from '../records/batch.js';
import { buildBatch, buildBatchSync } from '../records/builder.js';
import type { CompressionName } from '../records/compression/index.js';
import type { LogRecord, RecordInput } from '../records/types.js';
import { BatchWalker } from '../records/walker.js';
import { LogCleaner, type CleanOptions, type CleanReport, type CleanerHost, type CleanerOptions } from '../cleaner/cleaner.js';
import { DELETED_FILE_SUFFIX, LogSegment, segmentIndexFor, type SegmentAppend, type SegmentConfig } from '../segment/segment.js';
import { fsyncDirectory, readOffsetCheckpoint, writeFileAtomicSync, writeOffsetCheckpoint } from './checkpoint.js';
import { resolveLogConfig, type LogConfig } from './config.js';
import { LeaderEpochCache, type EpochEntry } from './leader-epoch.js';
import { loadLog, type LoadReport } from './loader.js';
import { DirectoryLock } from './lock.js';
import { decideRetention } from './retention.js';
import { LogSlice } from './slice.js';
import { ProducerStateManager, producerBatchInfo, rebuildProducerState, lastStableOffsetOfLog, type AppendOrigin, type AppliedAppend, DEFAULT_PRODUCER_ID_EXPIRATION_MS } from './producer-state.js';
import { AbortedTransactionFilter, abortedTransactionsIn, producerStateSegments, type IsolationLevel } from './transactions.js';
import { buildEndTransactionMarker } from '../records/control.js';
import type { AbortedTxn } from '../segment/txn-index.js';

/** The clean-shutdown marker's name (Kafka's). */
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
/** Recovery point checkpoint file name (Kafka's). */
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
/** Log start offset checkpoint file name (Kafka's). */
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
/** Cleaner (first dirty offset) checkpoint file name (Kafka's), in the partition directory like the others. */
export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';

/** Default read size: Kafka's default fetch.max.bytes per partition (1 MiB). */
const DEFAULT_READ_MAX_BYTES = 1024 * 1024;

/** How to open a log. */
export interface LogOptions {
  /** Topic config (camelCase or Kafka's dotted names); defaults are Kafka's. */
  config?: Partial<LogConfig> | Record<string, unknown>;
  /** The clock every policy reads (epoch ms); tests inject one. Default Date.now. */
  clock?: () => number;
  /** Leader epoch stamped on appended batches (default 0: a single-node store). */
  leaderEpoch?: number;
  /** Random source for segment.jitter.ms, in [0, 1) (default Math.random). */
  random?: () => number;
  /** Settings of the log cleaner (compaction), Kafka's broker-level log.cleaner.* settings. */
  cleaner?: CleanerOptions;
  /**
   * Where the recovery-point, log-start and cleaner checkpoints and the clean-shutdown marker
   * live. Default: files in the partition directory itself (a standalone log). A data-directory
   * manager passes its own, backed by the root files of the data directory.
   */
  checkpoints?: LogCheckpoints;
  /** Take the partition directory's `.lock` (default true); false when a manager holds its data directory's lock. */
  lock?: boolean;
  /**
   * `producer.id.expiration.ms` (Kafka's broker setting): a producer with no open transaction is
   * forgotten this long after its last append. Default one day.
   */
  producerIdExpirationMs?: number;
  /** `producer.id.expiration.check.interval.ms`: how often maintenance expires producers. Default 10 minutes. */
  producerIdExpirationCheckIntervalMs?: number;
}

/** What the log remembers of a producer (see {@link Log.producers}). */
export interface ProducerDescription {
  /** The producer id. */
  producerId: number;
  /** Its current epoch. */
  producerEpoch: number;
  /** The last sequence number it wrote (−1 when its batches are forgotten, e.g. after a marker with a new epoch). */
  lastSequence: number;
  /** The offset of its last data record (−1 when unknown). */
  lastOffset: number;
  /** The timestamp of its last append. */
  lastTimestamp: number;
  /** The coordinator epoch of its last marker (−1 when none). */
  coordinatorEpoch: number;
  /** The first offset of its open transaction, or null. */
  currentTxnFirstOffset: number | null;
}

/** An idempotent (or transactional) producer's identity on an append (Kafka's producer fields of a batch). */
export interface ProducerIdentity {
  /** The producer id (≥ 0). */
  producerId: number;
  /** The producer epoch (0..32767). */
  producerEpoch: number;
  /** The sequence number of the first record; the next append continues at baseSequence + records. */
  baseSequence: number;
  /** Part of a transaction: it stays invisible to read_committed readers until {@link Log.endTransaction} commits it. */
  transactional?: boolean;
}

/** One of the checkpoint files a log has an entry in (Kafka's names). */
export type CheckpointFileName = typeof RECOVERY_POINT_CHECKPOINT_FILE | typeof LOG_START_OFFSET_CHECKPOINT_FILE | typeof CLEANER_OFFSET_CHECKPOINT_FILE;

/**
 * A log's entries in the offset checkpoint files, and its clean-shutdown state. Every call is
 * made in the log's writer order; `write` must be durable when it returns.
 */
export interface LogCheckpoints {
  /** The log's entry in `file`; undefined when it has none or the file is unreadable. */
  read(file: CheckpointFileName): number | undefined;
  /** Sets the log's entry in `file` (undefined removes it), durably. */
  write(file: CheckpointFileName, value: number | undefined): void;
  /** Whether the previous shutdown was clean. Called once, before loading; consumes the marker. */
  takeCleanShutdown(): boolean;
  /** Records that this log closed cleanly (the last step of close). */
  markCleanShutdown(): void;
}

/** The checkpoints of a standalone log: Kafka's files in the partition directory, keyed `<topic>-<partition>`. */
export function directoryCheckpoints(dir: string): LogCheckpoints {
  const key = checkpointKeyFor(dir);
  const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
  return {
    read: (file) => readCheckpointValue(path.join(dir, file), key),
    write: (file, value) => writeOffsetCheckpoint(path.join(dir, file), value === undefined ? new Map<string, number>() : new Map([[key, value]])),
    takeCleanShutdown: () => {
      if (!fs.existsSync(marker)) return false;
      // Deleted before loading: a crash while loading must count as unclean.
      fs.unlinkSync(marker);
      fsyncDirectory(dir);
      return true;
    },
    markCleanShutdown: () => writeFileAtomicSync(marker, JSON.stringify({ version: 0, brokerEpoch: -1 })),
  };
}

/** Per-append overrides. */
export interface AppendOptions {
  /** Codec for this batch when the log's compressionType is `producer`. */
  compression?: CompressionName;
  /** Codec level. */
  compressionLevel?: number;
  /**
   * Write the batch as this producer's: the log checks the epoch and sequence (Kafka's
   * idempotence) and answers a retry of one of the producer's last five batches with the
   * original offsets instead of writing it again.
   */
  producer?: ProducerIdentity;
}

/** Where an append landed. */
export interface AppendResult {
  /** Offset of the first record. */
  firstOffset: number;
  /** Offset of the last record. */
  lastOffset: number;
  /** Number of records. */
  recordCount: number;
  /** The append time for LogAppendTime logs, −1 for CreateTime. */
  logAppendTime: number;
  /** The largest record timestamp (or the append time). */
  maxTimestamp: number;
  /** True when the append was a retry of a batch already in the log: nothing was written, the offsets are the original's. */
  duplicate?: boolean;
}

/** Options of {@link Log.read}. */
export interface ReadOptions {
  /** Upper bound of bytes (default 1 MiB); at least one whole batch when minOneMessage. */
  maxBytes?: number;
  /** Exclusive: batches at or past this offset are not returned (e.g. the high watermark). */
  maxOffset?: number;
  /** Return the first batch even if it is larger than maxBytes (default true, as Kafka). */
  minOneMessage?: boolean;
  /**
   * `read_uncommitted` (default) reads up to the high watermark. `read_committed` reads up to
   * the last stable offset, and the slice carries the aborted transactions of its range so that
   * its record iteration skips their data (Kafka's isolation.level).
   */
  isolation?: IsolationLevel;
}

/** The answer of {@link Log.offsetForTimestamp}. */
export interface TimestampOffset {
  /** The offset. */
  offset: number;
  /** The timestamp of the record at that offset (−1 for earliest/latest). */
  timestamp: number;
}

/** What one round of {@link Log.runMaintenance} did. */
export interface MaintenanceReport {
  /** Whether a time-based (flush.ms) flush ran. */
  flushed: boolean;
  /** Segments retention deleted. */
  deletedSegments: number;
  /** `.deleted` segments whose files were removed. */
  deletedFiles: number;
  /** What compaction did (cleanup.policy with `compact`), or null when it was not attempted. */
  cleaned: CleanReport | null;
}

/** An item of a group commit whose bytes were accepted, with what it did to the producer state. */
interface Written {
  item: Pending;
  result: AppendResult;
  /** The producer-state change, undone if the bytes cannot be written; null when it had none. */
  applied: AppliedAppend | null;
}

/** One queued write. */
interface Pending {
  batches: Promise<Buffer[]> | Buffer[];
  /** Who wrote it: clients' batches are sequence-checked, the coordinator's are markers. */
  origin: AppendOrigin;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** One partition's log. */
export class Log {
  /** The partition directory. */
  readonly dir: string;
  /** The resolved configuration. */
  readonly config: LogConfig;
  /** What opening the log found and did (recovery). */
  readonly loadReport: LoadReport;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly leaderEpoch: number;
  private readonly segmentConfig: SegmentConfig;
  private readonly lock: DirectoryLock | null;
  private readonly epochCache: LeaderEpochCache;
  private readonly checkpoints: LogCheckpoints;
  /** Waiters of {@link waitForAppend}, woken when the high watermark moves or the log closes. */
  private appendWaiters = new Set<() => void>();
  private segments: LogSegment[];
  private nextOffset: number;
  private startOffset: number;
  private hw: number;
  /** Until a broker sets the high watermark, it follows the log end (an embedded log has no replicas). */
  private hwFollowsEnd = true;
  /** Segments renamed `.deleted`, removed once file.delete.delay.ms has passed. */
  private pendingDeletes: { segment: LogSegment; dueMs: number; files: string[] }[] = [];
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private recoveryPointOffset: number;
  private lastFlushMs: number;
  /** The group new appends join; null when the next append must start a new group. */
  private openGroup: Pending[] | null = null;
  /** Everything the writer does, in order: append groups and maintenance tasks. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private background: Promise<void> = Promise.resolve();
  private backgroundError: unknown = null;
  /** Producer ids, sequences and open transactions, with their `.snapshot` files (Kafka's ProducerStateManager). */
  private readonly producerState: ProducerStateManager;
  private readonly producerExpirationCheckMs: number;
  private lastProducerExpirationCheck: number;

  private constructor(dir: string, config: LogConfig, options: LogOptions, lock: DirectoryLock | null) {
    this.dir = dir;
    this.config = config;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.leaderEpoch = options.leaderEpoch ?? 0;
    this.cleanerDefaults = options.cleaner ?? {};
    this.lock = lock;
    this.segmentConfig = {
      indexIntervalBytes: config.indexIntervalBytes,
      segmentIndexBytes: config.segmentIndexBytes,
      preallocate: config.preallocate,
      segmentBytes: config.segmentBytes,
    };
    this.checkpoints = options.checkpoints ?? directoryCheckpoints(dir);
    const hadCleanShutdown = this.checkpoints.takeCleanShutdown();
    this.epochCache = LeaderEpochCache.load(dir);
    const producerIdExpirationMs = options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    this.producerExpirationCheckMs = options.producerIdExpirationCheckIntervalMs ?? 600_000;
    const checkpointedStart = this.checkpoints.read(LOG_START_OFFSET_CHECKPOINT_FILE) ?? 0;
    const loaded = loadLog({
      dir,
      config: this.segmentConfig,
      hadCleanShutdown,
      recoveryPoint: this.checkpoints.read(RECOVERY_POINT_CHECKPOINT_FILE) ?? 0,
      logStartOffset: checkpointedStart,
      now: this.clock(),
      rollJitterMs: () => this.jitter(),
      onRecoveredBatch: (batch) => {
        // As Kafka: every batch with an epoch goes through assign, which keeps the cache's rules.
        if (batch.partitionLeaderEpoch >= 0) this.epochCache.assign(batch.partitionLeaderEpoch, batch.baseOffset);
      },
      onRecoverSegment: (segment, earlier) => {
        // Kafka's recoverSegment: producer state as of the segment's base (from the latest
        // snapshot at or below it, plus a replay), then each recovered batch applied to it and
        // every abort written back into the segment's `.txnindex`; a snapshot at the end saves
        // the next segment the replay.
        const psm = new ProducerStateManager({ dir, producerIdExpirationMs });
        rebuildProducerState(psm, producerStateSegments(earlier), { logStartOffset: checkpointedStart, lastOffset: segment.baseOffset, now: this.clock() });
        return {
          onBatch: (batch) => {
            const aborted = psm.recoverBatch(batch);
            if (aborted !== null) segment.txnIndex.append(aborted);
          },
          done: () => void psm.takeSnapshot(),
        };
      },
    });
    this.segments = loaded.segments;
    this.nextOffset = loaded.logEndOffset;
    this.startOffset = loaded.logStartOffset;
    this.recoveryPointOffset = loaded.recoveryPoint;
    this.hw = loaded.logEndOffset;
    this.loadReport = loaded.report;
    this.lastFlushMs = this.clock();
    this.epochCache.truncateFromEnd(this.nextOffset);
    this.epochCache.truncateFromStart(this.startOffset);
    this.epochCache.flush();
    // Producer state up to the log end: the latest valid snapshot plus a replay of what follows
    // it (none after a clean close, which snapshots at the log end).
    this.producerState = new ProducerStateManager({ dir, producerIdExpirationMs });
    this.producerState.removeStraySnapshots(this.segments.map((s) => s.baseOffset));
    rebuildProducerState(this.producerState, producerStateSegments(this.segments), {
      logStartOffset: checkpointedStart,
      lastOffset: this.nextOffset,
      now: this.clock(),
      reloadFromCleanShutdown: hadCleanShutdown,
    });
    this.producerState.onHighWatermarkUpdated(this.hw);
    this.lastProducerExpirationCheck = this.clock();
  }

  /**
   * Opens (creating if needed) the log in `dir`: takes the directory lock (LOCKED if another
   * process or another open holds it; unless `options.lock` is false), consumes the
   * clean-shutdown marker, and loads — recovering after an unclean shutdown. See
   * {@link loadReport} for what recovery did.
   */
  static async open(dir: string, options: LogOptions = {}): Promise<Log> {
    const config = resolveLogConfig(options.config ?? {});
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw ioError(err, dir);
    }
    const lock = options.lock === false ? null : DirectoryLock.acquire(dir);
    try {
      return new Log(dir, config, options, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  private jitter(): number {
    const max = Math.min(this.config.segmentJitterMs, this.config.segmentMs);
    return max <= 0 ? 0 : Math.floor(this.random() * max);
  }

  /** The first offset readers may see. */
  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The offset the next record will get. */
  get logEndOffset(): number {
    return this.nextOffset;
  }

  /** Everything below this offset has been fsynced. */
  get recoveryPoint(): number {
    return this.recoveryPointOffset;
  }

  /**
   * The high watermark. It follows the log end until a broker sets it (to the replicated
   * offset); from then on it moves only when set, or down with a truncation.
   */
  get highWatermark(): number {
    return this.hw;
  }

  /**
   * The last stable offset (Kafka's LSO): the first offset of the oldest transaction still open
   * (or completed above the high watermark), or the high watermark when there is none.
   * read_committed readers see the log only below it.
   */
  get lastStableOffset(): number {
    return lastStableOffsetOfLog(this.producerState.firstUnstableOffset(), this.hw, this.startOffset);
  }

  /** The first offset of the oldest open transaction, or null when none is open. */
  get firstUnstableOffset(): number | null {
    return this.producerState.firstUnstableOffset();
  }

  /**
   * The producers the log remembers (id → epoch, last sequence, last offset, open transaction
   * start), for a broker answering InitProducerId or DescribeProducers.
   */
  producers(): ProducerDescription[] {
    return [...this.producerState.activeProducers().values()].map((e) => ({
      producerId: e.producerId,
      producerEpoch: e.producerEpoch,
      lastSequence: e.lastSeq,
      lastOffset: e.lastDataOffset,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnFirstOffset: e.currentTxnFirstOffset,
    }));
  }

  /** Sets the high watermark, clamped to [logStartOffset, logEndOffset] as Kafka does. */
  set highWatermark(offset: number) {
    if (!Number.isSafeInteger(offset)) throw invalidArgument(`highWatermark must be an integer, got ${offset}`);
    this.hwFollowsEnd = false;
    const before = this.hw;
    this.setHighWatermarkInternal(Math.min(Math.max(offset, this.startOffset), this.nextOffset));
    if (this.hw > before) this.wakeAppendWaiters();
  }

  /**
   * Resolves once the high watermark passes `offset` (true: records at `offset` are readable),
   * or with false when the log closes or `signal` aborts first. A tailing reader awaits this
   * instead of polling: appends wake it as soon as their batches are written (before any fsync
   * the flush policy adds).
   */
  waitForAppend(offset: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.hw > offset) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = () => {
        this.appendWaiters.delete(wake);
        resolve(false);
      };
      const wake = () => {
        if (!this.closed && this.hw <= offset) return;
        this.appendWaiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve(!this.closed);
      };
      this.appendWaiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wakeAppendWaiters(): void {
    for (const wake of [...this.appendWaiters]) wake();
  }

  /** Number of segments. */
  get numberOfSegments(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, in order. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Total bytes of all segments' `.log` files. */
  get size(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  private checkOpen(): void {
    if (this.closed) throw new SeglogError(ErrorCode.LOG_CLOSED, `log ${this.dir} is closed`);
  }

  // ---------------------------------------------------------------- appends

  /**
   * Appends records as one batch; the log assigns offsets. Compression follows the config's
   * compressionType (`producer` means `options.compression`, default none). Resolves once the
   * batch is written (and fsynced when flush.messages says so).
   * Safe to call concurrently: calls are ordered and coalesced (group commit).
   */
  append(records: readonly RecordInput[], options: AppendOptions = {}): Promise<AppendResult> {
    // Encode now (sync when cheap) so the bytes exist before the writer's turn; offsets are
    // stamped into the header at write time (baseOffset is outside the CRC).
    let encoded: Promise<Buffer[]> | Buffer[];
    try {
      this.checkOpen();
      this.requireKeysIfCompacted(records);
      const compression = this.targetCompression(options.compression);
      const producer = options.producer;
      if (producer !== undefined) checkProducerIdentity(producer);
      const batchOptions = {
        compression,
        compressionLevel: options.compressionLevel ?? this.levelFor(compression),
        now: this.clock(),
        partitionLeaderEpoch: this.leaderEpoch,
        producerId: producer?.producerId,
        producerEpoch: producer?.producerEpoch,
        baseSequence: producer?.baseSequence,
        isTransactional: producer?.transactional === true,
      };
      encoded = compression === 'none' ? [buildBatchSync(records, batchOptions)] : buildBatch(records, batchOptions).then((b) => [b]);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.enqueue(encoded, 'client');
  }

  /**
   * Appends pre-encoded RecordBatch v2 bytes (one or more batches back to back, as a client
   * sends them). Each batch is validated (v2, CRC, offsets 0..count−1, not a control batch,
   * size bounds); offsets are assigned by rewriting baseOffset in place, the payload is never
   * re-encoded unless the log's compressionType demands another codec. The buffer is adopted:
   * do not modify it afterwards.
   */
  appendBatches(buffer: Buffer): Promise<AppendResult> {
    let batches: Promise<Buffer[]> | Buffer[];
    try {
      this.checkOpen();
      batches = this.validateClientBatches(buffer);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.enqueue(batches, 'client');
  }

  /**
   * Writes a transaction marker (Kafka's WriteTxnMarkers, as a transaction coordinator does):
   * a COMMIT or ABORT control batch for `producerId` that ends its open transaction. An abort
   * is recorded in the active segment's `.txnindex`, so read_committed readers skip the
   * transaction's data; either way the last stable offset moves past it. The marker carries the
   * producer's epoch (a newer one fences older writers) and the coordinator epoch, which must
   * not go backwards (COORDINATOR_FENCED). A marker for a producer with no open transaction is
   * written all the same, as Kafka does.
   */
  endTransaction(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch = 0): Promise<AppendResult> {
    let marker: Buffer;
    try {
      this.checkOpen();
      checkProducerIdentity({ producerId, producerEpoch, baseSequence: 0 });
      if (!Number.isSafeInteger(coordinatorEpoch) || coordinatorEpoch < 0 || coordinatorEpoch > 0x7fffffff) throw invalidArgument(`coordinatorEpoch must be an int32 ≥ 0, got ${coordinatorEpoch}`);
      marker = buildEndTransactionMarker({ type: commit ? 'COMMIT' : 'ABORT', producerId, producerEpoch, coordinatorEpoch, timestamp: this.clock(), partitionLeaderEpoch: this.leaderEpoch });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.enqueue([marker], 'coordinator');
  }

  private targetCompression(requested: CompressionName | undefined): CompressionName {
    const t = this.config.compressionType;
    if (t === 'producer') return requested ?? 'none';
    return t === 'uncompressed' ? 'none' : t;
  }

  private levelFor(codec: CompressionName): number | undefined {
    if (codec === 'gzip') return this.config.compressionGzipLevel;
    if (codec === 'zstd') return this.config.compressionZstdLevel;
    return undefined;
  }

  private validateClientBatches(buffer: Buffer): Buffer[] | Promise<Buffer[]> {
    if (!Buffer.isBuffer(buffer) || buffer.length === 0) throw invalidArgument('appendBatches needs a non-empty Buffer of record batches');
    const walker = new BatchWalker(buffer);
    const out: (Buffer | Promise<Buffer>)[] = [];
    for (const { batch } of walker) {
      if (!(batch instanceof RecordBatch)) throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, 'appendBatches takes RecordBatch v2 only (magic 2)');
      batch.ensureValid();
      const count = batch.count;
      if (count <= 0 || batch.lastOffsetDelta !== count - 1) {
        throw new SeglogError(ErrorCode.CORRUPT_RECORD, `a produced batch needs offsets 0..count−1; count ${count}, lastOffsetDelta ${batch.lastOffsetDelta}`);
      }
      if (batch.isControl) throw invalidArgument('control batches cannot be appended by clients');
      if (batch.timestampType === 'LogAppendTime') throw invalidArgument('a produced batch cannot claim LogAppendTime');
      const target = this.targetCompression(batch.compression);
      const bytes = target !== batch.compression ? this.recompress(batch, target) : batch.buffer;
      out.push(this.requireBatchKeysIfCompacted(batch, bytes));
    }
    if (walker.remainingBytes !== 0) throw new SeglogError(ErrorCode.CORRUPT_RECORD, `${walker.remainingBytes} bytes after the last complete batch`);
    if (out.length === 0) throw invalidArgument('no complete batch in the buffer');
    return out.some((b) => b instanceof Promise) ? Promise.all(out) : (out as Buffer[]);
  }

  /** Rebuilds a batch with the log's codec, keeping producer fields (Kafka's LogValidator). */
  private async recompress(batch: RecordBatch, compression: CompressionName): Promise<Buffer> {
    const records = [...(await batch.recordsAsync())].map((r: LogRecord) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
    return buildBatch(records, {
      compression,
      compressionLevel: this.levelFor(compression),
      producerId: batch.producerId,
      producerEpoch: batch.producerEpoch,
      baseSequence: batch.baseSequence,
      isTransactional: batch.isTransactional,
      partitionLeaderEpoch: this.leaderEpoch,
    });
  }

  /**
   * Adds a write to the open group, starting a group on the writer chain if none is open.
   * Appends made before the group starts (same tick, or while the previous group awaited an
   * fsync) are written together: that is the group commit.
   */
  private enqueue(batches: Promise<Buffer[]> | Buffer[], origin: AppendOrigin): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      let group = this.openGroup;
      if (group === null) {
        const g: Pending[] = [];
        group = g;
        this.openGroup = g;
        this.chain = this.chain.then(() => this.drainGroup(g));
      }
      group.push({ batches, origin, resolve, reject });
    });
  }

  private async drainGroup(group: Pending[]): Promise<void> {
    if (this.openGroup === group) this.openGroup = null;
    if (this.closed) {
      for (const p of group) p.reject(new SeglogError(ErrorCode.LOG_CLOSED, `log ${this.dir} is closed`));
      return;
    }
    try {
      await this.writeGroup(group);
    } catch (err) {
      // writeGroup settles every item itself; this only guards the chain against our own bugs.
      for (const p of group) p.reject(err);
    }
  }

  /**
   * Runs a maintenance task in the writer's order: after every append called before it, and
   * before every append called after it.
   */
  private exclusive<T>(task: () => Promise<T> | T): Promise<T> {
    this.openGroup = null;
    const run = this.chain.then(task);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async writeGroup(items: Pending[]): Promise<void> {
    const now = this.clock();
    const done: Written[] = [];
    let pending: SegmentAppend[] = [];
    let pendingBytes = 0;
    let pendingItems: Written[] = [];
    const writePending = () => {
      if (pending.length === 0 && pendingItems.length === 0) return;
      if (pending.length > 0) this.active.append(pending);
      // The aborts these batches completed go to the segment they were written to (Kafka
      // appends to the txnindex right after the log).
      for (const w of pendingItems) for (const txn of w.applied?.abortedTxns ?? []) this.active.txnIndex.append(txn);
      done.push(...pendingItems);
      pending = [];
      pendingBytes = 0;
      pendingItems = [];
    };
    for (const item of items) {
      const startOffset = this.nextOffset;
      try {
        const buffers = await item.batches;
        const results: SegmentAppend[] = [];
        const withProducer: RecordBatch[] = [];
        let offset = this.nextOffset;
        let maxTimestamp = -1;
        let size = 0;
        for (const buf of buffers) {
          const batch = RecordBatch.at(buf);
          this.checkSize(buf.length);
          this.checkTimestamps(batch, now);
          batch.setBaseOffset(offset);
          batch.setPartitionLeaderEpoch(this.leaderEpoch);
          if (this.config.messageTimestampType === 'LogAppendTime') batch.setMaxTimestamp('LogAppendTime', now);
          const last = offset + batch.lastOffsetDelta;
          results.push({ buffer: buf, lastOffset: last, maxTimestamp: batch.maxTimestamp });
          if (batch.producerId >= 0) withProducer.push(batch);
          maxTimestamp = Math.max(maxTimestamp, batch.maxTimestamp);
          size += buf.length;
          offset = last + 1;
        }
        const lastOffset = offset - 1;
        if (size > this.config.segmentBytes) {
          // As Kafka: one produce request must fit in a segment, whatever its batches.
          throw new SeglogError(ErrorCode.RECORD_TOO_LARGE, `a set of ${buffers.length} batches (${size} bytes) exceeds segmentBytes (segment.bytes) ${this.config.segmentBytes}`);
        }
        // Kafka's analyzeAndValidateProducerState: sequence, epoch and transaction checks
        // against the state including this group's earlier appends (throws for a bad batch),
        // and duplicate detection for client retries.
        const analysis = withProducer.length > 0 ? this.producerState.analyze(withProducer.map(producerBatchInfo), item.origin) : null;
        if (analysis?.duplicate != null) {
          const dup = analysis.duplicate;
          // Nothing is written; the retry learns where the original went, once the original
          // (perhaps earlier in this very group) is written.
          pendingItems.push({
            item,
            applied: null,
            result: { firstOffset: dup.firstOffset, lastOffset: dup.lastOffset, recordCount: dup.lastOffset - dup.firstOffset + 1, logAppendTime: this.config.messageTimestampType === 'LogAppendTime' ? dup.timestamp : -1, maxTimestamp: dup.timestamp, duplicate: true },
          });
          continue;
        }
        if (this.active.shouldRoll({ messagesSize: pendingBytes + size, maxTimestampInMessages: maxTimestamp, maxOffsetInMessages: lastOffset, now, maxSegmentMs: this.maxSegmentMs(), maxSegmentBytes: this.config.segmentBytes })) {
          // shouldRoll covers size, time, full indexes and relative-offset overflow.
          writePending();
          this.rollAt(startOffset, now);
        }
        // Applied before the write, undone if the write fails (see failAll).
        const applied = analysis === null ? null : this.producerState.applyAppend(analysis, offset);
        pending.push(...results);
        pendingBytes += size;
        if (this.epochCache.latestEpoch !== this.leaderEpoch) this.epochCache.assign(this.leaderEpoch, startOffset);
        this.nextOffset = offset;
        pendingItems.push({
          item,
          applied,
          result: {
            firstOffset: startOffset,
            lastOffset,
            recordCount: lastOffset - startOffset + 1,
            logAppendTime: this.config.messageTimestampType === 'LogAppendTime' ? now : -1,
            maxTimestamp,
          },
        });
      } catch (err) {
        // This item is refused; earlier ones in the group still get written.
        this.nextOffset = startOffset;
        try {
          writePending();
        } catch (ioErr) {
          this.failAll(pendingItems, ioErr);
          return;
        }
        item.reject(err);
      }
    }
    try {
      writePending();
    } catch (err) {
      this.failAll(pendingItems, err);
      return;
    }
    this.producerState.updateMapEndOffset(this.nextOffset);
    if (this.hwFollowsEnd) this.setHighWatermarkInternal(this.nextOffset);
    this.epochCache.flush();
    if (done.length > 0) this.wakeAppendWaiters();
    if (this.nextOffset - this.recoveryPointOffset >= this.config.flushMessages || now - this.lastFlushMs >= this.config.flushMs) {
      try {
        await this.flushSegments(this.nextOffset);
      } catch (err) {
        for (const d of done) d.item.reject(err);
        return;
      }
    }
    for (const d of done) d.item.resolve(d.result);
  }

  /**
   * A write failed: the unwritten items are refused, their producer-state changes undone (latest
   * first), and the log end goes back to what is on disk.
   */
  private failAll(unwritten: Written[], err: unknown): void {
    for (let i = unwritten.length - 1; i >= 0; i--) unwritten[i].applied?.undo();
    const firstWrite = unwritten.find((u) => u.applied !== null || u.result.duplicate !== true);
    if (firstWrite !== undefined) this.nextOffset = firstWrite.result.firstOffset;
    for (const u of unwritten) u.item.reject(err);
  }

  /** Moves the high watermark (never past the log end) and tells the producer state, which then knows which completed transactions are replicated. */
  private setHighWatermarkInternal(offset: number): void {
    this.hw = offset;
    this.producerState.onHighWatermarkUpdated(offset);
  }

  private checkSize(size: number): void {
    if (size > this.config.maxMessageBytes) {
      throw new SeglogError(ErrorCode.RECORD_TOO_LARGE, `batch of ${size} bytes exceeds maxMessageBytes (max.message.bytes) ${this.config.maxMessageBytes}`);
    }
    if (size > this.config.segmentBytes) {
      throw new SeglogError(ErrorCode.RECORD_TOO_LARGE, `batch of ${size} bytes exceeds segmentBytes (segment.bytes) ${this.config.segmentBytes}`);
    }
  }

  private checkTimestamps(batch: RecordBatch, now: number): void {
    const before = this.config.messageTimestampBeforeMaxMs;
    const after = this.config.messageTimestampAfterMaxMs;
    if (this.config.messageTimestampType !== 'CreateTime' || (before >= Number.MAX_SAFE_INTEGER && after >= Number.MAX_SAFE_INTEGER)) return;
    for (const r of batch.records()) {
      if (r.timestamp === -1) continue;
      if (r.timestamp < now - before || r.timestamp > now + after) {
        throw invalidArgument(`record timestamp ${r.timestamp} is outside [now − ${before}, now + ${after}] (message.timestamp.before/after.max.ms)`);
      }
    }
  }

  // ---------------------------------------------------------------- roll, flush

  /** Makes a new active segment at `baseOffset` (needs the writer's turn). */
  private rollAt(baseOffset: number, now: number): void {
    const old = this.active;
    if (old.size === 0 && old.baseOffset === baseOffset) return;
    old.onBecomeInactiveSegment();
    const seg = LogSegment.create(this.dir, baseOffset, this.segmentConfig, { now, rollJitterMs: this.jitter() });
    this.segments.push(seg);
    // Kafka snapshots the producer state at every roll, named for the new segment's base: a
    // restart replays at most the active segment.
    this.producerState.updateMapEndOffset(baseOffset);
    this.producerState.takeSnapshot();
    // Kafka flushes the finished segment in the background and advances the recovery point.
    this.runInBackground(async () => {
      await old.flushAsync();
      fsyncDirectory(this.dir);
      // A truncation may have run while the fsync was in the thread pool: only a segment still
      // in the log, below the log end, moves the recovery point.
      if (this.recoveryPointOffset < baseOffset && baseOffset <= this.nextOffset && this.segments.includes(old)) this.recoveryPointOffset = baseOffset;
      this.writeRecoveryCheckpoint();
    });
  }

  private runInBackground(task: () => Promise<void>): void {
    this.background = this.background.then(task).catch((err: unknown) => {
      this.backgroundError = err;
    });
  }

  /** Rolls a new active segment now (if the active one holds data). */
  roll(): Promise<void> {
    return this.exclusive(() => {
      this.checkOpen();
      this.rollAt(this.nextOffset, this.clock());
    });
  }

  /** fsyncs every segment with data past the recovery point, up to `upTo`. */
  private async flushSegments(upTo: number): Promise<void> {
    if (upTo <= this.recoveryPointOffset) return;
    // Segments wholly below the recovery point were fsynced when it passed them.
    const segs = this.segments.slice(this.segmentIndexFor(this.recoveryPointOffset));
    for (const seg of segs) await seg.flushAsync();
    this.recoveryPointOffset = Math.max(this.recoveryPointOffset, upTo);
    this.lastFlushMs = this.clock();
  }

  /**
   * fsyncs everything appended so far and records the recovery point durably. Resolves when
   * every earlier append is on disk.
   */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      this.checkOpen();
      await this.background;
      await this.flushSegments(this.nextOffset);
      fsyncDirectory(this.dir);
      this.writeRecoveryCheckpoint();
    });
  }

  /** A time-based flush when flush.ms has passed since the last one (for a scheduler). */
  async flushIfDue(): Promise<boolean> {
    if (this.clock() - this.lastFlushMs < this.config.flushMs) return false;
    await this.flush();
    return true;
  }

  private writeRecoveryCheckpoint(): void {
    this.checkpoints.write(RECOVERY_POINT_CHECKPOINT_FILE, this.recoveryPointOffset);
  }

  private writeLogStartCheckpoint(): void {
    // Kafka lists only logs whose start is above their first segment's base.
    this.checkpoints.write(LOG_START_OFFSET_CHECKPOINT_FILE, this.startOffset > this.segments[0].baseOffset ? this.startOffset : undefined);
  }

  // ---------------------------------------------------------------- reads

  private segmentIndexFor(offset: number): number {
    return segmentIndexFor(this.segments, offset);
  }

  /**
   * A zero-copy slice starting at the batch that holds `offset`. OFFSET_OUT_OF_RANGE below the
   * log start or past the log end; an empty slice at the log end. Safe during appends: reads
   * never wait on the writer and see only whole batches.
   */
  read(offset: number, options: ReadOptions = {}): LogSlice {
    this.checkOpen();
    const end = this.nextOffset;
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > end) {
      throw new SeglogError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${this.startOffset}, ${end}]`);
    }
    const committed = options.isolation === 'read_committed';
    const maxOffset = Math.min(options.maxOffset ?? end, end, committed ? this.lastStableOffset : end);
    if (offset >= maxOffset) return LogSlice.empty(offset, committed ? [] : null);
    const maxBytes = options.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    const segs = this.segments;
    for (let i = this.segmentIndexFor(offset); i < segs.length; i++) {
      const seg = segs[i];
      if (seg.baseOffset >= maxOffset) break;
      let maxPosition = seg.size;
      const next = segs[i + 1];
      // Only a limit inside this segment needs a lookup; the log end is the segment's end.
      if (maxOffset < end && (next === undefined || next.baseOffset > maxOffset)) {
        const limit = seg.translateOffset(maxOffset);
        if (limit !== null) maxPosition = Math.min(maxPosition, limit.position);
      }
      const slice = seg.read(offset, maxBytes, maxPosition, options.minOneMessage ?? true);
      if (slice !== null) {
        // Aborted transactions of [offset, maxOffset): a bound at or above the slice's end, as
        // Kafka's fetch uses (an entry beyond the bytes read is harmless to the filter).
        const aborted = committed ? abortedTransactionsIn(segs, i, offset, maxOffset) : null;
        return new LogSlice(seg.log, slice.position, slice.size, offset, aborted);
      }
    }
    return LogSlice.empty(offset, committed ? [] : null);
  }

  /**
   * Whole batches from the one holding `fromOffset` (default the log start) to the log end,
   * read forward in chunks into one reused buffer: no allocation per read and no index lookup
   * after the first, which is what a sequential scan wants. Each batch is a view into that
   * buffer, valid until the iterator advances: copy (`Buffer.from(batch.buffer)`) what you keep,
   * or pass `reuseBuffer: false` to get a fresh buffer per chunk.
   * CRCs are not checked here (`batch.ensureValid()`); control batches are included.
   * Safe during appends: each chunk is bounded by the log end when it is read.
   */
  *batches(fromOffset = this.startOffset, options: { chunkBytes?: number; reuseBuffer?: boolean } = {}): Generator<RecordBatch, void, undefined> {
    this.checkOpen();
    const offset = Math.max(fromOffset, this.startOffset);
    if (offset >= this.nextOffset) return;
    const reuse = options.reuseBuffer ?? true;
    let buf = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_READ_MAX_BYTES);
    let seg = this.segments[this.segmentIndexFor(offset)];
    let position = seg.translateOffset(offset)?.position ?? seg.size;
    for (;;) {
      const end = seg.size;
      if (position >= end) {
        // On to the next segment, if the list still has one after this one.
        const at = this.segments.indexOf(seg);
        if (at < 0 || at + 1 >= this.segments.length) return;
        seg = this.segments[at + 1];
        position = 0;
        continue;
      }
      const n = seg.log.readInto(buf, position, Math.min(buf.length, end - position));
      const walker = new BatchWalker(buf.subarray(0, n), { file: seg.log.file });
      for (const { batch } of walker) {
        if (!(batch instanceof RecordBatch)) continue;
        if (batch.lastOffset >= offset) yield batch;
      }
      if (walker.position === 0) {
        // A batch larger than the buffer: grow to hold it (bounded by the bytes present).
        const whole = n >= 12 ? 12 + buf.readInt32BE(8) : 0;
        if (whole <= buf.length || whole > end - position) return;
        buf = Buffer.allocUnsafe(whole);
        continue;
      }
      position += walker.position;
      if (!reuse) buf = Buffer.allocUnsafe(buf.length);
    }
  }

  /**
   * Like {@link records}, synchronously: decoded records from `fromOffset` to the log end,
   * control records skipped, CRCs checked. Decompression happens in the calling thread. With
   * `isolation: 'read_committed'` it stops at the last stable offset and skips aborted
   * transactions' records.
   */
  *recordsSync(fromOffset = this.startOffset, options: { isolation?: IsolationLevel } = {}): Generator<LogRecord, void, undefined> {
    const from = Math.max(fromOffset, this.startOffset);
    let filter: AbortedTransactionFilter | null = null;
    let stableEnd = Number.MAX_SAFE_INTEGER;
    if (options.isolation === 'read_committed') {
      stableEnd = this.lastStableOffset;
      if (from >= stableEnd) return;
      filter = new AbortedTransactionFilter(abortedTransactionsIn(this.segments, this.segmentIndexFor(from), from, stableEnd));
    }
    // Fresh chunk buffers: the records handed out are views into them and may be kept.
    for (const batch of this.batches(from, { reuseBuffer: false })) {
      if (batch.lastOffset >= stableEnd) return;
      if (filter?.skip(batch) === true) continue;
      if (batch.isControl) continue;
      batch.ensureValid();
      for (const r of batch.records()) if (r.offset >= from) yield r;
    }
  }

  /**
   * Decoded records from `fromOffset` (default the log start) up to the log end as it is when
   * each chunk is read; control records are skipped and every batch's CRC is checked
   * (INVALID_CRC on a damaged one). Reads 1 MiB at a time. With `isolation: 'read_committed'`
   * each read stops at the last stable offset and aborted transactions' records are skipped.
   */
  async *records(fromOffset = this.startOffset, options: { isolation?: IsolationLevel } = {}): AsyncGenerator<LogRecord, void, undefined> {
    let offset = Math.max(fromOffset, this.startOffset);
    while (offset < this.nextOffset) {
      const slice = this.read(offset, { isolation: options.isolation });
      if (slice.isEmpty) return;
      const bytes = slice.materialize();
      const filter = slice.abortedTransactions === null ? null : new AbortedTransactionFilter(slice.abortedTransactions);
      let advanced = false;
      for (const batch of slice.batches(bytes)) {
        if (filter?.skip(batch) === true) {
          offset = Math.max(offset, batch.nextOffset);
          advanced = true;
          continue;
        }
        if (!batch.isControl && batch.lastOffset >= offset) {
          batch.ensureValid(); // as Kafka's consumers check.crcs: a bad batch is INVALID_CRC, never garbage
          for (const r of await batch.recordsAsync()) if (r.offset >= offset) yield r;
        }
        offset = Math.max(offset, batch.nextOffset);
        advanced = true;
      }
      if (!advanced) return;
    }
  }

  /**
   * Kafka's ListOffsets: `'earliest'` → the log start, `'latest'` → the log end, a timestamp →
   * the first record with a timestamp ≥ it (null when none).
   */
  offsetForTimestamp(timestamp: number | 'earliest' | 'latest'): TimestampOffset | null {
    this.checkOpen();
    if (timestamp === 'earliest') return { offset: this.startOffset, timestamp: -1 };
    if (timestamp === 'latest') return { offset: this.nextOffset, timestamp: -1 };
    if (!Number.isSafeInteger(timestamp)) throw invalidArgument(`timestamp must be an integer, got ${timestamp}`);
    for (const seg of this.segments) {
      if (seg.size === 0 || seg.maxTimestampAndOffset().timestamp < timestamp) continue;
      const found = seg.findOffsetByTimestamp(timestamp, this.startOffset);
      if (found !== null) return found;
    }
    return null;
  }

  // ---------------------------------------------------------------- retention, maintenance

  /**
   * Applies retention now (see src/log/retention.ts): segments below the log start offset, and
   * with cleanup policy `delete`, segments past retention.ms or beyond retention.bytes. Deleted
   * segments are renamed `.deleted` and removed after file.delete.delay.ms, so readers holding
   * slices keep valid bytes. Resolves to the number of segments deleted. Runs in the writer's
   * order; appends and reads go on around it.
   */
  deleteOldSegments(): Promise<number> {
    return this.exclusive(async () => {
      this.checkOpen();
      const deleted = this.applyRetention();
      await this.deleteDueFiles();
      return deleted;
    });
  }

  private applyRetention(): number {
    let deleted = 0;
    for (;;) {
      const now = this.clock();
      const decision = decideRetention({
        segments: this.segments,
        logEndOffset: this.nextOffset,
        highWatermark: this.hw,
        logStartOffset: this.startOffset,
        now,
        retentionMs: this.config.retentionMs,
        retentionBytes: this.config.retentionBytes,
        deletePolicy: this.config.cleanupPolicy.includes('delete'),
      });
      if (decision.count === 0) break;
      if (decision.count === this.segments.length) {
        // Everything may go: roll first so the log end survives in an empty active segment.
        this.rollAt(this.nextOffset, now);
        continue;
      }
      const doomed = this.segments.splice(0, decision.count);
      for (const seg of doomed) this.retireSegment(seg, now, true);
      deleted += doomed.length;
      this.startOffset = Math.max(this.startOffset, this.segments[0].baseOffset);
      this.producerState.onLogStartOffsetIncremented(this.startOffset);
      this.epochCache.truncateFromStart(this.startOffset);
      this.epochCache.flush();
      this.writeLogStartCheckpoint();
    }
    return deleted;
  }

  /**
   * Renames a segment's files `.deleted` and schedules their removal. A segment deleted by
   * retention takes the producer snapshot named for its base along (Kafka's
   * deleteProducerSnapshots); the producers stay known until they expire.
   */
  private retireSegment(seg: LogSegment, now: number, withSnapshot = false): void {
    seg.renameWithSuffix(DELETED_FILE_SUFFIX);
    const snapshot = withSnapshot ? this.producerState.removeAndMarkSnapshotForDeletion(seg.baseOffset) : null;
    this.pendingDeletes.push({ segment: seg, dueMs: now + this.config.fileDeleteDelayMs, files: snapshot === null ? [] : [snapshot] });
  }

  /**
   * Removes `.deleted` files whose delay has passed (all of them when `all`). The removal runs
   * on the background chain, after any fsync still in flight on those segments (a roll just
   * before retention schedules one), so no descriptor is closed under its own fsync.
   */
  private async deleteDueFiles(all = false): Promise<number> {
    const now = this.clock();
    const due = this.pendingDeletes.filter((p) => all || p.dueMs <= now);
    if (due.length === 0) return 0;
    this.pendingDeletes = this.pendingDeletes.filter((p) => !due.includes(p));
    this.runInBackground(async () => {
      for (const p of due) {
        p.segment.deleteFiles();
        for (const f of p.files) fs.rmSync(f, { force: true });
      }
    });
    await this.background;
    return due.length;
  }


  /**
   * Kafka's DeleteRecords: raises the log start offset to `offset` (at most the high watermark,
   * else OFFSET_OUT_OF_RANGE) and deletes the segments wholly below it. Resolves to the new log
   * start offset.
   */
  deleteRecordsBefore(offset: number): Promise<number> {
    return this.exclusive(async () => {
      this.checkOpen();
      if (!Number.isSafeInteger(offset) || offset > this.hw) {
        throw new SeglogError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot delete records before ${offset}: the high watermark is ${this.hw}`);
      }
      if (offset > this.startOffset) {
        this.startOffset = offset;
        this.producerState.onLogStartOffsetIncremented(offset);
        this.epochCache.truncateFromStart(offset);
        this.epochCache.flush();
        this.writeLogStartCheckpoint();
      }
      this.applyRetention();
      await this.deleteDueFiles();
      return this.startOffset;
    });
  }

  /**
   * One round of background work: a time-based flush when flush.ms has passed, retention, and
   * removal of `.deleted` files whose delay has passed. Tests drive it with an injected clock;
   * {@link startMaintenance} runs it on a timer.
   */
  async runMaintenance(): Promise<MaintenanceReport> {
    const done = await this.exclusive(async () => {
      this.checkOpen();
      let flushed = false;
      if (this.clock() - this.lastFlushMs >= this.config.flushMs && this.nextOffset > this.recoveryPointOffset) {
        await this.flushSegments(this.nextOffset);
        flushed = true;
      }
      const deletedSegments = this.applyRetention();
      const now = this.clock();
      if (now - this.lastProducerExpirationCheck >= this.producerExpirationCheckMs) {
        // Kafka's producer-expiration task: forget producers idle for producer.id.expiration.ms.
        this.producerState.removeExpiredProducers(now);
        this.lastProducerExpirationCheck = now;
      }
      return { flushed, deletedSegments, deletedFiles: await this.deleteDueFiles() };
    });
    // Compaction runs outside the writer's chain (it takes its own turns for the swaps).
    return { ...done, cleaned: await this.maybeClean() };
  }

  /**
   * Runs {@link runMaintenance} every `intervalMs` (default 1000) until close. The timer does
   * not keep the process alive; errors are kept and thrown by {@link close}.
   */
  startMaintenance(intervalMs = 1000): void {
    this.checkOpen();
    if (this.maintenanceTimer !== null) return;
    this.maintenanceTimer = setInterval(() => {
      if (this.closed) return;
      this.runMaintenance().catch((err: unknown) => {
        if (!(err instanceof SeglogError && err.code === ErrorCode.LOG_CLOSED)) this.backgroundError = err;
      });
    }, intervalMs);
    this.maintenanceTimer.unref();
  }

  // ---------------------------------------------------------------- compaction
  //
  // Kafka's log cleaner for this log (src/cleaner/): Log.clean runs a round; runMaintenance
  // runs one when the cleanup policy includes `compact`. The round reads and rewrites inactive
  // segments outside the writer's chain and takes a writer turn (exclusive) only to swap each
  // group and to write `cleaner-offset-checkpoint`. Hooks elsewhere in this class: the
  // null-key check in both append paths, max.compaction.lag.ms in the roll decision, the
  // checkpoint truncation after a truncation, and the abort in close.

  /** Defaults of every cleaning round (LogOptions.cleaner). */
  private cleanerDefaults: CleanerOptions = {};
  /** This log's cleaner, created on first use. */
  private logCleaner: LogCleaner | null = null;
  /** Bumped by every truncation: a cleaning round that sees it change stops before its next swap. */
  private truncations = 0;

  /**
   * Compacts the log (Kafka's log cleaner, one round): keeps the latest record per key below the
   * first uncleanable offset, drops tombstones after delete.retention.ms, preserves offsets,
   * batch boundaries and producer metadata. Resolves to a report; `ran: false` when the policy
   * has no `compact` or the log is not cleanable (dirty ratio at or below
   * min.cleanable.dirty.ratio and max.compaction.lag.ms not passed; `force` ignores both).
   *
   * Concurrency: appends and reads go on during the round; rounds of one log run one at a time
   * (a second call waits for the first). close() stops a running round (its report says
   * `aborted`); a truncation makes a running round stop before its next swap.
   */
  clean(options: CleanOptions = {}): Promise<CleanReport> {
    try {
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.cleaner().clean(options);
  }

  /** Runs a round when the policy includes compact and no round is running; null otherwise. */
  private async maybeClean(): Promise<CleanReport | null> {
    if (!this.config.cleanupPolicy.includes('compact') || this.closed) return null;
    const cleaner = this.cleaner();
    if (cleaner.busy) return null;
    return cleaner.clean();
  }

  private cleaner(): LogCleaner {
    if (this.logCleaner === null) this.logCleaner = new LogCleaner(this.cleanerHost(), this.cleanerDefaults);
    return this.logCleaner;
  }

  /** What the cleaner may see and do (every mutating call is made inside `exclusive`). */
  private cleanerHost(): CleanerHost {
    return {
      dir: this.dir,
      config: this.config,
      segmentConfig: this.segmentConfig,
      clock: () => this.clock(),
      exclusive: (task) => this.exclusive(task),
      isClosed: () => this.closed,
      generation: () => this.truncations,
      snapshot: () => ({ segments: this.segments.slice(), logStartOffset: this.startOffset, logEndOffset: this.nextOffset, highWatermark: this.hw }),
      setSegments: (segments) => {
        assert(segments.length > 0 && segments[segments.length - 1] === this.active, 'a swap keeps the active segment last');
        for (let i = 1; i < segments.length; i++) assert(segments[i - 1].baseOffset < segments[i].baseOffset, 'segments stay sorted');
        this.segments = segments;
      },
      retireSegment: (segment) => this.retireSegment(segment, this.clock()),
      deleteDueFiles: () => {
        // Scheduled on the background chain; nothing to wait for here (it never rejects).
        void this.deleteDueFiles();
      },
      backgroundSettled: () => this.background,
      readCheckpoint: () => this.checkpoints.read(CLEANER_OFFSET_CHECKPOINT_FILE),
      writeCheckpoint: (offset) => this.writeCleanerCheckpoint(offset),
    };
  }

  private writeCleanerCheckpoint(offset: number): void {
    this.checkpoints.write(CLEANER_OFFSET_CHECKPOINT_FILE, offset);
  }

  /**
   * After a truncation (in the writer's turn): a running round must not swap or checkpoint, and
   * a checkpoint past the new active segment's base is lowered to it (Kafka's
   * maybeTruncateCheckpoint).
   */
  private onTruncationForCleaner(): void {
    this.truncations++;
    const current = this.checkpoints.read(CLEANER_OFFSET_CHECKPOINT_FILE);
    if (current !== undefined && current > this.active.baseOffset) this.writeCleanerCheckpoint(this.active.baseOffset);
  }

  /** segment.ms, or max.compaction.lag.ms when smaller on a compacted log (Kafka's LogConfig.maxSegmentMs). */
  private maxSegmentMs(): number {
    const lag = this.config.maxCompactionLagMs;
    return this.config.cleanupPolicy.includes('compact') && lag > 0 ? Math.min(this.config.segmentMs, lag) : this.config.segmentMs;
  }

  /** Kafka's INVALID_RECORD for compacted topics: every record needs a key. */
  private requireKeysIfCompacted(records: readonly RecordInput[]): void {
    if (!this.config.cleanupPolicy.includes('compact') || !Array.isArray(records)) return;
    for (let i = 0; i < records.length; i++) {
      const key = records[i]?.key;
      if (key === null || key === undefined) throw noKeyError(i);
    }
  }

  /** The same check on a client batch; a compressed one is checked off the event loop. */
  private requireBatchKeysIfCompacted(batch: RecordBatch, bytes: Buffer | Promise<Buffer>): Buffer | Promise<Buffer> {
    if (!this.config.cleanupPolicy.includes('compact')) return bytes;
    const check = (records: Iterable<LogRecord>) => {
      let i = 0;
      for (const r of records) {
        if (r.key === null) throw noKeyError(i);
        i++;
      }
    };
    if (batch.compression === 'none' && !(bytes instanceof Promise)) {
      check(batch.records());
      return bytes;
    }
    return batch.recordsAsync().then(async (records) => {
      check(records);
      return bytes;
    });
  }

  // ---------------------------------------------------------------- truncation, close

  /**
   * Removes everything at or after `offset` (batch-aligned: a batch holding `offset` goes whole,
   * as Kafka truncates). The log end becomes the end of what remains: `offset` when it is a
   * batch boundary, else the base offset of the removed batch. Below the log start it empties the log
   * and starts it at `offset`. Waits for queued appends first.
   */
  truncateTo(offset: number): Promise<void> {
    return this.exclusive(async () => {
      this.checkOpen();
      if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`truncateTo needs a non-negative offset, got ${offset}`);
      if (offset >= this.nextOffset) return;
      // A rolled segment's fsync may still be in the thread pool: let it finish before any
      // descriptor it uses is closed.
      await this.background;
      if (offset < this.startOffset) return this.resetTo(offset);
      const keep = this.segments.filter((s) => s.baseOffset < offset || s === this.segments[0]);
      for (const s of this.segments.slice(keep.length)) s.deleteFiles();
      this.segments = keep;
      let last = keep[keep.length - 1];
      if (!last.isActive) {
        last = last.reopenAsActive(this.clock(), this.jitter());
        this.segments[keep.length - 1] = last;
      }
      last.truncateTo(offset);
      // The end of the data that remains: `offset` itself unless it fell inside a batch (removed
      // whole) or a gap. Reopening reads the same value back from the files, so every answer
      // survives a restart (Kafka keeps `offset` in memory and reads the data end on restart).
      this.nextOffset = last.readNextOffset();
      // The batch holding the log start went whole: the log restarts empty at its start.
      if (this.nextOffset < this.startOffset) return this.resetTo(this.startOffset);
      this.recoveryPointOffset = Math.min(this.recoveryPointOffset, this.nextOffset);
      this.epochCache.truncateFromEnd(this.nextOffset);
      this.epochCache.flush();
      // Kafka's truncateTo: producer state back to the new end (snapshots above it deleted,
      // the latest remaining one loaded, the rest replayed).
      rebuildProducerState(this.producerState, producerStateSegments(this.segments), { logStartOffset: this.startOffset, lastOffset: this.nextOffset, now: this.clock() });
      this.setHighWatermarkInternal(Math.min(this.hw, this.nextOffset));
      this.writeRecoveryCheckpoint();
      this.onTruncationForCleaner();
    });
  }

  /** Deletes every segment and starts the log empty at `offset` (a follower's reset). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.exclusive(async () => {
      this.checkOpen();
      if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`truncateFullyAndStartAt needs a non-negative offset, got ${offset}`);
      await this.background;
      this.resetTo(offset);
    });
  }

  private resetTo(offset: number): void {
    for (const s of this.segments) s.deleteFiles();
    this.segments = [LogSegment.create(this.dir, offset, this.segmentConfig, { now: this.clock(), rollJitterMs: this.jitter() })];
    this.nextOffset = offset;
    this.startOffset = offset;
    this.recoveryPointOffset = offset;
    this.producerState.truncateFullyAndStartAt(offset);
    this.setHighWatermarkInternal(offset);
    this.epochCache.clear();
    this.epochCache.flush();
    fsyncDirectory(this.dir);
    this.writeRecoveryCheckpoint();
    this.writeLogStartCheckpoint();
    this.onTruncationForCleaner();
  }

  /**
   * Flushes everything, writes the checkpoints and the clean-shutdown marker, trims the active
   * segment's files, and releases the lock. Later calls are LOG_CLOSED; close twice is a no-op.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.maintenanceTimer !== null) {
      clearInterval(this.maintenanceTimer);
      this.maintenanceTimer = null;
    }
    // Before queueing: a cleaning round checks this before each of its turns, so none is queued behind us.
    this.logCleaner?.requestAbort();
    return this.exclusive(async () => {
      if (this.closed) return;
      await this.logCleaner?.whenIdle();
      await this.background;
      await this.deleteDueFiles(true);
      await this.flushSegments(this.nextOffset);
      this.closed = true;
      // Trim the active segment's files and make the trimmed state durable before the marker.
      const active = this.active;
      active.onBecomeInactiveSegment();
      active.flush();
      for (const s of this.segments) s.close();
      // Kafka's close: a producer snapshot at the log end, so the next open replays nothing.
      this.producerState.updateMapEndOffset(this.nextOffset);
      this.producerState.takeSnapshot();
      fsyncDirectory(this.dir);
      this.writeRecoveryCheckpoint();
      this.writeLogStartCheckpoint();
      this.epochCache.flush();
      this.checkpoints.markCleanShutdown();
      this.lock?.release();
      this.wakeAppendWaiters();
      if (this.backgroundError !== null) throw this.backgroundError;
    });
  }

  /** Leader epoch entries (epoch, startOffset), for brokers. */
  leaderEpochs(): EpochEntry[] {
    return this.epochCache.entries();
  }
}

function checkpointKeyFor(dir: string): string {
  const name = path.basename(path.resolve(dir));
  return /^.+-\d+$/.test(name) ? name : `${name}-0`;
}

/** Range checks of a producer identity (Kafka's field widths: int64 id, int16 epoch, int32 sequence). */
function checkProducerIdentity(p: ProducerIdentity): void {
  if (!Number.isSafeInteger(p.producerId) || p.producerId < 0) throw invalidArgument(`producerId must be a non-negative integer, got ${p.producerId}`);
  if (!Number.isInteger(p.producerEpoch) || p.producerEpoch < 0 || p.producerEpoch > 0x7fff) throw invalidArgument(`producerEpoch must be in [0, 32767], got ${p.producerEpoch}`);
  if (!Number.isInteger(p.baseSequence) || p.baseSequence < 0 || p.baseSequence > 0x7fffffff) throw invalidArgument(`baseSequence must be in [0, 2147483647], got ${p.baseSequence}`);
}

/** Kafka's INVALID_RECORD on a compacted topic, as INVALID_ARGUMENT. */
function noKeyError(index: number): SeglogError {
  return invalidArgument(`record ${index} has no key: a compacted log (cleanup.policy=compact) cannot accept a record without a key`);
}

function readCheckpointValue(file: string, key: string): number | undefined {
  try {
    return readOffsetCheckpoint(file).get(key);
  } catch {
    // Kafka treats an unreadable recovery or start checkpoint as empty (and so recovers more).
    return undefined;
  }
}

