/**
 * Read-only discovery and reading of a data directory, for `seglog verify` and `seglog stats`.
 *
 * Nothing here opens a file for writing, takes a lock or renames anything: the commands work on
 * a Kafka data directory, on a read-only copy, and while another process (a broker, a service
 * using seglog) has the directory open and keeps appending. Consequences of the last case:
 * a file is read up to the length it had when it was opened (later appends are not seen), and
 * a partially written last batch is what an append in flight looks like, not corruption.
 *
 * Layout recognised (format notes §3): a data directory holds partition directories named
 * `<topic>-<partition>`; directories of deleted, future or stray replicas (`…-delete`,
 * `…-future`, `…-stray`) are skipped. A directory that itself holds segment files
 * (`<20 digits>.log`) is taken as one partition directory. A segment is its `.log` with the
 * `.index`, `.timeindex` and `.txnindex` of the same base offset, each of which may be missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { HEADER_SIZE_UP_TO_MAGIC, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2 } from '../limits.js';
import { parseTopicPartitionKey } from '../log/checkpoint.js';
import { BatchWalker, type WalkedBatch } from '../records/walker.js';
import { offsetFromFileName } from '../segment/segment.js';

/** One partition directory found by {@link findPartitions}. */
export interface PartitionDir {
  /** Directory name, `<topic>-<partition>`. */
  name: string;
  /** The topic (the name before its last `-`); the name itself when it does not parse. */
  topic: string;
  /** The partition number, or −1 when the name does not parse. */
  partition: number;
  /** Path of the directory. */
  dir: string;
}

/** The files of one segment. Missing index files are null. */
export interface SegmentFiles {
  /** The base offset (from the file name). */
  baseOffset: number;
  /** Path of the `.log`. */
  log: string;
  /** Path of the `.index`, or null when missing. */
  index: string | null;
  /** Path of the `.timeindex`, or null when missing. */
  timeIndex: string | null;
  /** Path of the `.txnindex`, or null when missing (normal: it exists only after an abort). */
  txnIndex: string | null;
  /** Length of the `.log` when listed. */
  logBytes: number;
}

const SEGMENT_LOG = /^(\d{20})\.log$/;
/** Suffixes of replica directories that are not live partitions (format notes §3.2). */
const NOT_LIVE = /-(delete|future|stray)$/;

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw ioError(err, dir);
  }
}

/** Whether `dir` directly holds segment files (it is a partition directory). */
export function isPartitionDir(dir: string): boolean {
  return readDir(dir).some((e) => e.isFile() && SEGMENT_LOG.test(e.name));
}

/**
 * The partition directories under `dir`, sorted by topic then partition; `[dir]` itself when it
 * is a partition directory. IO_ERROR when `dir` cannot be read.
 */
export function findPartitions(dir: string): PartitionDir[] {
  const describe = (d: string): PartitionDir => {
    const name = path.basename(path.resolve(d));
    try {
      return { name, dir: d, ...parseTopicPartitionKey(name) };
    } catch {
      return { name, dir: d, topic: name, partition: -1 };
    }
  };
  if (isPartitionDir(dir)) return [describe(dir)];
  const out: PartitionDir[] = [];
  for (const e of readDir(dir)) {
    if (!e.isDirectory() || NOT_LIVE.test(e.name) || e.name.startsWith('.')) continue;
    const p = describe(path.join(dir, e.name));
    if (p.partition >= 0) out.push(p);
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** The segments of a partition directory in base-offset order, and its leftover swap files. */
export function listSegments(dir: string): { segments: SegmentFiles[]; pendingSwapFiles: string[] } {
  const names = new Set<string>();
  const pendingSwapFiles: string[] = [];
  for (const e of readDir(dir)) {
    if (!e.isFile()) continue;
    names.add(e.name);
    if (e.name.endsWith('.cleaned') || e.name.endsWith('.swap')) pendingSwapFiles.push(path.join(dir, e.name));
  }
  const segments: SegmentFiles[] = [];
  for (const name of names) {
    const m = SEGMENT_LOG.exec(name);
    if (m === null) continue;
    const prefix = m[1];
    const file = (suffix: string): string | null => (names.has(prefix + suffix) ? path.join(dir, prefix + suffix) : null);
    const log = path.join(dir, name);
    let logBytes: number;
    try {
      logBytes = fs.statSync(log).size;
    } catch (err) {
      // Retention or the cleaner of a live process renamed it since the listing: skip it.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw ioError(err, log);
    }
    segments.push({ baseOffset: offsetFromFileName(name), log, index: file('.index'), timeIndex: file('.timeindex'), txnIndex: file('.txnindex'), logBytes });
  }
  segments.sort((a, b) => a.baseOffset - b.baseOffset);
  return { segments, pendingSwapFiles: pendingSwapFiles.sort() };
}

/** How the bytes after the last complete batch of a `.log` look. */
export type TailKind =
  /** The file ends with the last complete batch. */
  | 'none'
  /** Zero bytes to the end: a preallocated file (`preallocate=true`) or one extended by a crash. */
  | 'zeros'
  /** Fewer bytes than the next batch's length says: an append in flight or a torn write. */
  | 'partial'
  /** Bytes that are not a batch (bad length or magic): corruption. */
  | 'garbage';

/** What {@link readSegmentBatches} found after the batches it yielded. */
export interface SegmentScanEnd {
  /** Bytes of the file read (its length when opened). */
  fileBytes: number;
  /** End of the last complete batch: the valid prefix. */
  validBytes: number;
  /** What follows the valid prefix. */
  tail: TailKind;
  /** For `garbage`: the error the walker raised. */
  error?: SeglogError;
}

/** First chunk read from a `.log`; it doubles for a batch that does not fit (up to the file's length). */
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Yields the complete batches of a `.log` with their file positions, reading it read-only in
 * chunks, and returns how the file ends. The batch views point into a chunk that the next
 * iteration overwrites: use a batch before asking for the next one. CRCs are not checked here.
 *
 * @param file - path of the `.log`
 * @param onBytes - called with the bytes consumed since the last call (for progress bars)
 */
export function* readSegmentBatches(file: string, onBytes?: (bytes: number) => void): Generator<WalkedBatch, SegmentScanEnd, undefined> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw ioError(err, file);
  }
  try {
    const fileBytes = fs.fstatSync(fd).size;
    let reported = 0;
    const finish = (result: SegmentScanEnd): SegmentScanEnd => {
      onBytes?.(fileBytes - reported);
      return result;
    };
    let chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(fileBytes, 1)));
    let start = 0;
    while (start < fileBytes) {
      const n = readFully(fd, chunk, start, Math.min(chunk.length, fileBytes - start), file);
      if (n === 0) break; // the file shrank under us (a live truncation): stop at what was there
      const walker = new BatchWalker(chunk.subarray(0, n), { file });
      try {
        for (const b of walker) yield { position: start + b.position, batch: b.batch };
      } catch (err) {
        if (!(err instanceof SeglogError)) throw err;
        const at = start + walker.position;
        const zeros = isZeroRange(fd, at, fileBytes, file);
        return finish({ fileBytes, validBytes: at, tail: zeros ? 'zeros' : 'garbage', error: zeros ? undefined : positioned(err, at, file) });
      }
      const consumed = walker.position;
      onBytes?.(consumed);
      reported += consumed;
      const reachedEnd = start + n >= fileBytes;
      if (consumed === 0 && !reachedEnd) {
        // A batch larger than the chunk: grow to hold it (bounded by the file's length).
        const need = LOG_OVERHEAD + chunk.readInt32BE(LENGTH_OFFSET);
        if (need > fileBytes - start) return finish(end(fd, fileBytes, start, file));
        chunk = Buffer.allocUnsafe(Math.max(need, chunk.length * 2));
        continue;
      }
      start += consumed;
      if (reachedEnd) return finish(end(fd, fileBytes, start, file));
    }
    return finish(end(fd, fileBytes, start, file));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Classifies the bytes after the last complete batch. A tail longer than the header up to the
 * magic byte counts as a partial batch only when that byte is a magic seglog reads: a length
 * field read from arbitrary bytes is usually huge, which would otherwise pass for "the rest of
 * the batch is not written yet".
 */
function end(fd: number, fileBytes: number, validBytes: number, file: string): SegmentScanEnd {
  if (validBytes >= fileBytes) return { fileBytes, validBytes, tail: 'none' };
  if (isZeroRange(fd, validBytes, fileBytes, file)) return { fileBytes, validBytes, tail: 'zeros' };
  if (fileBytes - validBytes >= HEADER_SIZE_UP_TO_MAGIC) {
    const magic = Buffer.alloc(1);
    readFully(fd, magic, validBytes + MAGIC_OFFSET, 1, file);
    if (magic[0] > MAGIC_V2) {
      const error = new SeglogError(ErrorCode.CORRUPT_RECORD, `${file}: magic ${magic[0]} at position ${validBytes} is no batch`, { file, position: validBytes });
      return { fileBytes, validBytes, tail: 'garbage', error };
    }
  }
  return { fileBytes, validBytes, tail: 'partial' };
}

function positioned(err: SeglogError, position: number, file: string): SeglogError {
  return new SeglogError(err.code, `${file}: ${err.message.startsWith(file) ? err.message.slice(file.length + 2) : err.message} (file position ${position})`, { file, position, cause: err });
}

function readFully(fd: number, buf: Buffer, position: number, length: number, file: string): number {
  let done = 0;
  try {
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (err) {
    throw ioError(err, file);
  }
  return done;
}

/** Whether bytes [from, to) of the file are all zero (read in 1 MiB steps). */
function isZeroRange(fd: number, from: number, to: number, file: string): boolean {
  const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(to - from, 1)));
  for (let pos = from; pos < to; ) {
    const n = readFully(fd, buf, pos, Math.min(buf.length, to - pos), file);
    if (n === 0) return true;
    for (let i = 0; i < n; i++) if (buf[i] !== 0) return false;
    pos += n;
  }
  return true;
}

/** IO_ERROR (ENOENT, EACCES) when `dir` cannot be read, INVALID_ARGUMENT when it is not a directory. */
export function requireDirectory(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw ioError(err, dir);
  }
  if (!st.isDirectory()) throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `${dir} is not a directory`);
}
