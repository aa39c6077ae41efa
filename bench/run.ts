/**
 * `npm run bench`: runs every `*.bench.ts` module under bench/ in path order, prints its rows as
 * tables, and writes them to `bench/results/<layer>.json` (one file per top folder: records, …).
 * A suite's entry in that file is replaced when the suite runs again; the others stay.
 *
 * Usage: `npm run bench [-- [--quick | --full] [filter…]]`
 * - `--quick` (or SEGLOG_BENCH_QUICK=1): ~50 ms per task, for smoke runs; the default mode
 *   measures each task for ~0.5 s after a 0.1 s warmup.
 * - `--full` (`npm run bench:full`, or SEGLOG_BENCH_FULL=1): the peers suite at the issue's
 *   sizes (1M × 100 B, 100k × 1 KiB); the other suites run as in the default mode.
 * - `filter`: run only modules whose path (e.g. `records/codecs`) contains one of the words.
 *
 * Each module exports `run(options): Promise<BenchRow[]>` and its declared parameter `matrix`.
 * Tables go to stdout, progress to stderr. Results files are generated: do not edit them.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { settingsFor, type BenchRow, type BenchRunOptions, type Settings } from './lib/harness.js';
import { formatTables } from './lib/table.js';

/** What a `*.bench.ts` module provides. */
interface BenchModule {
  run(options: BenchRunOptions<unknown>): Promise<BenchRow[]>;
  matrix?: unknown;
}

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = path.join(BENCH_DIR, 'results');

/** The suites under bench/, as paths without `.bench.ts` (e.g. `records/codecs`), sorted. */
function findSuites(): string[] {
  return readdirSync(BENCH_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.split(path.sep).join('/').replace(/\.bench\.ts$/, ''))
    .sort();
}

/** Loads a suite module and checks its shape. */
async function load(suite: string): Promise<BenchModule> {
  const mod = (await import(pathToFileURL(path.join(BENCH_DIR, `${suite}.bench.ts`)).href)) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') throw new Error(`bench/${suite}.bench.ts does not export run()`);
  return mod as BenchModule;
}

/** One suite's entry in a results file: how and where it ran, and its rows. */
interface SuiteResult {
  generatedAt: string;
  mode: 'quick' | 'default' | 'full';
  machine: string;
  loadAverage1m: { start: number; end: number };
  settings: Settings;
  matrix: unknown;
  elapsedMs: number;
  rssMiB: number;
  rows: BenchRow[];
}

/**
 * The suites already in a results file, so that a filtered run replaces only the suites it ran.
 * A missing or unreadable file counts as empty.
 */
function previousSuites(file: string): Record<string, SuiteResult> {
  if (!existsSync(file)) return {};
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { suites?: Record<string, SuiteResult> };
    return data.suites ?? {};
  } catch {
    return {};
  }
}

/** Writes `data` as JSON to `file` through a temporary file, so a killed run leaves no half file. */
function writeJson(file: string, data: unknown): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Runs the selected suites, prints their tables and writes the results files. */
async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick') || process.env.SEGLOG_BENCH_QUICK === '1';
  const mode = quick ? 'quick' : argv.includes('--full') || process.env.SEGLOG_BENCH_FULL === '1' ? 'full' : 'default';
  const filters = argv.filter((a) => !a.startsWith('--'));
  const suites = findSuites().filter((s) => filters.length === 0 || filters.some((f) => s.includes(f)));
  if (suites.length === 0) throw new Error(`no bench module matches ${filters.join(', ')}`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const machine = `node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length}× ${cpu}`;
  if (globalThis.gc === undefined) log('note: run with node --expose-gc (npm run bench does) to collect garbage between tasks');
  // Other processes skew every figure on a 2-core machine: record the load each suite saw.
  log(`seglog bench (${mode} mode) on ${machine}, load ${os.loadavg()[0].toFixed(2)}`);

  const byLayer = new Map<string, Record<string, SuiteResult>>();
  const started = performance.now();
  for (const suite of suites) {
    const mod = await load(suite);
    log(`▶ ${suite}`);
    const loadStart = os.loadavg()[0];
    const t0 = performance.now();
    const rows = await mod.run({ quick, log });
    const elapsedMs = Math.round(performance.now() - t0);
    const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    log(`  ${suite}: ${rows.length} rows in ${(elapsedMs / 1000).toFixed(1)} s, rss ${rssMiB} MiB`);
    process.stdout.write(`\n${formatTables(rows)}\n`);
    const layer = suite.split('/')[0];
    const entry = byLayer.get(layer) ?? {};
    entry[suite] = {
      generatedAt: new Date().toISOString(),
      mode,
      machine,
      loadAverage1m: { start: loadStart, end: os.loadavg()[0] },
      settings: settingsFor({ quick }),
      matrix: mod.matrix ?? null,
      elapsedMs,
      rssMiB,
      rows,
    };
    byLayer.set(layer, entry);
  }

  mkdirSync(RESULTS_DIR, { recursive: true });
  for (const [layer, ran] of byLayer) {
    const file = path.join(RESULTS_DIR, `${layer}.json`);
    writeJson(file, { layer, suites: { ...previousSuites(file), ...ran } });
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s, load ${os.loadavg()[0].toFixed(2)}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
