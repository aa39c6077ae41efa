/**
 * Log layer, reads: sequential scans and random lookups on a log of `logBytes` bytes, against
 * raw `fs.readSync` of the same segment files, measured in the same run.
 *
 * The log is built once per run through `log.append` (batches of `batchRecords` records with
 * `valueBytes`-byte values and 12-byte keys, uncompressed, record timestamps one millisecond
 * apart), in segments of `segmentBytes`, closed cleanly and reopened; it is read from the page
 * cache (it was just written: nothing here measures the disk). It lives under os.tmpdir() and
 * is removed at the end.
 *
 * Scans (whole operations, interleaved rounds, see `measureRuns` in bench/lib/runs.ts):
 * - `raw readSync (one buffer)`: every segment's `.log` file in `readMaxBytes` chunks into one
 *   reused buffer (descriptors opened beforehand). Baseline of `×raw`.
 * - `raw readSync (fresh buffers)`: the same into a new `Buffer.allocUnsafe` per chunk, as
 *   `materialize()` returns a new Buffer: what allocating (and first touching) the memory adds.
 * - `read+materialize+batches`: `log.read(offset, { maxBytes })`, `slice.materialize()`, walk
 *   `slice.batches(bytes)` to the end of the log, as a fetch loop does (a read may end inside a
 *   batch; the next read starts again at that batch). No CRC check, no record decoding.
 * - `… + ensureValid`: the same, checking every batch's CRC (a consumer with check.crcs).
 * - `… + slice.records()`: the same, decoding every record synchronously (CRC checked).
 * - `log.records()`: the async generator, decoding every record (CRC checked).
 *   Each scan checks it saw every record of the log.
 *
 * Random lookups (each call timed on its own, see `measureLatencies`), over a seeded sequence:
 * - `raw pread 4 KiB`: `fs.readSync` of 4 KiB at a random 4 KiB-aligned position of a random
 *   segment file (files weighted by size). Baseline of `×raw`.
 * - `read+first batch`: `log.read(randomOffset, { maxBytes: 1 })` (one whole batch, as
 *   minOneMessage), `materialize()`, the first batch of `slice.batches(bytes)`; checks that it
 *   holds the offset.
 * - `offsetForTimestamp`: a random record's timestamp; checks the answer is that record.
 *
 * Figures: `MB/s` (10^6 bytes of log per second) and `records/s` from the median; `×raw` =
 * median / raw median; `%raw` = 100 / `×raw`; lookups: `lookups/s` from the median, p50 and p99
 * per call, `×raw p99` = p99 / raw p99.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Log, type LogSlice } from '../../src/index.js';
import type { RecordBatch } from '../../src/records/index.js';
import { seededRng } from '../lib/data.js';
import { resolveMatrix, sizeLabel, statsFor, type BenchRow, type BenchRunOptions, type TimingStats } from '../lib/harness.js';
import { makeTempDir, measureLatencies, measureRuns, removeDir, runsFor, type RunSpec } from '../lib/runs.js';
import { FILL_T0, approxSize, crcImplementation, fillLog } from '../lib/storage.js';

/** The parameter matrix of this suite. */
export interface ReadMatrix {
  /** Size of the log to build and scan. */
  logBytes: number;
  /** segment.bytes of that log. */
  segmentBytes: number;
  /** Records per batch. */
  batchRecords: number;
  /** Value bytes per record (each record also has a 12-byte key). */
  valueBytes: number;
  /** maxBytes of each scan read, and the raw baseline's chunk size. */
  readMaxBytes: number;
  /** Random lookups timed per operation. */
  lookups: number;
}

/** The declared matrix. */
export const matrix: ReadMatrix = {
  logBytes: 256 << 20,
  segmentBytes: 64 << 20,
  batchRecords: 100,
  valueBytes: 100,
  readMaxBytes: 1 << 20,
  lookups: 20_000,
};

/** Quick mode's changes to the declared matrix: a 16 MiB log. */
const QUICK_MATRIX: Partial<ReadMatrix> = { logBytes: 16 << 20, segmentBytes: 4 << 20, lookups: 2000 };

const SUITE = 'log/read';
const RAW_LOOKUP_BYTES = 4096;

/** The raw view of a log's segment files, for the baselines. */
interface RawFiles {
  fds: number[];
  sizes: number[];
  total: number;
}

function openRaw(dir: string): RawFiles {
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort();
  const fds = names.map((n) => fs.openSync(path.join(dir, n), 'r'));
  const sizes = fds.map((fd) => fs.fstatSync(fd).size);
  return { fds, sizes, total: sizes.reduce((a, b) => a + b, 0) };
}

/**
 * Reads every file in `chunkBytes` pieces, into `reused` when given, else into a fresh
 * `Buffer.allocUnsafe` per piece (as `materialize()` returns a new Buffer); returns the bytes.
 */
function rawScan(raw: RawFiles, chunkBytes: number, reused: Buffer | null): number {
  let total = 0;
  for (const fd of raw.fds) {
    let pos = 0;
    for (;;) {
      const chunk = reused ?? Buffer.allocUnsafe(chunkBytes);
      const n = fs.readSync(fd, chunk, 0, chunkBytes, pos);
      if (n === 0) break;
      pos += n;
    }
    total += pos;
  }
  return total;
}


/**
 * The fetch loop: reads from the log start to its end, `maxBytes` at a time, calling `onSlice`
 * with each slice and its bytes; `onSlice` returns the next offset to read. Returns the
 * records seen.
 */
function scan(log: Log, maxBytes: number, onSlice: (slice: LogSlice, bytes: Buffer, offset: number) => number): number {
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    const slice = log.read(offset, { maxBytes });
    const next = onSlice(slice, slice.materialize(), offset);
    if (next <= offset) throw new Error(`scan stuck at offset ${offset}`);
    offset = next;
  }
  return offset - log.logStartOffset;
}

/** Walks a slice's batches; returns the offset after the last complete one. */
function walkBatches(slice: LogSlice, bytes: Buffer, offset: number, check: boolean): number {
  let next = offset;
  for (const batch of slice.batches(bytes)) {
    if (check) batch.ensureValid();
    next = batch.nextOffset;
  }
  return next;
}

/** Value bytes of decoded records, kept so that decoding cannot be optimised away. */
let decodedValueBytes = 0;

/** Decodes every record of a slice (CRC checked); returns the offset after the last one. */
function decodeRecords(slice: LogSlice, bytes: Buffer, offset: number): number {
  let next = offset;
  for (const r of slice.records(bytes)) {
    decodedValueBytes += r.value === null ? 0 : r.value.length;
    next = r.offset + 1;
  }
  return next;
}

/** Throws unless a scan saw `seen` of `expected` records. */
function expectAll(what: string, seen: number, expected: number): number {
  if (seen !== expected) throw new Error(`${what}: saw ${seen} records, expected ${expected}`);
  return seen;
}

/** Builds the log: fills it, closes it cleanly, reopens it. */
async function buildLog(dir: string, m: ReadMatrix, log: (line: string) => void): Promise<Log> {
  const config = { segmentBytes: m.segmentBytes };
  const t0 = performance.now();
  const writer = await Log.open(dir, { config });
  await fillLog(writer, { bytes: m.logBytes }, m.batchRecords, m.valueBytes, 0x5ca11);
  await writer.close();
  const reader = await Log.open(dir, { config });
  log(`  ${SUITE}: crc32c ${crcImplementation()}; built ${reader.size} bytes, ${reader.numberOfSegments} segments, ${reader.logEndOffset} records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return reader;
}

/** One row. */
function row(section: string, name: string, params: BenchRow['params'], stats: TimingStats, metrics: BenchRow['metrics'], baseline: string): BenchRow {
  return { suite: SUITE, section, name, params, stats, metrics, baseline };
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<ReadMatrix> = {}): Promise<BenchRow[]> {
  const m = resolveMatrix(resolveMatrix(matrix, options.quick === true ? QUICK_MATRIX : {}), options.matrix);
  const log = options.log ?? (() => {});
  const root = makeTempDir('read');
  const rows: BenchRow[] = [];
  let reader: Log | null = null;
  let raw: RawFiles | null = null;
  try {
    reader = await buildLog(path.join(root, 'scan-0'), m, log);
    const lg = reader;
    const files = openRaw(lg.dir);
    raw = files;
    if (files.total !== lg.size) throw new Error(`segment files hold ${files.total} bytes, the log ${lg.size}`);
    const records = lg.logEndOffset - lg.logStartOffset;
    const common = { logBytes: lg.size, segments: lg.numberOfSegments, records, batchRecords: m.batchRecords, valueBytes: m.valueBytes, crc32c: crcImplementation() };

    // ------------------------------------------------------------ sequential scans
    const chunk = Buffer.allocUnsafe(m.readMaxBytes);
    const mb = sizeLabel(m.readMaxBytes);
    const n = {
      raw: `raw readSync (${mb} chunks, one buffer)`,
      rawFresh: `raw readSync (${mb} chunks, fresh buffers)`,
      batches: `read+materialize+batches (maxBytes ${mb})`,
      crc: `read+materialize+batches+ensureValid`,
      records: `read+materialize+slice.records() (sync)`,
      asyncRecords: `log.records() (async generator)`,
      logBatches: `log.batches() (one reused ${mb} buffer)`,
      logBatchesCrc: `log.batches() + ensureValid`,
      recordsSync: `log.recordsSync()`,
    };
    /** Counts records in the batches a sequential `log.batches()` scan yields. */
    const countBatches = (crc: boolean): number => {
      let seen = 0;
      for (const b of lg.batches(lg.logStartOffset, { chunkBytes: m.readMaxBytes })) {
        if (crc) b.ensureValid();
        seen += b.count;
      }
      return seen;
    };
    const scans: RunSpec[] = [
      {
        name: n.raw,
        fn: () => {
          const bytes = rawScan(files, m.readMaxBytes, chunk);
          if (bytes !== lg.size) throw new Error(`raw scan read ${bytes} bytes, expected ${lg.size}`);
        },
      },
      {
        name: n.rawFresh,
        fn: () => {
          const bytes = rawScan(files, m.readMaxBytes, null);
          if (bytes !== lg.size) throw new Error(`raw scan read ${bytes} bytes, expected ${lg.size}`);
        },
      },
      { name: n.batches, fn: () => expectAll(n.batches, scan(lg, m.readMaxBytes, (s, b, o) => walkBatches(s, b, o, false)), records) },
      { name: n.crc, fn: () => expectAll(n.crc, scan(lg, m.readMaxBytes, (s, b, o) => walkBatches(s, b, o, true)), records) },
      { name: n.records, fn: () => expectAll(n.records, scan(lg, m.readMaxBytes, decodeRecords), records) },
      { name: n.logBatches, fn: () => expectAll(n.logBatches, countBatches(false), records) },
      { name: n.logBatchesCrc, fn: () => expectAll(n.logBatchesCrc, countBatches(true), records) },
      {
        name: n.recordsSync,
        fn: () => {
          let seen = 0;
          for (const r of lg.recordsSync()) {
            decodedValueBytes += r.value === null ? 0 : r.value.length;
            if (r.offset === lg.logStartOffset + seen) seen++;
          }
          return expectAll(n.recordsSync, seen, records);
        },
      },
      {
        name: n.asyncRecords,
        fn: async () => {
          let seen = 0;
          for await (const r of lg.records()) {
            decodedValueBytes += r.value === null ? 0 : r.value.length;
            if (r.offset === lg.logStartOffset + seen) seen++;
          }
          return expectAll(n.asyncRecords, seen, records);
        },
      },
    ];
    const runs = runsFor(options, { quick: { warmupRuns: 1, runs: 3 }, normal: { warmupRuns: 1, runs: 7 } });
    log(`  ${SUITE}: scans (${scans.length} operations × ${runs.warmupRuns}+${runs.runs} rounds)`);
    const s = await measureRuns(scans, runs, log);
    const rawScanStats = statsFor(s, n.raw);
    const ops: [string, string][] = [
      [n.raw, 'raw'],
      [n.rawFresh, 'raw fresh'],
      [n.batches, 'batches'],
      [n.crc, 'batches+crc'],
      [n.records, 'records sync'],
      [n.asyncRecords, 'records async'],
      [n.logBatches, 'log.batches'],
      [n.logBatchesCrc, 'log.batches+crc'],
      [n.recordsSync, 'recordsSync'],
    ];
    for (const [name, op] of ops) {
      const st = statsFor(s, name);
      rows.push(
        row(
          `sequential scan of ${approxSize(lg.size)} (page cache)`,
          name,
          { ...common, op, readMaxBytes: m.readMaxBytes },
          st,
          {
            'MB/s': (lg.size / st.p50Ns) * 1e3,
            'records/s': records / (st.p50Ns / 1e9),
            '×raw': st.p50Ns / rawScanStats.p50Ns,
            '%raw': (100 * rawScanStats.p50Ns) / st.p50Ns,
          },
          n.raw,
        ),
      );
    }

    // ------------------------------------------------------------ random lookups
    const rng = seededRng(0x10c4);
    const offsets = Array.from({ length: m.lookups }, () => lg.logStartOffset + Math.floor(rng() * records));
    const rawAt = Array.from({ length: m.lookups }, () => {
      let at = Math.floor(rng() * files.total);
      let k = 0;
      while (at >= files.sizes[k]) at -= files.sizes[k++];
      const pos = Math.min(at - (at % RAW_LOOKUP_BYTES), Math.max(0, files.sizes[k] - RAW_LOOKUP_BYTES));
      return { fd: files.fds[k], pos };
    });
    const page = Buffer.allocUnsafe(RAW_LOOKUP_BYTES);
    const l = {
      raw: `raw pread ${sizeLabel(RAW_LOOKUP_BYTES)} at a random position`,
      read: 'read(random offset, maxBytes 1)+first batch',
      time: 'offsetForTimestamp(random record timestamp)',
    };
    let batchBytes = 0;
    const lookups = [
      { name: l.raw, fn: (i: number) => fs.readSync(rawAt[i].fd, page, 0, RAW_LOOKUP_BYTES, rawAt[i].pos) },
      {
        name: l.read,
        fn: (i: number) => {
          const offset = offsets[i];
          const slice = lg.read(offset, { maxBytes: 1 });
          const bytes = slice.materialize();
          const first = slice.batches(bytes).next();
          const batch = first.done === true ? null : (first.value as RecordBatch);
          if (batch === null || batch.baseOffset > offset || batch.lastOffset < offset) throw new Error(`read(${offset}) did not return the batch holding it`);
          batchBytes = bytes.length;
          return batch;
        },
      },
      {
        name: l.time,
        fn: (i: number) => {
          const found = lg.offsetForTimestamp(FILL_T0 + offsets[i]);
          if (found === null || found.offset !== offsets[i]) throw new Error(`offsetForTimestamp(${FILL_T0 + offsets[i]}) = ${JSON.stringify(found)}, expected offset ${offsets[i]}`);
          return found;
        },
      },
    ];
    log(`  ${SUITE}: random lookups (${lookups.length} operations × ${m.lookups} calls)`);
    const r = await measureLatencies(lookups, m.lookups, Math.min(m.lookups, 2000));
    const rawLookup = statsFor(r, l.raw);
    for (const [name, op] of [
      [l.raw, 'raw'],
      [l.read, 'read'],
      [l.time, 'offsetForTimestamp'],
    ] as const) {
      const st = statsFor(r, name);
      rows.push(
        row(
          `random lookups (${approxSize(lg.size)}, ${lg.numberOfSegments} segments, page cache)`,
          name,
          { ...common, op, bytes: op === 'raw' ? RAW_LOOKUP_BYTES : op === 'read' ? batchBytes : 0 },
          st,
          { 'lookups/s': 1e9 / st.p50Ns, '×raw': st.p50Ns / rawLookup.p50Ns, '×raw p99': st.p99Ns / rawLookup.p99Ns },
          l.raw,
        ),
      );
    }
  } finally {
    if (raw !== null) for (const fd of raw.fds) fs.closeSync(fd);
    if (reader !== null) await reader.close();
    removeDir(root);
  }
  log(`  ${SUITE}: decoded ${decodedValueBytes} value bytes in all`);
  return rows;
}
