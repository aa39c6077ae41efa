/**
 * Smoke test of the native benchmarks: both suites run end to end on a tiny matrix and return
 * well-formed rows. Shapes and signs only, never timings: a loaded CI machine must not fail it.
 */
import { describe, expect, it } from 'vitest';
import { run as runCrc } from '../../bench/native/crc.bench.js';
import { run as runSendfile } from '../../bench/native/sendfile.bench.js';
import type { BenchRow } from '../../bench/lib/harness.js';
import { native } from '../../src/native/index.js';

function expectPositive(rows: readonly BenchRow[]): void {
  for (const row of rows) {
    expect(row.stats).toBeDefined();
    expect(row.stats?.p50Ns).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(row.metrics)) {
      if (typeof value !== 'number' || key === 'over noop ns') continue; // a difference may be ≤ 0
      expect(Number.isFinite(value), `${row.name} ${key} = ${value}`).toBe(true);
      expect(value, `${row.name} ${key}`).toBeGreaterThanOrEqual(0);
    }
    if (row.baseline !== undefined) expect(rows.some((r) => r.name === row.baseline)).toBe(true);
  }
}

describe('native benches (quick, tiny matrix)', () => {
  it('native/crc: JS rows always, native rows and the call cost when the addon is loaded', async () => {
    const rows = await runCrc({ quick: true, timeMs: 3, warmupMs: 1, minSamples: 2, matrix: { sizes: [100, 4096] } });
    expectPositive(rows);
    const names = rows.map((r) => r.name);
    expect(names).toContain('js 100 B');
    expect(names).toContain('crc32c 4 KiB');
    if (native.loaded) {
      expect(names).toContain('native 100 B');
      expect(names).toContain('native table 4 KiB');
      expect(names).toContain('native noop()');
    }
  });

  it('native/sendfile: a few MiB over loopback with each available mode', async () => {
    const rows = await runSendfile({ quick: true, matrix: { quickFileBytes: 4 << 20, sliceBytes: [1 << 20], runs: 1 } });
    expectPositive(rows);
    expect(rows.map((r) => r.params.mode)).toEqual(native.sendfile ? ['read+write', 'sendfile'] : ['read+write']);
  });
});
