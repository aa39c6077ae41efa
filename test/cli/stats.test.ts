/**
 * `seglog stats` end to end: the figures it prints against what was written (segments, bytes,
 * offsets, record counts, time range, codecs, compression ratio), read-only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { KAFKA_FIXTURES } from '../helpers/paths.js';
import { jsonLines, seglog, snapshotTree, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000;

interface Stats {
  topic: string;
  partition: number;
  segments: number;
  bytes: number;
  startOffset: number;
  endOffset: number;
  records: number;
  batches: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  codecs: Record<string, number>;
  storedRecordBytes: number;
  uncompressedRecordBytes: number;
  compressionRatio: number;
}

describe('seglog stats', () => {
  const root = tempDir('stats');
  const expected = new Map<string, { segments: number; size: number; start: number; end: number }>();

  beforeAll(async () => {
    // clicks: 2 partitions of lz4 batches of repetitive JSON, small segments.
    for (let p = 0; p < 2; p++) {
      const log = await Log.open(path.join(root, `clicks-${p}`), { config: { segmentBytes: 4096 }, clock: () => T0 + 1_000_000 });
      for (let b = 0; b < 30; b++) {
        const records = Array.from({ length: 50 }, (_, i) => ({
          key: `user-${i}`,
          value: JSON.stringify({ page: '/products/catalogue/index.html', user: i, batch: b, pad: 'x'.repeat(100) }),
          timestamp: T0 + p * 100_000 + b * 50 + i,
        }));
        await log.append(records, { compression: 'lz4' });
      }
      if (p === 1) await log.deleteRecordsBefore(100); // a log start offset inside the first segment
      expected.set(`clicks-${p}`, { segments: log.numberOfSegments, size: log.size, start: log.logStartOffset, end: log.logEndOffset });
      await log.close();
    }
    // plain: uncompressed, one segment.
    const log = await Log.open(path.join(root, 'plain-0'), { clock: () => T0 });
    await log.append([{ value: 'a', timestamp: T0 - 5 }, { value: 'bb', timestamp: T0 + 5 }]);
    expected.set('plain-0', { segments: log.numberOfSegments, size: log.size, start: 0, end: 2 });
    await log.close();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('--json: segments, bytes, offsets, counts and time range as written', async () => {
    const before = snapshotTree(root);
    const r = await seglog(['stats', '--json', root]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const stats = jsonLines<Stats>(r.stdout);
    expect(stats.map((s) => `${s.topic}-${s.partition}`)).toEqual(['clicks-0', 'clicks-1', 'plain-0']);
    for (const s of stats) {
      const e = expected.get(`${s.topic}-${s.partition}`)!;
      expect({ segments: s.segments, size: s.bytes, start: s.startOffset, end: s.endOffset }).toEqual(e);
    }
    const [c0, c1, plain] = stats;
    expect(c0.segments).toBeGreaterThan(2);
    expect(c0.records).toBe(1500);
    expect(c0.batches).toBe(30);
    expect(c0.codecs).toEqual({ lz4: 30 });
    expect(c0.firstTimestamp).toBe(T0);
    expect(c0.lastTimestamp).toBe(T0 + 29 * 50 + 49);
    expect(c1.startOffset).toBe(100);
    expect(c1.firstTimestamp).toBe(T0 + 100_000);
    // Repetitive JSON compresses well; the uncompressed figure is the decoded records region.
    expect(c0.compressionRatio).toBeGreaterThan(3);
    expect(c0.uncompressedRecordBytes).toBeGreaterThan(1500 * 150);
    expect(c0.compressionRatio).toBeCloseTo(c0.uncompressedRecordBytes / c0.storedRecordBytes, 10);
    expect(plain).toMatchObject({ records: 2, batches: 1, codecs: { none: 1 }, compressionRatio: 1, firstTimestamp: T0 - 5, lastTimestamp: T0 + 5 });
    expect(snapshotTree(root)).toEqual(before); // read-only
  });

  it('prints a table per partition with topic totals', async () => {
    const r = await seglog(['stats', root]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PARTITION\s+SEGMENTS\s+SIZE\s+START\s+END\s+RECORDS\s+BATCHES\s+FIRST TIMESTAMP\s+LAST TIMESTAMP\s+CODECS\s+RATIO/);
    expect(r.stdout).toMatch(/clicks-1\s+\d+\s+[\d.]+ KiB\s+100\s+1500\s+1,500\s+30\s+2023-11-14T22:1\S+\s+\S+\s+lz4\s+\d+\.\d\dx/);
    expect(r.stdout).toMatch(/clicks \(total\)\s+\d+\s+[\d.]+ KiB\s+3,000\s+60\s/);
    expect(r.stdout).toMatch(/plain-0\s+1\s+\d+ B\s+0\s+2\s+2\s+1\s.*none\s+1\.00x/);
    expect(r.stdout).toMatch(/2 topics, 3 partitions, 3,002 records in/);
  });

  it('--topic narrows to one topic; a partition directory works alone', async () => {
    const one = jsonLines<Stats>((await seglog(['stats', '--json', '--topic', 'plain', root])).stdout);
    expect(one.map((s) => s.topic)).toEqual(['plain']);
    const dir = jsonLines<Stats>((await seglog(['stats', '--json', path.join(root, 'clicks-0')])).stdout);
    expect(dir).toHaveLength(1);
    expect(dir[0].records).toBe(1500);
  });

  it("reads Kafka 2.7.1's data directory", async () => {
    const r = await seglog(['stats', '--json', KAFKA_FIXTURES]);
    expect(r.code).toBe(0);
    const byName = new Map(jsonLines<Stats>(r.stdout).map((s) => [`${s.topic}-${s.partition}`, s]));
    expect(byName.get('__consumer_offsets-39')).toMatchObject({ segments: 2, startOffset: 0, endOffset: 20, records: 5, batches: 4 });
    expect(byName.get('myTopic-0')).toMatchObject({ segments: 1, startOffset: 38, endOffset: 38, records: 0 });
  });

  it('usage errors are exit code 2', async () => {
    expect((await seglog(['stats'])).code).toBe(2);
    expect((await seglog(['stats', root, '--topic'])).code).toBe(2);
  });
});
