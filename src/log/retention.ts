/**
 * Retention: which segments a log may delete, as Kafka's UnifiedLog.deleteOldSegments decides.
 *
 * Three triggers, checked in this order, each over the oldest segments first (the deletable
 * segments are always a prefix of the log):
 * - log start offset: a segment whose next segment starts at or below logStartOffset holds only
 *   records below it (always applied, whatever the cleanup policy);
 * - time (`retention.ms`, policy `delete`): the segment's largest timestamp is older than
 *   now − retention.ms;
 * - size (`retention.bytes`, policy `delete`): deleting the segment still leaves the log at or
 *   above retention.bytes.
 *
 * A segment is only deletable when all of its offsets are below the high watermark, and an
 * empty last segment never is. When every segment is deletable the log rolls first, so the log
 * end offset survives in a new empty active segment (offsets are never reused).
 */
import type { LogSegment } from '../segment/segment.js';

/** What the retention decision needs from the log. */
export interface RetentionState {
  /** Segments, oldest first; the last is active. */
  segments: readonly LogSegment[];
  /** The log end offset. */
  logEndOffset: number;
  /** The high watermark. */
  highWatermark: number;
  /** The log start offset. */
  logStartOffset: number;
  /** Now, from the log's clock. */
  now: number;
  /** retention.ms (−1: unlimited). */
  retentionMs: number;
  /** retention.bytes (−1: unlimited). */
  retentionBytes: number;
  /** Whether the cleanup policy includes `delete`. */
  deletePolicy: boolean;
}

/** Why segments were chosen, for reports and logs. */
export type RetentionReason = 'log-start-offset' | 'retention-ms' | 'retention-bytes';

/** The prefix of segments to delete, and the trigger that chose it (null when none). */
export interface RetentionDecision {
  /** How many of the oldest segments to delete. */
  count: number;
  /** The trigger. */
  reason: RetentionReason | null;
}

/**
 * Length of the longest prefix of segments for which `predicate` holds and that lies wholly
 * below the high watermark (Kafka's deletableSegments).
 */
function deletablePrefix(state: RetentionState, predicate: (seg: LogSegment, next: LogSegment | undefined) => boolean): number {
  const segs = state.segments;
  let n = 0;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const next = segs[i + 1];
    const upperBound = next === undefined ? state.logEndOffset : next.baseOffset;
    const lastAndEmpty = next === undefined && seg.size === 0;
    if (lastAndEmpty || upperBound > state.highWatermark || !predicate(seg, next)) break;
    n++;
  }
  return n;
}

/** Decides which oldest segments retention deletes now. */
export function decideRetention(state: RetentionState): RetentionDecision {
  const byStart = deletablePrefix(state, (_seg, next) => next !== undefined && next.baseOffset <= state.logStartOffset);
  if (byStart > 0) return { count: byStart, reason: 'log-start-offset' };
  if (!state.deletePolicy) return { count: 0, reason: null };
  if (state.retentionMs >= 0) {
    const byTime = deletablePrefix(state, (seg) => state.now - seg.largestTimestamp() > state.retentionMs);
    if (byTime > 0) return { count: byTime, reason: 'retention-ms' };
  }
  if (state.retentionBytes >= 0) {
    let excess = state.segments.reduce((sum, s) => sum + s.size, 0) - state.retentionBytes;
    const bySize = deletablePrefix(state, (seg) => {
      if (excess - seg.size < 0) return false;
      excess -= seg.size;
      return true;
    });
    if (bySize > 0) return { count: bySize, reason: 'retention-bytes' };
  }
  return { count: 0, reason: null };
}
