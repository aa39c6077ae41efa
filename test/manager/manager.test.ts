/**
 * LogManager: topics (create, describe, list, delete, persistence across reopen, config
 * validation), the data directory's lock (same process and another process), the root
 * checkpoint files and clean-shutdown marker, crash-safe deletion, opening a copy of a real
 * Kafka 2.7.1 data directory, and maintenance (retention and compaction) with an injected clock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { readOffsetCheckpoint } from '../../src/log/checkpoint.js';
import { CLEAN_SHUTDOWN_FILE, CLEANER_OFFSET_CHECKPOINT_FILE, LOG_START_OFFSET_CHECKPOINT_FILE, RECOVERY_POINT_CHECKPOINT_FILE } from '../../src/log/log.js';
import { LogManager, type LogManagerOptions } from '../../src/manager/manager.js';
import { TOPICS_FILE } from '../../src/manager/topics-file.js';
import { KAFKA_FIXTURES, REPO } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { Child } from '../store/child-process.js';

const CHILD = path.join(REPO, 'test/store/crash-child.ts');
const dirs: string[] = [];
const open: LogManager[] = [];
const children: Child[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  for (const m of open.splice(0)) await m.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-manager-'));
  dirs.push(d);
  return d;
}

let now = 1_700_000_000_000;
const clock = () => now;

async function openManager(dir: string, options: LogManagerOptions = {}): Promise<LogManager> {
  const m = await LogManager.open(dir, { clock, maintenanceIntervalMs: 0, ...options });
  open.push(m);
  return m;
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return (err as SeglogError).code;
  }
  return 'none';
}

/** The data directory's entries that are directories, sorted. */
function subdirs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

describe('topics', () => {
  it('creates, describes, lists and deletes topics; config overrides in Kafka dotted names', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    expect(m.listTopics()).toEqual([]);
    const d = await m.createTopic('orders', { partitions: 3, config: { retentionMs: 60_000, 'cleanup.policy': 'compact,delete', maxCompactionLagMs: 2 ** 63 } });
    expect(d.name).toBe('orders');
    expect(d.partitions).toBe(3);
    expect(d.config).toEqual({ 'retention.ms': '60000', 'cleanup.policy': 'compact,delete', 'max.compaction.lag.ms': '9223372036854775807' });
    expect(d.partitionInfo.map((p) => [p.partition, p.dir, p.logStartOffset, p.logEndOffset, p.highWatermark, p.size, p.segments])).toEqual([
      [0, path.join(dir, 'orders-0'), 0, 0, 0, 0, 1],
      [1, path.join(dir, 'orders-1'), 0, 0, 0, 0, 1],
      [2, path.join(dir, 'orders-2'), 0, 0, 0, 0, 1],
    ]);
    await m.createTopic('a.topic');
    expect(m.listTopics()).toEqual(['a.topic', 'orders']);
    expect(m.hasTopic('orders')).toBe(true);
    expect(m.partitionCount('orders')).toBe(3);
    expect(m.topicConfig('orders').retentionMs).toBe(60_000);
    expect(m.topicConfig('orders').cleanupPolicy).toEqual(['compact', 'delete']);

    await m.log('orders', 1).append([{ key: 'k', value: 'v' }]);
    expect(m.describeTopic('orders').partitionInfo[1].logEndOffset).toBe(1);

    await m.deleteTopic('orders');
    expect(m.listTopics()).toEqual(['a.topic']);
    expect(subdirs(dir)).toEqual(['a.topic-0']);
    expect(await codeOf(() => m.log('orders', 0))).toBe(ErrorCode.UNKNOWN_TOPIC);
    expect(await codeOf(m.deleteTopic('orders'))).toBe(ErrorCode.UNKNOWN_TOPIC);
    // A deleted name can be created again, empty.
    const again = await m.createTopic('orders', { partitions: 1 });
    expect(again.partitionInfo[0].logEndOffset).toBe(0);
    expect(again.config).toEqual({});
  });

  it('refuses bad names, duplicates, colliding names, bad partition counts and bad configs', async () => {
    const m = await openManager(tmp());
    await m.createTopic('a.b');
    expect(await codeOf(m.createTopic('a.b'))).toBe(ErrorCode.TOPIC_EXISTS);
    expect(await codeOf(m.createTopic('a_b'))).toBe(ErrorCode.INVALID_TOPIC);
    for (const name of ['../x', 'a/b', '..', '.', '', 'x'.repeat(250), '/etc', 'a\\b']) {
      expect(await codeOf(m.createTopic(name)), name).toBe(ErrorCode.INVALID_TOPIC);
    }
    for (const partitions of [0, -1, 1.5, 10_001, Number.NaN]) {
      expect(await codeOf(m.createTopic('p', { partitions }))).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    expect(await codeOf(m.createTopic('c', { config: { 'segment.bytes': 'big' } }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(m.createTopic('c', { config: { nope: 1 } }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(m.createTopic('c', { config: { segmentBytes: 100, 'segment.bytes': 100 } }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(() => m.log('a.b', 1))).toBe(ErrorCode.UNKNOWN_TOPIC);
    expect(await codeOf(() => m.describeTopic('zzz'))).toBe(ErrorCode.UNKNOWN_TOPIC);
    expect(m.listTopics()).toEqual(['a.b']);
  });

  it('no name reaches outside the data directory', async () => {
    const parent = tmp();
    const dir = path.join(parent, 'data');
    const m = await openManager(dir);
    for (const name of ['../escape', '..', '../../tmp/x', 'a/../../b']) await codeOf(m.createTopic(name));
    await m.createTopic('...');
    await m.createTopic('..x');
    expect(fs.readdirSync(parent)).toEqual(['data']);
    expect(subdirs(dir)).toEqual(['...-0', '..x-0']);
  });

  it('persists topics, partition counts and overrides across a reopen, and layers defaults under overrides', async () => {
    const dir = tmp();
    const m = await openManager(dir, { defaults: { 'retention.ms': 1000, segmentBytes: 4096 } });
    await m.createTopic('t1', { partitions: 2, config: { 'retention.ms': 5000 } });
    await m.createTopic('t2');
    await m.log('t1', 1).append([{ value: 'x' }, { value: 'y' }]);
    expect(m.topicConfig('t1').retentionMs).toBe(5000);
    expect(m.topicConfig('t1').segmentBytes).toBe(4096);
    expect(m.topicConfig('t2').retentionMs).toBe(1000);
    await m.close();
    expect(fs.existsSync(path.join(dir, TOPICS_FILE))).toBe(true);
    expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);

    const m2 = await openManager(dir);
    expect(m2.listTopics()).toEqual(['t1', 't2']);
    expect(m2.describeTopic('t1').config).toEqual({ 'retention.ms': '5000' });
    expect(m2.describeTopic('t1').partitionInfo[1].logEndOffset).toBe(2);
    // Defaults are an option of the open, not persisted: Kafka's broker config.
    expect(m2.topicConfig('t2').retentionMs).toBe(7 * 24 * 3600 * 1000);
    expect(m2.log('t1', 1).loadReport.cleanShutdown).toBe(true);
  });

  it('refuses an invalid defaults config at open, without leaving the lock held', async () => {
    const dir = tmp();
    expect(await codeOf(LogManager.open(dir, { defaults: { 'retention.ms': 'soon' } }))).toBe(ErrorCode.INVALID_CONFIG);
    expect(await codeOf(LogManager.open(dir, { maintenanceIntervalMs: -1 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    await openManager(dir);
  });

  it('after close every method is CLOSED and close again resolves', async () => {
    const m = await openManager(tmp());
    await m.createTopic('t');
    await m.close();
    await m.close();
    for (const call of [() => m.listTopics(), () => m.log('t', 0), () => m.describeTopic('t'), () => m.hasTopic('t'), () => m.partitionCount('t')]) {
      expect(await codeOf(call)).toBe(ErrorCode.CLOSED);
    }
    expect(await codeOf(m.createTopic('u'))).toBe(ErrorCode.CLOSED);
    expect(await codeOf(m.deleteTopic('t'))).toBe(ErrorCode.CLOSED);
    expect(await codeOf(m.runMaintenance())).toBe(ErrorCode.CLOSED);
  });

  it('runs topic creations and deletions one at a time, in call order', async () => {
    const m = await openManager(tmp());
    const results = await Promise.allSettled([m.createTopic('x'), m.createTopic('x'), m.deleteTopic('x'), m.createTopic('x', { partitions: 2 })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(m.partitionCount('x')).toBe(2);
  });
});

describe('lock, checkpoints and clean shutdown', () => {
  it('a second open of the same directory is LOCKED until the first closes', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    expect(await codeOf(LogManager.open(dir))).toBe(ErrorCode.LOCKED);
    expect(await codeOf(LogManager.open(path.join(dir, '.')))).toBe(ErrorCode.LOCKED);
    await m.close();
    await openManager(dir);
  });

  it('another process holding the directory makes open LOCKED; its death releases it', async () => {
    const dir = tmp();
    const child = new Child(CHILD, { dir, mode: 'hold-manager', seed: 1 });
    children.push(child);
    await child.waitFor((l) => l === 'READY');
    expect(await codeOf(LogManager.open(dir))).toBe(ErrorCode.LOCKED);
    await child.kill();
    const m = await openManager(dir);
    expect(m.listTopics()).toEqual([]);
  });

  it('keeps one root entry per log in the three checkpoint files, and the marker only after a clean close', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    await m.createTopic('a', { partitions: 2 });
    await m.createTopic('b-c');
    await m.log('a', 1).append([{ value: '1' }, { value: '2' }, { value: '3' }]);
    await m.log('b-c', 0).append([{ value: '1' }]);
    await m.log('a', 1).deleteRecordsBefore(2);
    expect(readOffsetCheckpoint(path.join(dir, LOG_START_OFFSET_CHECKPOINT_FILE))).toEqual(new Map([['a-1', 2]]));
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
    await m.close();
    expect(fs.readFileSync(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE), 'utf8')).toBe('0\n3\na 0 0\na 1 3\nb-c 0 1\n');
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true);
    // No per-partition checkpoint files or markers: the root holds them.
    for (const sub of subdirs(dir)) {
      const local = fs.readdirSync(path.join(dir, sub)).filter((f) => f === CLEAN_SHUTDOWN_FILE || (f.endsWith('-checkpoint') && f !== 'leader-epoch-checkpoint'));
      expect(local).toEqual([]);
    }

    const m2 = await openManager(dir);
    // The marker is consumed at open: a crash from now on is unclean.
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
    expect(m2.log('a', 1).loadReport.cleanShutdown).toBe(true);
    expect(m2.log('a', 1).logStartOffset).toBe(2);
    await m2.deleteTopic('a');
    expect(readOffsetCheckpoint(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE))).toEqual(new Map([['b-c-0', 1]]));
    expect(readOffsetCheckpoint(path.join(dir, LOG_START_OFFSET_CHECKPOINT_FILE))).toEqual(new Map());
  });

  it('after a crash (no marker) every log recovers, and appends continue at each log end', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    await m.createTopic('t', { partitions: 2 });
    await m.log('t', 0).append([{ value: 'a' }, { value: 'b' }]);
    await m.close();
    // What a crash leaves: no marker, and a torn batch at the end of a log.
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
    fs.appendFileSync(path.join(dir, 't-0', '00000000000000000000.log'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1]));
    const m2 = await openManager(dir);
    expect(m2.log('t', 0).loadReport.cleanShutdown).toBe(false);
    expect(m2.log('t', 0).logEndOffset).toBe(2);
    expect((await m2.log('t', 0).append([{ value: 'c' }])).firstOffset).toBe(2);
  });

  it('finishes a deletion a crash interrupted: listed in "deleting", or a -delete directory', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    await m.createTopic('gone', { partitions: 2 });
    await m.createTopic('kept');
    await m.close();
    // State after the decision was persisted but before any directory was renamed, plus a
    // renamed directory of some earlier deletion.
    const file = path.join(dir, TOPICS_FILE);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { topics: Record<string, unknown>; deleting: string[] };
    delete json.topics.gone;
    json.deleting = ['gone'];
    fs.writeFileSync(file, JSON.stringify(json));
    fs.mkdirSync(path.join(dir, 'old-0.0f6c6c1e8a4b4c8e9d1f2a3b4c5d6e7f-delete'));
    fs.writeFileSync(path.join(dir, 'old-0.0f6c6c1e8a4b4c8e9d1f2a3b4c5d6e7f-delete', '00000000000000000000.log'), '');

    const m2 = await openManager(dir);
    expect(m2.listTopics()).toEqual(['kept']);
    expect(subdirs(dir)).toEqual(['kept-0']);
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { deleting: string[] }).deleting).toEqual([]);
  });

  it('adopts partition directories the topics file does not list (copied in), and refuses a damaged topics file', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    await m.createTopic('t');
    await m.log('t', 0).append([{ value: 'x' }]);
    await m.close();
    fs.cpSync(path.join(dir, 't-0'), path.join(dir, 'copied-2'), { recursive: true });
    const m2 = await openManager(dir);
    expect(m2.listTopics()).toEqual(['copied', 't']);
    expect(m2.partitionCount('copied')).toBe(3);
    expect(m2.describeTopic('copied').partitionInfo.map((p) => p.logEndOffset)).toEqual([0, 0, 1]);
    await m2.close();
    fs.writeFileSync(path.join(dir, TOPICS_FILE), '{"version":1,"topics":{"../x":{"partitions":1}}}');
    expect(await codeOf(LogManager.open(dir))).toBe(ErrorCode.CORRUPT_CHECKPOINT);
    fs.writeFileSync(path.join(dir, TOPICS_FILE), '{"version":1,"topics":{"t":{"partitions":1,"config":{"retention.ms":"soon"}}}}');
    expect(await codeOf(LogManager.open(dir))).toBe(ErrorCode.INVALID_CONFIG);
    fs.writeFileSync(path.join(dir, TOPICS_FILE), 'not json');
    expect(await codeOf(LogManager.open(dir))).toBe(ErrorCode.CORRUPT_CHECKPOINT);
    // Each failed open released the lock.
    fs.rmSync(path.join(dir, TOPICS_FILE));
    expect((await openManager(dir)).listTopics()).toEqual(['copied', 't']);
  });

  it('creates the missing partition directories of a listed topic (a crash during creation)', async () => {
    const dir = tmp();
    const m = await openManager(dir);
    await m.createTopic('t', { partitions: 3 });
    await m.close();
    fs.rmSync(path.join(dir, 't-2'), { recursive: true });
    const m2 = await openManager(dir);
    expect(m2.partitionCount('t')).toBe(3);
    expect(subdirs(dir)).toEqual(['t-0', 't-1', 't-2']);
  });
});

describe('a Kafka 2.7.1 data directory', () => {
  function copyFixture(): string {
    const dir = path.join(tmp(), 'kafka-logs');
    fs.cpSync(KAFKA_FIXTURES, dir, { recursive: true });
    // The fixture is read-only; a broker's directory is not.
    const chmod = (p: string) => {
      fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
      if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) chmod(path.join(p, e));
    };
    chmod(dir);
    return dir;
  }

  it('opens without a topics file: topics from the partition directories, partitions from them and the checkpoints', async () => {
    const dir = copyFixture();
    const m = await openManager(dir);
    expect(m.listTopics()).toEqual(['__consumer_offsets', 'myTopic', 'test_topic', 'test_topic_0603']);
    // Five partition directories, but the broker's recovery-point checkpoint lists all 50.
    expect(m.partitionCount('__consumer_offsets')).toBe(50);
    expect(m.topicConfig('__consumer_offsets').cleanupPolicy).toEqual(['compact']);
    expect(m.describeTopic('__consumer_offsets').config).toEqual({ 'cleanup.policy': 'compact', 'segment.bytes': '104857600' });
    expect(m.describeTopic('myTopic').partitionInfo[0]).toMatchObject({ logStartOffset: 38, logEndOffset: 38, size: 0 });
    expect(m.describeTopic('test_topic').partitionInfo[0]).toMatchObject({ logStartOffset: 12, logEndOffset: 12 });
    const offsets = m.describeTopic('__consumer_offsets').partitionInfo;
    expect(offsets[39]).toMatchObject({ logEndOffset: 20, segments: 2 });
    expect(offsets[33]).toMatchObject({ logEndOffset: 3, size: 611 });
    // The Kafka directory had no marker (the broker was killed): every log was recovered.
    expect(m.log('__consumer_offsets', 39).loadReport.cleanShutdown).toBe(false);
    // Kafka's own files are left alone; the cleaner checkpoint keeps the broker's entries.
    expect(fs.readFileSync(path.join(dir, 'meta.properties'), 'utf8')).toBe(fs.readFileSync(path.join(KAFKA_FIXTURES, 'meta.properties'), 'utf8'));
    expect(readOffsetCheckpoint(path.join(dir, CLEANER_OFFSET_CHECKPOINT_FILE)).get('__consumer_offsets-39')).toBe(18);
    const recs = [];
    for await (const r of m.log('__consumer_offsets', 39).records()) recs.push(r.offset);
    expect(recs).toEqual([4, 16, 17, 18, 19]);
    // Appends continue; a new topic goes beside Kafka's.
    expect((await m.log('myTopic', 0).append([{ value: 'after kafka' }])).firstOffset).toBe(38);
    await m.createTopic('seglog-topic');
    await m.close();
    expect(subdirs(dir).filter((d) => !d.startsWith('__consumer_offsets'))).toEqual(['expected', 'myTopic-0', 'seglog-topic-0', 'test_topic-0', 'test_topic_0603-0']);
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true);
    const rp = readOffsetCheckpoint(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE));
    expect(rp.size).toBe(54);
    expect(rp.get('myTopic-0')).toBe(39);

    const m2 = await openManager(dir);
    expect(m2.listTopics()).toEqual(['__consumer_offsets', 'myTopic', 'seglog-topic', 'test_topic', 'test_topic_0603']);
    expect(m2.log('myTopic', 0).loadReport.cleanShutdown).toBe(true);
    expect(m2.describeTopic('myTopic').partitionInfo[0].logEndOffset).toBe(39);
  });

  it('runs maintenance over the Kafka logs (compaction of __consumer_offsets) without errors', async () => {
    const m = await openManager(copyFixture());
    const progress: [number, number, string][] = [];
    const report = await m.runMaintenance({ topic: '__consumer_offsets', onProgress: (d, t, tp) => progress.push([d, t, tp]) });
    expect(report.errors).toBe(0);
    expect(report.partitions).toHaveLength(50);
    expect(progress).toHaveLength(50);
    expect(progress[0]).toEqual([1, 50, '__consumer_offsets-0']);
    expect(progress.at(-1)).toEqual([50, 50, '__consumer_offsets-49']);
  });
});

describe('maintenance', () => {
  /** Appends `count` records one per batch, so small segments roll often. */
  async function fill(m: LogManager, topic: string, partition: number, count: number, record: (i: number) => { key?: string; value: string }): Promise<void> {
    for (let i = 0; i < count; i++) await m.log(topic, partition).append([{ ...record(i), timestamp: now }]);
  }

  it('applies retention.ms and retention.bytes and reports what was deleted', async () => {
    const m = await openManager(tmp());
    await m.createTopic('timed', { config: { segmentBytes: 300, retentionMs: 60_000, fileDeleteDelayMs: 0 } });
    await m.createTopic('sized', { partitions: 2, config: { segmentBytes: 300, retentionBytes: 700, fileDeleteDelayMs: 0 } });
    await fill(m, 'timed', 0, 20, (i) => ({ value: `v${i}`.padEnd(40, '.') }));
    await fill(m, 'sized', 1, 20, (i) => ({ value: `v${i}`.padEnd(40, '.') }));
    const segmentsBefore = m.describeTopic('timed').partitionInfo[0].segments;
    expect(segmentsBefore).toBeGreaterThan(3);

    const early = await m.runMaintenance({ topic: 'timed' });
    expect(early.deletedSegments).toBe(0);

    now += 60_001;
    const report = await m.runMaintenance();
    const timed = report.partitions.find((p) => p.topic === 'timed')!;
    const sized = report.partitions.find((p) => p.topic === 'sized' && p.partition === 1)!;
    // All of them: the log rolls an empty active segment first, so its end survives.
    expect(timed.deletedSegments).toBe(segmentsBefore);
    expect(timed.logStartOffsetAfter).toBe(20);
    expect(timed.sizeAfter).toBeLessThan(timed.sizeBefore);
    expect(sized.deletedSegments).toBeGreaterThan(0);
    // Kafka's rule: whole segments go while what remains stays at or above retention.bytes.
    const remaining = m.log('sized', 1).size;
    expect(remaining).toBeGreaterThanOrEqual(700);
    expect(remaining).toBeLessThan(700 + 300);
    expect(report.deletedSegments).toBe(timed.deletedSegments + sized.deletedSegments);
    expect(report.deletedFiles).toBe(report.deletedSegments);
    expect(report.sizeBefore - report.sizeAfter).toBe(timed.sizeBefore - timed.sizeAfter + sized.sizeBefore - sized.sizeAfter);
    expect(report.errors).toBe(0);
    expect(report.partitions.map((p) => `${p.topic}-${p.partition}`)).toEqual(['sized-0', 'sized-1', 'timed-0']);
  });

  it('compacts a compacted topic: the last value per key survives, the report counts what went', async () => {
    const m = await openManager(tmp());
    await m.createTopic('kv', { config: { cleanupPolicy: 'compact', segmentBytes: 400, minCleanableDirtyRatio: 0.01, fileDeleteDelayMs: 0 } });
    const rng = prng(42);
    const latest = new Map<string, string>();
    await fill(m, 'kv', 0, 120, (i) => {
      const key = `key-${Math.floor(rng() * 10)}`;
      const value = `value-${i}`;
      latest.set(key, value);
      return { key, value };
    });
    const report = await m.runMaintenance({ topic: 'kv' });
    expect(report.logsCleaned).toBe(1);
    expect(report.recordsRemoved).toBeGreaterThan(50);
    expect(report.cleanerBytesWritten).toBeLessThan(report.cleanerBytesRead);
    const seen = new Map<string, string>();
    for await (const r of m.log('kv', 0).records()) seen.set(r.key!.toString(), r.value!.toString());
    expect(seen).toEqual(latest);
  });

  it('runs in the background on an unref\'d timer and stops at close', async () => {
    const m = await openManager(tmp(), { maintenanceIntervalMs: 5 });
    await m.createTopic('t', { config: { segmentBytes: 200, retentionMs: 1000, fileDeleteDelayMs: 0 } });
    await fill(m, 't', 0, 10, (i) => ({ value: `${i}`.padEnd(50, '.') }));
    now += 2000;
    // The timer's next round deletes the expired segments; wait for it by watching the log.
    while (m.log('t', 0).logStartOffset < 10) await new Promise((r) => setTimeout(r, 5));
    await m.close();
  });

  it('refuses an unknown topic', async () => {
    const m = await openManager(tmp());
    expect(await codeOf(m.runMaintenance({ topic: 'nope' }))).toBe(ErrorCode.UNKNOWN_TOPIC);
  });
});
