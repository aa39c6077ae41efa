/**
 * Log layer, writes: `Log.append` and `Log.appendBatches` against raw `fs.writeSync` of the same
 * bytes, measured in the same run.
 *
 * For each batch size (records of `valueBytes`-byte values with 12-byte keys, `batchCounts`
 * records per batch), uncompressed, one tinybench run per durability setting:
 * - page cache (the log's defaults: flush.messages and flush.ms unbounded, no fsync):
 *   - `raw write (1 write/batch)`: `fs.writeSync` of one encoded batch, appending to a file:
 *     the same bytes in the same chunking (as many write calls as batches). Baseline of `×raw`.
 *   - `raw write (1 write/window)`: one `fs.writeSync` of a whole window of batches, the
 *     best case for raw bandwidth. Baseline of `×raw 1w`.
 *   - `append awaited`: `await log.append(records)`, one at a time: one group commit per batch.
 *   - `append pipelined`: a window of W `log.append(records)` calls, then `await Promise.all`:
 *     the window is coalesced into group commits (one writev each).
 *   - `copy`: `Buffer.from(batch)`, the copy the next two rows include.
 *   - `appendBatches awaited` / `pipelined`: the batch encoded once with `buildBatchSync` outside
 *     the timed loop, passed as a fresh copy (appendBatches adopts the buffer and rewrites its
 *     baseOffset, so a buffer cannot be handed in twice). `net ×raw` subtracts the copy.
 * - durable (`flushMessages: 1`, an fdatasync per group commit before the append resolves):
 *   `raw write+fdatasync` per batch and per window, `append awaited` and `append pipelined`.
 *
 * W = min(`windowBatches`, floor(`windowBytes` / batch bytes)). Window rows are timed per
 * window and reported per batch (÷W). Every seglog task appends to its own fresh log (segment
 * size 1 GiB, Kafka's default, so no task rolls) and every raw task to its own file; all of
 * them live in a temporary directory under os.tmpdir() removed after each batch size. Between
 * samples (untimed) a log or file past `fileCapBytes` is emptied (`log.truncateTo(0)`,
 * `ftruncate`): unbounded, the run would write gigabytes, cross the kernel's dirty-page limits
 * and measure the disk for every writer alike. Before each truncation and at the end, each log
 * is checked: its size must be exactly (batches appended × batch bytes).
 *
 * Figures: `records/s`, `MB/s` (10^6 bytes of log: encoded batches, the bytes that reach the
 * file) per batch from the median; `×raw` = median / raw median (same chunking); `×raw 1w` =
 * median / one-write-per-window median; `%raw` = 100 / `×raw`, the share of raw bandwidth.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Log } from '../../src/log/log.js';
import { buildBatchSync } from '../../src/records/index.js';
import { makeRecords } from '../lib/data.js';
import { measure, resolveMatrix, settingsFor, sizeLabel, statsFor, type BenchRow, type BenchRunOptions, type TaskSpec, type TimingStats } from '../lib/harness.js';
import { makeTempDir, perItem, removeDir } from '../lib/runs.js';
import { crcImplementation } from '../lib/storage.js';

/** The parameter matrix of this suite. */
export interface AppendMatrix {
  /** Records per batch (one `append` call appends one batch). */
  batchCounts: number[];
  /** Value bytes per record (each record also has a 12-byte key). */
  valueBytes: number;
  /** Most appends in flight in a pipelined window. */
  windowBatches: number;
  /** Most bytes in a pipelined window (caps W for large batches). */
  windowBytes: number;
  /** Also measure the durable variant (flushMessages 1 vs write+fdatasync). */
  durable: boolean;
  /**
   * Largest size of any log or raw file: past it, the file is emptied between samples, so the
   * run stays in the page cache below the kernel's dirty-writeback thresholds.
   */
  fileCapBytes: number;
}

/** The declared matrix. */
export const matrix: AppendMatrix = {
  batchCounts: [1, 10, 100, 1000],
  valueBytes: 100,
  windowBatches: 1000,
  windowBytes: 16 << 20,
  durable: true,
  fileCapBytes: 64 << 20,
};

/** Quick mode's changes to the declared matrix: smaller windows. */
const QUICK_MATRIX: Partial<AppendMatrix> = { windowBytes: 4 << 20 };

const SUITE = 'log/append';
const SECTION_CACHE = 'page cache (flush.messages unbounded: no fsync)';
const SECTION_DURABLE = 'durable (flushMessages 1: fdatasync per group commit)';

/** One batch size: its records, encoded batch and window. */
interface Cell {
  count: number;
  valueBytes: number;
  label: string;
  records: ReturnType<typeof makeRecords>['records'];
  batch: Buffer;
  window: number;
  windowBuf: Buffer;
}

/** A raw file written at increasing positions, like a log; restarted empty past the cap. */
class RawFile {
  private position = 0;

  constructor(
    readonly fd: number,
    private readonly capBytes: number,
  ) {}

  /** Writes all of `buf` at the end of the file. */
  write(buf: Buffer): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, this.position + done);
    this.position += buf.length;
  }

  /** Untimed, between samples: past the cap, empties the file (its dirty pages are dropped). */
  trim(): void {
    if (this.position < this.capBytes) return;
    fs.ftruncateSync(this.fd, 0);
    this.position = 0;
  }
}

/** Starts `w` calls of `f` without awaiting them in between, then awaits them all. */
function inFlight(w: number, f: () => Promise<unknown>): Promise<unknown[]> {
  const all = new Array<Promise<unknown>>(w);
  for (let i = 0; i < w; i++) all[i] = f();
  return Promise.all(all);
}

/** Checks that `log` holds only whole batches of `count` records and `batchBytes` bytes. */
function checkLog(log: Log, count: number, batchBytes: number): void {
  if (log.logEndOffset === 0) return;
  const batches = log.logEndOffset / count;
  if (!Number.isInteger(batches) || log.size !== batches * batchBytes) {
    throw new Error(`${log.dir}: ${log.logEndOffset} records in ${log.size} bytes, expected whole batches of ${count} records in ${batchBytes} bytes`);
  }
  const last = log.read(log.logEndOffset - 1).batches().next();
  if (last.done === true || last.value.count !== count) throw new Error(`${log.dir}: last batch unreadable`);
}

/**
 * A batch size's data directory: fresh logs and raw files, each kept under the cap between
 * samples, all checked, closed and removed by {@link Files.dispose}.
 */
class Files {
  readonly dir = makeTempDir('append');
  private readonly logs: { log: Log; batchBytes: number; count: number }[] = [];
  private readonly raws: RawFile[] = [];

  constructor(private readonly capBytes: number) {}

  /** A fresh log in its own partition directory. */
  async log(name: string, cell: Cell, config: Record<string, unknown> = {}): Promise<Log> {
    const log = await Log.open(path.join(this.dir, `${name}-0`), { config });
    this.logs.push({ log, batchBytes: cell.batch.length, count: cell.count });
    return log;
  }

  /** Untimed, between samples: a log past the cap is checked, then truncated to empty. */
  async trimLog(log: Log): Promise<void> {
    if (log.size < this.capBytes) return;
    const entry = this.logs.find((l) => l.log === log);
    if (entry !== undefined) checkLog(log, entry.count, entry.batchBytes);
    await log.truncateTo(0);
  }

  /** A fresh raw file. */
  raw(name: string): RawFile {
    const file = new RawFile(fs.openSync(path.join(this.dir, `${name}.raw`), 'w'), this.capBytes);
    this.raws.push(file);
    return file;
  }

  /**
   * Checks every log, then empties and closes the logs (so close has nothing to fsync), closes
   * the raw files and removes the directory.
   */
  async dispose(): Promise<void> {
    try {
      for (const { log, batchBytes, count } of this.logs) checkLog(log, count, batchBytes);
    } finally {
      for (const { log } of this.logs) {
        await log.truncateFullyAndStartAt(0);
        await log.close();
      }
      for (const raw of this.raws) fs.closeSync(raw.fd);
      removeDir(this.dir);
    }
  }
}

/** The task names of one batch size. */
function names(label: string, window: number) {
  return {
    rawBatch: `raw write ${label} (1 write/batch)`,
    rawWindow: `raw write ${label} (1 write/window of ${window})`,
    awaited: `append awaited ${label}`,
    pipelined: `append pipelined ${label} (window ${window})`,
    copy: `copy ${label} (Buffer.from)`,
    batchesAwaited: `appendBatches awaited ${label} (+copy)`,
    batchesPipelined: `appendBatches pipelined ${label} (window ${window}, +copy)`,
    dRawBatch: `raw write+fdatasync ${label} (1/batch)`,
    dRawWindow: `raw write+fdatasync ${label} (1/window of ${window})`,
    dAwaited: `append awaited durable ${label}`,
    dPipelined: `append pipelined durable ${label} (window ${window})`,
  };
}

/** Builds the rows of one section from per-batch statistics. */
function sectionRows(
  section: string,
  cell: Cell,
  durable: boolean,
  entries: { name: string; op: string; mode: string; stats: TimingStats; window: number }[],
  rawBatch: string,
  rawWindow: string,
  copyNs?: number,
): BenchRow[] {
  const byName = new Map(entries.map((e) => [e.name, e.stats]));
  const raw = byName.get(rawBatch) as TimingStats;
  const rawW = byName.get(rawWindow) as TimingStats;
  return entries.map((e) => {
    const p50 = e.stats.p50Ns;
    const metrics: BenchRow['metrics'] = {
      'records/s': cell.count / (p50 / 1e9),
      'MB/s': (cell.batch.length / p50) * 1e3,
      '×raw': p50 / raw.p50Ns,
      '×raw 1w': p50 / rawW.p50Ns,
      '%raw': (100 * raw.p50Ns) / p50,
    };
    if (copyNs !== undefined && e.op === 'appendBatches') metrics['net ×raw'] = (p50 - copyNs) / raw.p50Ns;
    return {
      suite: SUITE,
      section,
      name: e.name,
      params: { op: e.op, mode: e.mode, records: cell.count, valueBytes: cell.valueBytes, batchBytes: cell.batch.length, window: e.window, durable: durable ? 1 : 0, crc32c: crcImplementation() },
      stats: e.stats,
      metrics,
      baseline: rawBatch,
    };
  });
}

/** Measures one batch size: the page-cache run, then the durable run. */
async function runCell(cell: Cell, durable: boolean, cap: number, options: BenchRunOptions<AppendMatrix>): Promise<BenchRow[]> {
  const settings = settingsFor(options);
  const log = options.log ?? (() => {});
  const n = names(cell.label, cell.window);
  const w = cell.window;
  const rows: BenchRow[] = [];
  const files = new Files(cap);
  try {
    const awaitedLog = await files.log('awaited', cell);
    const pipelinedLog = await files.log('pipelined', cell);
    const batchesAwaitedLog = await files.log('batches-awaited', cell);
    const batchesPipelinedLog = await files.log('batches-pipelined', cell);
    const rawBatch = files.raw('batch');
    const rawWindow = files.raw('window');
    const specs: TaskSpec[] = [
      { name: n.rawBatch, fn: () => rawBatch.write(cell.batch), afterSample: () => rawBatch.trim() },
      { name: n.rawWindow, fn: () => rawWindow.write(cell.windowBuf), afterSample: () => rawWindow.trim() },
      { name: n.awaited, fn: () => awaitedLog.append(cell.records), afterSample: () => files.trimLog(awaitedLog) },
      { name: n.pipelined, fn: () => inFlight(w, () => pipelinedLog.append(cell.records)), afterSample: () => files.trimLog(pipelinedLog) },
      { name: n.copy, fn: () => Buffer.from(cell.batch) },
      {
        name: n.batchesAwaited,
        fn: () => batchesAwaitedLog.appendBatches(Buffer.from(cell.batch)),
        afterSample: () => files.trimLog(batchesAwaitedLog),
      },
      {
        name: n.batchesPipelined,
        fn: () => inFlight(w, () => batchesPipelinedLog.appendBatches(Buffer.from(cell.batch))),
        afterSample: () => files.trimLog(batchesPipelinedLog),
      },
    ];
    log(`  ${SUITE}: ${cell.label}, page cache (${specs.length} tasks, window ${w}, crc32c ${crcImplementation()})`);
    const r = await measure(specs, settings);
    const copyNs = statsFor(r, n.copy).p50Ns;
    rows.push(
      ...sectionRows(
        SECTION_CACHE,
        cell,
        false,
        [
          { name: n.rawBatch, op: 'raw', mode: 'write/batch', stats: statsFor(r, n.rawBatch), window: 1 },
          { name: n.rawWindow, op: 'raw', mode: 'write/window', stats: perItem(statsFor(r, n.rawWindow), w), window: w },
          { name: n.awaited, op: 'append', mode: 'awaited', stats: statsFor(r, n.awaited), window: 1 },
          { name: n.pipelined, op: 'append', mode: 'pipelined', stats: perItem(statsFor(r, n.pipelined), w), window: w },
          { name: n.copy, op: 'copy', mode: '-', stats: statsFor(r, n.copy), window: 1 },
          { name: n.batchesAwaited, op: 'appendBatches', mode: 'awaited', stats: statsFor(r, n.batchesAwaited), window: 1 },
          { name: n.batchesPipelined, op: 'appendBatches', mode: 'pipelined', stats: perItem(statsFor(r, n.batchesPipelined), w), window: w },
        ],
        n.rawBatch,
        n.rawWindow,
        copyNs,
      ),
    );

    if (durable) {
      const dAwaitedLog = await files.log('durable-awaited', cell, { flushMessages: 1 });
      const dPipelinedLog = await files.log('durable-pipelined', cell, { flushMessages: 1 });
      const dRawBatch = files.raw('durable-batch');
      const dRawWindow = files.raw('durable-window');
      const dSpecs: TaskSpec[] = [
        {
          name: n.dRawBatch,
          fn: () => {
            dRawBatch.write(cell.batch);
            fs.fdatasyncSync(dRawBatch.fd);
          },
          afterSample: () => dRawBatch.trim(),
        },
        {
          name: n.dRawWindow,
          fn: () => {
            dRawWindow.write(cell.windowBuf);
            fs.fdatasyncSync(dRawWindow.fd);
          },
          afterSample: () => dRawWindow.trim(),
        },
        { name: n.dAwaited, fn: () => dAwaitedLog.append(cell.records), afterSample: () => files.trimLog(dAwaitedLog) },
        { name: n.dPipelined, fn: () => inFlight(w, () => dPipelinedLog.append(cell.records)), afterSample: () => files.trimLog(dPipelinedLog) },
      ];
      log(`  ${SUITE}: ${cell.label}, durable (${dSpecs.length} tasks, window ${w})`);
      const d = await measure(dSpecs, settings);
      rows.push(
        ...sectionRows(
          SECTION_DURABLE,
          cell,
          true,
          [
            { name: n.dRawBatch, op: 'raw', mode: 'write+fdatasync/batch', stats: statsFor(d, n.dRawBatch), window: 1 },
            { name: n.dRawWindow, op: 'raw', mode: 'write+fdatasync/window', stats: perItem(statsFor(d, n.dRawWindow), w), window: w },
            { name: n.dAwaited, op: 'append', mode: 'awaited', stats: statsFor(d, n.dAwaited), window: 1 },
            { name: n.dPipelined, op: 'append', mode: 'pipelined', stats: perItem(statsFor(d, n.dPipelined), w), window: w },
          ],
          n.dRawBatch,
          n.dRawWindow,
        ),
      );
    }
  } finally {
    await files.dispose();
  }
  return rows;
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<AppendMatrix> = {}): Promise<BenchRow[]> {
  const m = resolveMatrix(resolveMatrix(matrix, options.quick === true ? QUICK_MATRIX : {}), options.matrix);
  const rows: BenchRow[] = [];
  for (const count of m.batchCounts) {
    const set = makeRecords(0xa99e + count, count, m.valueBytes);
    // A fixed clock, so the encoded batch is the same on every run (and as log.append encodes it).
    const batch = buildBatchSync(set.records, { now: 1_700_000_000_000 });
    const window = Math.max(1, Math.min(m.windowBatches, Math.floor(m.windowBytes / batch.length)));
    const cell: Cell = {
      count,
      valueBytes: m.valueBytes,
      label: `${sizeLabel(m.valueBytes)}×${count}`,
      records: set.records,
      batch,
      window,
      windowBuf: Buffer.concat(new Array<Buffer>(window).fill(batch)),
    };
    rows.push(...(await runCell(cell, m.durable, m.fileCapBytes, options)));
  }
  return rows;
}
