/**
 * The measuring harness every `*.bench.ts` module shares: run options, the row shape that
 * `bench/run.ts` prints and writes to `bench/results/<layer>.json`, and `measure()`, which runs
 * a list of operations under tinybench.
 *
 * How one operation is measured:
 * - It is called once first (a correctness probe, and to learn whether it returns a promise),
 *   then timed for a few milliseconds, twice (the first pass warms the JIT), to choose
 *   `callsPerSample`: how many calls one tinybench sample makes, so that a sample lasts about
 *   `sampleTargetMs`. A 100-byte CRC takes ~130 ns, near the timer's resolution; batching calls
 *   keeps the timer out of the figure.
 * - Each sample returns its per-call mean as tinybench's `overriddenDuration` and its whole
 *   cost as `overriddenIterationCost`, so percentiles are over per-sample means and the time
 *   budget counts real time spent.
 * - After every sample the harness awaits `setImmediate`, outside the timed window. The native
 *   codecs (lz4-napi, snappy) free their output buffers only when the event loop turns: a tight
 *   loop of sync calls grew memory to 3.4 GB (../shared/reference/dependencies.md).
 * - Event-loop utilisation is read around each sample: `loopBusyNs` is the main thread's busy
 *   time per call, which is what a thread-pool (async) call saves compared to a sync one.
 * - `gc()` (node --expose-gc) runs before each task's warmup and run phases, so one task's
 *   garbage is not collected on the next task's clock.
 */
import { setImmediate as turnLoop } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Bench, type FnReturnedObject, type Task } from 'tinybench';

/** Options every bench module's `run()` accepts; `M` is the module's parameter matrix. */
export interface BenchRunOptions<M> {
  /** Short runs (~50 ms per task) for smoke tests and quick looks; default false. */
  quick?: boolean;
  /** Measuring budget per task in ms (overrides the mode's default). */
  timeMs?: number;
  /** Warmup budget per task in ms (overrides the mode's default). */
  warmupMs?: number;
  /** Minimum samples per task (overrides the mode's default). */
  minSamples?: number;
  /** Replaces parts of the module's declared parameter matrix. */
  matrix?: Partial<M>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Latency statistics of one task, per call, in nanoseconds. */
export interface TimingStats {
  /** tinybench samples taken (each the mean of `callsPerSample` calls). */
  samples: number;
  /** Calls per sample. */
  callsPerSample: number;
  /** Median latency per call. */
  p50Ns: number;
  /** 75th percentile. */
  p75Ns: number;
  /** 99th percentile. */
  p99Ns: number;
  /** Mean. */
  meanNs: number;
  /** Fastest sample. */
  minNs: number;
  /** Relative margin of error of the mean (95 %), percent. */
  rmePct: number;
  /** Median main-thread busy time per call (event-loop utilisation), ns. */
  loopBusyNs: number;
}

/** One result row: what `run()` returns, `bench/run.ts` prints, and results JSON holds. */
export interface BenchRow {
  /** The module, as its path under bench/ without `.bench.ts` (e.g. `records/codecs`). */
  suite: string;
  /** Which printed table of the suite the row belongs to. */
  section: string;
  /** Unique within the suite. */
  name: string;
  /** The matrix point this row measures. */
  params: Record<string, string | number>;
  /** Timing, absent for rows derived from other rows. */
  stats?: TimingStats;
  /** Derived figures (throughput, ratios), units in the key. */
  metrics: Record<string, number | string>;
  /** Name of the same-run baseline row the `×` ratio refers to, if any. */
  baseline?: string;
}

/** One operation to measure. */
export interface TaskSpec {
  /** Unique within one `measure()` call. */
  name: string;
  /** The operation. If it returns a promise, each call is awaited inside the timed window. */
  fn: () => unknown;
  /**
   * Optional, untimed: runs after every tinybench sample (warmup and run phases), after the
   * event loop has turned; awaited when it returns a promise. Suites that write use it to keep
   * their files small (see bench/log/append.bench.ts).
   */
  afterSample?: () => unknown;
}

/** Resolved measuring settings. */
export interface Settings {
  /** Measuring budget per task, ms. */
  timeMs: number;
  /** Warmup budget per task, ms. */
  warmupMs: number;
  /** Minimum samples per task. */
  minSamples: number;
  /** Target duration of one sample, ms. */
  sampleTargetMs: number;
  /** How long to time an operation to choose its calls per sample, ms. */
  calibrateMs: number;
}

/** The settings of a mode, with the caller's overrides applied. */
export function settingsFor(options: BenchRunOptions<unknown>): Settings {
  const quick = options.quick === true;
  return {
    timeMs: options.timeMs ?? (quick ? 40 : 450),
    warmupMs: options.warmupMs ?? (quick ? 10 : 100),
    minSamples: options.minSamples ?? (quick ? 3 : 16),
    sampleTargetMs: quick ? 0.1 : 0.2,
    calibrateMs: quick ? 1 : 4,
  };
}

/** Keeps results reachable so the optimiser cannot drop the work that made them. */
let sink: unknown;

/** Whether a value is a promise (or any thenable). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Calls `fn` for about `budgetMs` (at most 10 000 calls); returns the mean cost per call, ms. */
async function timeCalls(fn: () => unknown, isAsync: boolean, budgetMs: number): Promise<number> {
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs && calls < 10_000) {
    sink = isAsync ? await fn() : fn();
    calls++;
    elapsed = performance.now() - t0;
  }
  await turnLoop();
  return elapsed / calls;
}

/**
 * Calls `fn` once, then times it twice for about `budgetMs`; returns whether it is async and
 * its cost per call (ms) from the second pass, when the first has warmed the JIT up. A cold
 * estimate is too high and would give samples far shorter than the target.
 */
async function calibrate(fn: () => unknown, budgetMs: number): Promise<{ isAsync: boolean; perCallMs: number }> {
  const first = fn();
  const isAsync = isThenable(first);
  sink = isAsync ? await first : first;
  await timeCalls(fn, isAsync, budgetMs);
  return { isAsync, perCallMs: await timeCalls(fn, isAsync, budgetMs) };
}

/** Median of an unsorted array (0 when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Builds tinybench's task function: `calls` calls of `fn`, timed, with loop-busy time recorded. */
function sampler(fn: () => unknown, isAsync: boolean, calls: number, busyNs: number[]): () => FnReturnedObject | Promise<FnReturnedObject> {
  // Ends a sample: records loop-busy time per call and returns tinybench's overrides.
  const finish = (elu0: ReturnType<typeof performance.eventLoopUtilization>, t0: number): FnReturnedObject => {
    const ms = performance.now() - t0;
    busyNs.push((performance.eventLoopUtilization(elu0).active * 1e6) / calls);
    return { overriddenDuration: ms / calls, overriddenIterationCost: ms };
  };
  if (isAsync) {
    return async () => {
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) sink = await fn();
      return finish(elu0, t0);
    };
  }
  return () => {
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) sink = fn();
    return finish(elu0, t0);
  };
}

/** The statistics of a finished task, per call, in ns. */
function statsOf(task: Task, callsPerSample: number, busyNs: readonly number[]): TimingStats {
  const r = task.result;
  if (r.state !== 'completed') {
    const detail = r.state === 'errored' ? `: ${r.error.message}` : '';
    throw new Error(`bench task '${task.name}' ended ${r.state}${detail}`);
  }
  const l = r.latency;
  return {
    samples: l.samplesCount,
    callsPerSample,
    p50Ns: l.p50 * 1e6,
    p75Ns: l.p75 * 1e6,
    p99Ns: l.p99 * 1e6,
    meanNs: l.mean * 1e6,
    minNs: l.min * 1e6,
    rmePct: l.rme,
    loopBusyNs: median(busyNs),
  };
}

/**
 * Measures every spec in one tinybench run (warmup of all tasks, then the runs, in order) and
 * returns their statistics by name. Throws if any task throws.
 */
export async function measure(specs: readonly TaskSpec[], settings: Settings): Promise<Map<string, TimingStats>> {
  const bench = new Bench({
    time: settings.timeMs,
    warmupTime: settings.warmupMs,
    iterations: settings.minSamples,
    warmupIterations: 2,
    throws: true,
    setup: () => globalThis.gc?.(),
  });
  const busy = new Map<string, number[]>();
  const calls = new Map<string, number>();
  for (const spec of specs) {
    const { isAsync, perCallMs } = await calibrate(spec.fn, settings.calibrateMs);
    const n = Math.max(1, Math.min(100_000, Math.round(settings.sampleTargetMs / Math.max(perCallMs, 1e-6))));
    const busyNs: number[] = [];
    busy.set(spec.name, busyNs);
    calls.set(spec.name, n);
    bench.add(spec.name, sampler(spec.fn, isAsync, n, busyNs), {
      async: isAsync,
      // Warmup samples are not kept: only the run phase's loop-busy figures count.
      beforeAll: (mode) => {
        if (mode === 'run') busyNs.length = 0;
      },
      afterEach: () => turnLoop().then(async () => {
        await spec.afterSample?.();
      }),
    });
  }
  await bench.run();
  const out = new Map<string, TimingStats>();
  for (const task of bench.tasks) out.set(task.name, statsOf(task, calls.get(task.name) ?? 1, busy.get(task.name) ?? []));
  return out;
}

/** The statistics of `name`, which `measure()` must have produced. */
export function statsFor(results: ReadonlyMap<string, TimingStats>, name: string): TimingStats {
  const s = results.get(name);
  if (s === undefined) throw new Error(`no measurement for '${name}'`);
  return s;
}

/** Bytes as a short label: 100 B, 4 KiB, 1 MiB. */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10} KiB`;
  return `${bytes} B`;
}

/** The declared matrix with the caller's overrides applied. */
export function resolveMatrix<M extends object>(declared: M, override: Partial<M> | undefined): M {
  return { ...declared, ...(override ?? {}) };
}
