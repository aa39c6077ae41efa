/**
 * Log layer, opening: `Log.open` of a log with many segments against one with few, measured in
 * the same run. The design requires that a clean open not grow with the data: segments are
 * opened lazily (one `stat` per `.log` file, indexes loaded on first use), so the time may grow
 * with the number of files but not with their bytes.
 *
 * Each log of `segmentCounts` segments is built once per run through `log.append` (batches of
 * `batchRecords` records with `valueBytes`-byte values and 12-byte keys; a `segmentBytes`
 * segment.bytes makes it roll) and closed cleanly. Then, in interleaved rounds (see
 * `measureRuns` in bench/lib/runs.ts), each timed call is one `Log.open` (untimed afterwards: a
 * clean `close`, which writes the marker again):
 * - `open N segments (clean)`: for each count; the smallest count is the baseline of `×base`.
 * - `open N segments of S (clean)` (when `bytesControl`): as few segments as the smallest log,
 *   as many bytes as the largest (segment.bytes S = bytes / N): if open grew with bytes, this
 *   would cost as much as the largest log; it should cost as much as the smallest.
 * - `open N segments (unclean, last segment recovers)`: for the largest count, before each call
 *   the `.kafka_cleanshutdown` marker is deleted and the recovery-point checkpoint set to the
 *   last segment's base offset (stale: as if the active segment had not been flushed), so
 *   recovery re-validates the last segment only.
 * - `open N segments (unclean, checkpoint 0: all recover)` (when `fullRecovery`): the same with
 *   the checkpoint at 0, so every segment is re-validated and re-indexed: the cost a clean
 *   shutdown and the recovery checkpoint save. Seconds per call, so it has its own, shorter
 *   series of rounds with the baseline measured again beside it (its `×base` uses that).
 * - `readdir+stat N segments`: `readdirSync` of the directory plus `statSync` of every `.log`
 *   file, the listing any open must do; a floor, not a baseline.
 * Each open is checked: the log end, and what the load report says was recovered.
 *
 * Figures: `segments`, `MB` (10^6 bytes of `.log` data), `recovered` (segments re-validated by
 * the timed open), `×base` = median
 * / median of the clean open of the smallest log, `µs/segment` = median / segments. All files
 * are in the page cache (just written); the logs live under os.tmpdir() and are removed at the
 * end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CLEAN_SHUTDOWN_FILE, Log, RECOVERY_POINT_CHECKPOINT_FILE } from '../../src/log/log.js';
import { writeOffsetCheckpoint } from '../../src/log/checkpoint.js';
import { resolveMatrix, statsFor, type BenchRow, type BenchRunOptions } from '../lib/harness.js';
import { makeTempDir, measureRuns, removeDir, runsFor, type RunSpec } from '../lib/runs.js';
import { approxSize, crcImplementation, fillLog } from '../lib/storage.js';

/** The parameter matrix of this suite. */
export interface OpenMatrix {
  /** Segment counts of the logs to open, ascending; the first is the baseline. */
  segmentCounts: number[];
  /** segment.bytes, small so the logs roll often. */
  segmentBytes: number;
  /** Records per batch. */
  batchRecords: number;
  /** Value bytes per record (each record also has a 12-byte key). */
  valueBytes: number;
  /** Also measure an unclean open that recovers every segment (checkpoint 0). */
  fullRecovery: boolean;
  /**
   * Also open a log with as few segments as the smallest log but as many bytes as the largest
   * (larger segments): separates the cost of bytes from the cost of files.
   */
  bytesControl: boolean;
}

/** The declared matrix. */
export const matrix: OpenMatrix = {
  segmentCounts: [10, 1000],
  segmentBytes: 16 << 10,
  batchRecords: 10,
  valueBytes: 100,
  fullRecovery: true,
  bytesControl: true,
};

/** Quick mode's changes to the declared matrix: rolling is fsync-bound (~4 ms a segment). */
const QUICK_MATRIX: Partial<OpenMatrix> = { segmentCounts: [10, 100] };

const SUITE = 'log/open';
const SECTION = 'open (page cache)';

/** A built log: where it is, what it holds. */
interface Built {
  dir: string;
  segmentBytes: number;
  segments: number;
  logEndOffset: number;
  lastBase: number;
  bytes: number;
}

/**
 * Builds a log in `dir` with `segmentBytes` segments, until it has `target.segments` segments
 * or `target.bytes` bytes, and closes it cleanly.
 */
async function build(dir: string, segmentBytes: number, target: { segments?: number; bytes?: number }, m: OpenMatrix): Promise<Built> {
  const log = await Log.open(dir, { config: { segmentBytes } });
  try {
    // One append at a time, so the log stops within a batch of the target.
    await fillLog(log, target, m.batchRecords, m.valueBytes, 0x0be4 + (target.segments ?? 0), 1);
    const bases = log.segmentBaseOffsets();
    return { dir, segmentBytes, segments: log.numberOfSegments, logEndOffset: log.logEndOffset, lastBase: bases[bases.length - 1], bytes: log.size };
  } finally {
    await log.close();
  }
}

/** The partition key of a directory's checkpoint entry (`<topic>-<partition>`, as Log uses). */
function checkpointKey(dir: string): string {
  return path.basename(dir);
}

/** Makes the next open unclean, with the recovery point at `recoveryPoint`. */
function makeUnclean(built: Built, recoveryPoint: number): void {
  fs.rmSync(path.join(built.dir, CLEAN_SHUTDOWN_FILE), { force: true });
  writeOffsetCheckpoint(path.join(built.dir, RECOVERY_POINT_CHECKPOINT_FILE), new Map([[checkpointKey(built.dir), recoveryPoint]]));
}

/** One measured operation: its spec, the log it opens (or lists) and its kind. */
interface Operation {
  spec: RunSpec;
  built: Built;
  op: string;
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<OpenMatrix> = {}): Promise<BenchRow[]> {
  const m = resolveMatrix(resolveMatrix(matrix, options.quick === true ? QUICK_MATRIX : {}), options.matrix);
  const log = options.log ?? (() => {});
  const counts = [...m.segmentCounts].sort((a, b) => a - b);
  const root = makeTempDir('open');
  try {
    const built = async (name: string, segmentBytes: number, target: { segments?: number; bytes?: number }): Promise<Built> => {
      const t0 = performance.now();
      const b = await build(path.join(root, `${name}-0`), segmentBytes, target, m);
      if (target.segments !== undefined && b.segments !== target.segments) throw new Error(`built ${b.segments} segments, expected ${target.segments}`);
      log(`  ${SUITE}: built ${b.segments} segments of ${b.segmentBytes} bytes (${b.bytes} bytes, ${b.logEndOffset} records) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return b;
    };
    const logs: Built[] = [];
    for (const count of counts) logs.push(await built(`segs${count}`, m.segmentBytes, { segments: count }));
    const smallest = logs[0];
    const largest = logs[logs.length - 1];
    // The bytes control: as few segments as the smallest log, as many bytes as the largest.
    // segment.bytes a little above bytes / segments, so that the last segment is the partial one.
    const bigSegment = Math.ceil(largest.bytes / smallest.segments) + 2 * Math.ceil(largest.bytes / largest.logEndOffset) * m.batchRecords;
    const fewBig = m.bytesControl && largest.segments > smallest.segments ? await built('big', bigSegment, { bytes: largest.bytes }) : null;

    /** Recovered-segment counts seen by each operation's opens (checked on every call). */
    const recovered = new Map<string, number>();
    const openOp = (name: string, b: Built, op: string, expect: { clean: boolean; recovered: number }, setup?: () => void): Operation => ({
      built: b,
      op,
      spec: {
        name,
        setup,
        fn: () => Log.open(b.dir, { config: { segmentBytes: b.segmentBytes } }),
        teardown: async (opened) => {
          const lg = opened as Log;
          try {
            const r = lg.loadReport;
            if (lg.logEndOffset !== b.logEndOffset || lg.numberOfSegments !== b.segments) {
              throw new Error(`${name}: opened ${lg.numberOfSegments} segments to offset ${lg.logEndOffset}, expected ${b.segments} to ${b.logEndOffset}`);
            }
            if (r.cleanShutdown !== expect.clean || r.recoveredSegments !== expect.recovered || r.truncatedBytes !== 0) {
              throw new Error(`${name}: load report ${JSON.stringify(r)}, expected clean ${expect.clean}, ${expect.recovered} recovered`);
            }
            recovered.set(name, r.recoveredSegments);
          } finally {
            await lg.close();
          }
        },
      },
    });
    const label = (b: Built, what: string) => `open ${b.segments} segments${b === fewBig ? ` of ${approxSize(b.segmentBytes)}` : ''} (${what})`;
    const ops: Operation[] = logs.map((b) => openOp(label(b, 'clean'), b, 'open clean', { clean: true, recovered: 0 }));
    const baseName = ops[0].spec.name;
    if (fewBig !== null) ops.push(openOp(label(fewBig, 'clean'), fewBig, 'open clean', { clean: true, recovered: 0 }));
    ops.push(openOp(label(largest, 'unclean, last segment recovers'), largest, 'open unclean', { clean: false, recovered: 1 }, () => makeUnclean(largest, largest.lastBase)));
    const listing = `readdir+stat ${largest.segments} segments`;
    ops.push({
      built: largest,
      op: 'readdir+stat',
      spec: {
        name: listing,
        fn: () => {
          let n = 0;
          for (const f of fs.readdirSync(largest.dir)) {
            if (!f.endsWith('.log')) continue;
            fs.statSync(path.join(largest.dir, f));
            n++;
          }
          if (n !== largest.segments) throw new Error(`listed ${n} .log files, expected ${largest.segments}`);
          return n;
        },
      },
    });
    recovered.set(listing, 0);
    const runs = runsFor(options, { quick: { warmupRuns: 1, runs: 5 }, normal: { warmupRuns: 2, runs: 15 } });
    log(`  ${SUITE}: ${ops.length} operations × ${runs.warmupRuns}+${runs.runs} rounds`);
    const r = await measureRuns(
      ops.map((o) => o.spec),
      runs,
      log,
    );
    const measured = ops.map((o) => ({ ...o, stats: statsFor(r, o.spec.name), base: statsFor(r, baseName) }));

    if (m.fullRecovery) {
      // Seconds per call (and as long again for the close, which fsyncs the rebuilt indexes):
      // fewer rounds, with the baseline measured again next to it.
      const full = openOp(label(largest, 'unclean, checkpoint 0: all recover'), largest, 'open unclean full', { clean: false, recovered: largest.segments }, () => makeUnclean(largest, 0));
      const again = openOp(baseName, smallest, 'open clean', { clean: true, recovered: 0 });
      const fullRuns = runsFor(options, { quick: { warmupRuns: 0, runs: 2 }, normal: { warmupRuns: 1, runs: 3 } });
      log(`  ${SUITE}: full recovery, 2 operations × ${fullRuns.warmupRuns}+${fullRuns.runs} rounds`);
      const f = await measureRuns([again.spec, full.spec], fullRuns, log);
      measured.push({ ...full, stats: statsFor(f, full.spec.name), base: statsFor(f, baseName) });
    }

    return measured.map(({ spec, built: b, op, stats, base }): BenchRow => ({
      suite: SUITE,
      section: SECTION,
      name: spec.name,
      params: { op, segments: b.segments, segmentBytes: b.segmentBytes, logBytes: b.bytes, records: b.logEndOffset, crc32c: crcImplementation() },
      stats,
      metrics: {
        segments: b.segments,
        MB: b.bytes / 1e6,
        recovered: recovered.get(spec.name) ?? 0,
        '×base': stats.p50Ns / base.p50Ns,
        'µs/segment': stats.p50Ns / 1000 / b.segments,
      },
      baseline: baseName,
    }));
  } finally {
    removeDir(root);
  }
}
