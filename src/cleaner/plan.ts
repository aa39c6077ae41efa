/**
 * What to clean: Kafka's LogCleanerManager.cleanableOffsets / LogToClean (the dirty range, its
 * ratio, the max-compaction-lag rule) and Cleaner.groupSegmentsBySize (which segments are
 * merged into one output). Pure functions over the segment list; no I/O beyond what the
 * segments answer from their headers and indexes.
 *
 * Offsets:
 * - firstDirtyOffset: the cleaner checkpoint, reset to logStartOffset when missing or outside
 *   [logStartOffset, logEndOffset];
 * - firstUncleanableOffset: the minimum of the high watermark (seglog has no transactions yet,
 *   so no last stable offset: the exactly-once issue must add the LSO here), the active
 *   segment's base, and — with min.compaction.lag.ms > 0 — the base of the first dirty
 *   non-active segment whose largest timestamp is newer than now − min.compaction.lag.ms;
 *   at least firstDirtyOffset; then moved down to the base of the segment holding it.
 *
 * The move down is stricter than Kafka: Kafka maps whole segments, so with the LSO inside a
 * non-active segment it would also map the records past the LSO. Cleaning only whole segments
 * below the bound never reads a record at or past the high watermark.
 */
import { segmentIndexFor, type LogSegment } from '../segment/segment.js';
import { MAX_RELATIVE_OFFSET } from '../segment/index-file.js';

/** What the plan needs from the log (a snapshot taken in the writer's order). */
export interface PlanInput {
  /** The segments, oldest first; the last is active. */
  segments: readonly LogSegment[];
  /** The log start offset. */
  logStartOffset: number;
  /** The log end offset. */
  logEndOffset: number;
  /** The high watermark (the last stable offset when transactions exist). */
  highWatermark: number;
  /** The cleaner checkpoint for this log, if any. */
  checkpoint: number | undefined;
  /** Now, from the log's clock. */
  now: number;
  /** min.compaction.lag.ms. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms. */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio. */
  minCleanableDirtyRatio: number;
}

/** The cleanable range of a log and whether it should be cleaned now. */
export interface CleanPlan {
  /** Where the dirty section starts. */
  firstDirtyOffset: number;
  /** Whether the checkpoint was missing or out of range and must be rewritten. */
  checkpointReset: boolean;
  /** Exclusive end of the cleanable range: a segment base offset. */
  firstUncleanableOffset: number;
  /** Bytes of the segments below firstDirtyOffset. */
  cleanBytes: number;
  /** Bytes of the segments in [firstDirtyOffset, firstUncleanableOffset). */
  cleanableBytes: number;
  /** cleanableBytes / (cleanBytes + cleanableBytes), 0 for an empty log. */
  dirtyRatio: number;
  /** max.compaction.lag.ms has passed for some dirty record (Kafka's needCompactionNow). */
  needsCompactionNow: boolean;
  /** Kafka's rule: ratio above min.cleanable.dirty.ratio, or needsCompactionNow with cleanable bytes. */
  shouldClean: boolean;
}

/** Kafka's cleanableOffsets + LogToClean + the cleanable-log filter of grabFilthiestCompactedLog. */
export function planCleaning(p: PlanInput): CleanPlan {
  const segs = p.segments;
  const active = segs[segs.length - 1];
  let firstDirtyOffset = p.checkpoint ?? p.logStartOffset;
  let checkpointReset = p.checkpoint === undefined;
  if (firstDirtyOffset < p.logStartOffset || firstDirtyOffset > p.logEndOffset) {
    // Truncated or corrupted past the checkpoint: assume the whole log needs cleaning.
    firstDirtyOffset = p.logStartOffset;
    checkpointReset = true;
  }
  // Dirty non-active segments: from the one holding firstDirtyOffset up to the active one.
  const firstDirtyIndex = segmentIndexFor(segs, firstDirtyOffset);
  const dirtyNonActive = segs.slice(firstDirtyIndex, segs.length - 1);

  let uncleanable = Math.min(p.highWatermark, active.baseOffset);
  if (p.minCompactionLagMs > 0) {
    const young = dirtyNonActive.find((s) => s.largestTimestamp() > p.now - p.minCompactionLagMs);
    if (young !== undefined) uncleanable = Math.min(uncleanable, young.baseOffset);
  }
  uncleanable = Math.max(firstDirtyOffset, uncleanable);
  const firstUncleanableOffset = Math.min(segs[segmentIndexFor(segs, uncleanable)].baseOffset, active.baseOffset);

  let cleanBytes = 0;
  let cleanableBytes = 0;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const next = i + 1 < segs.length ? segs[i + 1].baseOffset : p.logEndOffset;
    if (s.baseOffset < firstDirtyOffset) cleanBytes += s.size;
    // Segments overlapping [firstDirty, firstUncleanable) (Kafka's logSegments(from, to)).
    if (s.baseOffset < firstUncleanableOffset && next > firstDirtyOffset) cleanableBytes += s.size;
  }
  const total = cleanBytes + cleanableBytes;
  const dirtyRatio = total === 0 ? 0 : cleanableBytes / total;

  // max.compaction.lag.ms: the earliest first-batch timestamp among the dirty non-active
  // segments (timestamps ≤ 0 ignored, as Kafka) older than now − lag.
  let earliest = Number.POSITIVE_INFINITY;
  for (const s of dirtyNonActive) {
    const ts = s.firstBatchTimestamp();
    if (ts !== null && ts > 0) earliest = Math.min(earliest, ts);
  }
  const needsCompactionNow = earliest < p.now - Math.max(p.maxCompactionLagMs, 0);
  const shouldClean = (needsCompactionNow && cleanableBytes > 0) || dirtyRatio > p.minCleanableDirtyRatio;
  return { firstDirtyOffset, checkpointReset, firstUncleanableOffset, cleanBytes, cleanableBytes, dirtyRatio, needsCompactionNow, shouldClean };
}

/** Limits of one output group (Kafka: segment.bytes and segment.index.bytes). */
export interface GroupLimits {
  /** segment.bytes. */
  maxSize: number;
  /** segment.index.bytes, for each of `.index` and `.timeindex`. */
  maxIndexSize: number;
  /** Upper (exclusive) offset of the cleaning round, for the last segment's offset span. */
  firstUncleanableOffset: number;
}

/**
 * Kafka's groupSegmentsBySize: consecutive segments are merged into one output while the
 * summed `.log` sizes stay ≤ segment.bytes, the summed `.index` and `.timeindex` sizes each
 * stay ≤ segment.index.bytes, and the offsets stay within an int32 of the group's first base
 * (a segment's last offset is estimated by the next segment's base − 1, or firstUncleanable − 1
 * for the last; empty segments skip that check).
 */
export function groupSegmentsBySize(segments: readonly LogSegment[], limits: GroupLimits): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let i = 0;
  while (i < segments.length) {
    const first = segments[i];
    const group = [first];
    let logSize = first.size;
    let indexSize = first.offsetIndex.sizeInBytes;
    let timeIndexSize = first.timeIndex.sizeInBytes;
    i++;
    while (i < segments.length) {
      const s = segments[i];
      const lastOffsetEstimate = i + 1 < segments.length ? segments[i + 1].baseOffset - 1 : limits.firstUncleanableOffset - 1;
      const fits =
        logSize + s.size <= limits.maxSize &&
        indexSize + s.offsetIndex.sizeInBytes <= limits.maxIndexSize &&
        timeIndexSize + s.timeIndex.sizeInBytes <= limits.maxIndexSize &&
        (s.size === 0 || lastOffsetEstimate - first.baseOffset <= MAX_RELATIVE_OFFSET);
      if (!fits) break;
      group.push(s);
      logSize += s.size;
      indexSize += s.offsetIndex.sizeInBytes;
      timeIndexSize += s.timeIndex.sizeInBytes;
      i++;
    }
    groups.push(group);
  }
  return groups;
}
