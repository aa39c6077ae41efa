/**
 * Smoke test of the storage benchmarks (bench/log/): each suite runs end to end on a tiny
 * configuration (small logs, a few samples) and returns well-formed rows. It checks shapes,
 * signs and the counts the suites verify themselves, never timings: a loaded CI machine must
 * not fail it.
 */
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { run as runAppend } from '../../bench/log/append.bench.js';
import { run as runOpen } from '../../bench/log/open.bench.js';
import { run as runRead } from '../../bench/log/read.bench.js';
import type { BenchRow } from '../../bench/lib/harness.js';

const TINY = { quick: true, timeMs: 3, warmupMs: 1, minSamples: 2 } as const;


/** Every row is timed, finite and positive where it must be, and names an existing baseline. */
function checkRows(rows: readonly BenchRow[], suite: string): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(row.suite).toBe(suite);
    expect(row.stats, row.name).toBeDefined();
    const stats = row.stats!;
    for (const [key, value] of [['p50Ns', stats.p50Ns], ['p99Ns', stats.p99Ns], ['samples', stats.samples]] as const) {
      expect(Number.isFinite(value), `${row.name} ${key}`).toBe(true);
      expect(value, `${row.name} ${key}`).toBeGreaterThan(0);
    }
    for (const [key, value] of Object.entries(row.metrics)) {
      if (typeof value !== 'number') continue;
      expect(Number.isFinite(value), `${row.name} ${key} = ${value}`).toBe(true);
      // `recovered` is a count (0 for clean opens); `net ×raw` a difference of two medians.
      if (key === 'recovered') expect(value, `${row.name} ${key}`).toBeGreaterThanOrEqual(0);
      else if (key !== 'net ×raw') expect(value, `${row.name} ${key}`).toBeGreaterThan(0);
    }
    expect(row.baseline, row.name).toBeDefined();
    expect(rows.some((r) => r.name === row.baseline), `${row.name} → ${row.baseline}`).toBe(true);
  }
  expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
}

/** Data directories this process's suites left under os.tmpdir() (they must remove theirs). */
function leftovers(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('seglog-bench-') && n.includes(`-${process.pid}-`));
}

describe('log benches (quick, tiny configuration)', () => {
  it('append: raw, awaited, pipelined, appendBatches and durable rows for each batch size', async () => {
    const before = leftovers();
    const rows = await runAppend({ ...TINY, matrix: { batchCounts: [1, 10], windowBatches: 20, windowBytes: 1 << 20, fileCapBytes: 256 << 10 } });
    checkRows(rows, 'log/append');
    for (const records of [1, 10]) {
      const cell = rows.filter((r) => r.params.records === records);
      const ops = cell.map((r) => `${r.params.durable} ${r.params.op} ${r.params.mode}`).sort();
      expect(ops).toEqual(
        [
          '0 raw write/batch',
          '0 raw write/window',
          '0 append awaited',
          '0 append pipelined',
          '0 copy -',
          '0 appendBatches awaited',
          '0 appendBatches pipelined',
          '1 raw write+fdatasync/batch',
          '1 raw write+fdatasync/window',
          '1 append awaited',
          '1 append pipelined',
        ].sort(),
      );
      for (const r of cell) {
        expect(r.metrics['records/s']).toEqual(expect.any(Number));
        expect(r.metrics['MB/s']).toEqual(expect.any(Number));
        if (r.params.op === 'raw' && String(r.params.mode).endsWith('/batch')) expect(r.metrics['×raw']).toBe(1);
        if (r.params.op === 'appendBatches') expect(r.metrics['net ×raw']).toEqual(expect.any(Number));
        if (r.params.mode === 'pipelined') expect(r.params.window).toBe(20);
      }
    }
    expect(leftovers()).toEqual(before);
  });

  it('read: scans and lookups against raw reads', async () => {
    const before = leftovers();
    const rows = await runRead({ ...TINY, matrix: { logBytes: 1 << 20, segmentBytes: 256 << 10, readMaxBytes: 64 << 10, lookups: 100 } });
    checkRows(rows, 'log/read');
    const scans = rows.filter((r) => r.section.startsWith('sequential scan'));
    expect(scans.map((r) => r.params.op)).toEqual(['raw', 'raw fresh', 'batches', 'batches+crc', 'records sync', 'records async', 'log.batches', 'log.batches+crc', 'recordsSync']);
    for (const r of scans) {
      expect(r.params.segments).toBeGreaterThan(1);
      expect(r.metrics['MB/s']).toEqual(expect.any(Number));
    }
    const lookups = rows.filter((r) => r.section.startsWith('random lookups'));
    expect(lookups.map((r) => r.params.op)).toEqual(['raw', 'read', 'offsetForTimestamp']);
    for (const r of lookups) expect(r.stats?.samples).toBe(100);
    expect(leftovers()).toEqual(before);
  });

  it('open: clean opens of both logs and the bytes control, unclean opens, the listing floor', async () => {
    const before = leftovers();
    const rows = await runOpen({ ...TINY, matrix: { segmentCounts: [2, 6], segmentBytes: 16 << 10 } });
    checkRows(rows, 'log/open');
    const byOp = (op: string) => rows.filter((r) => r.params.op === op);
    const clean = byOp('open clean');
    expect(clean.map((r) => r.params.segments).slice(0, 2)).toEqual([2, 6]);
    expect(clean[0].metrics['×base']).toBe(1);
    // The bytes control: the largest log's bytes in fewer, larger segments.
    expect(clean).toHaveLength(3);
    expect(clean[2].params.logBytes).toBeGreaterThanOrEqual(clean[1].params.logBytes as number);
    expect(clean[2].params.segments).toBeLessThan(6);
    expect(byOp('open unclean')[0].metrics.recovered).toBe(1);
    expect(byOp('open unclean full')[0].metrics.recovered).toBe(6);
    expect(byOp('readdir+stat')).toHaveLength(1);
    expect(leftovers()).toEqual(before);
  });
});
