/**
 * From the children's per-round results to figures: medians over rounds per variant and cell,
 * then every figure's ratio to the raw baseline and to the best peer of the same cell.
 *
 * Ratio convention: every ratio says how many times *better* than the reference a figure is,
 * so > 1 is better and the project's target reads directly (seglog appends ≥ 3× the best
 * peer): throughput = figure / reference; latency, time and bytes = reference / figure.
 * "Peers" are the other engines: neither seglog (any codec) nor raw.
 */
import { median } from '../lib/harness.js';
import { cellKey, type CellResult, type CellSpec, type Variant } from './matrix.js';

/** One measured quantity of a cell. */
export interface MetricDef {
  /** Column key, unit included. */
  key: string;
  /** The figure from one round's result (undefined when the cell does not measure it). */
  of: (r: CellResult) => number | undefined;
  /** Whether a larger figure is better (throughput) or a smaller one (time, bytes). */
  higherIsBetter: boolean;
}

/** A table of the report: one metric over the cells that measure it. */
export interface SectionDef {
  id: string;
  title: string;
  /** Which cells the section covers. */
  durable: boolean;
  metric: MetricDef;
  /** Secondary figures printed beside the main one (not ranked). */
  extra?: MetricDef[];
}

const perSecond = (count: number, ns: number) => count / (ns / 1e9);

/** The report's sections, in order. */
export const SECTIONS: SectionDef[] = [
  {
    id: 'append',
    title: 'Append, page cache (one commit per batch, awaited unless the row says in flight), records/s',
    durable: false,
    metric: { key: 'records/s', of: (r) => perSecond(r.cell.records, r.appendNs), higherIsBetter: true },
    extra: [{ key: 'MB/s', of: (r) => (r.recordBytes / r.appendNs) * 1e3, higherIsBetter: true }],
  },
  {
    id: 'append-durable',
    title: 'Append, durable (each engine’s sync setting, see below), records/s',
    durable: true,
    metric: { key: 'records/s', of: (r) => perSecond(r.cell.records, r.appendNs), higherIsBetter: true },
    extra: [{ key: 'MB/s', of: (r) => (r.recordBytes / r.appendNs) * 1e3, higherIsBetter: true }],
  },
  {
    id: 'scan',
    title: 'Sequential read of every record (after reopen), records/s',
    durable: false,
    metric: { key: 'records/s', of: (r) => (r.scanNs === undefined ? undefined : perSecond(r.cell.records, r.scanNs)), higherIsBetter: true },
  },
  {
    id: 'random-p50',
    title: 'Random read by index/offset/key, p50 µs per read',
    durable: false,
    metric: { key: 'p50 µs', of: (r) => (r.randomP50Ns === undefined ? undefined : r.randomP50Ns / 1e3), higherIsBetter: false },
  },
  {
    id: 'random-p99',
    title: 'Random read by index/offset/key, p99 µs per read',
    durable: false,
    metric: { key: 'p99 µs', of: (r) => (r.randomP99Ns === undefined ? undefined : r.randomP99Ns / 1e3), higherIsBetter: false },
  },
  {
    id: 'reopen',
    title: 'Reopen until the first record is read, ms',
    durable: false,
    metric: { key: 'ms', of: (r) => (r.reopenNs === undefined ? undefined : r.reopenNs / 1e6), higherIsBetter: false },
  },
  {
    id: 'disk',
    title: 'Bytes on disk after close (allocated), per record',
    durable: false,
    metric: { key: 'B/record', of: (r) => (r.diskBytes === undefined ? undefined : r.diskBytes / r.cell.records), higherIsBetter: false },
  },
];

/** One figure with its ratios. */
export interface Figure {
  variant: string;
  engine: string;
  cell: string;
  spec: CellSpec;
  section: string;
  metric: string;
  /** Median over rounds. */
  value: number;
  /** The rounds' values. */
  rounds: number[];
  /** × better than raw in the same cell (see the module comment). */
  vsRaw?: number;
  /** × better than the best peer in the same cell; absent when no peer has the figure. */
  vsBestPeer?: number;
  /** Which peer was best. */
  bestPeer?: string;
  durability: string;
  extra: Record<string, number>;
}

/** Results of every round, by variant label and cell key. */
export type Collected = Map<string, { variant: Variant; cells: Map<string, CellResult[]> }>;

/** "How many times better" than `ref`. */
function better(value: number, ref: number, higherIsBetter: boolean): number {
  return higherIsBetter ? value / ref : ref / value;
}

/** Medians and ratios of every section. */
export function summarize(collected: Collected): Figure[] {
  const figures: Figure[] = [];
  for (const section of SECTIONS) {
    const inSection: Figure[] = [];
    for (const [label, { variant, cells }] of collected) {
      for (const [key, results] of cells) {
        if (results.length === 0 || results[0].cell.durable !== section.durable) continue;
        const values = results.map(section.metric.of).filter((v): v is number => v !== undefined);
        if (values.length === 0) continue;
        const extra: Record<string, number> = {};
        for (const e of section.extra ?? []) extra[e.key] = median(results.map(e.of).filter((v): v is number => v !== undefined));
        inSection.push({ variant: label, engine: variant.engine, cell: key, spec: results[0].cell, section: section.id, metric: section.metric.key, value: median(values), rounds: values, durability: results[0].durability, extra });
      }
    }
    for (const f of inSection) {
      const same = inSection.filter((g) => g.cell === f.cell);
      const raw = same.find((g) => g.engine === 'raw');
      if (raw !== undefined) f.vsRaw = better(f.value, raw.value, section.metric.higherIsBetter);
      // hypercore has no sync setting: its "durable" cells are not durable, so they cannot be the bar.
      const peers = same.filter((g) => g.engine !== 'raw' && g.engine !== 'seglog' && !(section.durable && g.engine === 'hypercore'));
      if (peers.length > 0) {
        const best = peers.reduce((a, b) => (better(b.value, a.value, section.metric.higherIsBetter) > 1 ? b : a));
        f.vsBestPeer = better(f.value, best.value, section.metric.higherIsBetter);
        f.bestPeer = best.variant;
      }
    }
    figures.push(...inSection);
  }
  return figures;
}

/** The cell keys of a matrix in display order. */
export function cellOrder(cells: readonly CellSpec[]): string[] {
  return [...new Set(cells.map(cellKey))];
}
