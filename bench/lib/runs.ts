/**
 * Measuring helpers for operations tinybench's sampling does not fit, used by the storage
 * suites (bench/log/):
 *
 * - {@link measureRuns}: whole operations that take milliseconds to seconds (a full scan of a
 *   256 MiB log, opening a log) and may need untimed setup and teardown around each call (close
 *   the log just opened, delete the clean-shutdown marker before an unclean open). Specs run in
 *   interleaved rounds (A B C, A B C, …) so that a baseline and the tasks it is compared with see
 *   the same machine state; each call is one sample.
 * - {@link measureLatencies}: per-call latency of short synchronous calls driven by an index
 *   into a precomputed (seeded) sequence, e.g. random lookups: every call is timed on its own
 *   with `process.hrtime.bigint()`, so p50/p99 are over single calls rather than over
 *   per-sample means. Specs are interleaved call by call.
 *
 * Both return the {@link TimingStats} shape of `measure()` (callsPerSample 1), so rows print and
 * serialise like every other suite's, plus temporary-directory helpers for suites that write.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as turnLoop } from 'node:timers/promises';
import { median, type BenchRunOptions, type TimingStats } from './harness.js';

/** One whole operation for {@link measureRuns}. */
export interface RunSpec {
  /** Unique within one call. */
  name: string;
  /** Untimed, before each call (e.g. make the shutdown unclean). */
  setup?: () => unknown;
  /** The timed operation; awaited inside the timed window when it returns a promise. */
  fn: () => unknown;
  /** Untimed, after each call, with what `fn` returned (e.g. close the log it opened). */
  teardown?: (result: unknown) => unknown;
}

/** How many interleaved rounds {@link measureRuns} makes. */
export interface RunsSettings {
  /** Untimed rounds first (JIT, page cache, lazily loaded state). */
  warmupRuns: number;
  /** Timed rounds: the sample count of every spec. */
  runs: number;
}

/** The rounds of a suite's long operations: `minSamples` overrides the mode's default. */
export function runsFor(options: BenchRunOptions<unknown>, defaults: { quick: RunsSettings; normal: RunsSettings }): RunsSettings {
  const d = options.quick === true ? defaults.quick : defaults.normal;
  return { warmupRuns: d.warmupRuns, runs: options.minSamples ?? d.runs };
}

/** Two-sided 95 % Student t critical values for 1..30 degrees of freedom (normal beyond). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Quantile `q` of sorted values, linearly interpolated between ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Timing statistics of per-call samples (ns), in the shape `measure()` returns. */
export function statsOfSamples(samplesNs: readonly number[], loopBusyNs: readonly number[] = []): TimingStats {
  const s = [...samplesNs].sort((a, b) => a - b);
  const n = s.length;
  const mean = n === 0 ? 0 : s.reduce((a, b) => a + b, 0) / n;
  const variance = n < 2 ? 0 : s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const t = n < 2 ? 0 : (T95[n - 2] ?? 1.96);
  return {
    samples: n,
    callsPerSample: 1,
    p50Ns: quantile(s, 0.5),
    p75Ns: quantile(s, 0.75),
    p99Ns: quantile(s, 0.99),
    meanNs: mean,
    minNs: s[0] ?? 0,
    rmePct: mean === 0 ? 0 : ((t * Math.sqrt(variance / n)) / mean) * 100,
    loopBusyNs: loopBusyNs.length > 0 ? median(loopBusyNs) : quantile(s, 0.5),
  };
}

/**
 * Runs every spec once per round, in order, for `warmupRuns` untimed rounds then `runs` timed
 * ones; returns each spec's statistics over its timed calls. `gc()` (node --expose-gc) runs
 * before each call, outside the timed window, and the event loop turns between calls.
 */
export async function measureRuns(specs: readonly RunSpec[], settings: RunsSettings, log?: (line: string) => void): Promise<Map<string, TimingStats>> {
  const times = new Map<string, number[]>(specs.map((s) => [s.name, []]));
  const busy = new Map<string, number[]>(specs.map((s) => [s.name, []]));
  const rounds = settings.warmupRuns + settings.runs;
  for (let round = 0; round < rounds; round++) {
    const timed = round >= settings.warmupRuns;
    for (const spec of specs) {
      await spec.setup?.();
      globalThis.gc?.();
      const elu0 = performance.eventLoopUtilization();
      const t0 = process.hrtime.bigint();
      let result = spec.fn();
      if (typeof (result as { then?: unknown } | null)?.then === 'function') result = await result;
      const ns = Number(process.hrtime.bigint() - t0);
      const busyNs = performance.eventLoopUtilization(elu0).active * 1e6;
      await spec.teardown?.(result);
      if (timed) {
        times.get(spec.name)?.push(ns);
        busy.get(spec.name)?.push(busyNs);
      }
      await turnLoop();
    }
    if (log !== undefined && rounds > 4 && (round + 1) % Math.ceil(rounds / 4) === 0) log(`    round ${round + 1}/${rounds}`);
  }
  const out = new Map<string, TimingStats>();
  for (const spec of specs) out.set(spec.name, statsOfSamples(times.get(spec.name) ?? [], busy.get(spec.name) ?? []));
  return out;
}

/** One synchronous operation for {@link measureLatencies}; `i` indexes a precomputed sequence. */
export interface LatencySpec {
  /** Unique within one call. */
  name: string;
  /** The operation for step `i` of the sequence (0-based; warmup calls use the same indexes). */
  fn: (i: number) => unknown;
}

/** Keeps results reachable so the optimiser cannot drop the work that made them. */
let sink: unknown;

/**
 * Times `calls` calls of every spec, each call on its own, interleaved (A(0) B(0) A(1) B(1) …),
 * after `warmupCalls` untimed ones. Each timing includes one `hrtime.bigint()` pair (~0.1 µs).
 * The event loop turns every 1000 steps (native buffers are freed there), outside any timing.
 */
export async function measureLatencies(specs: readonly LatencySpec[], calls: number, warmupCalls: number): Promise<Map<string, TimingStats>> {
  const times = specs.map(() => new Array<number>(calls));
  globalThis.gc?.();
  for (let i = 0; i < warmupCalls; i++) {
    for (const spec of specs) sink = spec.fn(i);
    if (i % 1000 === 999) await turnLoop();
  }
  globalThis.gc?.();
  for (let i = 0; i < calls; i++) {
    for (let k = 0; k < specs.length; k++) {
      const t0 = process.hrtime.bigint();
      sink = specs[k].fn(i);
      times[k][i] = Number(process.hrtime.bigint() - t0);
    }
    if (i % 1000 === 999) await turnLoop();
  }
  const out = new Map<string, TimingStats>();
  specs.forEach((spec, k) => out.set(spec.name, statsOfSamples(times[k])));
  return out;
}

/** `stats` with every duration divided by `n`: a per-window measurement as per-item figures. */
export function perItem(stats: TimingStats, n: number): TimingStats {
  return {
    ...stats,
    p50Ns: stats.p50Ns / n,
    p75Ns: stats.p75Ns / n,
    p99Ns: stats.p99Ns / n,
    meanNs: stats.meanNs / n,
    minNs: stats.minNs / n,
    loopBusyNs: stats.loopBusyNs / n,
  };
}

/** A fresh directory under os.tmpdir() for one suite's data: `seglog-bench-<prefix>-<pid>-XXXXXX`. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `seglog-bench-${prefix}-${process.pid}-`));
}

/** Removes a directory made by {@link makeTempDir}, whatever it holds. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
