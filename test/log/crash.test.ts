/**
 * Crash tests for `Log`.
 *
 * 1. Kill loop. A child process (crash-child.ts, run with `node --import tsx`) appends seeded
 *    records (content = recordFor(seed, offset)) to a Log with small segments, flushing now and
 *    then and reporting `FLUSHED <offset>` after each flush resolves. The parent SIGKILLs it at a
 *    seeded random moment (while opening/recovering, while appending, right after a flush), then:
 *    - checks the files as the kill left them (each `.index` / `.timeindex` entry agrees with its
 *      `.log`, inactive segments hold only valid batches);
 *    - sometimes simulates a power failure on top: it damages only data that is not yet durable
 *      (beyond both the last acknowledged flush and the checkpointed recovery point): a torn
 *      batch, garbled bytes inside a batch, a garbage/zero tail, or a lost last segment;
 *    - predicts, from the bytes on disk, what recovery must do (log end, bytes cut, segments
 *      deleted or recovered) and opens the directory with Log.open: the loadReport must match;
 *      every offset below the last acknowledged flush is present; offsets are contiguous from 0
 *      with no duplicates and each record is recordFor(seed, offset); every batch has a valid CRC
 *      (nothing after a torn write is visible); the indexes agree with the log; ListOffsets
 *      answers are right; an append continues at the log end;
 *    - then closes cleanly or abandons the log (a second crash), and runs the child again on the
 *      same directory (recovery of a recovered directory). While a child runs, opening the
 *      directory from the parent must fail with LOCKED; after SIGKILL it must succeed (the
 *      kernel drops the child's flock).
 *    Short version always (2 rounds × 4 kills); SEGLOG_SOAK=1 runs 200 rounds × 5 kills = 1000
 *    kills (SEGLOG_SOAK_ROUNDS overrides the rounds) and prints the counts.
 *
 * 2. Phase tests: a cleanly closed log with several segments gets one inactive segment's index
 *    damaged — (a) `.index` cut to an odd length / to half, (b) its last entry pointing past the
 *    end of the `.log`, (c) `.timeindex` missing, (d) `.index` garbage — both with the clean-
 *    shutdown marker (recovery skipped) and without it (unclean, but the segment lies below the
 *    recovery point, so it is trusted). The log must open, answer every read and ListOffsets
 *    query as written, and keep appending, also after another close and reopen; after the last
 *    clean close every segment's files are consistent. Beyond the brief's four: a `.timeindex`
 *    cut to an odd length, an `.index` that is well-formed but points inside batches, and a
 *    `.timeindex` entry past the segment's last offset; and a recovery case (a torn segment
 *    that also lost its `.index`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLEAN_SHUTDOWN_FILE, Log, RECOVERY_POINT_CHECKPOINT_FILE } from '../../src/log/log.js';
import { buildBatchSync, type CompressionName } from '../../src/records/index.js';
import { REPO } from '../helpers/paths.js';
import type { ChildArgs } from './crash-child.js';
import {
  CRASH_BASE_TS,
  checkSegmentFiles,
  listSegmentBases,
  prng,
  readCheckpointFile,
  readOffsetIndexFile,
  recordFor,
  segmentPrefix,
  walkLog,
  type SeededRecord,
} from './crash-shared.js';

const SOAK = process.env.SEGLOG_SOAK === '1';
const CHILD = path.join(REPO, 'test/log/crash-child.ts');
/** tsx's ESM loader, resolved from the repository (a dev dependency). */
const TSX = pathToFileURL(createRequire(path.join(REPO, 'package.json')).resolve('tsx')).href;

// ------------------------------------------------------------------ the child

/** A running child and the lines it printed. */
class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private waiters: (() => void)[] = [];

  constructor(args: ChildArgs) {
    this.proc = spawn(process.execPath, ['--import', TSX, CHILD, JSON.stringify(args)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits until a line matches (resolves with it), the child exits, or `ms` pass (null). */
  async waitFor(match: (line: string) => boolean, ms: number, from = 0): Promise<string | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(from).find(match);
      if (hit !== undefined) return hit;
      if (!this.running || Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  kill(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ the recovery oracle

interface Prediction {
  report: { cleanShutdown: boolean; recoveredSegments: number; truncatedBytes: number; deletedSegments: number; removedTemporaryFiles: number; completedSwaps: number };
  logEnd: number;
  /** Torn or corrupt bytes found that are not a zero tail (a preallocated file, or a pure garbage-free cut). */
  tornTail: boolean;
}

/**
 * What Log.open must do with the directory as it is (format notes §5, seglog's loader): remove
 * index files without a `.log`; rebuild segments without `.index`; without the clean-shutdown
 * marker, re-validate every segment from the one holding the checkpointed recovery point; cut
 * each after its last valid batch and, at the first cut in a segment that is not the last (in
 * either pass), drop all later segments; the log end is where the last segment's valid batches
 * end (its base when it has none).
 */
function predictRecovery(dir: string): Prediction {
  const names = fs.readdirSync(dir);
  const clean = names.includes(CLEAN_SHUTDOWN_FILE);
  const bases = listSegmentBases(dir);
  const logs = new Set(bases);
  const orphans = names.filter((n) => /^\d{20}\.(index|timeindex|txnindex)$/.test(n) && !logs.has(Number(n.slice(0, 20)))).length;
  const segs = bases.map((base) => {
    const bytes = fs.readFileSync(`${segmentPrefix(dir, base)}.log`);
    const walk = walkLog(bytes);
    // Recovery also refuses batches outside the segment's offset range.
    const ok = walk.batches.findIndex((b) => b.baseOffset < base || b.lastOffset - base > 0x7fffffff);
    const valid = ok < 0 ? walk.batches : walk.batches.slice(0, ok);
    const validBytes = ok < 0 ? walk.validBytes : walk.batches[ok].position;
    return { base, size: bytes.length, valid, validBytes, stoppedBy: ok < 0 ? walk.stoppedBy : 'offset out of range' };
  });
  const recovered = new Set<number>();
  let truncatedBytes = 0;
  let deletedSegments = 0;
  let tornTail = false;
  const rebuilt = new Set<number>();
  let kept = segs;
  // Segments without `.index` are rebuilt first, whatever the shutdown; a cut in one that is
  // not the last drops every later segment (a hole would otherwise stay behind it).
  for (const [i, s] of segs.entries()) {
    if (fs.existsSync(`${segmentPrefix(dir, s.base)}.index`)) continue;
    recovered.add(i);
    rebuilt.add(i);
    const t = s.size - s.validBytes;
    truncatedBytes += t;
    if (t > 0 && i < segs.length - 1) {
      deletedSegments += segs.length - 1 - i;
      kept = segs.slice(0, i + 1);
      break;
    }
  }
  if (!clean) {
    const rp = readCheckpointFile(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0;
    let from = 0;
    for (const [i, s] of kept.entries()) if (s.base <= rp) from = i;
    for (let i = from; i < kept.length; i++) {
      recovered.add(i);
      const t = rebuilt.has(i) ? 0 : kept[i].size - kept[i].validBytes;
      truncatedBytes += t;
      if (kept[i].size > kept[i].validBytes && kept[i].stoppedBy !== 'zeros') tornTail = true;
      if (t > 0 && i < kept.length - 1) {
        deletedSegments += kept.length - 1 - i;
        kept = kept.slice(0, i + 1);
        break;
      }
    }
  }
  const last = kept.at(-1);
  const logEnd = last === undefined ? 0 : last.valid.length > 0 ? last.valid.at(-1)!.lastOffset + 1 : last.base;
  return {
    report: { cleanShutdown: clean, recoveredSegments: recovered.size, truncatedBytes, deletedSegments, removedTemporaryFiles: orphans, completedSwaps: 0 },
    logEnd,
    tornTail,
  };
}

// ------------------------------------------------------------------ power failure

type Injection = 'tear' | 'garble' | 'tail' | 'lose-last-segment';

/**
 * Damages the directory as a power failure may, but only bytes that were never made durable:
 * batches whose offsets are ≥ `durable` (the larger of the last acknowledged flush and the
 * checkpointed recovery point). Returns what it did, or null when nothing was eligible.
 */
function injectPowerFailure(dir: string, durable: number, rng: () => number): Injection | null {
  const bases = listSegmentBases(dir);
  if (bases.length === 0) return null;
  const beyond: { base: number; position: number; size: number }[] = [];
  for (const base of bases) {
    for (const b of walkLog(fs.readFileSync(`${segmentPrefix(dir, base)}.log`)).batches) if (b.baseOffset >= durable) beyond.push({ base, position: b.position, size: b.size });
  }
  const kinds: Injection[] = ['tail'];
  if (beyond.length > 0) kinds.push('tear', 'tear', 'garble', 'garble');
  const lastBase = bases.at(-1)!;
  if (bases.length > 1 && lastBase >= durable) kinds.push('lose-last-segment');
  const kind = kinds[Math.floor(rng() * kinds.length)];
  const pickBatch = () => beyond[Math.floor(rng() * beyond.length)];
  switch (kind) {
    case 'tear': {
      // The file ends inside the batch: its tail never reached the disk.
      const b = pickBatch();
      fs.truncateSync(`${segmentPrefix(dir, b.base)}.log`, b.position + 1 + Math.floor(rng() * (b.size - 1)));
      break;
    }
    case 'garble': {
      // Some of the batch's pages hold zeros or other bytes (never the un-checksummed baseOffset
      // / leader epoch fields: a change there is invisible to Kafka's recovery too).
      const b = pickBatch();
      const file = `${segmentPrefix(dir, b.base)}.log`;
      const bytes = fs.readFileSync(file);
      const start = b.position + 16 + Math.floor(rng() * (b.size - 16));
      const len = 1 + Math.floor(rng() * Math.min(64, b.position + b.size - start));
      const zero = rng() < 0.5 && bytes.subarray(start, start + len).some((x) => x !== 0);
      for (let i = start; i < start + len; i++) bytes[i] = zero ? 0 : bytes[i] ^ (1 + Math.floor(rng() * 255));
      fs.writeFileSync(file, bytes);
      break;
    }
    case 'tail': {
      // The file grew (size metadata persisted) but the data did not: zeros or stale garbage.
      const len = 1 + Math.floor(rng() * 300);
      const tail = rng() < 0.5 ? Buffer.alloc(len) : Buffer.from(Array.from({ length: len }, () => Math.floor(rng() * 256)));
      fs.appendFileSync(`${segmentPrefix(dir, lastBase)}.log`, tail);
      break;
    }
    case 'lose-last-segment':
      // The newest segment's files never made it into the directory.
      for (const suffix of ['.log', '.index', '.timeindex', '.txnindex']) fs.rmSync(segmentPrefix(dir, lastBase) + suffix, { force: true });
      break;
  }
  return kind;
}

// ------------------------------------------------------------------ verification

const toRecord = (r: SeededRecord) => ({
  key: r.key === null ? null : Buffer.from(r.key),
  value: r.value,
  timestamp: r.timestamp,
  headers: r.headers.map(([k, v]) => [k, Buffer.from(v)]),
});

/** First offset in [0, end) whose record has timestamp ≥ ts (Kafka's ListOffsets over our data). */
function expectedForTimestamp(timestamps: number[], ts: number): { offset: number; timestamp: number } | null {
  const i = timestamps.findIndex((t) => t >= ts);
  return i < 0 ? null : { offset: i, timestamp: timestamps[i] };
}

/** Every check of an opened crash-test log; returns the number of records verified. */
async function verifyOpenLog(log: Log, dir: string, seed: number, rng: () => number): Promise<number> {
  const end = log.logEndOffset;
  expect(log.logStartOffset).toBe(0);
  // Offsets contiguous from 0, no duplicates, content as the child wrote it.
  let expected = 0;
  for await (const r of log.records()) {
    if (r.offset !== expected) expect({ offset: r.offset }).toEqual({ offset: expected });
    const want = toRecord(recordFor(seed, r.offset));
    const got = { key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers };
    if (JSON.stringify(got) !== JSON.stringify(want)) expect({ offset: r.offset, got }).toEqual({ offset: r.offset, got: want });
    expected++;
  }
  expect(expected).toBe(end);
  // Every batch readable through the log has a valid CRC and follows the previous one.
  for (let offset = 0; offset < end; ) {
    const slice = log.read(offset, { maxBytes: 256 * 1024 });
    const batches = [...slice.batches()];
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      expect({ base: b.baseOffset, valid: b.isValid() }).toEqual({ base: offset, valid: true });
      offset = b.nextOffset;
    }
  }
  // ListOffsets.
  const timestamps = Array.from({ length: end }, (_, o) => recordFor(seed, o).timestamp);
  for (let i = 0; i < 25; i++) {
    const ts = CRASH_BASE_TS - 300 + Math.floor(rng() * (end * 10 + 600));
    expect({ ts, got: log.offsetForTimestamp(ts) }).toEqual({ ts, got: expectedForTimestamp(timestamps, ts) });
  }
  // The files: indexes agree with the logs, segments contiguous.
  checkDirectory(dir, { closed: false });
  return end;
}

/** Reads every segment's files: index entries agree with the `.log`, offsets contiguous across segments. */
function checkDirectory(dir: string, { closed }: { closed: boolean }): void {
  const bases = listSegmentBases(dir);
  let next = bases[0] ?? 0;
  expect(bases[0]).toBe(0);
  for (const [i, base] of bases.entries()) {
    const last = i === bases.length - 1;
    const seg = checkSegmentFiles(dir, base, { trimmed: closed || !last, lastTimeEntryIsMax: closed || !last });
    expect(seg.problems).toEqual([]);
    expect(base).toBe(next);
    for (const b of seg.walk.batches) {
      expect(b.baseOffset).toBe(next);
      next = b.lastOffset + 1;
    }
  }
}

/** Checks the files as a kill left them: every index entry agrees with the log. */
function checkKilledDirectory(dir: string): void {
  const bases = listSegmentBases(dir);
  for (const [i, base] of bases.entries()) {
    const last = i === bases.length - 1;
    if (!fs.existsSync(`${segmentPrefix(dir, base)}.index`)) continue; // killed inside a roll: rebuilt on open
    // Inactive segments hold only whole, valid batches; the active one may end in a torn write.
    // Indexes are not required to be trimmed: a kill during recovery's rebuild leaves them long.
    const seg = checkSegmentFiles(dir, base, { trimmed: false, allowMissingTimeIndex: true });
    expect(seg.problems).toEqual([]);
    if (!last) expect({ base, size: seg.logSize }).toEqual({ base, size: seg.walk.validBytes });
  }
}

/** Drops a Log without closing it, as a crash would (no flush, no marker, lock released). */
async function abandon(log: Log): Promise<void> {
  const internals = log as unknown as {
    background: Promise<void>;
    lock: { release(): void };
    segments: { log: { close(): void }; offsetIndex: { close(): void }; timeIndex: { close(): void } }[];
  };
  await internals.background;
  for (const s of internals.segments) {
    s.log.close();
    s.offsetIndex.close();
    s.timeIndex.close();
  }
  internals.lock.release();
}

// ------------------------------------------------------------------ the kill loop

const stats = {
  rounds: 0,
  kills: 0,
  killsWhileOpening: 0,
  killsRightAfterFlush: 0,
  childFinishedFirst: 0,
  recordsVerified: 0,
  bytesTruncatedByRecovery: 0,
  segmentsDeletedByRecovery: 0,
  tornTailsLeftByKill: 0,
  injections: { tear: 0, garble: 0, tail: 0, 'lose-last-segment': 0 } as Record<Injection, number>,
  abandonedAfterCheck: 0,
  lockedWhileChildRuns: 0,
};

async function crashRound(round: number, kills: number): Promise<void> {
  stats.rounds++;
  const seed = (0xc0ffee + round * 7919) >>> 0;
  const rng = prng(seed ^ 0x5eed);
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-crash-')), 'events-0');
  fs.mkdirSync(dir); // a kill before the child's Log.open creates it must still leave a directory
  const config = {
    segmentBytes: [1024, 1536, 2048, 4096][Math.floor(rng() * 4)],
    indexIntervalBytes: Math.floor(rng() * 201),
    preallocate: rng() < 0.4,
  };
  let acked = 0; // every offset below this was reported flushed (durable)
  const children = new Set<Child>();
  try {
    for (let run = 0; run < kills; run++) {
      const child = new Child({ dir, seed, run, ...config, maxMs: 4000 });
      children.add(child);
      const mode = rng();
      const where = `round ${round} run ${run} (seed ${seed}, ${JSON.stringify(config)})`;
      if (mode < 0.15) {
        // While opening: Log.open, including recovery of what the last kill left.
        stats.killsWhileOpening++;
        await child.waitFor((l) => l === 'OPENING', 15_000);
        await sleep(Math.floor(rng() * 15));
      } else {
        const ready = await child.waitFor((l) => l.startsWith('READY'), 15_000);
        expect(ready, `${where}: child never got ready: ${child.stderr}`).not.toBeNull();
        expect(Number(ready!.split(' ')[1]), `${where}: the child's log end is below what was flushed`).toBeGreaterThanOrEqual(acked);
        if (mode < 0.4) {
          // Right after a flush was acknowledged.
          stats.killsRightAfterFlush++;
          const at = child.lines.length;
          await child.waitFor((l) => l.startsWith('FLUSHED'), 2000, at);
          await sleep(Math.floor(rng() * 3));
        } else {
          await sleep(Math.floor(rng() * 250));
        }
        // The child holds the directory lock: another process cannot open the log meanwhile.
        if (child.running && rng() < 0.3) {
          stats.lockedWhileChildRuns++;
          await expect(Log.open(dir, { config })).rejects.toMatchObject({ code: 'LOCKED' });
        }
      }
      if (!child.running) stats.childFinishedFirst++;
      child.kill();
      const exit = await child.exited;
      stats.kills++;
      const error = child.lines.find((l) => l.startsWith('ERROR'));
      expect(error, `${where}: ${child.stderr}`).toBeUndefined();
      expect(exit.signal === 'SIGKILL' || exit.code === 0, `${where}: exit ${JSON.stringify(exit)} ${child.stderr}`).toBe(true);
      for (const l of child.lines) if (l.startsWith('FLUSHED')) acked = Math.max(acked, Number(l.split(' ')[1]));

      // The files as the kill left them.
      checkKilledDirectory(dir);

      // Sometimes the machine loses power too: only non-durable data may suffer.
      let injected: Injection | null = null;
      if (rng() < 0.5 && !fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))) {
        const durable = Math.max(acked, readCheckpointFile(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0);
        injected = injectPowerFailure(dir, durable, rng);
        if (injected !== null) stats.injections[injected]++;
      }

      // Recovery.
      const prediction = predictRecovery(dir);
      const log = await Log.open(dir, { config });
      try {
        expect(log.loadReport, where).toMatchObject(prediction.report);
        expect(log.logEndOffset, where).toBe(prediction.logEnd);
        expect(log.logEndOffset, `${where}: acknowledged-flushed data lost`).toBeGreaterThanOrEqual(acked);
        stats.bytesTruncatedByRecovery += log.loadReport.truncatedBytes;
        stats.segmentsDeletedByRecovery += log.loadReport.deletedSegments;
        if (prediction.tornTail && injected === null) stats.tornTailsLeftByKill++;
        stats.recordsVerified += await verifyOpenLog(log, dir, seed, rng);
        // Appending continues at the log end; no offset of existing data is reused.
        const end = log.logEndOffset;
        const r = recordFor(seed, end);
        const appended = await log.append([{ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers }], { compression: rng() < 0.5 ? 'none' : 'lz4' });
        expect(appended.firstOffset).toBe(end);
        const back = [...log.read(end).records()];
        expect(back.map((x) => x.offset)).toEqual([end]);
      } catch (err) {
        await log.close().catch(() => undefined);
        throw err;
      }
      if (rng() < 0.3) {
        stats.abandonedAfterCheck++;
        await abandon(log);
      } else {
        await log.close();
        expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true);
        checkDirectory(dir, { closed: true });
        acked = Math.max(acked, (readCheckpointFile(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0));
      }
    }
    // The directory after all that still opens to the same contents.
    const log = await Log.open(dir, { config });
    try {
      expect(log.logEndOffset).toBeGreaterThanOrEqual(acked);
      stats.recordsVerified += await verifyOpenLog(log, dir, seed, rng);
    } finally {
      await log.close();
    }
  } finally {
    // A failed assertion may leave a child running: stop it before removing its directory.
    for (const c of children) c.kill();
    await Promise.all([...children].map((c) => c.exited));
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

describe('crash: SIGKILL at random moments, with simulated power loss', () => {
  const rounds = SOAK ? Number(process.env.SEGLOG_SOAK_ROUNDS ?? 200) : 2;
  const kills = SOAK ? 5 : 4;
  it(
    `${rounds * kills} kills: acknowledged flushes survive, nothing torn is visible, recovery is exact`,
    async () => {
      for (let round = 0; round < rounds; round++) {
        await crashRound(round, kills);
        if (SOAK && round % 20 === 19) console.log(`[crash soak] after round ${round + 1}: ${JSON.stringify(stats)}`);
      }
      console.log(`[crash] ${JSON.stringify(stats)}`);
      expect(stats.kills).toBe(rounds * kills);
    },
    SOAK ? 4 * 60 * 60 * 1000 : 120_000,
  );
});

// ------------------------------------------------------------------ recovery corner cases

describe('recovery: a torn segment that also lost its .index', () => {
  // A power failure tears a segment past the recovery point and its `.index` never reached the
  // disk; later segments did. Recovery must cut the torn segment and drop every later one, as it
  // does when the `.index` is there ("nothing after a torn write may stay visible").
  it('unclean: the torn segment is cut and the segments after it are deleted', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-torn-')), 'torn-0');
    try {
      const log = await Log.open(dir, { config: { segmentBytes: 600, indexIntervalBytes: 0 } });
      for (let o = 0; o < 40; o++) {
        const r = recordFor(7, o);
        await log.append([{ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers }]);
      }
      await abandon(log); // unclean, nothing flushed: the recovery point stays 0
      const bases = listSegmentBases(dir);
      expect(bases.length).toBeGreaterThanOrEqual(4);
      const torn = bases[1];
      const p = segmentPrefix(dir, torn);
      const batches = walkLog(fs.readFileSync(`${p}.log`)).batches;
      fs.truncateSync(`${p}.log`, batches[1].position + 10); // inside its second batch
      fs.rmSync(`${p}.index`);
      const again = await Log.open(dir, { config: { segmentBytes: 600, indexIntervalBytes: 0 } });
      try {
        expect(again.logEndOffset).toBe(batches[1].baseOffset);
        expect(again.loadReport.deletedSegments).toBe(bases.length - 2);
        expect(listSegmentBases(dir)).toEqual(bases.slice(0, 2));
        const offsets: number[] = [];
        for await (const r of again.records()) offsets.push(r.offset);
        expect(offsets).toEqual(Array.from({ length: batches[1].baseOffset }, (_, i) => i));
      } finally {
        await again.close();
      }
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------ phase tests

const PHASE_SEED = 424242;
const PHASE_CONFIG = { segmentBytes: 1500, indexIntervalBytes: 0 };
const CODECS: CompressionName[] = ['none', 'gzip', 'none', 'lz4', 'snappy', 'zstd'];

/** A cleanly closed log of `n` seeded records in batches of 1–4 (mixed codecs), several segments. */
async function writePhaseLog(dir: string, n: number): Promise<void> {
  const log = await Log.open(dir, { config: PHASE_CONFIG });
  const rng = prng(PHASE_SEED);
  let next = 0;
  while (next < n) {
    const k = Math.min(n - next, 1 + Math.floor(rng() * 4));
    const recs = Array.from({ length: k }, (_, j) => {
      const r = recordFor(PHASE_SEED, next + j);
      return { key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers };
    });
    const compression = CODECS[next % CODECS.length];
    if (next % 3 === 0) await log.appendBatches(buildBatchSync(recs, { compression }));
    else await log.append(recs, { compression });
    next += k;
  }
  await log.close();
}

/** Everything a reader can ask, compared with what was written (offsets 0..end−1). */
async function checkPhaseLog(log: Log, end: number): Promise<void> {
  expect([log.logStartOffset, log.logEndOffset]).toEqual([0, end]);
  const want = (o: number) => ({ offset: o, ...toRecord(recordFor(PHASE_SEED, o)) });
  const all = [];
  for await (const r of log.records()) all.push({ offset: r.offset, key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers });
  expect(all).toEqual(Array.from({ length: end }, (_, o) => want(o)));
  // A read at every offset starts at the batch holding it.
  for (let o = 0; o < end; o++) {
    const batches = [...log.read(o, { maxBytes: 1 }).batches()];
    expect({ o, holds: batches.length === 1 && batches[0].baseOffset <= o && o <= batches[0].lastOffset }).toEqual({ o, holds: true });
    const first = [...log.read(o, { maxBytes: 1 }).records()][0];
    expect({ offset: first.offset, key: first.key, value: first.value, timestamp: first.timestamp, headers: first.headers }).toEqual(want(o));
  }
  const timestamps = Array.from({ length: end }, (_, o) => recordFor(PHASE_SEED, o).timestamp);
  const probes = new Set<number>([0, CRASH_BASE_TS - 1000, CRASH_BASE_TS + end * 10 + 1000]);
  for (const t of timestamps) for (const d of [-1, 0, 1]) probes.add(t + d);
  for (const ts of probes) expect({ ts, got: log.offsetForTimestamp(ts) }).toEqual({ ts, got: expectedForTimestamp(timestamps, ts) });
}

type Damage = (dir: string, base: number) => void;

const DAMAGES: [string, Damage][] = [
  [
    '(a) .index cut to an odd length',
    (dir, base) => {
      const f = `${segmentPrefix(dir, base)}.index`;
      fs.truncateSync(f, fs.statSync(f).size - 3);
    },
  ],
  [
    '(a) .index cut to half',
    (dir, base) => {
      const f = `${segmentPrefix(dir, base)}.index`;
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
    },
  ],
  [
    '(b) .index last entry points past the end of the .log',
    (dir, base) => {
      const p = segmentPrefix(dir, base);
      const bytes = fs.readFileSync(`${p}.index`);
      bytes.writeInt32BE(fs.statSync(`${p}.log`).size + 64, bytes.length - 4);
      fs.writeFileSync(`${p}.index`, bytes);
    },
  ],
  ['(c) .timeindex missing', (dir, base) => fs.rmSync(`${segmentPrefix(dir, base)}.timeindex`)],
  [
    '(c) .timeindex cut to an odd length',
    (dir, base) => {
      const f = `${segmentPrefix(dir, base)}.timeindex`;
      fs.truncateSync(f, fs.statSync(f).size - 5);
    },
  ],
  [
    '(d) .index garbage',
    (dir, base) => {
      const f = `${segmentPrefix(dir, base)}.index`;
      const rng = prng(base + 99);
      fs.writeFileSync(f, Buffer.from(Array.from({ length: fs.statSync(f).size }, () => Math.floor(rng() * 256))));
    },
  ],
  // Beyond the brief's four: damage that keeps an index well-formed (ordered, in range), so a
  // structural sanity check cannot see it.
  [
    '(d) .index plausible garbage: ordered entries pointing inside batches',
    (dir, base) => {
      const f = `${segmentPrefix(dir, base)}.index`;
      const bytes = fs.readFileSync(f);
      for (let at = 0; at < bytes.length; at += 8) bytes.writeInt32BE(bytes.readInt32BE(at + 4) + 1 + ((at / 8) % 3), at + 4);
      fs.writeFileSync(f, bytes);
    },
  ],
  [
    '(e) .timeindex last entry points past the segment\'s last offset',
    (dir, base) => {
      const f = `${segmentPrefix(dir, base)}.timeindex`;
      const bytes = fs.readFileSync(f);
      bytes.writeInt32BE(bytes.readInt32BE(bytes.length - 4) + 50, bytes.length - 4);
      fs.writeFileSync(f, bytes);
    },
  ],
];

describe('phase tests: a damaged index of an inactive segment', () => {
  const N = 200;
  for (const [name, damage] of DAMAGES) {
    for (const shutdown of ['clean', 'unclean'] as const) {
      it(`${name}, ${shutdown} shutdown: opens, reads and ListOffsets answer as written, appends continue`, async () => {
        const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-phase-')), 'phase-0');
        try {
          await writePhaseLog(dir, N);
          const bases = listSegmentBases(dir);
          expect(bases.length).toBeGreaterThanOrEqual(4);
          // A middle, inactive segment with several index entries.
          const base = bases[1];
          expect(readOffsetIndexFile(`${segmentPrefix(dir, base)}.index`, base)!.entries.length).toBeGreaterThanOrEqual(3);
          damage(dir, base);
          if (shutdown === 'unclean') fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
          // The recovery point stays at the log end: the damaged segment lies below it (trusted).
          expect(readCheckpointFile(path.join(dir, RECOVERY_POINT_CHECKPOINT_FILE))).toBe(N);

          const log = await Log.open(dir, { config: PHASE_CONFIG });
          try {
            expect(log.loadReport.cleanShutdown).toBe(shutdown === 'clean');
            await checkPhaseLog(log, N);
            for (let o = N; o < N + 5; o++) {
              const r = recordFor(PHASE_SEED, o);
              expect((await log.append([{ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers }])).firstOffset).toBe(o);
            }
            await checkPhaseLog(log, N + 5);
          } finally {
            await log.close();
          }
          // And once more after a clean close.
          const again = await Log.open(dir, { config: PHASE_CONFIG });
          try {
            await checkPhaseLog(again, N + 5);
          } finally {
            await again.close();
          }
          // Closed cleanly, every segment's files are consistent again (the damage was repaired).
          checkDirectory(dir, { closed: true });
        } finally {
          fs.rmSync(path.dirname(dir), { recursive: true, force: true });
        }
      });
    }
  }
});
