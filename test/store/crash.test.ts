/**
 * Consumer commits survive a process kill. A child process (crash-child.ts) appends records,
 * consumes them in group `g`, commits some after "processing", flushes and reports the group's
 * committed offsets (`COMMITTED {...}`). The parent SIGKILLs it after a seeded number of reports
 * (so at a different point of its loop each round), then reopens the data directory and checks:
 * every committed offset the child reported is still committed (or was overtaken by a later
 * commit: commits only move forward here), every committed offset is within its partition's
 * log, and a new consumer of the group resumes exactly at the commits. The next round runs a
 * child on the same directory (recovery of a recovered directory). While a child runs, opening
 * the directory from the parent is LOCKED.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { EventStore } from '../../src/store/store.js';
import { REPO } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';
import { Child } from './child-process.js';
import { GROUP, PARTITIONS, TOPIC, type ChildArgs } from './crash-shared.js';

const CHILD = path.join(REPO, 'test/store/crash-child.ts');
const ROUNDS = 3;

const dirs: string[] = [];
const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function start(args: ChildArgs): Child {
  const child = new Child(CHILD, args);
  children.push(child);
  return child;
}

describe('a consumer killed mid-stream', () => {
  it('loses no commit it reported, and its group resumes exactly there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-store-crash-'));
    dirs.push(dir);
    const rng = prng(2024);
    let last: Record<string, number | null> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const child = start({ dir, mode: 'work', seed: 100 + round });
      await child.waitFor((l) => l === 'READY');
      // The directory is the child's while it runs.
      const locked = await EventStore.open(dir).then(
        async (s) => {
          await s.close();
          return 'opened';
        },
        (err: unknown) => (err instanceof SeglogError ? err.code : String(err)),
      );
      expect(locked).toBe(ErrorCode.LOCKED);
      // Killed after a seeded number of lines of any kind: mid-append, mid-commit, mid-flush.
      await child.waitFor((l) => l.startsWith('COMMITTED '));
      await child.waitFor(() => true, child.lines.length + Math.floor(rng() * 40));
      await child.kill();
      expect(child.lines.some((l) => l.startsWith('ERROR'))).toBe(false);
      // What the child saw committed before it died: the last flushed report, and every commit
      // that resolved (written to the offsets topic: a process kill does not lose it).
      const reported = JSON.parse(child.lines.filter((l) => l.startsWith('COMMITTED ')).at(-1)!.slice('COMMITTED '.length)) as Record<string, number | null>;
      for (const l of child.lines.filter((x) => x.startsWith('COMMIT '))) {
        const [, p, offset] = l.split(' ').map(Number);
        reported[p] = Math.max(reported[p] ?? -1, offset);
      }

      const store = await EventStore.open(dir, { maintenanceIntervalMs: 0 });
      try {
        const log0 = store.manager.log(TOPIC, 0);
        expect(log0.loadReport.cleanShutdown).toBe(false);
        for (let p = 0; p < PARTITIONS; p++) {
          const committed = store.committed(GROUP, TOPIC, p);
          const seen = reported[p];
          const before = last[p] ?? null;
          if (seen !== null) expect(committed).not.toBeNull();
          // Commits never go back: at least what was reported, and what the last round had.
          expect(committed ?? -1).toBeGreaterThanOrEqual(seen ?? -1);
          expect(committed ?? -1).toBeGreaterThanOrEqual(before ?? -1);
          expect(committed ?? 0).toBeLessThanOrEqual(store.manager.log(TOPIC, p).logEndOffset);
        }
        // A new member of the group starts exactly at the commits; the records there are intact.
        const consumer = store.subscribe(TOPIC, { group: GROUP, from: 'earliest' });
        await consumer.ready();
        for (let p = 0; p < PARTITIONS; p++) {
          const committed = store.committed(GROUP, TOPIC, p) ?? 0;
          expect(consumer.position(p)).toBe(committed);
          const log = store.manager.log(TOPIC, p);
          if (committed < log.logEndOffset) {
            const [r] = await store.read(TOPIC, p, committed, { maxRecords: 1 });
            expect(r.offset).toBe(committed);
            expect(r.value!.toString()).toMatch(/^v\d+-\d+$/);
          }
        }
        await consumer.close();
        last = Object.fromEntries([0, 1, 2].map((p) => [p, store.committed(GROUP, TOPIC, p)]));
      } finally {
        await store.close();
      }
    }
    // Progress was made across the rounds.
    expect(Object.values(last).some((v) => v !== null && v > 0)).toBe(true);
  });
});
