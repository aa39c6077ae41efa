/**
 * Consumers: where they start (`from`, commits), resuming after close and reopen, tailing
 * without polling, group assignment (range, round-robin) and rebalance on join and leave,
 * back-pressure of the iterator and of the Readable adapter, and errors.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import type { Consumer, StoreRecord } from '../../src/store/consumer.js';
import { rangeAssign, roundRobinAssign } from '../../src/store/group.js';
import { EventStore, type EventStoreOptions } from '../../src/store/store.js';
import type { ConsumerStream } from '../../src/store/stream.js';
import { prng } from '../helpers/prng.js';

const dirs: string[] = [];
const stores: EventStore[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

let now = 1_700_000_000_000;
const clock = () => now;

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-consumer-'));
  dirs.push(d);
  return d;
}

async function openStore(dir = tmp(), options: EventStoreOptions = {}): Promise<EventStore> {
  const s = await EventStore.open(dir, { clock, maintenanceIntervalMs: 0, offsetsTopicPartitions: 3, random: prng(1), ...options });
  stores.push(s);
  return s;
}

/** Appends `count` records `<tag>-<i>` to each partition (explicit partitions). */
async function fill(store: EventStore, topic: string, partitions: number, count: number, tag = 'r'): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    await store.append(
      topic,
      Array.from({ length: count }, (_, i) => ({ partition: p, key: `k${i}`, value: `${tag}-${p}-${i}` })),
    );
  }
}

/** Takes `n` records from a consumer. */
async function take(c: Consumer, n: number): Promise<StoreRecord[]> {
  const out: StoreRecord[] = [];
  while (out.length < n) {
    const r = await c.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

const label = (r: StoreRecord) => `${r.partition}:${r.offset}`;

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return (err as SeglogError).code;
  }
  return 'none';
}

describe('where a consumer starts', () => {
  it('earliest, latest, an offset, a timestamp; positions are the next offset to deliver', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    for (let i = 0; i < 6; i++) {
      now += 1000;
      await store.append('t', [{ partition: i % 2, value: `v${i}` }]);
    }
    const earliest = store.subscribe('t', { from: 'earliest' });
    expect(earliest.assignment()).toEqual([0, 1]);
    const all = await take(earliest, 6);
    expect(all.map((r) => r.value!.toString()).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    expect(all.every((r) => r.topic === 't')).toBe(true);
    expect([earliest.position(0), earliest.position(1)]).toEqual([3, 3]);

    const latest = store.subscribe('t');
    expect([latest.position(0), latest.position(1)]).toEqual([3, 3]);

    const at = store.subscribe('t', { from: { offset: 2 }, partitions: [1] });
    expect(at.assignment()).toEqual([1]);
    expect((await take(at, 1)).map((r) => r.value!.toString())).toEqual(['v5']);

    // The first record at or after the timestamp of v2 (offset 1 of partition 0).
    const t2 = now - 3000;
    const byTime = store.subscribe('t', { from: { timestamp: t2 }, partitions: [0] });
    expect(byTime.position(0)).toBe(1);
    const beyond = store.subscribe('t', { from: { timestamp: now + 1 }, partitions: [0] });
    expect(beyond.position(0)).toBe(3);
    expect(await codeOf(() => at.position(0))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('refuses bad options', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    const bad = [
      { from: 'beginning' },
      { from: { offset: -1 } },
      { partitions: [2] },
      { partitions: [0, 0] },
      { partitions: [] },
      { autoCommit: true },
      { group: 'g', autoCommit: { intervalMs: 0 } },
      { group: 'g', assignment: 'sticky' },
      { maxBufferedRecords: 0 },
      { group: '' },
    ];
    for (const options of bad) expect(await codeOf(() => store.subscribe('t', options as never)), JSON.stringify(options)).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(() => store.subscribe('nope'))).toBe(ErrorCode.UNKNOWN_TOPIC);
    store.subscribe('t', { group: 'g' });
    expect(await codeOf(() => store.subscribe('t', { group: 'g', assignment: 'roundrobin' }))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('commits and resume', () => {
  it('a restarted consumer resumes at its commit (at-least-once: uncommitted records come again)', async () => {
    const dir = tmp();
    const store = await openStore(dir);
    await store.createTopic('t', { partitions: 3 });
    await fill(store, 't', 3, 10);
    const c = store.subscribe('t', { group: 'g', from: 'earliest' });
    const seen = await take(c, 12);
    // Process and commit the first 8 only; the last 4 were delivered but not committed.
    for (const r of seen.slice(0, 8)) await c.commit(r);
    const committed = [0, 1, 2].map((p) => store.committed('g', 't', p));
    await store.close();

    const again = await openStore(dir);
    expect([0, 1, 2].map((p) => again.committed('g', 't', p))).toEqual(committed);
    // A partition with a commit starts there, one without at `from`.
    expect(committed.filter((c) => c === null).length).toBeGreaterThan(0);
    const latest = again.subscribe('t', { group: 'g', from: 'latest', partitions: [0, 1, 2] });
    for (const p of [0, 1, 2]) expect(latest.position(p)).toBe(committed[p] ?? 10);
    await latest.close();
    const c2 = again.subscribe('t', { group: 'g', from: 'earliest' });
    for (const p of [0, 1, 2]) expect(c2.position(p)).toBe(committed[p] ?? 0);
    const expected = new Set<string>();
    for (let p = 0; p < 3; p++) for (let o = committed[p] ?? 0; o < 10; o++) expected.add(`${p}:${o}`);
    // Among them the 4 delivered but not committed: at-least-once.
    for (const r of seen.slice(8)) expect(expected.has(label(r))).toBe(true);
    const rest = await take(c2, expected.size);
    expect(new Set(rest.map(label))).toEqual(expected);
    expect(c2.bufferedRecords).toBe(0);
  });

  it('commit() commits everything delivered; { partition, offset } commits that offset; auto-commit commits at close', async () => {
    const dir = tmp();
    const store = await openStore(dir);
    await store.createTopic('t', { partitions: 2 });
    await fill(store, 't', 2, 5);
    const c = store.subscribe('t', { group: 'g', from: 'earliest', partitions: [0, 1] });
    await take(c, 7);
    await c.commit();
    expect([store.committed('g', 't', 0), store.committed('g', 't', 1)]).toEqual([c.position(0), c.position(1)]);
    await c.commit({ partition: 1, offset: 1 });
    expect(store.committed('g', 't', 1)).toBe(1);
    expect(await codeOf(c.commit({ partition: 2, offset: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(c.commit({ partition: 0, offset: -3 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    const other = await take(store.subscribe('t', { from: 'earliest', partitions: [0] }), 1);
    expect(await codeOf(c.commit({ ...other[0], topic: 'elsewhere' }))).toBe(ErrorCode.INVALID_ARGUMENT);
    await c.close();
    expect(await codeOf(c.commit())).toBe(ErrorCode.CLOSED);
    expect(await codeOf(store.subscribe('t', { partitions: [0] }).commit())).toBe(ErrorCode.INVALID_ARGUMENT);

    const auto = store.subscribe('t', { group: 'a', from: 'earliest', autoCommit: { intervalMs: 1 << 30 } });
    const got = await take(auto, 6);
    expect(store.committed('a', 't', 0)).toBeNull();
    await store.close();
    const again = await openStore(dir);
    const delivered = [0, 1].map((p) => got.filter((r) => r.partition === p).reduce((m, r) => Math.max(m, r.offset + 1), 0));
    expect([again.committed('a', 't', 0), again.committed('a', 't', 1)]).toEqual(delivered.map((d) => d || null));
  });

  it('deleting a topic removes its commits (a new topic of that name starts fresh)', async () => {
    const dir = tmp();
    const store = await openStore(dir);
    await store.createTopic('t');
    await store.createTopic('u');
    await store.commit('g', [
      { topic: 't', partition: 0, offset: 5 },
      { topic: 'u', partition: 0, offset: 7 },
    ]);
    await store.deleteTopic('t');
    expect(store.committed('g', 't', 0)).toBeNull();
    expect(await codeOf(store.deleteTopic('__consumer_offsets'))).toBe(ErrorCode.INVALID_TOPIC);
    await store.close();
    const again = await openStore(dir);
    expect(again.committed('g', 't', 0)).toBeNull();
    expect(again.committed('g', 'u', 0)).toBe(7);
  });
});

describe('tailing', () => {
  it('a waiting iterator receives a later append without any timer (no polling), in the append\'s own turn', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 3 });
    const c = store.subscribe('t');
    const pending = c.next();
    // Let the consumer find nothing and park on waitForAppend.
    await new Promise((resolve) => setImmediate(resolve));
    let nextTurn = false;
    setImmediate(() => {
      nextTurn = true;
    });
    const timers = (['setTimeout', 'setInterval', 'setImmediate'] as const).map((name) => vi.spyOn(globalThis, name));
    await store.append('t', [{ key: 'kafka', value: 'hello' }]);
    const r = await pending;
    expect(r.done).toBe(false);
    expect(r.value).toMatchObject({ partition: 1, offset: 0 });
    expect(r.value!.value!.toString()).toBe('hello');
    expect(nextTurn).toBe(false);
    for (const t of timers) expect(t).not.toHaveBeenCalled();
  });

  it('keeps tailing: every record appended later is delivered once, in order per partition', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    const c = store.subscribe('t');
    const rng = prng(3);
    const sent: string[] = [];
    const received: StoreRecord[] = [];
    const reader = (async () => {
      while (received.length < 40) received.push((await c.next()).value!);
    })();
    for (let i = 0; i < 20; i++) {
      const recs = [{ value: `a${i}`, partition: Math.floor(rng() * 2) }, { value: `b${i}`, partition: Math.floor(rng() * 2) }];
      sent.push(...recs.map((r) => `${r.partition}/${r.value}`));
      await store.append('t', recs);
      if (rng() < 0.5) await new Promise((resolve) => setImmediate(resolve));
    }
    await reader;
    const byPartition = (list: string[], p: number) => list.filter((s) => s.startsWith(`${p}/`));
    const got = received.map((r) => `${r.partition}/${r.value!.toString()}`);
    for (const p of [0, 1]) expect(byPartition(got, p)).toEqual(byPartition(sent, p));
  });

  it('close wakes a waiting next() with done; deleting the topic under it is UNKNOWN_TOPIC', async () => {
    const store = await openStore();
    await store.createTopic('t');
    await store.createTopic('u');
    const c = store.subscribe('t');
    const pending = c.next();
    await new Promise((resolve) => setImmediate(resolve));
    await c.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await c.next()).toEqual({ done: true, value: undefined });

    const d = store.subscribe('u');
    const waiting = d.next();
    await new Promise((resolve) => setImmediate(resolve));
    await store.deleteTopic('u');
    expect(await codeOf(waiting)).toBe(ErrorCode.UNKNOWN_TOPIC);

    const e = store.subscribe('t');
    const last = e.next();
    await store.close();
    expect(await last).toEqual({ done: true, value: undefined });
  });
});

describe('consumer groups', () => {
  it("assigns as Kafka's RangeAssignor and RoundRobinAssignor do", () => {
    expect(rangeAssign(2, 5)).toEqual([[0, 1, 2], [3, 4]]);
    expect(rangeAssign(3, 5)).toEqual([[0, 1], [2, 3], [4]]);
    expect(rangeAssign(4, 2)).toEqual([[0], [1], [], []]);
    expect(roundRobinAssign(['t', 't'], new Map([['t', 5]]))).toEqual([[0, 2, 4], [1, 3]]);
    // Members not subscribed to a topic are skipped by the circular iterator.
    expect(roundRobinAssign(['a', 'b', 'a'], new Map([['a', 3], ['b', 2]]))).toEqual([[0, 2], [0, 1], [1]]);
  });

  it('range: members split the partitions in join order and rebalance on join and leave', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 5 });
    const a = store.subscribe('t', { group: 'g' });
    expect(a.assignment()).toEqual([0, 1, 2, 3, 4]);
    const b = store.subscribe('t', { group: 'g' });
    expect([a.assignment(), b.assignment()]).toEqual([[0, 1, 2], [3, 4]]);
    const c = store.subscribe('t', { group: 'g' });
    expect([a.assignment(), b.assignment(), c.assignment()]).toEqual([[0, 1], [2, 3], [4]]);
    await a.close();
    expect([b.assignment(), c.assignment()]).toEqual([[0, 1, 2], [3, 4]]);
    await b.close();
    expect(c.assignment()).toEqual([0, 1, 2, 3, 4]);
    // Another group is independent.
    expect(store.subscribe('t', { group: 'h' }).assignment()).toEqual([0, 1, 2, 3, 4]);
  });

  it('roundrobin: partitions dealt in turn', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 5 });
    const a = store.subscribe('t', { group: 'g', assignment: 'roundrobin' });
    const b = store.subscribe('t', { group: 'g', assignment: 'roundrobin' });
    expect([a.assignment(), b.assignment()]).toEqual([[0, 2, 4], [1, 3]]);
    const c = store.subscribe('t', { group: 'g', assignment: 'roundrobin' });
    expect([a.assignment(), b.assignment(), c.assignment()]).toEqual([[0, 3], [1, 4], [2]]);
    await b.close();
    expect([a.assignment(), c.assignment()]).toEqual([[0, 2, 4], [1, 3]]);
  });

  it('with auto-commit, a partition moves on exactly where the old owner stopped: no record twice, none lost', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 4 });
    await fill(store, 't', 4, 25);
    const a = store.subscribe('t', { group: 'g', from: 'earliest', autoCommit: { intervalMs: 1 << 30 }, maxBufferedRecords: 7 });
    const first = await take(a, 30);
    const b = store.subscribe('t', { group: 'g', from: 'earliest', autoCommit: { intervalMs: 1 << 30 } });
    await b.ready();
    expect([a.assignment(), b.assignment()]).toEqual([[0, 1], [2, 3]]);
    // b starts at what a had delivered from partitions 2 and 3 (committed on revocation).
    for (const p of [2, 3]) {
      const delivered = first.filter((r) => r.partition === p).length;
      expect(store.committed('g', 't', p)).toBe(delivered === 0 ? null : delivered);
      expect(b.position(p)).toBe(delivered);
    }
    const restA = await take(a, 50 - first.filter((r) => r.partition < 2).length);
    const restB = await take(b, 50 - first.filter((r) => r.partition >= 2).length);
    // a no longer delivers what it lost, even what it had buffered.
    expect(restA.every((r) => r.partition < 2)).toBe(true);
    const all = [...first, ...restA, ...restB].map(label);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(100);
  });

  it('without auto-commit, the new owner starts at the last explicit commit (records after it come again)', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    await fill(store, 't', 2, 10);
    const a = store.subscribe('t', { group: 'g', from: 'earliest' });
    const got = await take(a, 20);
    await a.commit({ partition: 1, offset: 4 });
    const b = store.subscribe('t', { group: 'g', from: 'earliest' });
    expect([a.assignment(), b.assignment()]).toEqual([[0], [1]]);
    expect(b.position(1)).toBe(4);
    expect(got.filter((r) => r.partition === 1)).toHaveLength(10);
    expect((await take(b, 6)).map((r) => r.offset)).toEqual([4, 5, 6, 7, 8, 9]);
    // a cannot commit a partition it lost (Kafka's CommitFailedException).
    expect(await codeOf(a.commit(got.find((r) => r.partition === 1)!))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('a member waiting for records wakes when it is given a partition with data', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    await store.append('t', [{ partition: 0, value: 'zero' }]);
    const a = store.subscribe('t', { group: 'g', from: 'earliest' });
    const b = store.subscribe('t', { group: 'g', from: 'earliest' });
    expect(b.assignment()).toEqual([1]);
    const waiting = b.next();
    await new Promise((resolve) => setImmediate(resolve));
    await a.close();
    expect(b.assignment()).toEqual([0, 1]);
    expect((await waiting).value!.value!.toString()).toBe('zero');
  });
});

describe('back-pressure', () => {
  it('the iterator decodes at most maxBufferedRecords ahead of its caller', async () => {
    const store = await openStore();
    await store.createTopic('t');
    for (let i = 0; i < 10; i++) await store.append('t', Array.from({ length: 100 }, (_, j) => ({ value: `v${i * 100 + j}` })), { compression: i % 2 ? 'lz4' : 'none' });
    const c = store.subscribe('t', { from: 'earliest', maxBufferedRecords: 16 });
    const read = vi.spyOn(store.manager.log('t', 0), 'read');
    let max = 0;
    for (let i = 0; i < 1000; i++) {
      const r = await c.next();
      expect(r.value!.offset).toBe(i);
      max = Math.max(max, c.bufferedRecords);
    }
    expect(max).toBeLessThanOrEqual(15);
    expect(read.mock.calls.length).toBeGreaterThanOrEqual(1000 / 16);
  });

  it('the Readable holds highWaterMark records, reads on as it is drained, and ends when destroyed', async () => {
    const store = await openStore();
    await store.createTopic('t', { partitions: 2 });
    await fill(store, 't', 2, 100);
    const stream = store.stream('t', { from: 'earliest', highWaterMark: 4, maxBufferedRecords: 8 }) as ConsumerStream;
    stream.on('readable', () => undefined);
    await once(stream, 'readable');
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // Nothing is read past the stream's buffer and the consumer's own.
    expect(stream.readableLength).toBe(4);
    const delivered = stream.consumer.position(0) + stream.consumer.position(1);
    expect(delivered).toBe(4);
    expect(stream.consumer.bufferedRecords).toBeLessThanOrEqual(8);
    stream.removeAllListeners('readable');

    const got: StoreRecord[] = [];
    for await (const r of stream) {
      got.push(r as StoreRecord);
      expect(stream.readableLength).toBeLessThanOrEqual(4);
      if (got.length === 200) break;
    }
    for (const p of [0, 1]) expect(got.filter((r) => r.partition === p).map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Leaving the loop destroyed the stream, which closed its consumer.
    expect(stream.destroyed).toBe(true);
    await stream.consumer.close();
    expect(await codeOf(stream.consumer.commit())).toBe(ErrorCode.CLOSED);
  });
});

describe('retention under a consumer', () => {
  it('a consumer behind the log start continues at the log start (Kafka: out of range, then reset)', async () => {
    const store = await openStore(tmp(), { defaults: { segmentBytes: 200, fileDeleteDelayMs: 0 } });
    await store.createTopic('t', { config: { retentionMs: 1000 } });
    const c = store.subscribe('t', { from: 'earliest' });
    for (let i = 0; i < 10; i++) await store.append('t', [{ value: `${i}`.padEnd(60, '.') }]);
    now += 5000;
    await store.append('t', [{ value: 'fresh' }]);
    const report = await store.manager.runMaintenance();
    expect(report.deletedSegments).toBeGreaterThan(0);
    const start = store.manager.log('t', 0).logStartOffset;
    expect(start).toBeGreaterThan(0);
    const r = await c.next();
    expect(r.value!.offset).toBe(start);
  });
});
