/**
 * EventStore: append and read by offset and by time, topic auto-creation, the lock, close, and
 * compaction of the offsets topic through the manager's maintenance (commits survive it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { EventStore, type EventStoreOptions } from '../../src/store/store.js';
import { prng } from '../helpers/prng.js';

const dirs: string[] = [];
const stores: EventStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

let now = 1_700_000_000_000;
const clock = () => now;

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-store-'));
  dirs.push(d);
  return d;
}

async function openStore(dir = tmp(), options: EventStoreOptions = {}): Promise<EventStore> {
  const s = await EventStore.open(dir, { clock, maintenanceIntervalMs: 0, offsetsTopicPartitions: 3, ...options });
  stores.push(s);
  return s;
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

describe('append and read', () => {
  it('reads back what was appended, by offset, with limits, compressed or not, and by timestamp', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    for (let i = 0; i < 10; i++) {
      now += 100;
      await store.append('t', [{ partition: 1, key: `k${i}`, value: `v${i}`, headers: [['h', `${i}`]] }, { partition: 1, value: null, key: `t${i}` }], { compression: i % 3 === 0 ? 'zstd' : 'none' });
    }
    const all = await store.read('t', 1, 0);
    expect(all).toHaveLength(20);
    expect(all[0]).toMatchObject({ topic: 't', partition: 1, offset: 0 });
    expect(all[0].key!.toString()).toBe('k0');
    expect(all[0].headers.map(([k, v]) => [k, v!.toString()])).toEqual([['h', '0']]);
    expect(all[1].value).toBeNull();
    expect((await store.read('t', 1, 7, { maxRecords: 3 })).map((r) => r.offset)).toEqual([7, 8, 9]);
    // A byte budget smaller than a batch still returns that whole batch (minOneMessage).
    expect((await store.read('t', 1, 4, { maxBytes: 1 })).map((r) => r.offset)).toEqual([4, 5]);
    expect(await store.read('t', 1, 20)).toEqual([]);
    expect(await store.read('t', 0, 0)).toEqual([]);
    expect(await codeOf(store.read('t', 1, 21))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await codeOf(store.read('t', 2, 0))).toBe(ErrorCode.UNKNOWN_TOPIC);
    expect(await codeOf(store.read('t', 1, 0, { maxRecords: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);

    expect(store.offsetForTimestamp('t', 1, 'earliest')).toBe(0);
    expect(store.offsetForTimestamp('t', 1, 'latest')).toBe(20);
    expect(store.offsetForTimestamp('t', 1, now - 250)).toBe(14);
    expect(store.offsetForTimestamp('t', 1, now + 1)).toBeNull();
    expect(store.offsetForTimestamp('t', 0, 0)).toBeNull();
  });

  it('creates topics on first append when asked to', async () => {
    const store = await openStore(tmp(), { autoCreateTopics: { partitions: 4 } });
    const results = await Promise.all([store.append('auto', [{ key: 'a', value: '1' }]), store.append('auto', [{ key: 'b', value: '2' }])]);
    expect(results.flat()).toHaveLength(2);
    expect(store.describeTopic('auto').partitions).toBe(4);
    expect(store.listTopics()).toEqual(['auto']);
    expect(await codeOf(store.append('bad/name', [{ value: 'x' }]))).toBe(ErrorCode.INVALID_TOPIC);
    const plain = await openStore(tmp(), { autoCreateTopics: true });
    await plain.append('one', [{ value: 'x' }]);
    expect(plain.describeTopic('one').partitions).toBe(1);
  });

  it('a compacted topic refuses records without a key', async () => {
    const store = await openStore();
    await store.createTopic('kv', { config: { 'cleanup.policy': 'compact' } });
    expect(await codeOf(store.append('kv', [{ value: 'no key' }]))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('idempotent appends', () => {
  it('a retried append is answered with the original offsets, also after a reopen, and never written twice', async () => {
    const dir = tmp();
    let store = await openStore(dir);
    await store.createTopic('orders', { partitions: 3 });
    const producer = { producerId: 17, producerEpoch: 0 };
    const first = await store.append('orders', [{ key: 'a', value: 'one' }, { key: 'a', value: 'two' }], { producer: { ...producer, baseSequence: 0 } });
    expect(first).toHaveLength(1);
    const retry = await store.append('orders', [{ key: 'a', value: 'one' }, { key: 'a', value: 'two' }], { producer: { ...producer, baseSequence: 0 } });
    expect(retry).toEqual([{ ...first[0], duplicate: true }]);
    await store.close();
    stores.pop();
    store = await openStore(dir);
    expect(await store.append('orders', [{ key: 'a', value: 'one' }, { key: 'a', value: 'two' }], { producer: { ...producer, baseSequence: 0 } })).toEqual([{ ...first[0], duplicate: true }]);
    const p = first[0].partition;
    expect((await store.read('orders', p, 0)).map((r) => r.value?.toString())).toEqual(['one', 'two']);
    // A gap is refused; the next sequence is accepted.
    expect(await codeOf(store.append('orders', [{ key: 'a', value: 'x' }], { producer: { ...producer, baseSequence: 5 } }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE);
    expect((await store.append('orders', [{ key: 'a', value: 'three' }], { producer: { ...producer, baseSequence: 2 } }))[0].duplicate).toBeUndefined();
  });

  it('records for several partitions need a sequence per partition', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 4 });
    const records = [
      { value: 'p0', partition: 0 },
      { value: 'p1', partition: 1 },
    ];
    expect(await codeOf(store.append('t', records, { producer: { producerId: 1, producerEpoch: 0, baseSequence: 0 } }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(store.append('t', records, { producer: { producerId: 1, producerEpoch: 0, baseSequence: { 0: 0 } } }))).toBe(ErrorCode.INVALID_ARGUMENT);
    const r = await store.append('t', records, { producer: { producerId: 1, producerEpoch: 0, baseSequence: { 0: 0, 1: 0 } } });
    expect(r.map((x) => x.partition).sort()).toEqual([0, 1]);
  });
});

describe('lifecycle', () => {
  it('is LOCKED while open elsewhere in the process; close is idempotent and later calls are CLOSED', async () => {
    const dir = tmp();
    const store = await openStore(dir);
    expect(await codeOf(EventStore.open(dir))).toBe(ErrorCode.LOCKED);
    await store.createTopic('t');
    await store.close();
    await store.close();
    expect(await codeOf(() => store.listTopics())).toBe(ErrorCode.CLOSED);
    expect(await codeOf(store.append('t', [{ value: 'x' }]))).toBe(ErrorCode.CLOSED);
    expect(await codeOf(() => store.subscribe('t'))).toBe(ErrorCode.CLOSED);
    expect(await codeOf(() => store.committed('g', 't', 0))).toBe(ErrorCode.CLOSED);
    const again = await openStore(dir);
    expect(again.listTopics()).toEqual(['t']);
  });

  it('refuses bad options', async () => {
    expect(await codeOf(EventStore.open(tmp(), { offsetsTopicPartitions: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(EventStore.open(tmp(), { autoCreateTopics: { partitions: -1 } }))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('the offsets topic', () => {
  it('is created on the first commit with Kafka\'s config, and compaction keeps the last commit per key', async () => {
    const dir = tmp();
    const store = await openStore(dir);
    await store.createTopic('t', { partitions: 2 });
    expect(store.manager.hasTopic('__consumer_offsets')).toBe(false);
    await store.commit('g', [{ topic: 't', partition: 0, offset: 1 }]);
    expect(store.describeTopic('__consumer_offsets')).toMatchObject({ partitions: 3, config: { 'cleanup.policy': 'compact', 'segment.bytes': '104857600' } });
    await store.close();

    // Small segments for the offsets topic, so that compaction has inactive segments to clean.
    const dir2 = tmp();
    const s2 = await openStore(dir2);
    await s2.createTopic('__consumer_offsets', { partitions: 3, config: { 'cleanup.policy': 'compact', 'segment.bytes': 600, 'min.cleanable.dirty.ratio': 0.01 } });
    await s2.createTopic('t', { partitions: 2 });
    const rng = prng(11);
    const last = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const group = `g${Math.floor(rng() * 3)}`;
      const partition = Math.floor(rng() * 2);
      await s2.commit(group, [{ topic: 't', partition, offset: i }]);
      last.set(`${group}/${partition}`, i);
    }
    const report = await s2.manager.runMaintenance({ topic: '__consumer_offsets' });
    expect(report.logsCleaned).toBeGreaterThan(0);
    expect(report.recordsRemoved).toBeGreaterThan(100);
    await s2.close();
    const s3 = await openStore(dir2);
    expect(s3.offsetsLoadReport.records).toBeLessThan(50);
    for (const [k, offset] of last) {
      const [group, partition] = k.split('/');
      expect(s3.committed(group, 't', Number(partition))).toBe(offset);
    }
    expect(s3.listGroups()).toEqual([...new Set([...last.keys()].map((k) => k.split('/')[0]))].sort());
  });
});
