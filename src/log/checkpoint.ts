/**
 * Kafka's checkpoint text files (`CheckpointFile`): the offset checkpoints of a log directory
 * (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`,
 * `replication-offset-checkpoint`, `cleaner-offset-checkpoint`) and a partition's
 * `leader-epoch-checkpoint`, plus the one atomic file writer they share.
 *
 * Format (UTF-8, `\n` line ends as Kafka writes on Unix):
 *
 * ```
 * <version>\n          always 0 for these files
 * <entryCount>\n
 * <entry>\n ...        entryCount lines
 * ```
 *
 * | file | entry line |
 * |---|---|
 * | offset checkpoints | `<topic> <partition> <offset>` |
 * | leader-epoch-checkpoint | `<epoch> <startOffset>` |
 *
 * Reading follows Kafka's `CheckpointReadBuffer`: a missing or empty file, or one that ends
 * after the version line, has no entries; lines end at `\n`, `\r` or `\r\n`
 * (`BufferedReader.readLine`); fields split on Java's `\s+` (trailing empty fields dropped, a
 * leading one kept, as `Pattern.split` does — so a line that starts with a space is malformed);
 * numbers parse as `Integer.parseInt` / `Long.parseLong` do; the number of entry lines must
 * equal the count. A wrong version is `UNSUPPORTED_FORMAT`; an offset beyond 2^53 − 1 is
 * `VALUE_OUT_OF_RANGE`; anything else malformed is `IO_ERROR` without an errno (Kafka raises
 * an IOException; seglog has no checkpoint-corruption code yet). A `<file>.tmp` left by a crash
 * is never read.
 *
 * Writing is atomic ({@link writeFileAtomicSync}): `<file>.tmp`, fsync, rename over the
 * target, fsync the directory — a reader (or a restart after a crash) sees the old file or
 * the new one, never a mix. Writers of the same file must be serialised by the caller (they
 * share the `.tmp` name), as Kafka does with a lock per CheckpointFile.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SeglogError, invalidArgument, ioError } from '../errors.js';

/** The version line of every checkpoint file seglog reads and writes (Kafka's only version). */
export const CHECKPOINT_VERSION = 0;

/** Name of a partition's leader epoch checkpoint, inside the partition directory. */
export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';

/** One line of an offset checkpoint. */
export interface OffsetCheckpointEntry {
  /** Topic name (may contain `-` and `.`). */
  readonly topic: string;
  /** Partition number, 0..2^31 − 1. */
  readonly partition: number;
  /** The offset checkpointed for that partition. */
  readonly offset: number;
}

/** One line of a leader epoch checkpoint: the first offset written in a leader epoch. */
export interface EpochEntry {
  /** Leader epoch (int32). */
  readonly epoch: number;
  /** Offset of the first record of that epoch. */
  readonly startOffset: number;
}

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;
/** Java's `\s`: space, \t, \n, \x0B, \f, \r — narrower than JavaScript's Unicode `\s`. */
const JAVA_WHITESPACE = /[ \t\n\x0B\f\r]+/;
const JAVA_INTEGER = /^[+-]?\d+$/;

/**
 * The error for a checkpoint whose content is malformed. There is no checkpoint-corruption
 * code in {@link ErrorCode} yet, so this is IO_ERROR (what Kafka raises: an IOException) with no
 * errno; one place to change when such a code is added.
 */
function malformed(file: string, message: string): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_CHECKPOINT, `${file}: malformed checkpoint: ${message}`, { file });
}

/** Java's `Pattern.compile("\\s+").split(line)`: trailing empty strings dropped. */
function javaSplit(line: string): string[] {
  const parts = line.split(JAVA_WHITESPACE);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** `Integer.parseInt`, or undefined. */
function parseJavaInt(text: string): number | undefined {
  if (!JAVA_INTEGER.test(text)) return undefined;
  const n = Number(text);
  return n >= INT_MIN && n <= INT_MAX ? n : undefined;
}

/** `Long.parseLong` as an exact number: undefined when not a long, VALUE_OUT_OF_RANGE past 2^53 − 1. */
function parseJavaLong(text: string, file: string): number | undefined {
  if (!JAVA_INTEGER.test(text)) return undefined;
  const big = BigInt(text);
  if (big < LONG_MIN || big > LONG_MAX) return undefined;
  const n = Number(big);
  if (!Number.isSafeInteger(n)) {
    throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `${file}: offset ${text} does not fit a JavaScript number exactly (|v| > 2^53 - 1)`, { file });
  }
  return n;
}

/** `BufferedReader.readLine` over a whole text: `\n`, `\r` and `\r\n` end a line; a final terminator adds no empty line. */
function readLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (/[\r\n]$/.test(text)) lines.pop();
  return lines;
}

/**
 * Parses checkpoint text (Kafka's `CheckpointReadBuffer.read`).
 *
 * @param text - the file's content
 * @param file - the file name, for messages
 * @param parseEntry - one entry line → entry, or undefined if it does not parse
 * @returns the entries in file order
 */
export function parseCheckpoint<T>(text: string, file: string, parseEntry: (fields: string[]) => T | undefined): T[] {
  const lines = readLines(text);
  if (lines.length === 0) return [];
  const version = parseJavaInt(lines[0]);
  if (version === undefined) throw malformed(file, `bad version line ${JSON.stringify(lines[0])}`);
  if (version !== CHECKPOINT_VERSION) {
    throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `${file}: checkpoint version ${version}, expected ${CHECKPOINT_VERSION}`, { file });
  }
  if (lines.length === 1) return [];
  const count = parseJavaInt(lines[1]);
  if (count === undefined) throw malformed(file, `bad entry count line ${JSON.stringify(lines[1])}`);
  const entries: T[] = [];
  for (let i = 2; i < lines.length; i++) {
    const entry = parseEntry(javaSplit(lines[i]));
    if (entry === undefined) throw malformed(file, `line ${i + 1}: ${JSON.stringify(lines[i])}`);
    entries.push(entry);
  }
  if (entries.length !== count) throw malformed(file, `expected ${count} entries, found ${entries.length}`);
  return entries;
}

/**
 * Formats checkpoint text (Kafka's `CheckpointWriteBuffer.write`).
 *
 * @param lines - the entry lines, without line ends
 */
export function formatCheckpoint(lines: readonly string[]): string {
  let out = `${CHECKPOINT_VERSION}\n${lines.length}\n`;
  for (const line of lines) out += `${line}\n`;
  return out;
}

/** Reads a file as UTF-8; a missing file reads as empty (no entries). */
function readTextIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw ioError(err, file);
  }
}

/**
 * Replaces `file` with `data` atomically and durably: write `<file>.tmp`, fsync it, rename it
 * over `file`, fsync the directory (Kafka's CheckpointFile.write with
 * `Utils.atomicMoveWithFallback`). After a crash at any point the path holds either the old
 * content or the new; a stale `.tmp` is harmless and is overwritten by the next write.
 *
 * Synchronous: a checkpoint is a few KiB, written every minute or at shutdown, and the fsyncs
 * dominate either way. Not safe to call concurrently for the same `file` (shared `.tmp`).
 *
 * @param file - the target path
 * @param data - the complete new content
 * @throws SeglogError IO_ERROR (with errno) when the file system fails; `file` keeps its old content
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    // Best effort: a leftover .tmp is harmless, but don't leave a half-written one around.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* the original error is the one to report */
    }
    throw ioError(err, file);
  }
  fsyncDirectory(path.dirname(file));
}

/**
 * fsyncs a directory so that a rename or create inside it survives a power loss. Skipped on
 * Windows, where directories cannot be opened for fsync (Kafka's `Utils.flushDir` skips it too).
 */
export function fsyncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    throw ioError(err, dir);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function parseOffsetEntry(file: string): (fields: string[]) => OffsetCheckpointEntry | undefined {
  return (fields) => {
    if (fields.length !== 3) return undefined;
    const [topic, partitionText, offsetText] = fields;
    const partition = parseJavaInt(partitionText);
    if (partition === undefined) return undefined;
    const offset = parseJavaLong(offsetText, file);
    if (offset === undefined) return undefined;
    return { topic, partition, offset };
  };
}

/**
 * Reads an offset checkpoint's lines in file order.
 *
 * @param file - path of e.g. `recovery-point-offset-checkpoint`
 * @returns the entries; none for a missing or empty file
 */
export function readOffsetCheckpointEntries(file: string): OffsetCheckpointEntry[] {
  return parseCheckpoint(readTextIfExists(file), file, parseOffsetEntry(file));
}

/**
 * Reads an offset checkpoint as a map from `"<topic>-<partition>"` (the partition directory
 * name) to offset. A partition listed twice keeps its last offset, as Kafka's `toMap` does.
 *
 * @param file - path of e.g. `recovery-point-offset-checkpoint`
 */
export function readOffsetCheckpoint(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readOffsetCheckpointEntries(file)) out.set(`${e.topic}-${e.partition}`, e.offset);
  return out;
}

/**
 * Splits a `"<topic>-<partition>"` key at its last `-` (topic names may contain `-`).
 *
 * @throws SeglogError INVALID_ARGUMENT when there is no `-`, the topic is empty or the
 *   partition is not a non-negative int32
 */
export function parseTopicPartitionKey(key: string): { topic: string; partition: number } {
  const dash = key.lastIndexOf('-');
  const partitionText = key.slice(dash + 1);
  const partition = /^\d+$/.test(partitionText) ? Number(partitionText) : NaN;
  if (dash <= 0 || !(partition <= INT_MAX)) {
    throw invalidArgument(`${JSON.stringify(key)} is not "<topic>-<partition>" with a partition number`);
  }
  return { topic: key.slice(0, dash), partition };
}

function checkOffset(what: string, offset: number): void {
  if (!Number.isInteger(offset)) throw invalidArgument(`${what} ${offset} is not an integer`);
  if (!Number.isSafeInteger(offset)) {
    throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `${what} ${offset} is beyond 2^53 - 1 and cannot be written exactly`);
  }
}

function offsetLine(e: OffsetCheckpointEntry): string {
  // A topic with whitespace (or an empty one) would not read back as one field.
  if (e.topic === '' || /[\s]/.test(e.topic)) throw invalidArgument(`topic ${JSON.stringify(e.topic)} cannot be written to a checkpoint`);
  if (!Number.isInteger(e.partition) || e.partition < 0 || e.partition > INT_MAX) {
    throw invalidArgument(`partition ${e.partition} of ${e.topic} is not a non-negative int32`);
  }
  checkOffset(`offset of ${e.topic}-${e.partition}:`, e.offset);
  return `${e.topic} ${e.partition} ${e.offset}`;
}

/**
 * Atomically writes an offset checkpoint (version 0, one `<topic> <partition> <offset>` line
 * per entry, in the given order; a Map is written in insertion order).
 *
 * @param file - path of e.g. `recovery-point-offset-checkpoint`
 * @param entries - a map keyed `"<topic>-<partition>"`, or explicit entries
 * @throws SeglogError INVALID_ARGUMENT for a bad key, topic or partition, VALUE_OUT_OF_RANGE
 *   for an offset beyond 2^53 − 1, IO_ERROR when the write fails
 */
export function writeOffsetCheckpoint(file: string, entries: ReadonlyMap<string, number> | readonly OffsetCheckpointEntry[]): void {
  const list: OffsetCheckpointEntry[] = Array.isArray(entries)
    ? (entries as readonly OffsetCheckpointEntry[]).slice()
    : [...(entries as ReadonlyMap<string, number>)].map(([key, offset]) => ({ ...parseTopicPartitionKey(key), offset }));
  writeFileAtomicSync(file, formatCheckpoint(list.map(offsetLine)));
}

function parseEpochEntry(file: string): (fields: string[]) => EpochEntry | undefined {
  return (fields) => {
    if (fields.length !== 2) return undefined;
    const epoch = parseJavaInt(fields[0]);
    if (epoch === undefined) return undefined;
    const startOffset = parseJavaLong(fields[1], file);
    if (startOffset === undefined) return undefined;
    return { epoch, startOffset };
  };
}

/**
 * Reads a `leader-epoch-checkpoint` in file order. Like Kafka's reader it checks the syntax
 * only; ordering and sign are the leader epoch cache's business.
 *
 * @param file - path of the checkpoint
 * @returns the entries; none for a missing or empty file
 */
export function readLeaderEpochCheckpoint(file: string): EpochEntry[] {
  return parseCheckpoint(readTextIfExists(file), file, parseEpochEntry(file));
}

/**
 * Atomically writes a `leader-epoch-checkpoint` (version 0, one `<epoch> <startOffset>` line
 * per entry, in the given order).
 *
 * @param file - path of the checkpoint
 * @param entries - the entries
 * @throws SeglogError INVALID_ARGUMENT for an epoch that is not an int32 or a non-integer
 *   offset, VALUE_OUT_OF_RANGE for an offset beyond 2^53 − 1, IO_ERROR when the write fails
 */
export function writeLeaderEpochCheckpoint(file: string, entries: readonly EpochEntry[]): void {
  const lines = entries.map((e) => {
    if (!Number.isInteger(e.epoch) || e.epoch < INT_MIN || e.epoch > INT_MAX) throw invalidArgument(`leader epoch ${e.epoch} is not an int32`);
    checkOffset(`start offset of epoch ${e.epoch}:`, e.startOffset);
    return `${e.epoch} ${e.startOffset}`;
  });
  writeFileAtomicSync(file, formatCheckpoint(lines));
}
