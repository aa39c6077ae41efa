/**
 * The cleaner's public options and report, and what it needs from its log (`CleanerHost`, which
 * `Log` implements in its compaction section: the cleaner sits above the log layer and sees it
 * only through this interface).
 */
import type { LogConfig } from '../log/config.js';
import type { LogSegment, SegmentConfig } from '../segment/segment.js';

/** Settings of a log's cleaner (Kafka's broker-level log.cleaner.* settings). */
export interface CleanerOptions {
  /** Memory bound of the offset map, bytes (log.cleaner.dedupe.buffer.size); default 128 MiB. */
  dedupeBufferSize?: number;
  /** Maximum fill of the offset map (log.cleaner.io.buffer.load.factor); default 0.9. */
  dedupeBufferLoadFactor?: number;
  /** Limit of the cleaner's reads + writes, bytes/s (log.cleaner.io.max.bytes.per.second); default unlimited. */
  ioMaxBytesPerSecond?: number;
  /** How long a producer with no new batch keeps its last batch protected (producer.id.expiration.ms); default one day. */
  producerIdExpirationMs?: number;
  /** How the throttle waits (default: a real timer). Tests inject one that moves their clock. */
  sleep?: (ms: number) => Promise<void>;
}

/** Options of one cleaning (`Log.clean`). */
export interface CleanOptions extends CleanerOptions {
  /**
   * Clean even when the dirty ratio is below min.cleanable.dirty.ratio and max.compaction.lag.ms
   * has not passed (the range is still bounded by the high watermark, the active segment and
   * min.compaction.lag.ms). Useful to drop tombstones whose horizon has passed.
   */
  force?: boolean;
  /**
   * Test hook, called at each step of the swap; a throw from it leaves the files exactly as a
   * crash at that point would.
   * @internal
   */
  onStep?: (step: CleanerStep, detail: { group: number; file?: string }) => void;
}

/**
 * Steps of a cleaning round, in order, as passed to the test hook.
 * @internal
 */
export type CleanerStep = 'cleaned-written' | 'cleaned-to-swap' | 'swap-durable' | 'old-to-deleted' | 'swap-to-final' | 'swapped' | 'before-checkpoint' | 'checkpointed';

/** What a cleaning did. */
export interface CleanReport {
  /** Whether segments were rewritten. False when the log was not cleanable (see {@link CleanReport.reason}). */
  ran: boolean;
  /** Why nothing was rewritten, or why the round stopped early. */
  reason?: 'not-compacted' | 'not-cleanable' | 'nothing-to-clean' | 'aborted-closed' | 'aborted-truncated' | 'aborted-segments-changed';
  /** True when the round stopped before its checkpoint (groups already swapped stay swapped). */
  aborted: boolean;
  /** Start of the dirty section at the start of the round. */
  firstDirtyOffset: number;
  /** Exclusive end of the cleanable range. */
  firstUncleanableOffset: number;
  /** First offset not cleaned: the new cleaner checkpoint (equal to firstUncleanableOffset unless the offset map filled). */
  endOffset: number;
  /** cleanableBytes / (cleanBytes + cleanableBytes) when the round started. */
  dirtyRatio: number;
  /** Whether max.compaction.lag.ms forced the round. */
  needsCompactionNow: boolean;
  /** Bytes read (producer scan, offset map, rewriting). */
  bytesRead: number;
  /** Bytes written to the new segments. */
  bytesWritten: number;
  /** Records decoded from the rewritten segments. */
  recordsRead: number;
  /** Records kept in the new segments. */
  recordsKept: number;
  /** Records removed (superseded, expired tombstones, keyless, discarded markers). */
  recordsRemoved: number;
  /** Batches written byte for byte. */
  batchesCopied: number;
  /** Batches rebuilt. */
  batchesRebuilt: number;
  /** Empty batches written (producer state, last offset of the round or of a group). */
  emptyBatches: number;
  /** Batches removed entirely. */
  batchesRemoved: number;
  /** The log's number of segments before the round. */
  segmentsBefore: number;
  /** The log's number of segments after the round. */
  segmentsAfter: number;
  /** Segments rewritten. */
  segmentsCleaned: number;
  /** Segments they became. */
  segmentsWritten: number;
  /** Keys in the offset map. */
  offsetMapKeys: number;
  /** Share of the offset map's capacity used. */
  offsetMapUtilization: number;
  /** Time the throttle slept, ms. */
  throttledMs: number;
  /** Wall time of the round, ms. */
  durationMs: number;
}

/** The log's state at one moment, taken in the writer's order. @internal */
export interface LogSnapshot {
  /** The segments (a copy of the list). */
  segments: LogSegment[];
  /** logStartOffset. */
  logStartOffset: number;
  /** logEndOffset. */
  logEndOffset: number;
  /** highWatermark. */
  highWatermark: number;
}

/**
 * What the cleaner needs from its log. Every method except `exclusive`, `clock`,
 * `generation` and `isClosed` must be called inside `exclusive`.
 * @internal
 */
export interface CleanerHost {
  /** The partition directory. */
  readonly dir: string;
  /** The topic config. */
  readonly config: LogConfig;
  /** Segment settings for new segments. */
  readonly segmentConfig: SegmentConfig;
  /** The log's clock. */
  clock(): number;
  /** Runs `task` in the log's writer order. */
  exclusive<T>(task: () => T | Promise<T>): Promise<T>;
  /** Whether the log is closed. */
  isClosed(): boolean;
  /** Bumped by every truncation: a round that sees it change stops. */
  generation(): number;
  /** The state now. */
  snapshot(): LogSnapshot;
  /** Replaces the log's segment list (the new list keeps the invariants). */
  setSegments(segments: LogSegment[]): void;
  /** Renames a replaced segment `.deleted` and schedules its removal. */
  retireSegment(segment: LogSegment): void;
  /** Removes `.deleted` files whose delay has passed. */
  deleteDueFiles(): void;
  /** Resolves when the log's background work (the flush of a rolled segment) is done. */
  backgroundSettled(): Promise<void>;
  /** The cleaner checkpoint of this log, if any. */
  readCheckpoint(): number | undefined;
  /** Writes the cleaner checkpoint of this log. */
  writeCheckpoint(offset: number): void;
}
