/**
 * `seglog topics` end to end: create / list / describe / delete with partitions and Kafka's
 * dotted config names, usage errors (exit 2), data errors (exit 1, `seglog: CODE: message`),
 * illegal topic names that must not create anything outside the data directory, and LOCKED while
 * another process has the directory open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/store/store.js';
import { jsonLines, lines, seglog, tempDir } from './helpers.js';

describe('seglog topics', () => {
  const root = tempDir('topics');
  const dir = path.join(root, 'data');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates topics with partitions and dotted config overrides', async () => {
    const r = await seglog(['topics', dir, '--create', '--topic', 'orders', '--partitions', '3', '--config', 'segment.bytes=1048576', '--config', 'cleanup.policy=compact,delete']);
    expect(r).toMatchObject({ code: 0, stdout: 'Created topic orders.\n', stderr: '' });
    expect((await seglog(['topics', dir, '--create', '--topic', 'clicks'])).code).toBe(0);
    for (let p = 0; p < 3; p++) expect(fs.existsSync(path.join(dir, `orders-${p}`))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'clicks-0'))).toBe(true);
  });

  it('lists and describes them', async () => {
    expect(lines((await seglog(['topics', dir, '--list'])).stdout)).toEqual(['clicks', 'orders']);
    expect(JSON.parse((await seglog(['topics', dir, '--list', '--json'])).stdout)).toEqual(['clicks', 'orders']);
    const d = await seglog(['topics', dir, '--describe', '--topic', 'orders']);
    expect(d.code).toBe(0);
    const [head, ...parts] = lines(d.stdout);
    expect(head).toBe('Topic: orders\tPartitionCount: 3\tConfigs: segment.bytes=1048576,cleanup.policy=compact,delete');
    expect(parts).toHaveLength(3);
    expect(parts[2]).toMatch(/^\tTopic: orders\tPartition: 2\tLogStartOffset: 0\tLogEndOffset: 0\tHighWatermark: 0\tSegments: 1\tSize: 0 B$/);
    const all = jsonLines<{ name: string; partitions: number; config: Record<string, string> }>((await seglog(['topics', dir, '--describe', '--json'])).stdout);
    expect(all.map((t) => [t.name, t.partitions])).toEqual([
      ['clicks', 1],
      ['orders', 3],
    ]);
    expect(all[1].config).toEqual({ 'segment.bytes': '1048576', 'cleanup.policy': 'compact,delete' });
  });

  it('refuses what exists, unknown topics and bad configs with exit code 1 and the code', async () => {
    let r = await seglog(['topics', dir, '--create', '--topic', 'orders']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('seglog: TOPIC_EXISTS: topic orders already exists\n');
    r = await seglog(['topics', dir, '--describe', '--topic', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: UNKNOWN_TOPIC: /);
    r = await seglog(['topics', dir, '--create', '--topic', 'x', '--config', 'no.such.key=1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: INVALID_CONFIG: .*no\.such\.key/);
    r = await seglog(['topics', dir, '--create', '--topic', 'x', '--config', 'segment.bytes=lots']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: INVALID_CONFIG: .*segment\.bytes/);
    expect(fs.existsSync(path.join(dir, 'x-0'))).toBe(false);
  });

  it.each([
    ['a path', '../escape'],
    ['dot-dot', '..'],
    ['dot', '.'],
    ['a slash', 'a/b'],
    ['a space', 'sp ace'],
    ['250 characters', 'x'.repeat(250)],
  ])('rejects an illegal name (%s) with INVALID_TOPIC and creates nothing', async (_label, name) => {
    const before = fs.readdirSync(root).sort();
    const r = await seglog(['topics', dir, '--create', '--topic', name]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: INVALID_TOPIC: /);
    expect(fs.readdirSync(root).sort()).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('-0')).sort()).toEqual(['clicks-0', 'orders-0']);
  });

  it.each([
    [['topics', dir], /one of --create, --list, --describe, --delete is required/],
    [['topics', dir, '--create', '--list'], /--create and --list cannot be used together/],
    [['topics', dir, '--create'], /--topic is required/],
    [['topics', dir, '--delete'], /--topic is required/],
    [['topics', dir, '--create', '--topic', 'y', '--partitions', '0'], /--partitions "0" is not an integer ≥ 1/],
    [['topics', dir, '--create', '--topic', 'y', '--partitions', 'three'], /--partitions "three"/],
    [['topics', dir, '--create', '--topic', 'y', '--config', 'segment.bytes'], /--config "segment.bytes" is not key=value/],
    [['topics', dir, '--list', '--partitions', '2'], /--partitions does not go with --list/],
    [['topics', dir, '--list', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['topics', '--list'], /missing DIR/],
  ])('usage error %#: exit code 2 with the usage', async (args, message) => {
    const r = await seglog(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage:\n  seglog topics DIR --create');
    expect(r.stdout).toBe('');
  });

  it('fails with LOCKED while another process has the directory open', async () => {
    const store = await EventStore.open(dir, { maintenanceIntervalMs: 0 });
    try {
      const r = await seglog(['topics', dir, '--list']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^seglog: LOCKED: /);
    } finally {
      await store.close();
    }
  });

  it('deletes a topic (its directories go), but not an internal one', async () => {
    const r = await seglog(['topics', dir, '--delete', '--topic', 'orders']);
    expect(r).toMatchObject({ code: 0, stdout: 'Deleted topic orders.\n' });
    expect(lines((await seglog(['topics', dir, '--list'])).stdout)).toEqual(['clicks']);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('orders'))).toEqual([]);
    expect((await seglog(['topics', dir, '--delete', '--topic', 'orders'])).stderr).toMatch(/^seglog: UNKNOWN_TOPIC: /);
    // A consumer group's commit creates __consumer_offsets; kafka-topics lists it, --exclude-internal hides it.
    await seglog(['produce', dir, '--topic', 'clicks'], { input: 'x\n' }).then((p) => expect(p.code).toBe(0));
    expect((await seglog(['consume', dir, '--topic', 'clicks', '--group', 'g'])).code).toBe(0);
    expect(lines((await seglog(['topics', dir, '--list'])).stdout)).toEqual(['__consumer_offsets', 'clicks']);
    expect(lines((await seglog(['topics', dir, '--list', '--exclude-internal'])).stdout)).toEqual(['clicks']);
    const internal = await seglog(['topics', dir, '--delete', '--topic', '__consumer_offsets']);
    expect(internal.code).toBe(1);
    expect(internal.stderr).toMatch(/^seglog: INVALID_TOPIC: __consumer_offsets is an internal topic/);
  });

  it('does not create a data directory for --list', async () => {
    const missing = path.join(root, 'missing');
    const r = await seglog(['topics', missing, '--list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: IO_ERROR: .*ENOENT/);
    expect(fs.existsSync(missing)).toBe(false);
  });
});
