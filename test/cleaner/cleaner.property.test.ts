/**
 * Property test (fast-check, seeded): random workloads of keyed appends (tombstones included,
 * every codec, 1–4 records per batch), clock moves, rolls, cleanings (forced or by the dirty
 * ratio), and reopenings (clean or after a crash) against a model.
 *
 * The model keeps every appended record with an `alive` flag and every batch's delete horizon,
 * and applies Kafka's rules after each round that ran, with E = the round's endOffset:
 * for every alive record below E, it stays iff it is the latest alive record of its key below
 * E and (it has a value, or its batch has no horizon, or now < horizon); a batch that keeps a
 * tombstone and has no horizon gets now + delete.retention.ms. (By induction the section below
 * the previous endOffset holds each key once, so "latest below E" is exactly what Kafka's offset
 * map over the dirty section decides.)
 *
 * Checked after every step: reading the log from the start yields exactly the model's alive
 * records (offset, key, value) — so the latest value per key for every key whose latest record
 * was cleaned, tombstones only inside their horizon, everything in the uncleaned tail —
 * offsets strictly increase, every batch on disk has the offsets it was appended with, and a
 * reopen gives the same answer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Log } from '../../src/log/log.js';
import type { CompressionName } from '../../src/records/index.js';
import { TestClock, dropWithoutClose, fileBatches, openCompacted, readAll, strictlyIncreasing, temporaries, tmpLogDir } from './helpers.js';

const RETENTION_MS = 1000;
const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

type Command =
  | { kind: 'append'; records: { key: number; tombstone: boolean }[]; codec: CompressionName }
  | { kind: 'advance'; ms: number }
  | { kind: 'roll' }
  | { kind: 'clean'; force: boolean }
  | { kind: 'reopen'; crash: boolean };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('append' as const), records: fc.array(fc.record({ key: fc.integer({ min: 0, max: 11 }), tombstone: fc.boolean() }), { minLength: 1, maxLength: 4 }), codec: fc.constantFrom(...CODECS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 6 }).map((n) => n * 250) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('clean' as const), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), crash: fc.boolean() }) },
);

interface ModelRecord {
  offset: number;
  key: string;
  value: string | null;
  alive: boolean;
  batch: ModelBatch;
}
interface ModelBatch {
  first: number;
  last: number;
  horizon: number | null;
}

class Model {
  readonly records: ModelRecord[] = [];
  readonly batches: ModelBatch[] = [];
  /** Tombstones dropped because their horizon passed (not because they were superseded). */
  expiredTombstones = 0;

  append(first: number, recs: { key: string; value: string | null }[]): void {
    const batch: ModelBatch = { first, last: first + recs.length - 1, horizon: null };
    this.batches.push(batch);
    recs.forEach((r, i) => this.records.push({ offset: first + i, key: r.key, value: r.value, alive: true, batch }));
  }

  /** Kafka's round over [0, endOffset) at `now`. */
  clean(endOffset: number, now: number): void {
    const below = this.records.filter((r) => r.alive && r.offset < endOffset);
    const latest = new Map<string, number>();
    for (const r of below) latest.set(r.key, r.offset);
    const stampable = new Set<ModelBatch>();
    for (const r of below) {
      const h = r.batch.horizon;
      const keep = latest.get(r.key) === r.offset && (r.value !== null || h === null || now < h);
      if (!keep) {
        r.alive = false;
        if (latest.get(r.key) === r.offset) this.expiredTombstones++;
      }
      else if (r.value === null && h === null) stampable.add(r.batch);
    }
    for (const b of stampable) b.horizon = now + RETENTION_MS;
  }

  visible(): { offset: number; key: string; value: string | null }[] {
    return this.records.filter((r) => r.alive).map((r) => ({ offset: r.offset, key: r.key, value: r.value }));
  }
}

async function check(log: Log, model: Model): Promise<void> {
  const seen = await readAll(log);
  expect(seen.map((r) => ({ offset: r.offset, key: r.key, value: r.value }))).toEqual(model.visible());
  expect(strictlyIncreasing(seen)).toBe(true);
  const ranges = new Set(model.batches.map((b) => `${b.first}-${b.last}`));
  for (const { batch } of fileBatches(log.dir)) {
    expect(ranges.has(`${batch.baseOffset}-${batch.lastOffset}`)).toBe(true);
    expect(batch.isValid()).toBe(true);
  }
}

describe('compaction against a Map model (property)', () => {
  it('reads exactly the model after random appends, clock moves, rolls, cleanings and reopens', async () => {
    let rounds = 0;
    let expired = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 70 }), fc.constantFrom(250, 500, 1200), async (commands, segmentBytes) => {
        const clock = new TestClock();
        const dir = tmpLogDir('seglog-clean-prop-');
        const config = { segmentBytes, deleteRetentionMs: RETENTION_MS };
        let log = await openCompacted(dir, clock, config);
        const model = new Model();
        try {
          for (const c of commands) {
            switch (c.kind) {
              case 'append': {
                const recs = c.records.map((r, i) => ({ key: `k${r.key}`, value: r.tombstone ? null : `v${log.logEndOffset + i}` }));
                const res = await log.append(recs, { compression: c.codec });
                model.append(res.firstOffset, recs);
                break;
              }
              case 'advance':
                clock.advance(c.ms);
                break;
              case 'roll':
                await log.roll();
                break;
              case 'clean': {
                const activeBase = log.segmentBaseOffsets().at(-1)!;
                const report = await log.clean({ force: c.force });
                if (report.ran) {
                  rounds++;
                  expect(report.aborted).toBe(false);
                  expect(report.endOffset).toBe(activeBase);
                  expect(report.firstUncleanableOffset).toBe(activeBase);
                  model.clean(report.endOffset, clock.now);
                } else {
                  expect(['not-cleanable', 'nothing-to-clean']).toContain(report.reason);
                }
                expect(temporaries(dir)).toEqual([]);
                break;
              }
              case 'reopen':
                if (c.crash) await dropWithoutClose(log);
                else await log.close();
                log = await openCompacted(dir, clock, config);
                break;
            }
            await check(log, model);
          }
          await log.close();
          log = await openCompacted(dir, clock, config);
          await check(log, model);
        } finally {
          expired += model.expiredTombstones;
          await log.close();
        }
      }),
      { seed: 0x5e61, numRuns: 100 },
    );
    // The workloads did exercise the rules: many rounds, and tombstones that outlived their horizon.
    expect(rounds).toBeGreaterThan(150);
    expect(expired).toBeGreaterThan(10);
  });
});
