/**
 * Helpers shared by the cleaner tests (not a test file): temporary partition directories, an
 * injectable clock, readers that return what a consumer sees and what the files hold, the
 * "crash" that drops a Log without closing it, and a seeded PRNG.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Log, type LogOptions } from '../../src/log/log.js';
import { RecordBatch, walkBatches } from '../../src/records/index.js';
import { prng } from '../helpers/prng.js';

export { prng };

/** Base time of every test clock. */
export const T0 = 1_700_000_000_000;
/** One day in ms. */
export const DAY = 86_400_000;

/** A fresh partition directory `<tmp>/<name>-0` (not created). */
export function tmpLogDir(prefix = 'seglog-clean-'): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), 'topic-0');
}

/** A clock tests move by hand. */
export class TestClock {
  now = T0;
  /** The function to give a Log. */
  readonly fn = (): number => this.now;
  /** Moves the clock forward. */
  advance(ms: number): void {
    this.now += ms;
  }
}

/** Opens a compacted log with small segments on `clock` (config overrides merge in). */
export function openCompacted(dir: string, clock: TestClock, config: Record<string, unknown> = {}, options: Omit<LogOptions, 'config' | 'clock'> = {}): Promise<Log> {
  return Log.open(dir, { clock: clock.fn, ...options, config: { cleanupPolicy: 'compact', segmentBytes: 1024, fileDeleteDelayMs: 0, ...config } });
}

/** A record as a consumer sees it, with strings for easy comparison. */
export interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Every record from the log start (control records skipped), as strings. */
export async function readAll(log: Log): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const r of log.records()) {
    out.push({ offset: r.offset, key: r.key === null ? null : r.key.toString(), value: r.value === null ? null : r.value.toString(), timestamp: r.timestamp });
  }
  return out;
}

/** One batch found in a segment file, with the file it came from. */
export interface FileBatch {
  base: number;
  batch: RecordBatch;
}

/** Every batch of every `.log` file in `dir`, in offset order (reads the files directly). */
export function fileBatches(dir: string): FileBatch[] {
  const out: FileBatch[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => /^\d{20}\.log$/.test(n)).sort()) {
    const bytes = fs.readFileSync(path.join(dir, name));
    for (const { batch } of walkBatches(bytes)) {
      if (!(batch instanceof RecordBatch)) throw new Error('legacy batch');
      out.push({ base: Number(name.slice(0, 20)), batch });
    }
  }
  return out;
}

/** Segment base offsets from the file names in `dir`. */
export function segmentFiles(dir: string): number[] {
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** Temporary files the cleaner or retention may leave (`.cleaned`, `.swap`, `.deleted`). */
export function temporaries(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n));
}

/**
 * A crash: the Log object is dropped without close (its pending background flush is awaited
 * so it cannot touch the directory later; the lock is released as the OS would on exit).
 */
export async function dropWithoutClose(log: Log): Promise<void> {
  const internals = log as unknown as { background: Promise<void>; lock: { release(): void } };
  await internals.background;
  internals.lock.release();
}

/** The latest record per key of a list (in offset order). */
export function latestPerKey(records: readonly Seen[]): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const r of records) if (r.key !== null) out.set(r.key, r);
  return out;
}

/** Strictly increasing offsets. */
export function strictlyIncreasing(records: readonly { offset: number }[]): boolean {
  return records.every((r, i) => i === 0 || r.offset > records[i - 1].offset);
}


/** A 32-bit hash of (seed, n). */
export function hash32(seed: number, n: number): number {
  let h = (seed ^ 0x9e3779b1) >>> 0;
  for (const w of [n >>> 0, Math.floor(n / 4294967296) >>> 0]) {
    h = Math.imul(h ^ w, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/**
 * The crash child's record at `offset`, a pure function of (seed, offset): one of 60 keys, a
 * tombstone one time in nine, otherwise a value naming the offset.
 */
export function keyedRecordFor(seed: number, offset: number): { key: string; value: string | null } {
  const h = hash32(seed, offset);
  return { key: `k${h % 60}`, value: h % 9 === 0 ? null : `v${offset}:${(h >>> 8).toString(16).repeat(1 + (h % 4))}` };
}
