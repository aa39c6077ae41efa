/**
 * Crash tests of the cleaner's swap (format notes §5 and §6.3 step 6).
 *
 * 1. Phase by phase: a dry round on a copy of a log records every step of the swap (`.cleaned`
 *    written; each file renamed `.cleaned` → `.swap`; the directory fsync; each old segment
 *    renamed `.deleted`; each file renamed `.swap` → final; the final fsync; before and after
 *    the checkpoint). Then, for each step, a fresh copy is cleaned with a hook that throws at
 *    that step — the files stay exactly as a crash there leaves them — the Log is dropped without
 *    close and the directory reopened. The log must be consistent (offsets increase, no
 *    temporary file left, every batch valid), hold exactly the pre-clean or the post-clean
 *    records (one group: pre until every output file is `.swap`, post from then on; several
 *    groups: post for the groups already swapped, pre for the rest, so nothing that must stay is
 *    lost and the latest value of every key is unchanged), and a new round must converge to the
 *    post-clean records.
 * 2. Kill loop: a child process appends and cleans continuously; the parent SIGKILLs it at a
 *    random moment, reopens, and checks that every record is the one written at its offset,
 *    every flushed offset survived, and the latest record of every key is there. Short version
 *    always; SEGLOG_SOAK=1 runs many more kills.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CleanerStep } from '../../src/cleaner/cleaner.js';
import { Log } from '../../src/log/log.js';
import { REPO } from '../helpers/paths.js';
import type { CleanerChildArgs } from './crash-child.js';
import { DAY, TestClock, dropWithoutClose, fileBatches, keyedRecordFor, latestPerKey, openCompacted, prng, readAll, strictlyIncreasing, temporaries, tmpLogDir, type Seen } from './helpers.js';

const SOAK = process.env.SEGLOG_SOAK === '1';

// ------------------------------------------------------------------ phase by phase

class Crash extends Error {}

interface Scenario {
  name: string;
  config: Record<string, unknown>;
  /** Whether the round has a single group (exact pre/post answer). */
  oneGroup: boolean;
}

/** A closed log with duplicates, tombstones and several codecs, in several segments. */
async function buildBase(s: Scenario, clock: TestClock): Promise<string> {
  const dir = tmpLogDir('seglog-clean-crash-');
  const log = await openCompacted(dir, clock, s.config);
  const rng = prng(42);
  const codecs = ['none', 'gzip', 'lz4', 'zstd', 'snappy'] as const;
  for (let i = 0; i < 90; i++) {
    const n = 1 + Math.floor(rng() * 3);
    const recs = Array.from({ length: n }, () => {
      const k = Math.floor(rng() * 25);
      return { key: `k${k}`, value: rng() < 0.15 ? null : `value-${i}-${k}` };
    });
    await log.append(recs, { compression: codecs[i % codecs.length] });
    if (s.oneGroup && i % 20 === 19) await log.roll();
  }
  await log.roll();
  await log.append([{ key: 'active', value: 'stays' }]);
  await log.close();
  return dir;
}

function copyDir(from: string): string {
  const to = tmpLogDir('seglog-clean-crash-');
  fs.cpSync(from, to, { recursive: true });
  fs.rmSync(path.join(to, '.lock'), { force: true });
  return to;
}

const key = (r: Seen) => `${r.offset}:${r.key}=${r.value}`;

async function checkConsistent(log: Log): Promise<Seen[]> {
  const seen = await readAll(log);
  expect(strictlyIncreasing(seen)).toBe(true);
  expect(temporaries(log.dir)).toEqual([]);
  for (const { batch } of fileBatches(log.dir)) expect(batch.isValid()).toBe(true);
  return seen;
}

const scenarios: Scenario[] = [
  { name: 'one group (segments merged into one output)', config: { segmentBytes: 64 * 1024, deleteRetentionMs: DAY }, oneGroup: true },
  { name: 'several groups', config: { segmentBytes: 1500, deleteRetentionMs: DAY }, oneGroup: false },
];

describe('crash at each step of the swap', () => {
  for (const s of scenarios) {
    it(`${s.name}: reopens to the pre- or post-clean records and converges`, async () => {
      const clock = new TestClock();
      const base = await buildBase(s, clock);
      const preLog = await openCompacted(copyDir(base), clock, s.config);
      const pre = await readAll(preLog);
      await preLog.close();

      // The dry run: the post-clean records and every step of the round.
      const steps: { step: CleanerStep; group: number; file?: string }[] = [];
      const ref = await openCompacted(copyDir(base), clock, s.config);
      const report = await ref.clean({ onStep: (step, d) => void steps.push({ step, ...d }) });
      expect(report.ran).toBe(true);
      const post = await readAll(ref);
      await ref.close();
      expect(post.length).toBeLessThan(pre.length);
      if (s.oneGroup) expect(new Set(steps.map((x) => x.group))).toEqual(new Set([1]));
      else expect(new Set(steps.map((x) => x.group)).size).toBeGreaterThan(2);

      const preSet = new Set(pre.map(key));
      const postSet = new Set(post.map(key));
      for (let at = 0; at < steps.length; at++) {
        const dir = copyDir(base);
        const log = await openCompacted(dir, clock, s.config);
        let calls = 0;
        await expect(
          log.clean({
            onStep: () => {
              if (calls++ === at) throw new Crash(`crash at ${steps[at].step}`);
            },
          }),
        ).rejects.toBeInstanceOf(Crash);
        await dropWithoutClose(log);

        const again = await openCompacted(dir, clock, s.config);
        const seen = await checkConsistent(again);
        const label = `${at}: ${steps[at].step} (group ${steps[at].group}) ${steps[at].file ? path.basename(steps[at].file!) : ''}`;
        if (s.oneGroup) {
          // All three output files are .swap once the third cleaned-to-swap rename is done.
          const swapped = steps.slice(0, at + 1).filter((x) => x.step === 'cleaned-to-swap').length === 3;
          expect(seen.map(key), label).toEqual((swapped ? post : pre).map(key));
        } else {
          for (const r of seen) expect(preSet.has(key(r)), label).toBe(true);
          for (const r of post) expect(seen.some((x) => x.offset === r.offset), label).toBe(true);
          expect(new Map([...latestPerKey(seen)].map(([k, r]) => [k, key(r)])), label).toEqual(new Map([...latestPerKey(pre)].map(([k, r]) => [k, key(r)])));
          expect(seen.filter((r) => !postSet.has(key(r))).every((r) => preSet.has(key(r)))).toBe(true);
        }
        // A new round converges to the post-clean records, and they survive a reopen.
        await again.clean({ force: true });
        expect((await checkConsistent(again)).map(key), label).toEqual(post.map(key));
        await again.close();
        const third = await openCompacted(dir, clock, s.config);
        expect((await readAll(third)).map(key), label).toEqual(post.map(key));
        await third.close();
      }
    });
  }

  it("a group whose last segments lose every batch: its .swap still covers them (no stale segment comes back)", async () => {
    // Group 1 = three small segments (offsets 0, 1, 2); the records at 1 and 2 are superseded
    // by group 2, a segment too large to merge with them. Kafka's own rules would leave group
    // 1's output ending at offset 0, and the loader deletes only originals below a swap's next
    // offset: a crash between the .swap and .deleted renames would bring segments 1 and 2 back.
    const clock = new TestClock();
    const config = { segmentBytes: 1200, deleteRetentionMs: DAY };
    const dir = tmpLogDir('seglog-clean-crash-');
    const log = await openCompacted(dir, clock, config);
    for (const [k, v] of [['k1', 'a'], ['k2', 'b'], ['k3', 'c']]) {
      await log.append([{ key: k, value: v }]);
      await log.roll();
    }
    await log.append([{ key: 'k2', value: 'B' }, { key: 'k3', value: 'C' }, ...Array.from({ length: 18 }, (_, i) => ({ key: `f${i}`, value: 'x'.repeat(45) }))]);
    await log.roll();
    // Group 1 (3 × ~70 bytes) + group 2 (~1100 bytes) exceed segment.bytes: two groups.
    expect(log.size).toBeGreaterThan(1200);
    await log.append([{ key: 'active', value: 'a' }]);
    await expect(
      log.clean({
        onStep: (step, d) => {
          if (step === 'swap-durable' && d.group === 1) throw new Crash('between .swap and .deleted');
        },
      }),
    ).rejects.toBeInstanceOf(Crash);
    await dropWithoutClose(log);
    const again = await openCompacted(dir, clock, config);
    expect(again.loadReport.completedSwaps).toBe(1);
    const seen = await checkConsistent(again);
    expect(seen.slice(0, 3).map((r) => `${r.offset}:${r.key}=${r.value}`)).toEqual(['0:k1=a', '3:k2=B', '4:k3=C']);
    await again.close();
  });

  it('an unfinished split (a .swap above the lowest .cleaned) is dropped, the originals stay', async () => {
    // A round that split a group in two outputs renames them to .swap in descending offset
    // order; a crash between the two leaves the higher one .swap and the lower one .cleaned.
    // Reproduced by hand: the .cleaned files of a group plus a .swap above them.
    const clock = new TestClock();
    const s = scenarios[1];
    const base = await buildBase(s, clock);
    const dir = copyDir(base);
    const log = await openCompacted(dir, clock, s.config);
    const before = await readAll(log);
    await expect(
      log.clean({
        onStep: (step) => {
          if (step === 'cleaned-written') throw new Crash('after .cleaned');
        },
      }),
    ).rejects.toBeInstanceOf(Crash);
    await dropWithoutClose(log);
    const cleaned = fs.readdirSync(dir).filter((n) => n.endsWith('.log.cleaned'));
    expect(cleaned.length).toBe(1);
    const higher = String(Number(cleaned[0].slice(0, 20)) + 5).padStart(20, '0');
    fs.copyFileSync(path.join(dir, cleaned[0]), path.join(dir, `${higher}.log.swap`));
    const again = await openCompacted(dir, clock, s.config);
    expect((await checkConsistent(again)).map(key)).toEqual(before.map(key));
    expect(again.loadReport.completedSwaps).toBe(0);
    await again.close();
  });
});

// ------------------------------------------------------------------ kill loop

const CHILD = path.join(REPO, 'test/cleaner/crash-child.ts');
const TSX = pathToFileURL(createRequire(path.join(REPO, 'package.json')).resolve('tsx')).href;

class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<void>;
  private partial = '';

  constructor(args: CleanerChildArgs) {
    this.proc = spawn(process.execPath, ['--import', TSX, CHILD, JSON.stringify(args)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', () => resolve()));
  }

  async waitFor(prefix: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.lines.some((l) => l.startsWith(prefix))) return true;
      if (this.proc.exitCode !== null) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return false;
  }

  lastNumber(prefix: string): number {
    const hits = this.lines.filter((l) => l.startsWith(prefix));
    return hits.length === 0 ? 0 : Number(hits.at(-1)!.split(' ')[1]);
  }
}

/** What the directory must hold after a kill: records as written, the flushed prefix, the latest record of every key. */
async function checkAfterKill(dir: string, seed: number, flushed: number): Promise<{ leftovers: string[]; completedSwaps: number }> {
  const leftovers = fs.readdirSync(dir).filter((n) => /\.(cleaned|swap)$/.test(n));
  const log = await Log.open(dir, { config: { cleanupPolicy: 'compact', fileDeleteDelayMs: 0, deleteRetentionMs: DAY } });
  try {
    const seen = await checkConsistent(log);
    const end = log.logEndOffset;
    expect(end).toBeGreaterThanOrEqual(flushed);
    for (const r of seen) {
      const want = keyedRecordFor(seed, r.offset);
      expect([r.key, r.value]).toEqual([want.key, want.value]);
    }
    // The latest record of each key below the log end must be there, and be the key's last.
    const latest = new Map<string, number>();
    for (let o = 0; o < end; o++) latest.set(keyedRecordFor(seed, o).key, o);
    const last = latestPerKey(seen);
    for (const [k, o] of latest) expect(last.get(k)?.offset, `key ${k}`).toBe(o);
    // Nothing lost by cleaning once more.
    await log.clean({ force: true });
    const after = latestPerKey(await checkConsistent(log));
    for (const [k, o] of latest) expect(after.get(k)?.offset, `key ${k} after a new round`).toBe(o);
    return { leftovers, completedSwaps: log.loadReport.completedSwaps };
  } finally {
    await log.close();
  }
}

describe('SIGKILL during appends and cleaning', () => {
  it(`the reopened log has every flushed record and the latest record of every key (${SOAK ? 'soak' : 'short'})`, async () => {
    const kills = SOAK ? 60 : 3;
    const seed = 0xc1ea;
    const dir = tmpLogDir('seglog-clean-kill-');
    const rng = prng(seed);
    let cleanedRuns = 0;
    let killedMidRound = 0;
    let swapsCompletedOnOpen = 0;
    for (let run = 0; run < kills; run++) {
      const child = new Child({ dir, seed, run, segmentBytes: 2048, maxMs: 20_000 });
      const ready = await child.waitFor('READY', 15_000);
      expect(ready, child.stderr + child.lines.join('\n')).toBe(true);
      // Let it append and clean for a while, then kill it at a random moment.
      await child.waitFor('CLEANED', 3000);
      await new Promise((r) => setTimeout(r, 20 + Math.floor(rng() * 250)));
      child.proc.kill('SIGKILL');
      await child.exited;
      expect(child.lines.find((l) => l.startsWith('ERROR')), child.lines.join('\n')).toBeUndefined();
      if (child.lines.some((l) => l.startsWith('CLEANED'))) cleanedRuns++;
      const found = await checkAfterKill(dir, seed, child.lastNumber('FLUSHED'));
      if (found.leftovers.length > 0) killedMidRound++;
      swapsCompletedOnOpen += found.completedSwaps;
    }
    expect(cleanedRuns).toBeGreaterThan(0);
    if (SOAK) console.log(`${kills} kills: ${killedMidRound} left .cleaned/.swap files, ${swapsCompletedOnOpen} swaps completed by the loader`);
  });
});
