/**
 * Smoke test of the peer benchmark (bench/peers/): the harness runs end to end on a tiny
 * matrix — every engine in its own child process, one round, children four at a time — and
 * writes its Markdown, SVG and JSON files. It checks that every engine produced figures with
 * finite values and ratios and that the files parse, never the timings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINE_NAMES } from '../../bench/peers/engines/types.js';
import { run } from '../../bench/peers/peers.bench.js';

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-peers-smoke-'));

afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

describe('peers bench (tiny configuration)', () => {
  it('every engine produces rows; peers.md, peers.svg and peers-runs.json are written and parse', async () => {
    const rows = await run({
      outDir,
      full: false,
      quick: true,
      matrix: {
        shapes: [
          { valueBytes: 100, records: 200 },
          { valueBytes: 1024, records: 100 },
        ],
        batchSizes: [1, 100],
        maxBatches: 50,
        durableMaxBatches: 5,
        randomReads: 20,
        rounds: 1,
        concurrency: 4,
      },
    });
    const failures = (JSON.parse(fs.readFileSync(path.join(outDir, 'peers-runs.json'), 'utf8')) as { failures: Record<string, string> }).failures;
    expect(failures).toEqual({});
    for (const engine of ENGINE_NAMES) {
      const mine = rows.filter((r) => r.params.engine === engine);
      const sections = new Set(mine.map((r) => r.section));
      // Append (page cache and durable), scan, random p50 and p99, reopen, disk.
      expect(sections.size, engine).toBe(7);
    }
    expect(rows.filter((r) => r.params.variant === 'seglog zstd').length).toBeGreaterThan(0);
    // The pipelined variant appends (page cache and durable) and reads nothing; its bytes on disk are measured.
    const piped = rows.filter((r) => r.params.variant === 'seglog ×32 in flight').map((r) => r.section);
    expect(piped.some((t) => t.startsWith('Append, durable'))).toBe(true);
    expect(piped.some((t) => t.startsWith('Sequential read'))).toBe(false);
    for (const row of rows) {
      for (const [key, value] of Object.entries(row.metrics)) {
        if (typeof value !== 'number') continue;
        expect(Number.isFinite(value) && value > 0, `${row.section} ${row.name} ${key} = ${value}`).toBe(true);
      }
      expect(row.metrics['×raw'], row.name).toBeDefined();
      expect(row.metrics['×best peer'], row.name).toBeDefined();
    }
    const md = fs.readFileSync(path.join(outDir, 'peers.md'), 'utf8');
    for (const engine of ENGINE_NAMES) expect(md).toContain(`| ${engine} |`);
    const svg = fs.readFileSync(path.join(outDir, 'peers.svg'), 'utf8');
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect /g)?.length ?? 0).toBeGreaterThan(ENGINE_NAMES.length * 4);
  });
});
