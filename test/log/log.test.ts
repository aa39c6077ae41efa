import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { RecordBatch, buildBatchSync, walkBatches } from '../../src/records/index.js';
import { KAFKA_FIXTURES } from '../helpers/paths.js';

const open: Log[] = [];
function tmp(name = 'orders-0'): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-log-')), name);
}
async function openLog(dir: string, options: Parameters<typeof Log.open>[1] = {}): Promise<Log> {
  const log = await Log.open(dir, options);
  open.push(log);
  return log;
}
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

let now = 1_700_000_000_000;
const clock = () => now;
const values = async (log: Log, from?: number) => {
  const out: string[] = [];
  for await (const r of log.records(from)) out.push(`${r.offset}:${r.value?.toString()}`);
  return out;
};

describe('Log basics', () => {
  it('assigns offsets, reads back, survives close and reopen', async () => {
    const dir = tmp();
    const log = await openLog(dir, { clock });
    const a = await log.append([{ value: 'a' }, { value: 'b' }]);
    const b = await log.append([{ key: 'k', value: 'c' }]);
    expect([a.firstOffset, a.lastOffset, b.firstOffset]).toEqual([0, 1, 2]);
    expect(log.logEndOffset).toBe(3);
    expect(await values(log)).toEqual(['0:a', '1:b', '2:c']);
    expect(await values(log, 1)).toEqual(['1:b', '2:c']);
    await log.close();
    open.pop();
    expect(fs.existsSync(path.join(dir, '.kafka_cleanshutdown'))).toBe(true);
    const again = await openLog(dir, { clock });
    expect(again.loadReport.cleanShutdown).toBe(true);
    expect(again.logEndOffset).toBe(3);
    expect(await values(again)).toEqual(['0:a', '1:b', '2:c']);
    expect(fs.existsSync(path.join(dir, '.kafka_cleanshutdown'))).toBe(false);
  });

  it('group-commits concurrent appends in call order', async () => {
    const log = await openLog(tmp(), { clock });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([{ value: `v${i}` }])));
    expect(results.map((r) => r.firstOffset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // One writev for the whole tick: the file holds 50 batches back to back in order.
    const slice = log.read(0, { maxBytes: 1 << 20 });
    expect([...slice.batches()].map((b) => b.baseOffset)).toEqual(results.map((r) => r.firstOffset));
  });

  it('a second open of the same directory is LOCKED', async () => {
    const dir = tmp();
    await openLog(dir);
    await expect(Log.open(dir)).rejects.toMatchObject({ code: 'LOCKED' });
  });

  it('reads are slices: materialize, batches, records; out of range is typed', async () => {
    const log = await openLog(tmp(), { clock });
    for (let i = 0; i < 10; i++) await log.append([{ value: `v${i}` }, { value: `w${i}` }]);
    const slice = log.read(5, { maxBytes: 1 });
    expect(slice.position).toBeGreaterThan(0);
    const batches = [...slice.batches()];
    expect(batches.length).toBe(1); // minOneMessage: one whole batch even past maxBytes
    expect(batches[0].baseOffset).toBe(4);
    expect([...slice.records()].map((r) => r.offset)).toEqual([5]);
    expect(log.read(20).isEmpty).toBe(true);
    expect(() => log.read(21)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
    expect(() => log.read(-1)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
    const bounded = log.read(0, { maxOffset: 6, maxBytes: 1 << 20 });
    expect([...bounded.batches()].map((b) => b.lastOffset)).toEqual([1, 3, 5]);
    expect(Buffer.compare(await slice.materializeAsync(), slice.materialize())).toBe(0);
  });

  it('appendBatches assigns offsets in place without re-encoding', async () => {
    const log = await openLog(tmp(), { clock });
    await log.append([{ value: 'first' }]);
    const client = buildBatchSync([{ value: 'x' }, { value: 'y' }], { compression: 'lz4', producerId: 9, producerEpoch: 1, baseSequence: 0, now });
    const payload = Buffer.from(client.subarray(61));
    const r = await log.appendBatches(client);
    expect([r.firstOffset, r.lastOffset]).toEqual([1, 2]);
    const [, stored] = [...log.read(0, { maxBytes: 1 << 20 }).batches()];
    expect(stored.baseOffset).toBe(1);
    expect(stored.isValid()).toBe(true);
    expect(stored.compression).toBe('lz4');
    expect(stored.producerId).toBe(9);
    expect(Buffer.compare(stored.payload, payload)).toBe(0);
  });

  it('appendBatches refuses bad client batches with typed errors', async () => {
    const log = await openLog(tmp(), { clock });
    const good = buildBatchSync([{ value: 'x' }]);
    const badCrc = Buffer.from(good);
    badCrc[good.length - 1] ^= 1;
    await expect(log.appendBatches(badCrc)).rejects.toMatchObject({ code: 'INVALID_CRC' });
    await expect(log.appendBatches(good.subarray(0, 30))).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    await expect(log.appendBatches(Buffer.concat([good, good.subarray(0, 20)]))).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    const gaps = buildBatchSync([{ value: 'x' }, { value: 'y' }], { offsetDeltas: [0, 5] });
    await expect(log.appendBatches(gaps)).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    expect(log.logEndOffset).toBe(0);
  });

  it('compression.type other than producer recompresses client batches', async () => {
    const log = await openLog(tmp(), { clock, config: { 'compression.type': 'zstd' } });
    await log.appendBatches(buildBatchSync([{ value: 'x' }], { compression: 'gzip' }));
    await log.append([{ value: 'y' }]);
    const batches = [...log.read(0).batches()];
    expect(batches.map((b) => b.compression)).toEqual(['zstd', 'zstd']);
    expect(await values(log)).toEqual(['0:x', '1:y']);
  });

  it('LogAppendTime stamps every batch with the clock', async () => {
    const log = await openLog(tmp(), { clock, config: { messageTimestampType: 'LogAppendTime' } });
    const r = await log.append([{ value: 'x', timestamp: 5 }]);
    expect(r.logAppendTime).toBe(now);
    const [rec] = [...log.read(0).records()];
    expect(rec.timestamp).toBe(now);
  });

  it('maxMessageBytes and segmentBytes bound a batch (RECORD_TOO_LARGE)', async () => {
    const log = await openLog(tmp(), { clock, config: { maxMessageBytes: 200 } });
    await expect(log.append([{ value: 'x'.repeat(500) }])).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    const ok = await log.append([{ value: 'small' }]);
    expect(ok.firstOffset).toBe(0);
  });
});

describe('sequential scans', () => {
  it('batches() walks every segment from the batch holding the offset, reusing one buffer', async () => {
    const log = await openLog(tmp(), { clock, config: { segmentBytes: 500 } });
    for (let i = 0; i < 30; i++) await log.append([{ value: `v${i}` }, { value: `w${i}` }], { compression: i % 3 ? 'none' : 'snappy' });
    expect(log.numberOfSegments).toBeGreaterThan(3);
    const seen: number[][] = [];
    // Read fields inside the loop: a batch is a view into a buffer the next step reuses.
    for (const b of log.batches(13, { chunkBytes: 256 })) seen.push([b.baseOffset, b.lastOffset]);
    expect(seen[0]).toEqual([12, 13]);
    expect(seen.at(-1)).toEqual([58, 59]);
    expect(seen.length).toBe(24);
    // A chunk smaller than a batch grows to hold it.
    expect([...log.batches(0, { chunkBytes: 16 })].length).toBe(30);
    const a: string[] = [];
    for (const r of log.recordsSync(13)) a.push(`${r.offset}:${r.value?.toString()}`);
    const b: string[] = [];
    for await (const r of log.records(13)) b.push(`${r.offset}:${r.value?.toString()}`);
    expect(a).toEqual(b);
    expect(a[0]).toBe('13:w6');
    expect(a.length).toBe(47);
  });

  it('records kept from recordsSync stay intact after the scan moves on', async () => {
    const log = await openLog(tmp(), { clock });
    for (let i = 0; i < 200; i++) await log.append([{ value: `value-${i}` }]);
    const kept = [...log.recordsSync(0)];
    expect(kept.map((r) => r.value?.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `value-${i}`));
  });
});

describe('rolling', () => {
  it('rolls on size; index files of inactive segments are trimmed', async () => {
    const dir = tmp();
    const log = await openLog(dir, { clock, config: { segmentBytes: 1000, indexIntervalBytes: 100 } });
    for (let i = 0; i < 40; i++) await log.append([{ value: 'x'.repeat(50) }]);
    expect(log.numberOfSegments).toBeGreaterThan(3);
    const bases = log.segmentBaseOffsets();
    for (const base of bases.slice(0, -1)) {
      const p = path.join(dir, String(base).padStart(20, '0'));
      expect(fs.statSync(`${p}.log`).size).toBeLessThanOrEqual(1000);
      expect(fs.statSync(`${p}.index`).size % 8).toBe(0);
      expect(fs.statSync(`${p}.index`).size).toBeLessThan(1000);
      expect(fs.statSync(`${p}.timeindex`).size % 12).toBe(0);
    }
    expect((await values(log)).length).toBe(40);
  });

  it('rolls on time (segment.ms) with the injected clock', async () => {
    const log = await openLog(tmp(), { clock, config: { segmentMs: 1000 } });
    await log.append([{ value: 'a' }]);
    now += 500;
    await log.append([{ value: 'b' }]);
    expect(log.numberOfSegments).toBe(1);
    now += 2000;
    await log.append([{ value: 'c' }]);
    expect(log.segmentBaseOffsets()).toEqual([0, 2]);
  });

  it('segment.jitter.ms takes a random amount off segment.ms, chosen per segment', async () => {
    // random() = 0.5 and jitter 800 of segment.ms 1000: this segment rolls after 600 ms, not 1000.
    const log = await openLog(tmp(), { clock, random: () => 0.5, config: { segmentMs: 1000, segmentJitterMs: 800 } });
    await log.append([{ value: 'a' }]);
    now += 550;
    await log.append([{ value: 'b' }]);
    expect(log.numberOfSegments).toBe(1);
    now += 100;
    await log.append([{ value: 'c' }]);
    expect(log.segmentBaseOffsets()).toEqual([0, 2]);
  });

  it('rolls when the offset index is full', async () => {
    const log = await openLog(tmp(), { clock, config: { segmentIndexBytes: 32, indexIntervalBytes: 0 } });
    for (let i = 0; i < 20; i++) await log.append([{ value: `v${i}` }]);
    expect(log.numberOfSegments).toBeGreaterThan(2);
    expect((await values(log)).length).toBe(20);
  });
});

describe('durability settings', () => {
  it('flush.messages = 1 fsyncs every group commit: the recovery point follows the log end', async () => {
    const log = await openLog(tmp(), { clock, config: { 'flush.messages': 1 } });
    await log.append([{ value: 'a' }]);
    expect(log.recoveryPoint).toBe(1);
    await Promise.all([log.append([{ value: 'b' }]), log.append([{ value: 'c' }])]);
    expect(log.recoveryPoint).toBe(3);
  });

  it('by default nothing is fsynced until flush(), which records the recovery point on disk', async () => {
    const dir = tmp();
    const log = await openLog(dir, { clock });
    await log.append([{ value: 'a' }, { value: 'b' }]);
    expect(log.recoveryPoint).toBe(0);
    await log.flush();
    expect(log.recoveryPoint).toBe(2);
    expect(fs.readFileSync(path.join(dir, 'recovery-point-offset-checkpoint'), 'utf8')).toBe('0\n1\norders 0 2\n');
  });

  it('flush.ms triggers a flush on the next append once it has passed', async () => {
    const log = await openLog(tmp(), { clock, config: { flushMs: 1000 } });
    await log.append([{ value: 'a' }]);
    expect(log.recoveryPoint).toBe(0);
    now += 1500;
    await log.append([{ value: 'b' }]);
    expect(log.recoveryPoint).toBe(2);
  });

  it('high watermark is settable and clamped to [logStartOffset, logEndOffset]', async () => {
    const log = await openLog(tmp(), { clock });
    await log.append([{ value: 'a' }, { value: 'b' }]);
    log.highWatermark = 1;
    expect(log.highWatermark).toBe(1);
    log.highWatermark = 99;
    expect(log.highWatermark).toBe(2);
    expect(() => { log.highWatermark = 1.5; }).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('after close every call is LOG_CLOSED (as a rejected promise for async calls)', async () => {
    const log = await Log.open(tmp(), { clock });
    await log.close();
    await expect(log.append([{ value: 'a' }])).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    await expect(log.flush()).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    expect(() => log.read(0)).toThrow(expect.objectContaining({ code: 'LOG_CLOSED' }));
    await log.close(); // twice is fine
  });

  it('invalid config names the key and the bound', async () => {
    await expect(Log.open(tmp(), { config: { 'segment.bytes': 5 } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('segment.bytes') });
  });
});

describe('offsetForTimestamp', () => {
  it('follows Kafka ListOffsets across segments', async () => {
    const log = await openLog(tmp(), { clock, config: { segmentBytes: 300 } });
    for (let i = 0; i < 20; i++) await log.append([{ value: `v${i}`, timestamp: 1000 + i * 10 }]);
    expect(log.numberOfSegments).toBeGreaterThan(1);
    expect(log.offsetForTimestamp(1000)).toEqual({ offset: 0, timestamp: 1000 });
    expect(log.offsetForTimestamp(1055)).toEqual({ offset: 6, timestamp: 1060 });
    expect(log.offsetForTimestamp(1190)).toEqual({ offset: 19, timestamp: 1190 });
    expect(log.offsetForTimestamp(5000)).toBeNull();
    expect(log.offsetForTimestamp('earliest')).toEqual({ offset: 0, timestamp: -1 });
    expect(log.offsetForTimestamp('latest')).toEqual({ offset: 20, timestamp: -1 });
  });
});

describe('truncation', () => {
  it('truncateTo removes the tail across segments; offsets continue from there', async () => {
    const log = await openLog(tmp(), { clock, config: { segmentBytes: 300 } });
    for (let i = 0; i < 20; i++) await log.append([{ value: `v${i}` }]);
    await log.truncateTo(7);
    expect(log.logEndOffset).toBe(7);
    expect(await values(log)).toEqual(Array.from({ length: 7 }, (_, i) => `${i}:v${i}`));
    const r = await log.append([{ value: 'new' }]);
    expect(r.firstOffset).toBe(7);
  });

  it('truncateFullyAndStartAt empties the log at a new start', async () => {
    const dir = tmp();
    const log = await openLog(dir, { clock });
    await log.append([{ value: 'a' }]);
    await log.truncateFullyAndStartAt(100);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([100, 100]);
    expect((await log.append([{ value: 'b' }])).firstOffset).toBe(100);
    await log.close();
    open.pop();
    const again = await openLog(dir, { clock });
    expect([again.logStartOffset, again.logEndOffset]).toEqual([100, 101]);
  });
});

describe('recovery', () => {
  async function writeAndCrash(dir: string, n: number, config: Record<string, unknown> = {}): Promise<void> {
    const log = await Log.open(dir, { clock, config });
    for (let i = 0; i < n; i++) await log.append([{ value: `v${i}` }]);
    await log.flush();
    // Simulate a crash: no clean close (drop the lock by hand, leave everything else).
    (log as unknown as { lock: { release(): void } }).lock.release();
  }

  it('garbage appended to the .log is cut and the log works on', async () => {
    const dir = tmp();
    await writeAndCrash(dir, 5);
    const file = path.join(dir, '00000000000000000000.log');
    const good = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from('garbage garbage garbage garbage garbage!'));
    const log = await openLog(dir, { clock });
    expect(log.loadReport.cleanShutdown).toBe(false);
    expect(log.loadReport.truncatedBytes).toBe(40);
    expect(fs.statSync(file).size).toBe(good);
    expect(log.logEndOffset).toBe(5);
    expect((await log.append([{ value: 'after' }])).firstOffset).toBe(5);
  });

  it('a zero-filled (preallocated) tail is cut', async () => {
    const dir = tmp();
    await writeAndCrash(dir, 3);
    const file = path.join(dir, '00000000000000000000.log');
    fs.appendFileSync(file, Buffer.alloc(4096));
    const log = await openLog(dir, { clock });
    expect(log.loadReport.truncatedBytes).toBe(4096);
    expect(await values(log)).toEqual(['0:v0', '1:v1', '2:v2']);
  });

  it('a torn last batch is cut; a bad CRC in the middle drops everything after it', async () => {
    const dir = tmp();
    await writeAndCrash(dir, 6, { segmentBytes: 250 });
    const segs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    expect(segs.length).toBeGreaterThan(1);
    const first = path.join(dir, segs[0]);
    const bytes = fs.readFileSync(first);
    const positions = [...walkBatches(bytes)].map((w) => w.position);
    bytes[positions[1] + 65] ^= 0xff; // corrupt the second batch of the first segment
    fs.writeFileSync(first, bytes);
    // The recovery point must not cover it: remove the checkpoint so recovery starts at 0.
    fs.rmSync(path.join(dir, 'recovery-point-offset-checkpoint'));
    const log = await openLog(dir, { clock });
    expect(log.logEndOffset).toBe(1);
    expect(log.loadReport.deletedSegments).toBe(segs.length - 1);
    expect(await values(log)).toEqual(['0:v0']);
  });

  it('missing or corrupt indexes are rebuilt from the log', async () => {
    const dir = tmp();
    const log0 = await Log.open(dir, { clock, config: { indexIntervalBytes: 0, segmentBytes: 400 } });
    for (let i = 0; i < 12; i++) await log0.append([{ value: `v${i}` }]);
    await log0.close();
    const files = fs.readdirSync(dir);
    fs.rmSync(path.join(dir, files.find((f) => f.endsWith('.timeindex'))!));
    fs.rmSync(path.join(dir, files.find((f) => f.endsWith('.index'))!));
    const log = await openLog(dir, { clock, config: { indexIntervalBytes: 0, segmentBytes: 400 } });
    expect(log.loadReport.recoveredSegments).toBeGreaterThanOrEqual(1);
    expect(await values(log, 3)).toEqual(Array.from({ length: 9 }, (_, i) => `${i + 3}:v${i + 3}`));
    expect(log.offsetForTimestamp(now)).toEqual({ offset: 0, timestamp: now });
  });

  it('leftover .deleted, .cleaned and orphan index files are removed on open', async () => {
    const dir = tmp();
    await writeAndCrash(dir, 2);
    fs.writeFileSync(path.join(dir, '00000000000000000000.log.deleted'), 'x');
    fs.writeFileSync(path.join(dir, '00000000000000000005.log.cleaned'), 'x');
    fs.writeFileSync(path.join(dir, '00000000000000000009.index'), Buffer.alloc(8));
    const log = await openLog(dir, { clock });
    expect(log.loadReport.removedTemporaryFiles).toBe(3);
    expect(fs.readdirSync(dir).filter((f) => /deleted|cleaned|00009/.test(f))).toEqual([]);
  });
});

describe('Kafka compatibility', () => {
  it('opens a Kafka 2.7.1 partition directory (copied) and reads what Kafka wrote', async () => {
    const dir = tmp('__consumer_offsets-39');
    fs.cpSync(path.join(KAFKA_FIXTURES, '__consumer_offsets-39'), dir, { recursive: true });
    const log = await openLog(dir, { clock });
    expect(log.logEndOffset).toBe(20);
    const recs = [];
    for await (const r of log.records()) recs.push(r.offset);
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.at(-1)).toBe(19);
    expect((await log.append([{ key: 'k', value: 'v' }])).firstOffset).toBe(20);
  });

  it('writes segments Kafka\'s layout rules accept: names, trimmed indexes, valid batches', async () => {
    const dir = tmp();
    const log = await Log.open(dir, { clock, config: { segmentBytes: 2000 } });
    for (let i = 0; i < 30; i++) await log.append([{ key: `k${i}`, value: 'x'.repeat(100) }], { compression: i % 2 ? 'lz4' : 'none' });
    await log.close();
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.log'))) {
      expect(f).toMatch(/^\d{20}\.log$/);
      const bytes = fs.readFileSync(path.join(dir, f));
      const batches = [...walkBatches(bytes)].map((w) => w.batch as RecordBatch);
      expect(batches.every((b) => b.isValid() && b.partitionLeaderEpoch === 0)).toBe(true);
      expect(batches[0].baseOffset).toBe(Number(f.slice(0, 20)));
      const index = fs.readFileSync(path.join(dir, f.replace('.log', '.index')));
      for (let i = 0; i < index.length; i += 8) {
        // Each entry (O, P): the batch at P has last offset O.
        const o = index.readInt32BE(i) + Number(f.slice(0, 20));
        const p = index.readInt32BE(i + 4);
        expect(RecordBatch.at(bytes, p).lastOffset).toBe(o);
      }
    }
    expect(fs.readFileSync(path.join(dir, 'leader-epoch-checkpoint'), 'utf8')).toBe('0\n1\n0 0\n');
  });
});

describe('hooks for a data-directory manager', () => {
  it('waitForAppend resolves on the append that passes the offset, false on close or abort', async () => {
    const log = await openLog(tmp(), { clock });
    await log.append([{ value: 'a' }]);
    expect(await log.waitForAppend(0)).toBe(true);
    let woke: boolean | null = null;
    const waiting = log.waitForAppend(1).then((v) => (woke = v));
    await new Promise((r) => setImmediate(r));
    expect(woke).toBeNull();
    await log.append([{ value: 'b' }]);
    await waiting;
    expect(woke).toBe(true);
    const ac = new AbortController();
    const aborted = log.waitForAppend(5, ac.signal);
    ac.abort();
    expect(await aborted).toBe(false);
    const closing = log.waitForAppend(5);
    await log.close();
    open.pop();
    expect(await closing).toBe(false);
  });

  it('keeps checkpoints where the caller says and takes no lock when told not to', async () => {
    const dir = tmp();
    const files = new Map<string, number | undefined>();
    let clean = false;
    const checkpoints = {
      read: (f: string) => files.get(f),
      write: (f: string, v: number | undefined) => void files.set(f, v),
      takeCleanShutdown: () => clean,
      markCleanShutdown: () => void (clean = true),
    };
    const log = await openLog(dir, { clock, checkpoints, lock: false });
    await log.append([{ value: 'a' }, { value: 'b' }]);
    await log.flush();
    expect(files.get('recovery-point-offset-checkpoint')).toBe(2);
    await log.close();
    open.pop();
    expect(clean).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => !/^\d{20}\./.test(f)).sort()).toEqual(['leader-epoch-checkpoint']);
    const again = await openLog(dir, { clock, checkpoints, lock: false });
    expect(again.loadReport.cleanShutdown).toBe(true);
    expect(again.logEndOffset).toBe(2);
  });
});
