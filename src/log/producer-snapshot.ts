/**
 * Producer-state snapshot files, `<20-digit offset>.snapshot` in the partition directory:
 * Kafka's ProducerSnapshot version 1 (format notes §7.2, vectors §10.7). The offset in the name
 * is the producer-state map end offset when the snapshot was taken: the state reflects every
 * batch below it. This file owns the bytes and the file names; producer-state.ts owns what the
 * entries mean and when snapshots are taken, loaded and deleted.
 *
 * Layout, big-endian:
 *
 * | offset | size   | field                                         |
 * |-------:|-------:|-----------------------------------------------|
 * |      0 |      2 | version int16 = 1                             |
 * |      2 |      4 | crc uint32 = CRC-32C of bytes [6, end)        |
 * |      6 |      4 | entryCount int32                              |
 * |     10 | 46 × n | entries                                       |
 *
 * One entry, 46 bytes:
 *
 * | offset | size | field                                                                    |
 * |-------:|-----:|--------------------------------------------------------------------------|
 * |     +0 |    8 | producerId int64                                                         |
 * |     +8 |    2 | epoch int16                                                              |
 * |    +10 |    4 | lastSequence int32 (−1 when there is no batch)                           |
 * |    +14 |    8 | lastOffset int64: last offset of the producer's last data batch; < 0 ⇒ none |
 * |    +22 |    4 | offsetDelta int32 = lastOffset − firstOffset of that batch (0 when none) |
 * |    +26 |    8 | timestamp int64 = the producer's lastTimestamp                           |
 * |    +34 |    4 | coordinatorEpoch int32                                                   |
 * |    +38 |    8 | currentTxnFirstOffset int64 (< 0 ⇒ no open transaction)                  |
 *
 * Reading follows Kafka's readSnapshot: the structure must parse (at least 10 bytes, a
 * non-negative entry count whose entries fit in the file — so the count never drives an
 * allocation larger than the file), the version must be 1 and the CRC must match. Any of these
 * failing is CORRUPT_SNAPSHOT; the manager then deletes the file and falls back to an older one.
 * Bytes after the last entry are ignored, as Kafka's schema reader ignores them (the CRC still
 * covers them). An int64 beyond 2^53 in an otherwise valid file is VALUE_OUT_OF_RANGE: the file
 * is Kafka's and valid, seglog just cannot represent it, so it must not be deleted as corrupt.
 *
 * Writing is Kafka's too: the file is written in place (no temp file) and fsynced only when
 * asked; a torn write fails the CRC on the next load and the snapshot is skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { crc32c } from '../records/crc32c.js';
import { readInt64, writeInt64 } from '../records/varint.js';

/** The only snapshot version Kafka writes and reads. */
export const PRODUCER_SNAPSHOT_VERSION = 1;
/** File name suffix of producer snapshots (Kafka's PRODUCER_SNAPSHOT_FILE_SUFFIX). */
export const PRODUCER_SNAPSHOT_FILE_SUFFIX = '.snapshot';

/** Position of the version int16. */
const VERSION_OFFSET = 0;
/** Position of the CRC uint32. */
const CRC_OFFSET = VERSION_OFFSET + 2;
/** Position of the entry count int32; the CRC covers from here to the end. */
const ENTRIES_OFFSET = CRC_OFFSET + 4;
/** Bytes before the first entry. */
export const PRODUCER_SNAPSHOT_HEADER_SIZE = ENTRIES_OFFSET + 4;

/** Entry field positions, relative to the entry. */
const E_PRODUCER_ID = 0;
const E_EPOCH = E_PRODUCER_ID + 8;
const E_LAST_SEQUENCE = E_EPOCH + 2;
const E_LAST_OFFSET = E_LAST_SEQUENCE + 4;
const E_OFFSET_DELTA = E_LAST_OFFSET + 8;
const E_TIMESTAMP = E_OFFSET_DELTA + 4;
const E_COORDINATOR_EPOCH = E_TIMESTAMP + 8;
const E_CURRENT_TXN_FIRST_OFFSET = E_COORDINATOR_EPOCH + 4;
/** Bytes per snapshot entry. */
export const PRODUCER_SNAPSHOT_ENTRY_SIZE = E_CURRENT_TXN_FIRST_OFFSET + 8;

/** One producer as stored in a snapshot: the raw fields, with Kafka's −1 sentinels. */
export interface ProducerSnapshotEntry {
  /** The producer id. */
  producerId: number;
  /** Its current epoch (int16). */
  producerEpoch: number;
  /** Last sequence of its last data batch, −1 when there is none (int32). */
  lastSequence: number;
  /** Last offset of its last data batch; negative means "no batch metadata". */
  lastOffset: number;
  /** lastOffset − firstOffset of that batch (int32; 0 when there is none). */
  offsetDelta: number;
  /** The producer's last timestamp (max timestamp of its last batch or marker time). */
  timestamp: number;
  /** Epoch of the coordinator that wrote its last marker, −1 when none (int32). */
  coordinatorEpoch: number;
  /** First offset of its open transaction; negative means none. */
  currentTxnFirstOffset: number;
}

function corruptSnapshot(message: string, file: string | undefined, position?: number): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_SNAPSHOT, file === undefined ? message : `${file}: ${message}`, { file, position });
}

function checkInt(value: number, bits: 16 | 32, what: string): void {
  const max = bits === 16 ? 0x7fff : 0x7fffffff;
  if (!Number.isInteger(value) || value < -max - 1 || value > max) {
    throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `snapshot ${what} ${value} does not fit an int${bits}`);
  }
}

function checkLong(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `snapshot ${what} ${value} is not a safe integer`);
  }
}

/**
 * Encodes a version-1 snapshot of `entries`, in the given order, with its CRC.
 * VALUE_OUT_OF_RANGE when a field does not fit its type.
 */
export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(PRODUCER_SNAPSHOT_HEADER_SIZE + entries.length * PRODUCER_SNAPSHOT_ENTRY_SIZE);
  buf.writeInt16BE(PRODUCER_SNAPSHOT_VERSION, VERSION_OFFSET);
  buf.writeInt32BE(entries.length, ENTRIES_OFFSET);
  let at = PRODUCER_SNAPSHOT_HEADER_SIZE;
  for (const e of entries) {
    checkLong(e.producerId, 'producerId');
    checkInt(e.producerEpoch, 16, 'producerEpoch');
    checkInt(e.lastSequence, 32, 'lastSequence');
    checkLong(e.lastOffset, 'lastOffset');
    checkInt(e.offsetDelta, 32, 'offsetDelta');
    checkLong(e.timestamp, 'timestamp');
    checkInt(e.coordinatorEpoch, 32, 'coordinatorEpoch');
    checkLong(e.currentTxnFirstOffset, 'currentTxnFirstOffset');
    writeInt64(buf, at + E_PRODUCER_ID, e.producerId);
    buf.writeInt16BE(e.producerEpoch, at + E_EPOCH);
    buf.writeInt32BE(e.lastSequence, at + E_LAST_SEQUENCE);
    writeInt64(buf, at + E_LAST_OFFSET, e.lastOffset);
    buf.writeInt32BE(e.offsetDelta, at + E_OFFSET_DELTA);
    writeInt64(buf, at + E_TIMESTAMP, e.timestamp);
    buf.writeInt32BE(e.coordinatorEpoch, at + E_COORDINATOR_EPOCH);
    writeInt64(buf, at + E_CURRENT_TXN_FIRST_OFFSET, e.currentTxnFirstOffset);
    at += PRODUCER_SNAPSHOT_ENTRY_SIZE;
  }
  buf.writeUInt32BE(crc32c(buf, ENTRIES_OFFSET, buf.length), CRC_OFFSET);
  return buf;
}

/**
 * Decodes a snapshot file's bytes. CORRUPT_SNAPSHOT when it is shorter than its header, its
 * entry count is negative or more than the bytes hold, its version is not 1, or its CRC does not
 * match; VALUE_OUT_OF_RANGE when a valid file holds an int64 beyond 2^53.
 *
 * @param buf - the whole file
 * @param file - the file name, for messages
 */
export function decodeProducerSnapshot(buf: Buffer, file?: string): ProducerSnapshotEntry[] {
  if (buf.length < PRODUCER_SNAPSHOT_HEADER_SIZE) {
    throw corruptSnapshot(`a snapshot needs at least ${PRODUCER_SNAPSHOT_HEADER_SIZE} bytes, the file has ${buf.length}`, file, 0);
  }
  const version = buf.readInt16BE(VERSION_OFFSET);
  const count = buf.readInt32BE(ENTRIES_OFFSET);
  const room = Math.floor((buf.length - PRODUCER_SNAPSHOT_HEADER_SIZE) / PRODUCER_SNAPSHOT_ENTRY_SIZE);
  if (count < 0 || count > room) {
    throw corruptSnapshot(`entry count ${count} is not within [0, ${room}], what the ${buf.length} bytes can hold`, file, ENTRIES_OFFSET);
  }
  if (version !== PRODUCER_SNAPSHOT_VERSION) {
    throw corruptSnapshot(`unknown snapshot version ${version} (only ${PRODUCER_SNAPSHOT_VERSION} is known)`, file, VERSION_OFFSET);
  }
  const stored = buf.readUInt32BE(CRC_OFFSET);
  const computed = crc32c(buf, ENTRIES_OFFSET, buf.length);
  if (stored !== computed) {
    throw corruptSnapshot(`CRC is no longer valid: stored ${stored}, computed ${computed}`, file, CRC_OFFSET);
  }
  const out: ProducerSnapshotEntry[] = new Array(count);
  for (let i = 0, at = PRODUCER_SNAPSHOT_HEADER_SIZE; i < count; i++, at += PRODUCER_SNAPSHOT_ENTRY_SIZE) {
    out[i] = {
      producerId: readInt64(buf, at + E_PRODUCER_ID, 'producerId'),
      producerEpoch: buf.readInt16BE(at + E_EPOCH),
      lastSequence: buf.readInt32BE(at + E_LAST_SEQUENCE),
      lastOffset: readInt64(buf, at + E_LAST_OFFSET, 'lastOffset'),
      offsetDelta: buf.readInt32BE(at + E_OFFSET_DELTA),
      timestamp: readInt64(buf, at + E_TIMESTAMP, 'timestamp'),
      coordinatorEpoch: buf.readInt32BE(at + E_COORDINATOR_EPOCH),
      currentTxnFirstOffset: readInt64(buf, at + E_CURRENT_TXN_FIRST_OFFSET, 'currentTxnFirstOffset'),
    };
  }
  return out;
}

/** `<dir>/<20-digit offset>.snapshot` (Kafka's LogFileUtils.producerSnapshotFile). */
export function producerSnapshotFile(dir: string, offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `snapshot offset ${offset} is not a non-negative safe integer`);
  }
  return path.join(dir, `${String(offset).padStart(20, '0')}${PRODUCER_SNAPSHOT_FILE_SUFFIX}`);
}

/** A snapshot file found in a directory. */
export interface SnapshotFile {
  /** The offset in its name: the map end offset it was taken at. */
  offset: number;
  /** Its path. */
  file: string;
}

const SNAPSHOT_NAME = /^(\d{1,20})\.snapshot$/;

/**
 * The regular files named `<digits>.snapshot` in `dir`, sorted by offset (Kafka's
 * listSnapshotFiles; `.snapshot.deleted` files are not listed). Other names are skipped. A
 * missing directory has none. VALUE_OUT_OF_RANGE for an offset beyond 2^53; IO_ERROR when the
 * directory cannot be read.
 */
export function listSnapshotFiles(dir: string): SnapshotFile[] {
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw ioError(err, dir);
  }
  const out: SnapshotFile[] = [];
  for (const d of names) {
    const m = SNAPSHOT_NAME.exec(d.name);
    if (m === null || !d.isFile()) continue;
    const offset = Number(m[1]);
    if (!Number.isSafeInteger(offset)) {
      throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `${path.join(dir, d.name)}: snapshot offset beyond 2^53`, { file: path.join(dir, d.name) });
    }
    out.push({ offset, file: path.join(dir, d.name) });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/** Reads and decodes a snapshot file: IO_ERROR, or as {@link decodeProducerSnapshot}. */
export function readProducerSnapshot(file: string): ProducerSnapshotEntry[] {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw ioError(err, file);
  }
  return decodeProducerSnapshot(buf, file);
}

/**
 * Writes a snapshot file in place (created or truncated), fsyncing it when `sync` is true
 * (Kafka's writeSnapshot; the roll path defers the fsync to the flush). IO_ERROR on failure.
 */
export function writeProducerSnapshot(file: string, entries: readonly ProducerSnapshotEntry[], sync: boolean): void {
  const bytes = encodeProducerSnapshot(entries);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'w');
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, written);
    if (sync) fs.fsyncSync(fd);
  } catch (err) {
    throw ioError(err, file);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
