/**
 * Native addon: CRC-32C throughput, the addon against the JavaScript implementation, and what a
 * call into the addon costs, all measured in the same run.
 *
 * Matrix (`matrix` below): buffer sizes (100 B, 4 KiB, 1 MiB). Per size, one tinybench run of:
 * - `js`: `crc32cJs(buf)` — the JavaScript slicing-by-8 fallback (the baseline of `×JS`);
 * - `native`: the addon's `crc32c(0, buf, 0, n)` — the hardware instruction (SSE4.2 / ARMv8 CRC);
 * - `native table`: the addon's portable slicing-by-8 path, what a CPU without the instruction gets;
 * - `crc32c`: the public `crc32c(buf)` — the dispatcher (JS below `NATIVE_MIN_BYTES`, else native);
 * - `noop`: the addon's `noop()` — the fixed cost of an N-API call, in the same run.
 * A "call cost" section adds `noop()`, an empty JavaScript function and a 0-byte native CRC.
 *
 * Figures: GB/s (10^9 bytes per second of the median call), `×JS` = median time / median time of
 * `js` at the same size (lower is faster), `over noop` = median − the `noop` median (the work a
 * native call does beyond crossing the boundary). Without the addon (not built, or
 * SEGLOG_NATIVE=0) only the JavaScript rows run.
 */
import { binding, native } from '../../src/native/index.js';
import { NATIVE_MIN_BYTES, crc32c, crc32cJs } from '../../src/records/crc32c.js';
import { seededRng } from '../lib/data.js';
import { measure, resolveMatrix, settingsFor, sizeLabel, statsFor, type BenchRow, type BenchRunOptions, type TaskSpec } from '../lib/harness.js';

/** The parameter matrix of this suite. */
export interface CrcMatrix {
  /** Buffer sizes in bytes. */
  sizes: number[];
}

/** The declared matrix. */
export const matrix: CrcMatrix = { sizes: [100, 4096, 1 << 20] };

const SUITE = 'native/crc';

function randomBuffer(size: number): Buffer {
  const rng = seededRng(size ^ 0x9e3779b9);
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = Math.floor(rng() * 256);
  return buf;
}

/** The tasks of one size: name → operation. */
function sizeSpecs(buf: Buffer): TaskSpec[] {
  const label = sizeLabel(buf.length);
  const specs: TaskSpec[] = [{ name: `js ${label}`, fn: () => crc32cJs(buf) }];
  if (binding !== null) {
    const b = binding;
    const n = buf.length;
    specs.push(
      { name: `native ${label}`, fn: () => b.crc32c(0, buf, 0, n) },
      { name: `native table ${label}`, fn: () => b.crc32cSoftware(0, buf, 0, n) },
      { name: `noop ${label}`, fn: () => b.noop() },
    );
  }
  specs.push({ name: `crc32c ${label}`, fn: () => crc32c(buf) });
  return specs;
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<CrcMatrix> = {}): Promise<BenchRow[]> {
  const m = resolveMatrix(matrix, options.matrix);
  const settings = settingsFor(options);
  const log = options.log ?? (() => {});
  if (binding === null) log(`  ${SUITE}: addon not loaded (${native.error ?? 'unknown'}): JavaScript rows only`);
  else log(`  ${SUITE}: addon CRC path ${native.crc32cImplementation}; crc32c() uses it from ${NATIVE_MIN_BYTES} B`);
  const rows: BenchRow[] = [];

  for (const size of m.sizes) {
    const buf = randomBuffer(size);
    const expected = crc32cJs(buf);
    const specs = sizeSpecs(buf);
    for (const s of specs) {
      const r = s.fn();
      if (!s.name.startsWith('noop') && r !== expected) throw new Error(`${s.name}: CRC ${String(r)} != ${expected}`);
    }
    log(`  ${SUITE}: ${sizeLabel(size)} (${specs.length} tasks)`);
    const results = await measure(specs, settings);
    const label = sizeLabel(size);
    const js = statsFor(results, `js ${label}`);
    const noop = results.get(`noop ${label}`);
    for (const spec of specs) {
      if (spec.name.startsWith('noop')) continue;
      const stats = statsFor(results, spec.name);
      const metrics: Record<string, number> = { 'GB/s': size / stats.p50Ns, '×JS': stats.p50Ns / js.p50Ns };
      if (noop !== undefined && spec.name.startsWith('native')) metrics['over noop ns'] = stats.p50Ns - noop.p50Ns;
      rows.push({
        suite: SUITE,
        section: 'crc32c',
        name: spec.name,
        params: { impl: spec.name.slice(0, spec.name.length - label.length - 1), bytes: size },
        stats,
        metrics,
        baseline: `js ${label}`,
      });
    }
  }

  if (binding !== null) {
    const b = binding;
    const empty = Buffer.alloc(0);
    const jsNoop = (): undefined => undefined;
    const specs: TaskSpec[] = [
      { name: 'native noop()', fn: () => b.noop() },
      { name: 'js empty function', fn: () => jsNoop() },
      { name: 'native crc32c 0 B', fn: () => b.crc32c(0, empty, 0, 0) },
    ];
    log(`  ${SUITE}: call cost (${specs.length} tasks)`);
    const results = await measure(specs, settings);
    const base = statsFor(results, 'native noop()');
    for (const spec of specs) {
      const stats = statsFor(results, spec.name);
      rows.push({
        suite: SUITE,
        section: 'call cost',
        name: spec.name,
        params: { op: spec.name },
        stats,
        metrics: { 'ns/call': stats.p50Ns, '×noop': stats.p50Ns / base.p50Ns },
        baseline: 'native noop()',
      });
    }
  }
  return rows;
}
