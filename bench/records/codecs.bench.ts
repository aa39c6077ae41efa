/**
 * Records layer: batch encode and decode per codec, and CRC-32C, against a memory copy of the
 * same bytes measured in the same run.
 *
 * Matrix (`matrix` below): value sizes × records per batch × codecs, for four operations:
 * - encode sync:  `buildBatchSync(records, { compression })`
 * - encode async: `await buildBatch(records, { compression })` (thread pool above the threshold)
 * - decode sync:  `RecordBatch.at(buf)`, then iterate `records()` to the end
 * - decode async: `RecordBatch.at(buf)`, then iterate `await recordsAsync()` to the end
 * Decoding does not check the CRC (the log layer does that once per batch); CRC-32C has its own
 * section, over 100 B, 4 KiB and 1 MiB buffers.
 *
 * Figures: records/s and MB/s (10^6 bytes of keys + values: the bytes the caller handed in, not
 * the encoded or compressed size) from the median; `ratio` = uncompressed records region /
 * stored (compressed) records region; `×copy` = median time / median time of the baseline.
 * The batch baseline is `Buffer.concat` of the same keys and values (the least work any encoder
 * or decoder does: touch every record's bytes once); the CRC baseline is `buf.copy` of the same
 * size into a preallocated buffer.
 */
import {
  RecordBatch,
  buildBatch,
  buildBatchSync,
  crc32c,
  type CompressionName,
} from '../../src/records/index.js';
import { makeRecords, seededRng } from '../lib/data.js';
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

/** The parameter matrix of this suite. */
export interface CodecsMatrix {
  /** Value bytes per record (each record also has a 12-byte key). */
  recordSizes: number[];
  /** Records per batch. */
  batchCounts: number[];
  /** Codecs to encode and decode with. */
  codecs: CompressionName[];
  /** Buffer sizes for CRC-32C. */
  crcSizes: number[];
}

/** The declared matrix. */
export const matrix: CodecsMatrix = {
  recordSizes: [100, 1024],
  batchCounts: [100, 1000],
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  crcSizes: [100, 4096, 1 << 20],
};

const SUITE = 'records/codecs';
/** A fixed clock, so batches (and their CRCs) are the same on every run. */
const NOW = 1_700_000_000_000;

/** One cell of the matrix: its records, baseline and the batch built per codec. */
interface Cell {
  label: string;
  recordSize: number;
  count: number;
  recordBytes: number;
  baseline: string;
  batches: Map<CompressionName, { buf: Buffer; ratio: number }>;
}

/** Sums the value lengths of decoded records: consumes every record, and checks the count. */
function consume(records: Iterable<{ value: Buffer | null }>, expected: number): number {
  let n = 0;
  let bytes = 0;
  for (const r of records) {
    n++;
    bytes += r.value === null ? 0 : r.value.length;
  }
  if (n !== expected) throw new Error(`decoded ${n} records, expected ${expected}`);
  return bytes;
}

/** Builds one cell's batches and adds its tasks (baseline first) to `specs`. */
function addCell(specs: TaskSpec[], recordSize: number, count: number, codecs: readonly CompressionName[]): Cell {
  const set = makeRecords(0x5e6 + recordSize * 7919 + count, count, recordSize);
  const label = `${sizeLabel(recordSize)}×${count}`;
  const baseline = `copy ${label}`;
  specs.push({ name: baseline, fn: () => Buffer.concat(set.parts, set.recordBytes) });
  const cell: Cell = { label, recordSize, count, recordBytes: set.recordBytes, baseline, batches: new Map() };
  for (const codec of codecs) {
    const options = { compression: codec, now: NOW };
    const buf = buildBatchSync(set.records, options);
    const batch = RecordBatch.at(buf);
    consume(batch.records(), count);
    cell.batches.set(codec, { buf, ratio: batch.uncompressedPayload().length / batch.payload.length });
    specs.push(
      { name: `encode sync ${codec} ${label}`, fn: () => buildBatchSync(set.records, options) },
      { name: `encode async ${codec} ${label}`, fn: () => buildBatch(set.records, options) },
      { name: `decode sync ${codec} ${label}`, fn: () => consume(RecordBatch.at(buf).records(), count) },
      { name: `decode async ${codec} ${label}`, fn: async () => consume(await RecordBatch.at(buf).recordsAsync(), count) },
    );
  }
  return cell;
}

/** The rows of one cell, baseline first, then by operation and codec. */
function cellRows(cell: Cell, results: ReadonlyMap<string, TimingStats>): BenchRow[] {
  const base = statsFor(results, cell.baseline);
  // One row: throughput from the median, ratio when the row has a codec, ×copy vs the baseline.
  const row = (name: string, params: BenchRow['params'], ratio?: number): BenchRow => {
    const stats = statsFor(results, name);
    const seconds = stats.p50Ns / 1e9;
    const metrics: BenchRow['metrics'] = {
      'records/s': cell.count / seconds,
      'MB/s': cell.recordBytes / seconds / 1e6,
    };
    if (ratio !== undefined) metrics.ratio = ratio;
    metrics['×copy'] = stats.p50Ns / base.p50Ns;
    return {
      suite: SUITE,
      section: 'batches',
      name,
      params: { ...params, recordSize: cell.recordSize, records: cell.count, recordBytes: cell.recordBytes },
      stats,
      metrics,
      baseline: cell.baseline,
    };
  };
  const rows = [row(cell.baseline, { op: 'baseline', mode: 'sync', codec: 'none' })];
  for (const op of ['encode', 'decode']) {
    for (const mode of ['sync', 'async']) {
      for (const [codec, { ratio }] of cell.batches) rows.push(row(`${op} ${mode} ${codec} ${cell.label}`, { op, mode, codec }, ratio));
    }
  }
  return rows;
}

/** Adds the CRC-32C tasks and their copy baselines for each size. */
function addCrc(specs: TaskSpec[], sizes: readonly number[]): void {
  for (const size of sizes) {
    const rng = seededRng(size);
    const buf = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) buf[i] = Math.floor(rng() * 256);
    const target = Buffer.allocUnsafe(size);
    specs.push(
      { name: `copy ${sizeLabel(size)}`, fn: () => buf.copy(target) },
      { name: `crc32c ${sizeLabel(size)}`, fn: () => crc32c(buf) },
    );
  }
}

/** The CRC-32C rows: baseline then crc32c, per size. */
function crcRows(sizes: readonly number[], results: ReadonlyMap<string, TimingStats>): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const baseline = `copy ${sizeLabel(size)}`;
    const base = statsFor(results, baseline);
    for (const name of [baseline, `crc32c ${sizeLabel(size)}`]) {
      const stats = statsFor(results, name);
      rows.push({
        suite: SUITE,
        section: 'crc32c',
        name,
        params: { op: name === baseline ? 'baseline' : 'crc32c', bytes: size },
        stats,
        metrics: { 'GB/s': size / stats.p50Ns, '×copy': stats.p50Ns / base.p50Ns },
        baseline,
      });
    }
  }
  return rows;
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<CodecsMatrix> = {}): Promise<BenchRow[]> {
  const m = resolveMatrix(matrix, options.matrix);
  const settings = settingsFor(options);
  const log = options.log ?? (() => {});
  const rows: BenchRow[] = [];
  for (const recordSize of m.recordSizes) {
    for (const count of m.batchCounts) {
      // One tinybench run per cell: its baseline is measured next to its tasks.
      const specs: TaskSpec[] = [];
      const cell = addCell(specs, recordSize, count, m.codecs);
      log(`  ${SUITE}: ${cell.label} (${specs.length} tasks)`);
      rows.push(...cellRows(cell, await measure(specs, settings)));
    }
  }
  const crcSpecs: TaskSpec[] = [];
  addCrc(crcSpecs, m.crcSizes);
  log(`  ${SUITE}: crc32c (${crcSpecs.length} tasks)`);
  rows.push(...crcRows(m.crcSizes, await measure(crcSpecs, settings)));
  return rows;
}
