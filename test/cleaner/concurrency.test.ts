/**
 * Appends and reads during a cleaning round: the round reads and rewrites outside the writer's
 * chain and yields to the event loop after each chunk, so appends complete and reads answer
 * while it runs; a reader holding bytes from before a swap keeps them valid (deferred deletion);
 * an iterator that spans a swap sees increasing offsets and only values that were written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Log } from '../../src/log/log.js';
import { TestClock, latestPerKey, openCompacted, readAll, strictlyIncreasing, tmpLogDir } from './helpers.js';

const open: Log[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close().catch(() => undefined);
});

/** value for (key, offset): every read can be checked against it. */
const valueFor = (offset: number) => `value-${offset}-${'#'.repeat(offset % 50)}`;

async function bigLog(clock: TestClock, batches: number, config: Record<string, unknown> = {}): Promise<Log> {
  const log = await openCompacted(tmpLogDir('seglog-clean-conc-'), clock, { segmentBytes: 256 * 1024, ...config });
  open.push(log);
  for (let i = 0; i < batches; i++) {
    const first = log.logEndOffset;
    await log.append(Array.from({ length: 50 }, (_, j) => ({ key: `k${(first + j) % 2000}`, value: valueFor(first + j) })), { compression: i % 2 === 0 ? 'none' : 'lz4' });
  }
  await log.roll();
  return log;
}

describe('appends and reads during a cleaning round', () => {
  it('appends complete and reads answer (with correct values) while the round runs', async () => {
    const clock = new TestClock();
    const log = await bigLog(clock, 600); // 30 000 records, ~2.8 MB
    let done = false;
    const round = log.clean().finally(() => {
      done = true;
    });
    let appendsDuring = 0;
    let readsDuring = 0;
    let i = 0;
    while (!done) {
      const first = log.logEndOffset;
      const r = await log.append([{ key: `k${first % 2000}`, value: valueFor(first) }]);
      expect(r.firstOffset).toBe(first);
      if (!done) appendsDuring++;
      // A read at some offset: every record it returns is the one written there.
      const at = (i * 7919) % log.logEndOffset;
      const slice = log.read(Math.max(at, log.logStartOffset), { maxBytes: 16 * 1024 });
      for (const rec of slice.records()) expect(rec.value?.toString()).toBe(valueFor(rec.offset));
      if (!done) readsDuring++;
      i++;
      // Appends resolve in microtasks; a producer that never lets the event loop turn would
      // starve every macrotask (the round yields with setImmediate, as I/O callbacks do).
      await new Promise((resolve) => setImmediate(resolve));
    }
    const report = await round;
    expect(report.ran).toBe(true);
    expect(appendsDuring).toBeGreaterThan(5);
    expect(readsDuring).toBeGreaterThan(5);
    const seen = await readAll(log);
    expect(strictlyIncreasing(seen)).toBe(true);
    for (const r of seen) expect(r.value).toBe(valueFor(r.offset));
    // Every key's latest record survived: those in the cleaned range and those appended during the round.
    const written = new Map<string, number>();
    for (let o = 0; o < log.logEndOffset; o++) written.set(`k${o % 2000}`, o);
    const latest = latestPerKey(seen);
    for (const [k, o] of written) expect(latest.get(k)?.offset).toBe(o);
  });

  it('a slice taken before the swap still reads its bytes after it (file.delete.delay.ms)', async () => {
    const clock = new TestClock();
    const log = await bigLog(clock, 100, { fileDeleteDelayMs: 60_000 });
    const held = log.read(0, { maxBytes: 64 * 1024 });
    const bytes = Buffer.from(held.materialize());
    await log.clean();
    expect(Buffer.compare(held.materialize(), bytes)).toBe(0);
    expect([...held.records()][0].offset).toBe(0);
    clock.advance(60_000);
    expect((await log.runMaintenance()).deletedFiles).toBeGreaterThan(0);
  });

  it('an iterator that spans a swap sees increasing offsets and written values only', async () => {
    const clock = new TestClock();
    const log = await bigLog(clock, 200);
    const seen: number[] = [];
    let cleaned = false;
    for await (const r of log.records()) {
      seen.push(r.offset);
      expect(r.value?.toString()).toBe(valueFor(r.offset));
      if (!cleaned && seen.length === 3000) {
        cleaned = true;
        await log.clean();
      }
    }
    expect(cleaned).toBe(true);
    expect(seen.every((o, i) => i === 0 || o > seen[i - 1])).toBe(true);
  });

  it('rounds of one log run one at a time; the maintenance timer cleans in the background', async () => {
    const clock = new TestClock();
    const log = await bigLog(clock, 100);
    const [a, b] = await Promise.all([log.clean(), log.clean({ force: true })]);
    expect(a.ran).toBe(true);
    expect(b.firstDirtyOffset).toBe(a.endOffset);
    // New dirty data, then the timer: appends go on while it cleans.
    for (let i = 0; i < 100; i++) {
      const first = log.logEndOffset;
      await log.append(Array.from({ length: 50 }, (_, j) => ({ key: `k${(first + j) % 2000}`, value: valueFor(first + j) })));
    }
    await log.roll();
    log.startMaintenance(2);
    const end = log.logEndOffset;
    const checkpoint = () => {
      const file = path.join(log.dir, 'cleaner-offset-checkpoint');
      return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/).at(-1)) : 0;
    };
    let cleanedNow = false;
    let appends = 0;
    for (let i = 0; i < 2000 && !cleanedNow; i++) {
      await log.append([{ key: 'tick', value: valueFor(log.logEndOffset) }]);
      appends++;
      await new Promise((r) => setTimeout(r, 1));
      cleanedNow = checkpoint() >= end;
    }
    expect(cleanedNow).toBe(true);
    expect(appends).toBeGreaterThan(0);
    expect((await readAll(log)).filter((r) => r.offset < end).length).toBeLessThanOrEqual(2000);
  });
});
