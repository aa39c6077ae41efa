/**
 * Records layer: where async (thread-pool) compression starts to pay, per codec, to check
 * the per-codec `ASYNC_THRESHOLDS`
 * (src/records/compression/codec.ts).
 *
 * For each codec and input size, four operations on a JSON-ish records-region stream, calling
 * the libraries directly so that the async variant always takes the thread pool:
 * - gzip:   `zlib.gzipSync` / `zlib.gzip`, `zlib.gunzipSync` / `zlib.gunzip`, default options
 *   (as src/records/compression/gzip.ts calls them). zlib's async calls move output in
 *   `chunkSize` pieces (16 KiB by default), one thread-pool round trip per piece.
 * - gzip+chunk: the same calls with `chunkSize` = max(64 KiB, the uncompressed size), so one
 *   round trip carries the whole output; shows what a larger chunk would buy the codec.
 * - snappy: `compressSync` / `compress`, `uncompressSync` / `uncompress` on the whole input
 * - snappy×32K: the same calls on 32 KiB chunks, as the xerial codec issues them (the async
 *   variant awaits `Promise.all` of one call per chunk, as `snappy.compress` does)
 * - lz4:    `compressFrameSync` / `compressFrame`, `decompressFrameSync` / `decompressFrame`
 * - zstd:   the project's codec, `compressSync` / `compress` and `decompressSync` /
 *   `decompress`. Its async path never leaves the main thread: at or above the threshold it
 *   streams in 256 KiB steps with a fresh context and yields to the event loop between steps;
 *   below the threshold it runs the sync call. So its "async" figures show the cost of
 *   stepping, not of a thread-pool hop.
 *
 * Reading the figures: `hop` = async median − sync median, the latency a thread-pool round trip
 * adds; `loop busy` = main-thread time per call (event-loop utilisation), which is the whole call
 * when sync and only the hand-off when async. Going async is worth it once the sync call costs at
 * least as much as the hop (async ≤ 2× sync): from there on it frees more loop time than it adds
 * latency. The `break-even` section finds that size by interpolation between matrix points; for
 * decompression it is stated as compressed input bytes, which is what the decompress threshold
 * compares.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import lz4Lib from 'lz4-napi';
import snappyLib from 'snappy';
import { ASYNC_THRESHOLDS } from '../../src/records/compression/codec.js';
import { zstd } from '../../src/records/index.js';
import { jsonishStream } from '../lib/data.js';
import {
  measure,
  resolveMatrix,
  settingsFor,
  sizeLabel,
  statsFor,
  type BenchRow,
  type BenchRunOptions,
  type TaskSpec,
  type TimingStats,
} from '../lib/harness.js';

/** The codec variants this suite can measure. */
export type Variant = 'gzip' | 'gzip+chunk' | 'snappy' | 'snappy×32K' | 'lz4' | 'zstd';

/** The parameter matrix of this suite. */
export interface AsyncThresholdMatrix {
  /** Codec variants. */
  codecs: Variant[];
  /** Uncompressed input sizes, bytes. */
  sizes: number[];
}

/** The declared matrix. */
export const matrix: AsyncThresholdMatrix = {
  codecs: ['gzip', 'gzip+chunk', 'snappy', 'snappy×32K', 'lz4', 'zstd'],
  sizes: [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20],
};

const SUITE = 'records/async-threshold';
/** snappy-java's block size, which the xerial codec uses for its chunks. */
const SNAPPY_CHUNK_BYTES = 32 * 1024;
/** The decompression bound passed to the zstd codec (far above any input here). */
const MAX_BYTES = 64 << 20;

/** Sync and async compress and decompress of one codec variant. */
interface Ops {
  /** Compresses on the calling thread. */
  compressSync(input: Buffer): unknown;
  /** Compresses through the thread pool (zstd: the codec's async entry). */
  compressAsync(input: Buffer): Promise<unknown>;
  /** Compresses in the form the decompress calls take. */
  prepare(input: Buffer): Buffer[];
  /** Decompresses what `prepare` made; `size` is the uncompressed size, for output sizing. */
  decompressSync(parts: Buffer[], size: number): unknown;
  /** Like `decompressSync`, through the thread pool. */
  decompressAsync(parts: Buffer[], size: number): Promise<unknown>;
}

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

/** `input` in consecutive views of at most `size` bytes. */
function chunks(input: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < input.length; pos += size) out.push(input.subarray(pos, Math.min(input.length, pos + size)));
  return out;
}

/** zlib options whose output chunk holds `size` bytes (at least zlib's 64 KiB window pair). */
function bigChunk(size: number): zlib.ZlibOptions {
  return { chunkSize: Math.max(64 * 1024, size) };
}

/** The calls each variant makes. Decompress inputs are lists: one entry, or one per chunk. */
const OPS: Record<Variant, Ops> = {
  gzip: {
    compressSync: (b) => zlib.gzipSync(b),
    compressAsync: (b) => gzipAsync(b),
    prepare: (b) => [zlib.gzipSync(b)],
    decompressSync: ([c]) => zlib.gunzipSync(c),
    decompressAsync: ([c]) => gunzipAsync(c),
  },
  'gzip+chunk': {
    compressSync: (b) => zlib.gzipSync(b, bigChunk(b.length)),
    compressAsync: (b) => gzipAsync(b, bigChunk(b.length)),
    prepare: (b) => [zlib.gzipSync(b)],
    decompressSync: ([c], size) => zlib.gunzipSync(c, bigChunk(size)),
    decompressAsync: ([c], size) => gunzipAsync(c, bigChunk(size)),
  },
  snappy: {
    compressSync: (b) => snappyLib.compressSync(b),
    compressAsync: (b) => snappyLib.compress(b),
    prepare: (b) => [snappyLib.compressSync(b)],
    decompressSync: ([c]) => snappyLib.uncompressSync(c, { asBuffer: true }),
    decompressAsync: ([c]) => snappyLib.uncompress(c, { asBuffer: true }),
  },
  'snappy×32K': {
    compressSync: (b) => chunks(b, SNAPPY_CHUNK_BYTES).map((c) => snappyLib.compressSync(c)),
    compressAsync: (b) => Promise.all(chunks(b, SNAPPY_CHUNK_BYTES).map((c) => snappyLib.compress(c))),
    prepare: (b) => chunks(b, SNAPPY_CHUNK_BYTES).map((c) => snappyLib.compressSync(c)),
    decompressSync: (cs) => cs.map((c) => snappyLib.uncompressSync(c, { asBuffer: true })),
    decompressAsync: (cs) => Promise.all(cs.map((c) => snappyLib.uncompress(c, { asBuffer: true }))),
  },
  lz4: {
    compressSync: (b) => lz4Lib.compressFrameSync(b),
    compressAsync: (b) => lz4Lib.compressFrame(b),
    prepare: (b) => [lz4Lib.compressFrameSync(b)],
    decompressSync: ([c]) => lz4Lib.decompressFrameSync(c),
    decompressAsync: ([c]) => lz4Lib.decompressFrame(c),
  },
  zstd: {
    compressSync: (b) => zstd.compressSync(b),
    compressAsync: (b) => zstd.compress(b),
    prepare: (b) => [zstd.compressSync(b)],
    decompressSync: ([c]) => zstd.decompressSync(c, MAX_BYTES),
    decompressAsync: ([c]) => zstd.decompress(c, MAX_BYTES),
  },
};

/** What one (variant, size) point measures. */
interface Point {
  variant: Variant;
  size: number;
  compressedBytes: number;
}

/** Task name of one measurement. */
function taskName(variant: Variant, op: 'compress' | 'decompress', mode: 'sync' | 'async', size: number): string {
  return `${op} ${mode} ${variant} ${sizeLabel(size)}`;
}

/** Adds the four tasks of one (variant, size) point to `specs`. */
function addPoint(specs: TaskSpec[], variant: Variant, size: number): Point {
  const ops = OPS[variant];
  const input = jsonishStream(0xa5 + size, size);
  const parts = ops.prepare(input);
  const compressedBytes = parts.reduce((n, p) => n + p.length, 0);
  specs.push(
    { name: taskName(variant, 'compress', 'sync', size), fn: () => ops.compressSync(input) },
    { name: taskName(variant, 'compress', 'async', size), fn: () => ops.compressAsync(input) },
    { name: taskName(variant, 'decompress', 'sync', size), fn: () => ops.decompressSync(parts, size) },
    { name: taskName(variant, 'decompress', 'async', size), fn: () => ops.decompressAsync(parts, size) },
  );
  return { variant, size, compressedBytes };
}

/** The sync and async rows of one point and operation; ratios refer to the sync row. */
function pointRows(p: Point, op: 'compress' | 'decompress', results: ReadonlyMap<string, TimingStats>): BenchRow[] {
  const syncName = taskName(p.variant, op, 'sync', p.size);
  const sync = statsFor(results, syncName);
  const inputBytes = op === 'compress' ? p.size : p.compressedBytes;
  return (['sync', 'async'] as const).map((mode) => {
    const name = taskName(p.variant, op, mode, p.size);
    const stats = statsFor(results, name);
    const metrics: BenchRow['metrics'] = {
      'in KiB': inputBytes / 1024,
      'MB/s': p.size / (stats.p50Ns / 1e9) / 1e6,
      'loop busy µs': stats.loopBusyNs / 1000,
    };
    if (mode === 'async') {
      metrics['hop µs'] = (stats.p50Ns - sync.p50Ns) / 1000;
      metrics['×sync'] = stats.p50Ns / sync.p50Ns;
    }
    return {
      suite: SUITE,
      section: op,
      name,
      params: { codec: p.variant, op, mode, bytes: p.size, inputBytes },
      stats,
      metrics,
      baseline: syncName,
    };
  });
}

/** One matrix point of one variant and operation, as the break-even needs it. */
interface SeriesPoint {
  /** Input bytes, as the threshold compares them (compressed bytes for decompression). */
  inputBytes: number;
  /** Median sync latency. */
  syncNs: number;
  /** Median async latency minus median sync latency. */
  hopNs: number;
  /** Median main-thread busy time of the async call. */
  asyncBusyNs: number;
}

/**
 * The input size at which `margin` turns non-negative, interpolated on log2(size) between
 * matrix points; a string when that happens outside the matrix.
 */
function crossing(points: readonly SeriesPoint[], margin: (q: SeriesPoint) => number): string {
  const m = points.map(margin);
  if (m.length === 0) return 'n/a';
  if (m[0] >= 0) return `≤ ${kib(points[0].inputBytes)}`;
  for (let i = 1; i < points.length; i++) {
    if (m[i] >= 0) {
      const [a, b] = [Math.log2(points[i - 1].inputBytes), Math.log2(points[i].inputBytes)];
      const t = -m[i - 1] / (m[i] - m[i - 1]);
      return `≈ ${kib(2 ** (a + t * (b - a)))}`;
    }
  }
  return `> ${kib(points[points.length - 1].inputBytes)}`;
}

/** A byte count rounded to KiB. */
function kib(bytes: number): string {
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${Math.round(bytes)} B`;
}

/** The series of one variant and operation, by input size. */
function seriesOf(points: readonly Point[], variant: Variant, op: 'compress' | 'decompress', results: ReadonlyMap<string, TimingStats>): SeriesPoint[] {
  return points
    .filter((p) => p.variant === variant)
    .map((p) => {
      const sync = statsFor(results, taskName(variant, op, 'sync', p.size));
      const async = statsFor(results, taskName(variant, op, 'async', p.size));
      return {
        inputBytes: op === 'compress' ? p.size : p.compressedBytes,
        syncNs: sync.p50Ns,
        hopNs: async.p50Ns - sync.p50Ns,
        asyncBusyNs: async.loopBusyNs,
      };
    })
    .sort((a, b) => a.inputBytes - b.inputBytes);
}

/**
 * One summary row per variant and operation: the hop's range, two break-evens (latency: sync ≥
 * hop; loop time: sync ≥ the async call's main-thread time) and the current threshold with the
 * sync cost there. zstd's async path has no thread-pool hop, so it has no break-even.
 */
function breakEvenRows(points: readonly Point[], results: ReadonlyMap<string, TimingStats>): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const variant of new Set(points.map((p) => p.variant))) {
    for (const op of ['compress', 'decompress'] as const) {
      const series = seriesOf(points, variant, op, results);
      const hops = series.map((q) => q.hopNs / 1000);
      const codec = variant.replace(/[+×].*$/, '') as keyof typeof ASYNC_THRESHOLDS;
      const threshold = ASYNC_THRESHOLDS[codec][op];
      const near = series.reduce((best, q) => (Math.abs(Math.log2(q.inputBytes / threshold)) < Math.abs(Math.log2(best.inputBytes / threshold)) ? q : best));
      const pool = variant !== 'zstd';
      rows.push({
        suite: SUITE,
        section: 'break-even',
        name: `${op} ${variant}`,
        params: { codec: variant, op },
        metrics: {
          'hop µs min–max': `${Math.min(...hops).toFixed(0)}–${Math.max(...hops).toFixed(0)}`,
          'sync ≥ hop from': pool ? crossing(series, (q) => q.syncNs - q.hopNs) : 'n/a (no pool)',
          'sync ≥ async loop from': pool ? crossing(series, (q) => q.syncNs - q.asyncBusyNs) : 'n/a (no pool)',
          'threshold now': kib(threshold),
          'sync µs near threshold': `${(near.syncNs / 1000).toFixed(0)} @ ${kib(near.inputBytes)}`,
        },
      });
    }
  }
  return rows;
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<AsyncThresholdMatrix> = {}): Promise<BenchRow[]> {
  const m = resolveMatrix(matrix, options.matrix);
  const settings = settingsFor(options);
  const log = options.log ?? (() => {});
  const rows: BenchRow[] = [];
  const points: Point[] = [];
  const all = new Map<string, TimingStats>();
  for (const variant of m.codecs) {
    // One tinybench run per codec: its sync and async variants are measured side by side.
    const specs: TaskSpec[] = [];
    const mine = m.sizes.map((size) => addPoint(specs, variant, size));
    log(`  ${SUITE}: ${variant} (${specs.length} tasks)`);
    const results = await measure(specs, settings);
    for (const [k, v] of results) all.set(k, v);
    points.push(...mine);
  }
  for (const op of ['compress', 'decompress'] as const) {
    for (const p of points) rows.push(...pointRows(p, op, all));
  }
  rows.push(...breakEvenRows(points, all));
  return rows;
}
