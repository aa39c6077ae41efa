/**
 * `seglog demo` (what `npm start` runs) at a small size: it produces, consumes with a group,
 * applies retention and compaction, verifies, and leaves a data directory the other commands
 * read. Plus the CLI's own surface in process: help, version, unknown commands, and the progress
 * bar, drawn on standard error only when it is a terminal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { KAFKA_FIXTURES } from '../helpers/paths.js';
import { jsonLines, lines, seglog, tempDir } from './helpers.js';

async function run(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t), stderrIsTTY: tty });
  return { code, out, err };
}

describe('seglog demo', () => {
  const root = tempDir('demo');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('runs end to end with --records 20000 and leaves a data directory the other commands read', async () => {
    const dir = path.join(root, 'data');
    const started = Date.now();
    const r = await seglog(['demo', dir, '--records', '20000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    const out = r.stdout;
    expect(out).toContain(`seglog demo: 20,000 records into ${dir}`);
    expect(out).toMatch(/topics: page-views \(4 partitions, lz4, .*\); user-profiles \(2 partitions, zstd, compacted, 100 keys\); audit-log \(1 partition, zstd/);
    expect(out).toMatch(/produced 20,000 records \(.* of keys and values\) in .*: [\d,]+ records\/s/);
    expect(out).toMatch(/consumer group demo-readers \(4 members: audit-log\[0\] page-views\[0,1\] page-views\[2,3\] user-profiles\[0,1\]\) read 20,000 records/);
    const retention = /retention deleted (\d+) segments \((.*?)\); compaction removed ([\d,]+) records/.exec(out);
    expect(retention).not.toBeNull();
    expect(Number(retention![1])).toBeGreaterThan(0);
    expect(retention![2]).toContain('audit-log-0'); // time retention (retention.ms)
    expect(retention![2]).toContain('page-views-0'); // size retention (retention.bytes)
    expect(Number(retention![3].replace(/,/g, ''))).toBeGreaterThan(2000);
    expect(out).toMatch(/user-profiles\s+100\s+/); // one record per key after compaction
    expect(out).toMatch(/verify: 7 partitions, \d+ segments, \d+ batches: every CRC and index OK/);

    // The directory: verify passes, stats agrees, the group's commits are durable.
    expect((await seglog(['verify', dir])).code).toBe(0);
    const stats = jsonLines<{ topic: string; records: number; startOffset: number }>((await seglog(['stats', '--json', dir])).stdout);
    expect(stats.filter((s) => s.topic === 'user-profiles').reduce((a, s) => a + s.records, 0)).toBe(100);
    expect(stats.find((s) => s.topic === 'audit-log')!.startOffset).toBeGreaterThan(0);
    const resumed = await seglog(['consume', dir, '--topic', 'page-views', '--group', 'demo-readers']);
    expect(resumed).toMatchObject({ code: 0, stdout: '', stderr: 'consumed 0 records; group demo-readers committed\n' });
    const profiles = jsonLines<{ key: string; value: string | null }>((await seglog(['consume', dir, '--topic', 'user-profiles', '--json'])).stdout);
    expect(new Set(profiles.map((p) => p.key)).size).toBe(100);
    expect(profiles.filter((p) => p.value === null)).toHaveLength(10); // tombstones stay until delete.retention.ms

    // A second run replaces the demo topics in the same directory.
    const again = await seglog(['demo', dir, '--records', '1000']);
    expect(again.code).toBe(0);
    expect(lines((await seglog(['topics', dir, '--list', '--exclude-internal'])).stdout)).toEqual(['audit-log', 'page-views', 'user-profiles']);
  });

  it('bad arguments are exit code 2', async () => {
    expect((await run(['demo', '--records', '10'])).code).toBe(2);
    expect((await run(['demo', 'a', 'b'])).code).toBe(2);
  });
});

describe('the seglog command', () => {
  it('prints the usage for --help (0) and for no command (2), and per command', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['topics', 'produce', 'consume', 'verify', 'stats', 'maintain', 'dump', 'demo']) expect(help.out).toContain(`  seglog ${c} `);
    expect((await run([])).code).toBe(2);
    const topics = await run(['topics', '--help']);
    expect(topics.code).toBe(0);
    expect(topics.out).toBe('usage:\n  seglog topics DIR --create --topic T [--partitions N] [--config key=value ...]\n  seglog topics DIR --list [--exclude-internal] | --describe [--topic T] | --delete --topic T   [--json]\n');
  });

  it('knows its version and refuses unknown commands with exit code 2', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await run(['--version'])).out).toBe(`${pkg.version}\n`);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^seglog: unknown command 'frobnicate'/);
  });

  it('draws a progress bar on a terminal, and nothing on a pipe', async () => {
    const dir = KAFKA_FIXTURES;
    const tty = await run(['verify', dir], true);
    expect(tty.code).toBe(0);
    expect(tty.err).toMatch(/\rverify \[#+\] 100% /);
    expect(tty.err.endsWith('\r')).toBe(true); // erased before the table
    const pipe = await run(['verify', dir], false);
    expect(pipe.err).toBe('');
    const untimed = (s: string): string => s.replace(/verified in \S+ m?s/, 'verified');
    expect(untimed(pipe.out)).toBe(untimed(tty.out));
  });
});
