/**
 * Helpers shared by the Log property test, the crash test and its child process:
 *
 * - `recordFor(seed, offset)`: the crash child's record content, a pure function of (seed,
 *   offset), so the parent can check any offset without hearing from the child;
 * - raw readers of a partition directory that do not go through seglog's segment code: a
 *   `.log` walker that validates each batch's CRC, `.index` / `.timeindex` parsers, and
 *   `checkSegmentFiles`, which cross-checks the three files of one segment (format notes §4).
 *
 * Not a test file (vitest collects `*.test.ts` only).
 */
import fs from 'node:fs';
import path from 'node:path';
import { RecordBatch } from '../../src/records/index.js';
import { prng } from '../helpers/prng.js';

export { prng };

// ------------------------------------------------------------------ seeded content


/** A 32-bit hash of (seed, n, salt). */
export function hash32(seed: number, n: number, salt = 0): number {
  let h = (seed ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0;
  // n may exceed 2^32 in principle; fold both halves in.
  const lo = n >>> 0;
  const hi = Math.floor(n / 4294967296) >>> 0;
  for (const w of [lo, hi]) {
    h = Math.imul(h ^ w, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** Base timestamp of the crash child's records. */
export const CRASH_BASE_TS = 1_700_000_000_000;

/** The crash child's record at `offset` (a pure function of seed and offset). */
export interface SeededRecord {
  key: string | null;
  value: Buffer;
  timestamp: number;
  headers: [string, string][];
}

/**
 * The record the crash child writes at `offset`. Values are 0..100 bytes of a repeated,
 * offset-dependent pattern (compressible, so codecs do real work); timestamps wander ±100 ms
 * around a rising line, so they are not monotonic within or across batches.
 */
export function recordFor(seed: number, offset: number): SeededRecord {
  const h = hash32(seed, offset);
  const len = h % 101;
  const unit = Buffer.from(`${offset.toString(36)}:${(h >>> 8).toString(16)};`);
  const value = Buffer.alloc(len);
  for (let i = 0; i < len; i++) value[i] = unit[i % unit.length];
  return {
    key: h % 7 === 0 ? null : `k${offset % 97}`,
    value,
    timestamp: CRASH_BASE_TS + offset * 10 + (hash32(seed, offset, 1) % 201) - 100,
    headers: h % 3 === 0 ? [['o', String(offset)]] : [],
  };
}

// ------------------------------------------------------------------ raw file readers

/** One batch found by {@link walkLog}. */
export interface RawBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  batch: RecordBatch;
}

/** The batches of a `.log` file's bytes up to the first invalid one (size, magic, CRC). */
export interface LogWalk {
  batches: RawBatch[];
  /** Bytes of the valid prefix. */
  validBytes: number;
  /** Why the walk stopped before the end, if it did ('zeros' for an all-zero tail). */
  stoppedBy: string | null;
}

/** Walks `.log` bytes independently of seglog's recovery: stops at the first invalid batch. */
export function walkLog(bytes: Buffer): LogWalk {
  const batches: RawBatch[] = [];
  let pos = 0;
  let stoppedBy: string | null = null;
  while (pos < bytes.length) {
    if (bytes.length - pos < 61) {
      stoppedBy = `partial header (${bytes.length - pos} bytes)`;
      break;
    }
    const length = bytes.readInt32BE(pos + 8);
    const magic = bytes.readInt8(pos + 16);
    if (magic !== 2 || length < 49 || 12 + length > bytes.length - pos) {
      stoppedBy = `bad header at ${pos} (magic ${magic}, length ${length})`;
      break;
    }
    const batch = RecordBatch.at(bytes, pos);
    if (!batch.isValid()) {
      stoppedBy = `bad CRC at ${pos}`;
      break;
    }
    batches.push({ position: pos, size: batch.sizeInBytes, baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, maxTimestamp: batch.maxTimestamp, batch });
    pos += batch.sizeInBytes;
  }
  if (stoppedBy !== null && bytes.subarray(pos).every((b) => b === 0)) stoppedBy = 'zeros';
  return { batches, validBytes: pos, stoppedBy };
}

/** Entries of an index file, read as seglog's and Kafka's loaders read a preallocated file. */
function readEntries<T>(file: string, entrySize: number, parse: (buf: Buffer, at: number) => T): { entries: T[]; length: number } | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const slots = Math.floor(buf.length / entrySize);
  const isZero = (i: number) => buf.subarray(i * entrySize, (i + 1) * entrySize).every((b) => b === 0);
  let n = slots;
  for (let i = 1; i < slots; i++) {
    if (isZero(i)) {
      n = i;
      break;
    }
  }
  // An all-zero entry 0 is a preallocated, unwritten slot: a real one cannot be all zero here
  // (the first batch of a segment is never indexed, and no test writes timestamp 0).
  if (n >= 1 && isZero(0)) n = 0;
  const entries: T[] = [];
  for (let i = 0; i < n; i++) entries.push(parse(buf, i * entrySize));
  return { entries, length: buf.length };
}

/** `.index` entries (absolute offset, position); null when the file is missing. */
export function readOffsetIndexFile(file: string, baseOffset: number): { entries: { offset: number; position: number }[]; length: number } | null {
  return readEntries(file, 8, (b, at) => ({ offset: baseOffset + b.readInt32BE(at), position: b.readInt32BE(at + 4) }));
}

/** `.timeindex` entries (timestamp, absolute offset); null when the file is missing. */
export function readTimeIndexFile(file: string, baseOffset: number): { entries: { timestamp: number; offset: number }[]; length: number } | null {
  return readEntries(file, 12, (b, at) => ({ timestamp: Number(b.readBigInt64BE(at)), offset: baseOffset + b.readInt32BE(at + 8) }));
}

/** `<20-digit base>` file prefix in `dir`. */
export function segmentPrefix(dir: string, base: number): string {
  return path.join(dir, String(base).padStart(20, '0'));
}

/** Base offsets of the `.log` files in `dir`, sorted. */
export function listSegmentBases(dir: string): number[] {
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
}

/** Reads the single entry of an offset checkpoint file (recovery point, log start), or null. */
export function readCheckpointFile(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length < 3) return null;
  const v = Number(lines[2].split(' ').at(-1)); // `<topic> <partition> <offset>`
  return Number.isSafeInteger(v) ? v : null;
}

/** What {@link checkSegmentFiles} should insist on. */
export interface SegmentCheckOptions {
  /** The segment is inactive and closed: its `.log` holds only valid batches, its indexes are trimmed. */
  trimmed?: boolean;
  /** The last `.timeindex` entry must be the segment's largest timestamp (inactive segments). */
  lastTimeEntryIsMax?: boolean;
  /** Skip the "earlier batches have a smaller maxTimestamp" time-index check (known-stale segments). */
  relaxTimeIndex?: boolean;
  /** Treat a missing `.timeindex` as an empty one. */
  allowMissingTimeIndex?: boolean;
}

/** The result of reading one segment's files. */
export interface SegmentFiles {
  base: number;
  logSize: number;
  walk: LogWalk;
  problems: string[];
}

/**
 * Reads one segment's `.log`, `.index`, `.timeindex` directly and returns what is wrong with
 * them (empty when nothing):
 * - every `.index` entry (O, P): P is the start of a batch whose lastOffset is O; offsets
 *   strictly increase, positions do not decrease; a trimmed file is a multiple of 8 bytes;
 * - every `.timeindex` entry (T, O): a batch with lastOffset O has maxTimestamp T and every
 *   batch before it a smaller one (O is the earliest holder of the max so far); timestamps
 *   strictly increase, offsets do not decrease;
 * - every batch's offsets lie in the segment (≥ base).
 */
export function checkSegmentFiles(dir: string, base: number, options: SegmentCheckOptions = {}): SegmentFiles {
  const p = segmentPrefix(dir, base);
  const problems: string[] = [];
  const bytes = fs.readFileSync(`${p}.log`);
  const walk = walkLog(bytes);
  const name = path.basename(p);
  if (options.trimmed && walk.validBytes !== bytes.length) problems.push(`${name}.log: ${bytes.length - walk.validBytes} bytes after the valid batches (${walk.stoppedBy})`);
  if (!options.trimmed && walk.stoppedBy !== null && walk.stoppedBy !== 'zeros') problems.push(`${name}.log: ${walk.stoppedBy}`);
  const byPosition = new Map(walk.batches.map((b) => [b.position, b]));
  const byLast = new Map(walk.batches.map((b, i) => [b.lastOffset, i]));
  for (const b of walk.batches) if (b.baseOffset < base) problems.push(`${name}.log: batch ${b.baseOffset}..${b.lastOffset} below the base`);

  const index = readOffsetIndexFile(`${p}.index`, base);
  if (index === null) problems.push(`${name}.index: missing`);
  else {
    if (options.trimmed && index.length !== index.entries.length * 8) problems.push(`${name}.index: length ${index.length} for ${index.entries.length} entries`);
    let prev: { offset: number; position: number } | null = null;
    for (const [i, e] of index.entries.entries()) {
      const b = byPosition.get(e.position);
      if (b === undefined) problems.push(`${name}.index entry ${i} (${e.offset}, ${e.position}): no batch starts there`);
      else if (b.lastOffset !== e.offset) problems.push(`${name}.index entry ${i} (${e.offset}, ${e.position}): the batch there has lastOffset ${b.lastOffset}`);
      if (prev !== null && (e.offset <= prev.offset || e.position < prev.position)) problems.push(`${name}.index entry ${i} (${e.offset}, ${e.position}) not above entry ${i - 1}`);
      prev = e;
    }
  }

  const time = readTimeIndexFile(`${p}.timeindex`, base);
  if (time === null) {
    if (!options.allowMissingTimeIndex) problems.push(`${name}.timeindex: missing`);
  } else {
    if (options.trimmed && time.length !== time.entries.length * 12) problems.push(`${name}.timeindex: length ${time.length} for ${time.entries.length} entries`);
    let prev: { timestamp: number; offset: number } | null = null;
    for (const [i, e] of time.entries.entries()) {
      const at = byLast.get(e.offset);
      if (at === undefined) problems.push(`${name}.timeindex entry ${i} (${e.timestamp}, ${e.offset}): no batch ends at that offset`);
      else if (!options.relaxTimeIndex) {
        if (walk.batches[at].maxTimestamp !== e.timestamp) problems.push(`${name}.timeindex entry ${i} (${e.timestamp}, ${e.offset}): that batch's maxTimestamp is ${walk.batches[at].maxTimestamp}`);
        const earlier = walk.batches.slice(0, at).find((b) => b.maxTimestamp >= e.timestamp);
        if (earlier !== undefined) problems.push(`${name}.timeindex entry ${i} (${e.timestamp}, ${e.offset}): the earlier batch ${earlier.baseOffset}..${earlier.lastOffset} has maxTimestamp ${earlier.maxTimestamp}`);
      }
      if (prev !== null && (e.timestamp <= prev.timestamp || e.offset < prev.offset)) problems.push(`${name}.timeindex entry ${i} (${e.timestamp}, ${e.offset}) not above entry ${i - 1}`);
      prev = e;
    }
    if (options.lastTimeEntryIsMax && !options.relaxTimeIndex) {
      const max = Math.max(-1, ...walk.batches.map((b) => b.maxTimestamp));
      const last = time.entries.at(-1)?.timestamp ?? -1;
      if (max >= 0 && last !== max) problems.push(`${name}.timeindex: last entry's timestamp ${last} is not the segment's largest ${max}`);
    }
  }
  return { base, logSize: bytes.length, walk, problems };
}
