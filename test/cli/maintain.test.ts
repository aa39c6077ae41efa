/**
 * `seglog maintain` end to end: retention deletes the oldest segments of a topic over
 * `retention.bytes` (the log start offset moves, consumers see only the tail, no `.deleted`
 * file is left), compaction keeps the latest value per key of a compacted topic, `--topic`
 * narrows the round, and the report's figures match the files (`seglog stats`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, lines, seglog, tempDir } from './helpers.js';

interface Stats {
  topic: string;
  partition: number;
  segments: number;
  bytes: number;
  startOffset: number;
  endOffset: number;
  records: number;
}

async function stats(dir: string): Promise<Map<string, Stats>> {
  const r = await seglog(['stats', '--json', dir]);
  expect(r.code).toBe(0);
  return new Map(jsonLines<Stats>(r.stdout).map((s) => [`${s.topic}-${s.partition}`, s]));
}

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('seglog maintain', () => {
  const root = tempDir('maintain');
  const dir = path.join(root, 'data');
  const RETENTION_BYTES = 8192;

  beforeAll(async () => {
    const create = async (...args: string[]): Promise<void> => expect((await seglog(['topics', dir, '--create', ...args])).code).toBe(0);
    await create('--topic', 'logs', '--config', 'segment.bytes=2048', '--config', `retention.bytes=${RETENTION_BYTES}`);
    await create('--topic', 'state', '--partitions', '2', '--config', 'segment.bytes=2048', '--config', 'cleanup.policy=compact');
    const logLines = Array.from({ length: 2000 }, (_, i) => `line-${i}`).join('\n');
    expect((await seglog(['produce', dir, '--topic', 'logs'], { input: logLines })).code).toBe(0);
    const updates = Array.from({ length: 3000 }, (_, i) => `key-${i % 10}:value-${i}`).join('\n');
    expect((await seglog(['produce', dir, '--topic', 'state', '--key-separator', ':'], { input: updates })).code).toBe(0);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('--topic runs one topic: compaction keeps the latest value of every key, retention elsewhere waits', async () => {
    const before = await stats(dir);
    const r = await seglog(['maintain', dir, '--topic', 'state']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // no terminal, no progress bar
    expect(r.stdout).toMatch(/PARTITION\s+BEFORE\s+AFTER\s+LOG START\s+SEGMENTS DELETED\s+COMPACTION/);
    expect(r.stdout).not.toContain('logs-0');
    expect(r.stdout).toMatch(/state-0\s+.*\s[\d,]+ records removed, \d+ → \d+ segments/);
    const removed = Number(/compaction ran on 2 logs and removed ([\d,]+) records/.exec(r.stdout)?.[1].replace(/,/g, ''));
    const after = await stats(dir);
    const recordsBefore = before.get('state-0')!.records + before.get('state-1')!.records;
    const recordsAfter = after.get('state-0')!.records + after.get('state-1')!.records;
    expect(recordsBefore).toBe(3000);
    expect(removed).toBeGreaterThan(2000);
    expect(recordsAfter).toBe(recordsBefore - removed);
    expect(after.get('logs-0')).toEqual(before.get('logs-0'));
    // Offsets are kept, and the latest value of every key is still there.
    const out = jsonLines<{ key: string; value: string }>((await seglog(['consume', dir, '--topic', 'state', '--json'])).stdout);
    expect(out).toHaveLength(recordsAfter);
    const latest = new Map<string, string>();
    for (const o of out) latest.set(o.key, o.value);
    expect([...latest.entries()].sort()).toEqual(Array.from({ length: 10 }, (_, k) => [`key-${k}`, `value-${2990 + k}`]).sort());
  });

  it('retention deletes the oldest segments over retention.bytes and reports them', async () => {
    const before = (await stats(dir)).get('logs-0')!;
    expect(before.bytes).toBeGreaterThan(3 * RETENTION_BYTES);
    const r = await seglog(['maintain', dir, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      deletedSegments: number;
      errors: number;
      partitions: { topic: string; partition: number; deletedSegments: number; logStartOffsetBefore: number; logStartOffsetAfter: number; sizeBefore: number; sizeAfter: number }[];
    };
    expect(report.errors).toBe(0);
    const logs = report.partitions.find((p) => p.topic === 'logs')!;
    expect(logs.deletedSegments).toBeGreaterThan(0);
    expect(report.deletedSegments).toBe(logs.deletedSegments);
    expect(logs.sizeBefore).toBe(before.bytes);
    // Kafka's rule: a segment goes only when the log without it is still at least retention.bytes.
    expect(logs.sizeAfter).toBeLessThan(RETENTION_BYTES + 2048);
    expect(logs.sizeAfter).toBeGreaterThanOrEqual(RETENTION_BYTES);
    const after = (await stats(dir)).get('logs-0')!;
    expect(after.segments).toBe(before.segments - logs.deletedSegments);
    expect(after.bytes).toBe(logs.sizeAfter);
    expect(after.startOffset).toBe(logs.logStartOffsetAfter);
    expect(logs.logStartOffsetAfter).toBeGreaterThan(0);
    expect(after.endOffset).toBe(2000);
    // Consumers see the tail only; the `.deleted` files went when the directory closed.
    const values = lines((await seglog(['consume', dir, '--topic', 'logs'])).stdout);
    expect(values[0]).toBe(`line-${logs.logStartOffsetAfter}`);
    expect(values[values.length - 1]).toBe('line-1999');
    expect(allFiles(dir).filter((f) => f.endsWith('.deleted'))).toEqual([]);
    expect((await seglog(['verify', dir])).code).toBe(0);
  });

  it('a second round has nothing left to do', async () => {
    const r = await seglog(['maintain', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/retention deleted 0 segments; compaction ran on 0 logs and removed 0 records/);
  });

  it('errors: unknown topic (1), missing directory (1), bad arguments (2)', async () => {
    const unknown = await seglog(['maintain', dir, '--topic', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^seglog: UNKNOWN_TOPIC: /);
    const missing = await seglog(['maintain', path.join(root, 'missing')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^seglog: IO_ERROR: .*ENOENT/);
    expect(fs.existsSync(path.join(root, 'missing'))).toBe(false);
    expect((await seglog(['maintain'])).code).toBe(2);
    expect((await seglog(['maintain', dir, '--now'])).code).toBe(2);
  });
});
