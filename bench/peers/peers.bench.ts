/**
 * Peers: seglog against the engines a Node user would pick instead (lmdb, better-sqlite3,
 * classic-level, hypercore) and against the raw `fs.writeSync` / `fs.readSync` of the same
 * bytes, measured in one run on the same machine.
 *
 * Each engine variant runs in its own child process (`engine-child.ts`), one at a time; every
 * round runs every variant once, the order rotated by one each round, so a slow phase of the
 * machine does not always hit the same engine; figures are medians over rounds (`matrix.ts`
 * declares the matrix and the sizes of each mode, `summary.ts` the ratios).
 *
 * Writes `<outDir>/peers.md` (tables), `<outDir>/peers.svg` (chart) and `<outDir>/peers-runs.json`
 * (every round's raw results, the medians and ratios); returns the figures as rows, which
 * `bench/run.ts` prints and stores in `bench/results/peers.json`.
 *
 * Modes: `--quick` (QUICK), default (DEFAULT), `--full` on the command line or
 * SEGLOG_BENCH_FULL=1 (FULL: the 1M × 100 B and 100k × 1 KiB).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveMatrix, type BenchRow, type BenchRunOptions } from '../lib/harness.js';
import { makeTempDir, removeDir } from '../lib/runs.js';
import { cellKey, cellsFor, DEFAULT, FULL, QUICK, variantsOf, type CellResult, type PeersMatrix, type Variant, type Workload } from './matrix.js';
import { markdownReport, svgChart, type RunInfo } from './report.js';
import { cellOrder, SECTIONS, summarize, type Collected } from './summary.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CHILD = path.join(HERE, 'engine-child.ts');
const SUITE = 'peers/peers';

/** The declared (full) matrix; the modes shrink its sizes. */
export const matrix: PeersMatrix = FULL;

/** Options of this suite beyond the shared ones. */
export interface PeersRunOptions extends BenchRunOptions<PeersMatrix> {
  /** The full sizes (default: `--full` in argv or SEGLOG_BENCH_FULL=1). */
  full?: boolean;
  /** Where peers.md, peers.svg and peers-runs.json go (default bench/results/). */
  outDir?: string;
}

/** Runs one child; resolves with its results or rejects with its stderr. */
function runChild(variant: Variant, workload: Workload): Promise<CellResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, variant.engine, JSON.stringify(workload)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line !== undefined) resolve(JSON.parse(line.slice(7)) as CellResult[]);
      else reject(new Error(`${variant.label} exited with ${code}: ${stderr.trim() || stdout.trim()}`));
    });
  });
}

/** Runs `jobs` with at most `limit` at a time. */
async function pool(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

function modeOf(options: PeersRunOptions): 'quick' | 'default' | 'full' {
  if (options.full ?? (process.argv.includes('--full') || process.env.SEGLOG_BENCH_FULL === '1')) return 'full';
  return options.quick === true ? 'quick' : 'default';
}

/** Runs the suite, writes the report files and returns the figures as rows. */
export async function run(options: PeersRunOptions = {}): Promise<BenchRow[]> {
  const mode = modeOf(options);
  const m = resolveMatrix(mode === 'full' ? FULL : mode === 'quick' ? QUICK : DEFAULT, options.matrix);
  const log = options.log ?? (() => {});
  const outDir = options.outDir ?? path.join(ROOT, 'bench', 'results');
  const variants = variantsOf(m);
  const collected: Collected = new Map(variants.map((v) => [v.label, { variant: v, cells: new Map<string, CellResult[]>() }]));
  const failures = new Map<string, string>();
  const dir = makeTempDir('peers');
  const started = performance.now();
  const loadStart = os.loadavg()[0];
  try {
    for (let round = 0; round < m.rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      const jobs = order.map((variant) => async () => {
        if (failures.has(variant.label)) return;
        const t0 = performance.now();
        try {
          const results = await runChild(variant, { compression: variant.compression, inFlight: variant.inFlight, warmupRecords: m.warmupRecords, cells: cellsFor(m, variant), randomReads: m.randomReads, dir: path.join(dir, `${variant.label.replace(/ /g, '-')}-${round}`) });
          for (const r of results) {
            const cells = collected.get(variant.label)!.cells;
            const key = cellKey(r.cell);
            cells.set(key, [...(cells.get(key) ?? []), r]);
          }
          log(`  ${SUITE}: round ${round + 1}/${m.rounds} ${variant.label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        } catch (err) {
          failures.set(variant.label, err instanceof Error ? err.message : String(err));
          log(`  ${SUITE}: ${variant.label} FAILED: ${failures.get(variant.label)}`);
        }
      });
      await pool(jobs, m.concurrency);
    }
  } finally {
    removeDir(dir);
  }

  const figures = summarize(collected);
  const cellKeys = cellOrder(variants.flatMap((v) => cellsFor(m, v)));
  const durability = new Map<string, { cache?: string; durable?: string }>();
  for (const [label, { cells }] of collected) {
    const d: { cache?: string; durable?: string } = {};
    for (const results of cells.values()) d[results[0].cell.durable ? 'durable' : 'cache'] = results[0].durability;
    durability.set(label, d);
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const info: RunInfo = {
    mode,
    machine: `node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length}× ${cpu}`,
    generatedAt: new Date().toISOString(),
    loadAverage1m: { start: loadStart, end: os.loadavg()[0] },
    rounds: m.rounds,
    elapsedMs: Math.round(performance.now() - started),
    durability,
    failures,
  };
  fs.mkdirSync(outDir, { recursive: true });
  writeAtomic(path.join(outDir, 'peers.md'), markdownReport(figures, info, cellKeys));
  writeAtomic(path.join(outDir, 'peers.svg'), svgChart(figures, info, cellKeys));
  const runs = Object.fromEntries([...collected].map(([label, { cells }]) => [label, Object.fromEntries(cells)]));
  writeAtomic(path.join(outDir, 'peers-runs.json'), `${JSON.stringify({ ...info, durability: Object.fromEntries(durability), failures: Object.fromEntries(failures), matrix: m, figures, runs }, null, 2)}\n`);
  log(`  ${SUITE}: wrote ${['peers.md', 'peers.svg', 'peers-runs.json'].map((f) => path.relative(process.cwd(), path.join(outDir, f))).join(', ')}`);

  return figures.map((f): BenchRow => {
    const title = SECTIONS.find((s) => s.id === f.section)?.title ?? f.section;
    const metrics: BenchRow['metrics'] = { [f.metric]: f.value, ...f.extra };
    if (f.vsRaw !== undefined) metrics['×raw'] = f.vsRaw;
    if (f.vsBestPeer !== undefined) metrics['×best peer'] = f.vsBestPeer;
    metrics['best peer'] = f.bestPeer ?? '-';
    metrics.n = f.spec.records;
    return {
      suite: SUITE,
      section: title,
      name: `${f.variant} ${f.cell}`,
      params: { engine: f.engine, variant: f.variant, valueBytes: f.spec.valueBytes, batch: f.spec.batch, records: f.spec.records, durable: f.spec.durable ? 1 : 0, durability: f.durability, mode },
      metrics,
      baseline: `raw ${f.cell}`,
    };
  });
}

/** Writes through a temporary file, so a killed run leaves no half file. */
function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}
