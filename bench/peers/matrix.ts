/**
 * The peer benchmark's declared parameter matrix, its sizes per mode, and the workload a child
 * process receives (`engine-child.ts <engine> <workload json>`).
 *
 * Matrix: engines × durability (page cache / durable) × record size (100 B, 1 KiB values with a
 * 12-byte key) × batch size (1, 100, 1000 records per commit); seglog also × compression
 * (none / lz4 / zstd, page cache only: compression changes the CPU cost, not the sync cost).
 * Per cell: append every record (one awaited commit per batch), close, reopen, scan everything,
 * random reads by index; bytes on disk after close. Durable cells only append (their reads are
 * the page-cache cells' reads), and write at most `durableMaxBatches` batches: a commit costs an
 * fsync (~0.2 ms and up here), so 1M single-record durable commits would take minutes per engine.
 */
import type { EngineName, SeglogCompression } from './engines/types.js';

/** One record size of the matrix. */
export interface RecordShape {
  /** Value bytes (each record also has a 12-byte key). */
  valueBytes: number;
  /** Records appended in a page-cache cell (before the `maxBatches` cap). */
  records: number;
}

/** The declared matrix; a mode picks its sizes. */
export interface PeersMatrix {
  /** Engines, in the order of the first round (later rounds rotate it). */
  engines: EngineName[];
  /** seglog's codecs (page cache only). */
  compressions: SeglogCompression[];
  /** Record sizes and counts. */
  shapes: RecordShape[];
  /** Records per batch (= per commit). */
  batchSizes: number[];
  /** Most batches per page-cache cell: caps the batch-of-1 cells (records = min(records, cap × batch)). */
  maxBatches: number;
  /** Also run the durable cells. */
  durable: boolean;
  /** Most batches per durable cell. */
  durableMaxBatches: number;
  /** Random reads per cell (seeded indices), each timed on its own. */
  randomReads: number;
  /** Rounds: every engine runs once per round, in rotated order; medians are over rounds. */
  rounds: number;
  /** Child processes run at once (1 for measurements; the smoke test uses more). */
  concurrency: number;
  /**
   * Appends seglog keeps in flight in its pipelined variants (0: none run). A Kafka producer
   * pipelines the same way (max.in.flight.requests); the log's group commit writes (and, when
   * durable, fsyncs) every append made while the previous group was on disk in one go. The
   * peers' rows are awaited commits only: their APIs commit one transaction or batch per call.
   */
  pipelineWindow: number;
  /** Before its cells, a child appends this many records of every cell shape into a scratch directory (untimed): JIT, codec and thread-pool warm-up. */
  warmupRecords: number;
}

/** The full matrix (`npm run bench:full`): the issue's sizes. */
export const FULL: PeersMatrix = {
  engines: ['raw', 'seglog', 'lmdb', 'better-sqlite3', 'classic-level', 'hypercore'],
  compressions: ['none', 'lz4', 'zstd'],
  shapes: [
    { valueBytes: 100, records: 1_000_000 },
    { valueBytes: 1024, records: 100_000 },
  ],
  batchSizes: [1, 100, 1000],
  maxBatches: 1_000_000,
  durable: true,
  durableMaxBatches: 2000,
  randomReads: 20_000,
  rounds: 3,
  concurrency: 1,
  pipelineWindow: 32,
  warmupRecords: 20_000,
};

/** `npm run bench` (default mode): a tenth of the full sizes, batch-of-1 cells capped. */
export const DEFAULT: PeersMatrix = {
  ...FULL,
  shapes: [
    { valueBytes: 100, records: 100_000 },
    { valueBytes: 1024, records: 20_000 },
  ],
  maxBatches: 20_000,
  durableMaxBatches: 300,
  randomReads: 5000,
  rounds: 3,
};

/** `npm run bench -- --quick`: a smoke-sized run, noisy. */
export const QUICK: PeersMatrix = {
  ...DEFAULT,
  shapes: [
    { valueBytes: 100, records: 20_000 },
    { valueBytes: 1024, records: 5000 },
  ],
  maxBatches: 5000,
  durableMaxBatches: 100,
  randomReads: 1000,
  rounds: 2,
  warmupRecords: 5000,
};

/** One variant of an engine: what one child process runs. */
export interface Variant {
  engine: EngineName;
  compression: SeglogCompression;
  /** Appends in flight (seglog's pipelined variants); 1 = each append awaited before the next. */
  inFlight: number;
  /** Label in tables: the engine, plus the codec for seglog (e.g. `seglog lz4`) and the window (`seglog ×32 in flight`). */
  label: string;
}

/** One cell of the matrix, as a child runs it. */
export interface CellSpec {
  valueBytes: number;
  /** Records per batch. */
  batch: number;
  /** Records appended (a multiple of `batch`). */
  records: number;
  durable: boolean;
  /** Run the read phases (page-cache cells). */
  reads: boolean;
}

/** What `engine-child.ts` receives as its JSON argument. */
export interface Workload {
  compression: SeglogCompression;
  /** Appends in flight (1: each awaited before the next). */
  inFlight: number;
  /** Untimed warm-up records per cell shape, before the first cell. */
  warmupRecords: number;
  cells: CellSpec[];
  randomReads: number;
  /** Parent directory for the cells' data directories (removed by the child). */
  dir: string;
}

/** One cell's measurements, as a child reports them. */
export interface CellResult {
  cell: CellSpec;
  /** The engine's durability setting in this cell. */
  durability: string;
  /** Wall time of all appends. */
  appendNs: number;
  /** Key + value bytes appended. */
  recordBytes: number;
  /** Allocated bytes of the data directory after close (st_blocks × 512). */
  diskBytes?: number;
  /** Open until the first record is read back. */
  reopenNs?: number;
  /** Scan of every record. */
  scanNs?: number;
  /** Per-call random read latency. */
  randomP50Ns?: number;
  randomP99Ns?: number;
}

/** The cells of a variant (page-cache cells, then durable ones). */
export function cellsFor(m: PeersMatrix, variant: Variant): CellSpec[] {
  const cells: CellSpec[] = [];
  const durableModes = m.durable && variant.compression === 'none' ? [false, true] : [false];
  for (const durable of durableModes) {
    for (const shape of m.shapes) {
      for (const batch of m.batchSizes) {
        const cap = (durable ? m.durableMaxBatches : m.maxBatches) * batch;
        const records = Math.max(batch, Math.floor(Math.min(shape.records, cap) / batch) * batch);
        // A pipelined variant stores the same bytes as the awaited one: its reads would repeat them.
        cells.push({ valueBytes: shape.valueBytes, batch, records, durable, reads: !durable && variant.inFlight === 1 });
      }
    }
  }
  return cells;
}

/** The variants of a matrix: every engine, seglog once per codec, and seglog pipelined (none and lz4) when `pipelineWindow` > 1. */
export function variantsOf(m: PeersMatrix): Variant[] {
  return m.engines.flatMap((engine): Variant[] => {
    if (engine !== 'seglog') return [{ engine, compression: 'none', inFlight: 1, label: engine }];
    const awaited = m.compressions.map((compression): Variant => ({ engine, compression, inFlight: 1, label: compression === 'none' ? 'seglog' : `seglog ${compression}` }));
    if (m.pipelineWindow <= 1) return awaited;
    const w = m.pipelineWindow;
    const piped = m.compressions
      .filter((c) => c !== 'zstd')
      .map((compression): Variant => ({ engine, compression, inFlight: w, label: `${compression === 'none' ? 'seglog' : `seglog ${compression}`} ×${w} in flight` }));
    return [...awaited, ...piped];
  });
}

/** A cell's key in results: `100 B×1000 durable`. */
export function cellKey(c: Pick<CellSpec, 'valueBytes' | 'batch' | 'durable'>): string {
  const size = c.valueBytes >= 1024 ? `${c.valueBytes / 1024} KiB` : `${c.valueBytes} B`;
  return `${size}×${c.batch}${c.durable ? ' durable' : ''}`;
}
