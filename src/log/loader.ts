/**
 * Loading a partition directory, Kafka's LogLoader: clean temporary files, complete swaps the
 * cleaner left half done, open the segments (indexes stay lazy), recover after an unclean
 * shutdown, and work out the log end offset, recovery point and log start offset.
 *
 * Recovery (only without the clean-shutdown marker): every segment from the one holding the
 * recovery point to the end is re-validated batch by batch (size, CRC, offsets), its indexes
 * rebuilt, its torn or corrupt tail cut; after a segment that lost bytes, every later segment
 * is deleted (nothing after a torn write may stay visible). Segments below the recovery point
 * were fsynced before it was recorded and are trusted, except that one missing its `.index`
 * is always rebuilt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ioError } from '../errors.js';
import type { RecordBatch } from '../records/batch.js';
import { LogSegment, offsetFromFileName, type SegmentConfig, type SegmentRecovery, DELETED_FILE_SUFFIX, INDEX_FILE_SUFFIX, LOG_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX } from '../segment/segment.js';

/** Suffix of cleaner output not yet swapped in. */
export const CLEANED_FILE_SUFFIX = '.cleaned';
/** Suffix of cleaner output ready to replace the originals. */
export const SWAP_FILE_SUFFIX = '.swap';

/** What opening a log found and did. */
export interface LoadReport {
  /** Whether the clean-shutdown marker was present (recovery skipped). */
  cleanShutdown: boolean;
  /** Segments re-validated and re-indexed. */
  recoveredSegments: number;
  /** Bytes cut from torn or corrupt tails. */
  truncatedBytes: number;
  /** Segments deleted because they followed a truncation or lay below the log start. */
  deletedSegments: number;
  /** Leftover `.deleted`, `.cleaned` and orphaned index files removed. */
  removedTemporaryFiles: number;
  /** Swaps completed from `.swap` files. */
  completedSwaps: number;
}

/** The loaded state a Log starts from. */
export interface LoadedLog {
  /** Segments in offset order; the last one is active (writable indexes). */
  segments: LogSegment[];
  /** The log end offset. */
  logEndOffset: number;
  /** Everything below this offset is known to be on disk. */
  recoveryPoint: number;
  /** The first offset readers may see. */
  logStartOffset: number;
  /** What the load did. */
  report: LoadReport;
}

/** Inputs of a load. */
export interface LoadParams {
  /** The partition directory. */
  dir: string;
  /** Segment settings. */
  config: SegmentConfig;
  /** Whether the last close was clean. */
  hadCleanShutdown: boolean;
  /** The recovery point from the checkpoint (0 when unknown). */
  recoveryPoint: number;
  /** The log start offset from the checkpoint (0 when unknown). */
  logStartOffset: number;
  /** Now, from the log's clock. */
  now: number;
  /** Jitter for the active segment. */
  rollJitterMs: () => number;
  /** Sees every batch recovery validates (leader-epoch assignment). */
  onRecoveredBatch?: (batch: RecordBatch) => void;
  /**
   * Called before a segment is recovered, with the segments before it: returns what to do with
   * each of its valid batches (the log replays producer state and rebuilds the segment's
   * `.txnindex`) and after its last one.
   */
  onRecoverSegment?: (segment: LogSegment, earlier: readonly LogSegment[]) => { onBatch(batch: RecordBatch): void; done(): void };
}

/** Recovers one segment, feeding its batches to the load's hooks. */
function recoverSegment(params: LoadParams, seg: LogSegment, earlier: readonly LogSegment[]): SegmentRecovery {
  const hook = params.onRecoverSegment?.(seg, earlier);
  const r = seg.recover((batch) => {
    params.onRecoveredBatch?.(batch);
    hook?.onBatch(batch);
  });
  hook?.done();
  return r;
}

function unlink(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, file);
  }
}

const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex)$/;

/** Pass 1–3: remove temporaries, complete interrupted swaps. */
function cleanTemporaries(dir: string, config: SegmentConfig, report: LoadReport): void {
  const names = fs.readdirSync(dir);
  const swaps: string[] = [];
  let minCleaned = Number.MAX_SAFE_INTEGER;
  for (const name of names) {
    const file = path.join(dir, name);
    if (name.endsWith(DELETED_FILE_SUFFIX) && !name.endsWith('.checkpoint.deleted')) {
      unlink(file);
      report.removedTemporaryFiles++;
    } else if (name.endsWith(CLEANED_FILE_SUFFIX)) {
      minCleaned = Math.min(minCleaned, offsetFromFileName(name));
      unlink(file);
      report.removedTemporaryFiles++;
    } else if (name.endsWith(SWAP_FILE_SUFFIX)) {
      swaps.push(name);
    }
  }
  // A swap at or above the lowest `.cleaned` offset belongs to an unfinished split: drop it.
  const live = swaps.filter((name) => {
    if (offsetFromFileName(name) < minCleaned) return true;
    unlink(path.join(dir, name));
    report.removedTemporaryFiles++;
    return false;
  });
  const logSwaps = live.filter((n) => n.endsWith(LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX));
  if (logSwaps.length > 0) {
    // The originals a swap replaces are every segment whose base lies in [min swap base, max swap next offset).
    let lo = Number.MAX_SAFE_INTEGER;
    let hi = 0;
    for (const name of logSwaps) {
      const base = offsetFromFileName(name);
      // With the log's own index bound: a cleaned segment's index may be larger than any fixed guess.
      const seg = LogSegment.open(dir, base, config, { now: 0, writable: false, fileSuffix: SWAP_FILE_SUFFIX });
      lo = Math.min(lo, base);
      hi = Math.max(hi, seg.readNextOffset());
      seg.close();
    }
    for (const name of fs.readdirSync(dir)) {
      const m = SEGMENT_FILE.exec(name);
      if (m !== null && Number(m[1]) >= lo && Number(m[1]) < hi) unlink(path.join(dir, name));
    }
  }
  for (const name of live) {
    fs.renameSync(path.join(dir, name), path.join(dir, name.slice(0, -SWAP_FILE_SUFFIX.length)));
    if (name.endsWith(LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX)) report.completedSwaps++;
  }
}

/** Loads the partition in `params.dir` (which must exist and be locked by the caller). */
export function loadLog(params: LoadParams): LoadedLog {
  const { dir, config } = params;
  const report: LoadReport = { cleanShutdown: params.hadCleanShutdown, recoveredSegments: 0, truncatedBytes: 0, deletedSegments: 0, removedTemporaryFiles: 0, completedSwaps: 0 };
  cleanTemporaries(dir, config, report);

  const logs = new Set<number>();
  const indexOnly: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = SEGMENT_FILE.exec(name);
    if (m === null) continue;
    const base = offsetFromFileName(name);
    if (m[2] === 'log') logs.add(base);
    else indexOnly.push(name);
  }
  // An index without its .log is garbage from an interrupted delete or roll.
  for (const name of indexOnly) {
    if (!logs.has(offsetFromFileName(name))) {
      unlink(path.join(dir, name));
      report.removedTemporaryFiles++;
    }
  }
  const bases = [...logs].sort((a, b) => a - b);
  let segments = bases.map((base, i) =>
    LogSegment.open(dir, base, config, { now: params.now, writable: i === bases.length - 1, rollJitterMs: i === bases.length - 1 ? params.rollJitterMs() : 0 }),
  );

  // Segments missing their offset index are rebuilt whatever the shutdown was.
  const recovered = new Set<LogSegment>();
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (!fs.existsSync(seg.offsetIndex.file)) {
      const r = recoverSegment(params, seg, segments.slice(0, i));
      report.truncatedBytes += r.truncatedBytes;
      recovered.add(seg);
      if (r.truncatedBytes > 0 && i < segments.length - 1) {
        // A torn segment in the middle: nothing after it may stay visible, or the log would
        // have a hole where the cut bytes were.
        for (const later of segments.slice(i + 1)) later.deleteFiles();
        report.deletedSegments += segments.length - i - 1;
        segments = segments.slice(0, i + 1);
        break;
      }
    }
  }

  if (!params.hadCleanShutdown) {
    let from = 0;
    for (let i = 0; i < segments.length; i++) if (segments[i].baseOffset <= params.recoveryPoint) from = i;
    for (let i = from; i < segments.length; i++) {
      const seg = segments[i];
      const r = recoverSegment(params, seg, segments.slice(0, i));
      recovered.add(seg);
      report.truncatedBytes += r.truncatedBytes;
      if (r.truncatedBytes > 0 && i < segments.length - 1) {
        // Nothing after a torn write may stay visible.
        for (const later of segments.slice(i + 1)) later.deleteFiles();
        report.deletedSegments += segments.length - i - 1;
        segments = segments.slice(0, i + 1);
        break;
      }
    }
  }
  report.recoveredSegments = recovered.size;

  let logStartOffset = params.logStartOffset;
  let logEndOffset = segments.length === 0 ? logStartOffset : segments[segments.length - 1].readNextOffset();
  if (segments.length > 0 && logEndOffset < logStartOffset) {
    // The checkpointed start is beyond all data (everything was deleted before the crash).
    for (const seg of segments) seg.deleteFiles();
    report.deletedSegments += segments.length;
    segments = [];
  }
  if (segments.length === 0) {
    segments = [LogSegment.create(dir, logStartOffset, config, { now: params.now, rollJitterMs: params.rollJitterMs() })];
    logEndOffset = logStartOffset;
  } else {
    const last = segments.length - 1;
    if (segments[last].isActive) {
      segments[last].offsetIndex.resize(config.segmentIndexBytes);
      segments[last].timeIndex.resize(config.segmentIndexBytes);
    } else {
      segments[last] = segments[last].reopenAsActive(params.now, params.rollJitterMs());
    }
  }
  logStartOffset = Math.max(logStartOffset, segments[0].baseOffset);
  const recoveryPoint = params.hadCleanShutdown ? logEndOffset : Math.min(params.recoveryPoint, logEndOffset);
  return { segments, logEndOffset, recoveryPoint, logStartOffset, report };
}

export { INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX };
