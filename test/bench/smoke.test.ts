/**
 * Smoke test of the records benchmarks: the codecs suite runs end to end on a tiny matrix with
 * a few milliseconds per task and returns well-formed rows. It checks shapes and signs only,
 * never timings: a loaded CI machine must not fail it.
 */
import { describe, expect, it } from 'vitest';
import type { BenchRow } from '../../bench/lib/harness.js';
import { run } from '../../bench/records/codecs.bench.js';
import type { CompressionName } from '../../src/records/index.js';

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Every numeric metric and timing of a row, by name. */
function numbers(row: BenchRow): [string, number][] {
  const out: [string, number][] = Object.entries(row.metrics).filter((e): e is [string, number] => typeof e[1] === 'number');
  if (row.stats !== undefined) out.push(['p50Ns', row.stats.p50Ns], ['p99Ns', row.stats.p99Ns], ['samples', row.stats.samples]);
  return out;
}

describe('records/codecs bench (quick, tiny matrix)', () => {
  it('returns a positive row for every codec, operation and mode, plus baselines and CRC', async () => {
    const rows = await run({
      quick: true,
      timeMs: 3,
      warmupMs: 1,
      minSamples: 2,
      matrix: { recordSizes: [100], batchCounts: [10], crcSizes: [100] },
    });

    for (const row of rows) {
      expect(row.suite).toBe('records/codecs');
      expect(row.stats).toBeDefined();
      for (const [key, value] of numbers(row)) {
        expect(Number.isFinite(value), `${row.name} ${key} = ${value}`).toBe(true);
        expect(value, `${row.name} ${key}`).toBeGreaterThan(0);
      }
      if (row.baseline !== undefined) expect(rows.some((r) => r.name === row.baseline)).toBe(true);
    }

    const batches = rows.filter((r) => r.section === 'batches' && r.params.op !== 'baseline');
    for (const codec of CODECS) {
      for (const op of ['encode', 'decode']) {
        for (const mode of ['sync', 'async']) {
          const row = batches.find((r) => r.params.codec === codec && r.params.op === op && r.params.mode === mode);
          expect(row, `${op} ${mode} ${codec}`).toBeDefined();
          expect(row?.metrics.ratio).toEqual(expect.any(Number));
          expect(row?.metrics['records/s']).toEqual(expect.any(Number));
          expect(row?.metrics['MB/s']).toEqual(expect.any(Number));
        }
      }
    }
    // Uncompressed batches store the records as they are; the seeded JSON-ish values compress.
    for (const row of batches) {
      if (row.params.codec === 'none') expect(row.metrics.ratio).toBe(1);
      else expect(row.metrics.ratio).toBeGreaterThan(1);
    }
    expect(rows.filter((r) => r.params.op === 'baseline' && r.section === 'batches')).toHaveLength(1);
    expect(rows.find((r) => r.name === 'crc32c 100 B')?.metrics['GB/s']).toEqual(expect.any(Number));
  });
});
