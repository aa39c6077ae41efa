import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';

const open: Log[] = [];
let now = 1_700_000_000_000;
const clock = () => now;
const DAY = 86_400_000;

function tmp(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-ret-')), 'events-0');
}
async function openLog(dir: string, config: Record<string, unknown>): Promise<Log> {
  const log = await Log.open(dir, { clock, config: { segmentBytes: 400, ...config } });
  open.push(log);
  return log;
}
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

/** Appends `n` single-record batches stamped with the clock, advancing it by `stepMs` each. */
async function fill(log: Log, n: number, stepMs = 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    await log.append([{ key: `k${log.logEndOffset % 5}`, value: `value-${log.logEndOffset}`, timestamp: now }]);
    now += stepMs;
  }
}

const offsets = async (log: Log) => {
  const out: number[] = [];
  for await (const r of log.records()) out.push(r.offset);
  return out;
};

describe('retention by time (retention.ms)', () => {
  it('deletes the segments whose newest record is older than retention.ms, oldest first', async () => {
    const log = await openLog(tmp(), { retentionMs: DAY, fileDeleteDelayMs: 0 });
    await fill(log, 10, 0);
    now += 2 * DAY;
    await fill(log, 10, 0);
    const before = log.numberOfSegments;
    const deleted = await log.deleteOldSegments();
    expect(deleted).toBeGreaterThan(0);
    expect(log.numberOfSegments).toBe(before - deleted);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]);
    // Everything old is gone; everything new is still there.
    const left = await offsets(log);
    expect(left.at(-1)).toBe(19);
    expect(left[0]).toBeGreaterThan(0);
    expect(left[0]).toBeLessThanOrEqual(10);
    expect(() => log.read(0)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
  });

  it('when every segment expired the log end survives: offsets are never reused', async () => {
    const dir = tmp();
    const log = await openLog(dir, { retentionMs: DAY, fileDeleteDelayMs: 0 });
    await fill(log, 15, 0);
    now += 2 * DAY;
    await log.deleteOldSegments();
    expect([log.logStartOffset, log.logEndOffset]).toEqual([15, 15]);
    expect(await offsets(log)).toEqual([]);
    expect((await log.append([{ value: 'next', timestamp: now }])).firstOffset).toBe(15);
    await log.close();
    open.pop();
    const again = await openLog(dir, { retentionMs: DAY });
    expect([again.logStartOffset, again.logEndOffset]).toEqual([15, 16]);
  });

  it('does nothing under cleanup.policy=compact', async () => {
    const log = await openLog(tmp(), { retentionMs: DAY, cleanupPolicy: 'compact' });
    await fill(log, 10);
    now += 10 * DAY;
    expect(await log.deleteOldSegments()).toBe(0);
    expect((await offsets(log)).length).toBe(10);
  });

  it('never deletes past the high watermark a broker set', async () => {
    const log = await openLog(tmp(), { retentionMs: DAY, fileDeleteDelayMs: 0 });
    await fill(log, 12);
    log.highWatermark = 3;
    now += 2 * DAY;
    await log.deleteOldSegments();
    expect(log.logStartOffset).toBeLessThanOrEqual(3);
    expect((await offsets(log)).at(-1)).toBe(11);
  });
});

describe('retention by size (retention.bytes)', () => {
  it('keeps the log at or above retention.bytes, deleting whole segments from the start', async () => {
    const log = await openLog(tmp(), { retentionBytes: 1000, fileDeleteDelayMs: 0 });
    await fill(log, 40);
    const before = log.size;
    await log.deleteOldSegments();
    expect(log.size).toBeGreaterThanOrEqual(1000);
    expect(log.size).toBeLessThan(before);
    // One more segment gone would drop below the bound.
    expect(log.size - 400).toBeLessThan(1000);
    expect((await offsets(log)).at(-1)).toBe(39);
  });
});

describe('deleteRecordsBefore (Kafka DeleteRecords)', () => {
  it('raises the log start offset and deletes the segments wholly below it', async () => {
    const dir = tmp();
    const log = await openLog(dir, { fileDeleteDelayMs: 0 });
    await fill(log, 30);
    const segs = log.numberOfSegments;
    expect(await log.deleteRecordsBefore(17)).toBe(17);
    expect(log.logStartOffset).toBe(17);
    expect(log.numberOfSegments).toBeLessThan(segs);
    expect((await offsets(log))[0]).toBe(17);
    expect(() => log.read(16)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
    await expect(log.deleteRecordsBefore(31)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await log.close();
    open.pop();
    // The start offset is checkpointed, even inside a segment.
    const again = await openLog(dir, {});
    expect(again.logStartOffset).toBe(17);
    expect((await offsets(again))[0]).toBe(17);
  });
});

describe('deferred deletion (file.delete.delay.ms)', () => {
  it('renames files .deleted, keeps a held slice readable, removes them after the delay', async () => {
    const dir = tmp();
    const log = await openLog(dir, { retentionMs: DAY, fileDeleteDelayMs: 60_000 });
    await fill(log, 10);
    const held = log.read(0, { maxBytes: 1 << 20 });
    const expected = held.materialize();
    now += 2 * DAY;
    await fill(log, 2);
    await log.deleteOldSegments();
    const names = fs.readdirSync(dir);
    expect(names.some((n) => n.endsWith('.log.deleted'))).toBe(true);
    expect(names).not.toContain('00000000000000000000.log');
    // A reader that took a slice before the deletion still reads the same bytes.
    expect(Buffer.compare(held.materialize(), expected)).toBe(0);
    expect([...held.records()].map((r) => r.offset)[0]).toBe(0);
    now += 30_000;
    expect((await log.runMaintenance()).deletedFiles).toBe(0);
    now += 31_000;
    expect((await log.runMaintenance()).deletedFiles).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).some((n) => n.endsWith('.deleted'))).toBe(false);
  });

  it('leftover .deleted files are removed when the log opens again', async () => {
    const dir = tmp();
    const log = await Log.open(dir, { clock, config: { segmentBytes: 400, retentionMs: DAY, fileDeleteDelayMs: 60_000 } });
    await fill(log, 10);
    now += 2 * DAY;
    await fill(log, 1);
    await log.deleteOldSegments();
    // Crash: no close (release only the lock).
    (log as unknown as { lock: { release(): void } }).lock.release();
    expect(fs.readdirSync(dir).some((n) => n.endsWith('.deleted'))).toBe(true);
    const again = await openLog(dir, {});
    expect(again.loadReport.removedTemporaryFiles).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).some((n) => n.endsWith('.deleted'))).toBe(false);
    expect(again.logEndOffset).toBe(11);
  });
});

describe('maintenance runner', () => {
  it('runMaintenance applies a due time-based flush and retention with the injected clock', async () => {
    const log = await openLog(tmp(), { retentionMs: DAY, flushMs: 5000, fileDeleteDelayMs: 0 });
    await fill(log, 10);
    expect(log.recoveryPoint).toBe(0);
    now += 6000;
    const r1 = await log.runMaintenance();
    expect(r1.flushed).toBe(true);
    expect(log.recoveryPoint).toBe(10);
    now += 2 * DAY;
    await fill(log, 1);
    const r2 = await log.runMaintenance();
    expect(r2.deletedSegments).toBeGreaterThan(0);
  });

  it('startMaintenance runs on a timer and appends keep working meanwhile', async () => {
    const log = await openLog(tmp(), { retentionMs: DAY, fileDeleteDelayMs: 0 });
    await fill(log, 10);
    now += 2 * DAY;
    log.startMaintenance(5);
    for (let i = 0; i < 20; i++) {
      await log.append([{ value: 'x', timestamp: now }]);
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(log.logStartOffset).toBeGreaterThan(0);
    expect(log.logEndOffset).toBe(30);
  });
});
