/**
 * Legacy messages (magic 0 and 1): recognised so a walker can step over them and a dump can
 * name them, and decoded so data written before Kafka 0.11 can still be read. Layout (each
 * uncompressed message is its own "batch"):
 *
 * | offset | size | field                                              |
 * |-------:|-----:|----------------------------------------------------|
 * |      0 |    8 | offset (v0/v1: the last or only offset)            |
 * |      8 |    4 | size: bytes after this field                       |
 * |     12 |    4 | crc: CRC-32 (IEEE) over [16, end)                  |
 * |     16 |    1 | magic (0 or 1)                                     |
 * |     17 |    1 | attributes: codec in bits 0–2, timestamp type bit 3 (v1) |
 * |     18 |    8 | timestamp (v1 only)                                |
 * |  18/26 |  4+n | key length (−1 = null), key                        |
 * |      … |  4+n | value length (−1 = null), value                    |
 *
 * A compressed message (a "wrapper") has codec 1..3 (gzip, snappy, lz4; zstd never existed in
 * these formats) and its value is the compressed concatenation of inner `offset|size|message`
 * entries, each laid out as above. The wrapper's offset is that of its last inner message.
 * Inner offsets are absolute in v0 and relative (0..n−1) in v1.
 *
 * Reading follows Kafka's AbstractLegacyRecordBatch.DeepRecordsIterator and LegacyRecord:
 *
 * - any negative key or value length reads as null (writers only use −1), and bytes after the
 *   value are ignored, as LegacyRecord does;
 * - a partial last inner entry ends the inner set without an error (DataLogInputStream), but
 *   an inner size below 14, an empty inner set or a null wrapper value is CORRUPT_RECORD;
 * - an inner message that is itself compressed is CORRUPT_RECORD when the iteration reaches
 *   it, after the inner messages before it have been returned;
 * - an inner message's magic may differ from its wrapper's (Kafka reads such sets), but it must
 *   be 0 or 1: Kafka would read any other magic with the v1 layout, seglog calls it corrupt;
 * - inner CRCs are not checked (Kafka checks them only when a broker validates a produce).
 *
 * Invariants checked at construction (`at`): magic 0/1 and a size field that covers the fixed
 * fields of its magic and fits in the buffer. Every other length is checked against the bytes
 * present before it is used, and decompression is bounded by `maxUncompressedBytes`.
 */
import zlib from 'node:zlib';
import { ErrorCode, SeglogError, corrupt } from '../errors.js';
import {
  DEFAULT_MAX_UNCOMPRESSED_BYTES,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH_FIELD,
  NO_TIMESTAMP,
} from '../limits.js';
import { COMPRESSION_CODEC_MASK, TIMESTAMP_TYPE_MASK } from './attributes.js';
import type { DecodeOptions } from './batch.js';
import { gzip, snappy, type CompressionName } from './compression/index.js';
import { lz4DecompressSync } from './compression/lz4.js';
import type { LogRecord, TimestampType } from './types.js';
import { readInt64 } from './varint.js';

/** Position of the legacy CRC. */
const LEGACY_CRC_OFFSET = LOG_OVERHEAD;
/** Position of the legacy attributes byte. */
const LEGACY_ATTRIBUTES_OFFSET = MAGIC_OFFSET + 1;
/** Position of the v1 timestamp. */
const LEGACY_TIMESTAMP_OFFSET = LEGACY_ATTRIBUTES_OFFSET + 1;
/** Position of the key length in v0 (right after the attributes). */
const KEY_LENGTH_OFFSET_V0 = LEGACY_ATTRIBUTES_OFFSET + 1;
/** Position of the key length in v1 (after the 8-byte timestamp). */
const KEY_LENGTH_OFFSET_V1 = LEGACY_TIMESTAMP_OFFSET + 8;
/** Smallest v1 message: 22 bytes after the log overhead (v0: 14). */
const MIN_V1_LENGTH_FIELD = 22;
/** Codec names by id, for the ids legacy messages allow (zstd came with magic 2). */
const LEGACY_CODECS: readonly Exclude<CompressionName, 'zstd'>[] = ['none', 'gzip', 'snappy', 'lz4'];

/** A view over one legacy (magic 0/1) message. */
export class LegacyBatch {
  /** Exactly this message's bytes. */
  readonly buffer: Buffer;

  private constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /**
   * Views the legacy message at `position`. Throws CORRUPT_RECORD if it is incomplete or its
   * size field is below the minimum of its magic, UNSUPPORTED_FORMAT if the magic is not 0/1.
   */
  static at(buf: Buffer, position = 0): LegacyBatch {
    const available = buf.length - position;
    if (available < LOG_OVERHEAD + MIN_BATCH_LENGTH_FIELD) throw corrupt('truncated legacy message', position);
    const magic = buf.readInt8(position + MAGIC_OFFSET);
    if (magic !== 0 && magic !== 1) {
      throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `magic ${magic} is not a legacy message`, { position });
    }
    const length = buf.readInt32BE(position + LENGTH_OFFSET);
    const min = magic === 0 ? MIN_BATCH_LENGTH_FIELD : MIN_V1_LENGTH_FIELD;
    if (length < min || length > available - LOG_OVERHEAD) {
      throw corrupt(`legacy message length ${length} is outside [${min}, ${available - LOG_OVERHEAD}]`, position);
    }
    return new LegacyBatch(buf.subarray(position, position + LOG_OVERHEAD + length));
  }

  /** The magic byte: 0 or 1. */
  get magic(): number {
    return this.buffer.readInt8(MAGIC_OFFSET);
  }

  /** The offset field (for a compressed wrapper, the offset of its last inner message). */
  get offset(): number {
    return readInt64(this.buffer, 0, 'offset');
  }

  /** Total bytes of the message. */
  get sizeInBytes(): number {
    return this.buffer.length;
  }

  /** The stored CRC-32, unsigned. */
  get crc(): number {
    return this.buffer.readUInt32BE(LEGACY_CRC_OFFSET);
  }

  /** The attributes byte. */
  get attributes(): number {
    return this.buffer.readInt8(LEGACY_ATTRIBUTES_OFFSET);
  }

  /** The raw codec id in attribute bits 0–2; only 0..3 are valid here (see {@link compression}). */
  get compressionId(): number {
    return this.attributes & COMPRESSION_CODEC_MASK;
  }

  /**
   * The codec's name. Ids 4..7 are UNKNOWN_COMPRESSION: zstd (4) exists only in magic 2, and
   * Kafka rejects a legacy wrapper that names it.
   */
  get compression(): Exclude<CompressionName, 'zstd'> {
    const id = this.compressionId;
    const name = LEGACY_CODECS[id];
    if (name === undefined) {
      const what = id === 4 ? 'zstd (id 4)' : `id ${id}`;
      throw new SeglogError(
        ErrorCode.UNKNOWN_COMPRESSION,
        `compression ${what} is not valid in a magic-${this.magic} message (0..3 are)`,
      );
    }
    return name;
  }

  /** Whether this message is a compressed wrapper (codec id ≠ 0). */
  get isCompressed(): boolean {
    return this.compressionId !== 0;
  }

  /**
   * CreateTime or LogAppendTime for v1; null for v0, which has no timestamp (Kafka's
   * NO_TIMESTAMP_TYPE). The attribute bit is ignored in v0, as Kafka ignores it.
   */
  get timestampType(): TimestampType | null {
    if (this.magic === 0) return null;
    return this.attributes & TIMESTAMP_TYPE_MASK ? 'LogAppendTime' : 'CreateTime';
  }

  /**
   * The stored timestamp (epoch ms) for v1; −1 (NO_TIMESTAMP) for v0, as Kafka's
   * LegacyRecord.timestamp() returns, so it fits {@link LogRecord.timestamp} unchanged.
   */
  get timestamp(): number {
    if (this.magic === 0) return NO_TIMESTAMP;
    return readInt64(this.buffer, LEGACY_TIMESTAMP_OFFSET, 'timestamp');
  }

  /** The key (a view), or null. CORRUPT_RECORD if its length runs past the message. */
  get key(): Buffer | null {
    return sizeDelimited(this.buffer, this.keyLengthOffset, 'key').bytes;
  }

  /**
   * The value (a view), or null. For a compressed wrapper these are the compressed inner
   * messages. CORRUPT_RECORD if the key or value length runs past the message.
   */
  get value(): Buffer | null {
    const key = sizeDelimited(this.buffer, this.keyLengthOffset, 'key');
    return sizeDelimited(this.buffer, key.next, 'value').bytes;
  }

  /** CRC-32 (IEEE) over [16, end). */
  computeCrc(): number {
    return zlib.crc32(this.buffer.subarray(MAGIC_OFFSET)) >>> 0;
  }

  /** Whether the stored CRC matches. */
  isValid(): boolean {
    return this.computeCrc() === this.crc;
  }

  /**
   * The records this message holds. An uncompressed message is one record; a wrapper's value
   * is decompressed (bounded by `maxUncompressedBytes`, RECORD_TOO_LARGE past it) and its
   * inner messages are returned with absolute offsets. v1 inner messages take the wrapper's
   * timestamp when the wrapper is LogAppendTime. Headers are always empty.
   *
   * Decompression and the checks on the inner set as a whole (sizes, wrapper offset) happen
   * in this call; each inner message is checked when the iteration reaches it. The CRC is
   * not checked: call {@link isValid} first.
   */
  records(options: DecodeOptions = {}): IterableIterator<LogRecord> {
    if (!this.isCompressed) return [this.toRecord(this.offset, this.timestamp)][Symbol.iterator]();
    return this.innerRecords(options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES);
  }

  /** All records as an array (see {@link records}). */
  toArray(options: DecodeOptions = {}): LogRecord[] {
    return Array.from(this.records(options));
  }

  private get keyLengthOffset(): number {
    return this.magic === 0 ? KEY_LENGTH_OFFSET_V0 : KEY_LENGTH_OFFSET_V1;
  }

  private toRecord(offset: number, timestamp: number): LogRecord {
    const key = sizeDelimited(this.buffer, this.keyLengthOffset, 'key');
    const value = sizeDelimited(this.buffer, key.next, 'value');
    return { offset, timestamp, key: key.bytes, value: value.bytes, headers: [] };
  }

  private innerRecords(maxBytes: number): IterableIterator<LogRecord> {
    const set = this.decompressValue(maxBytes);
    const last = lastInnerEntry(set);
    const base = this.magic === 1 ? this.relativeBase(readInt64(set, last, 'inner offset')) : null;
    // Kafka gives v1 inner messages the wrapper's time only for LogAppendTime (LegacyRecord.timestamp).
    const appendTime = this.timestampType === 'LogAppendTime' ? this.timestamp : null;
    return iterateInner(set, base, appendTime);
  }

  /** The wrapper's value, decompressed with its codec. */
  private decompressValue(maxBytes: number): Buffer {
    const codec = this.compression;
    const value = this.value;
    if (value === null) throw corrupt(`compressed magic-${this.magic} message has a null value`);
    switch (codec) {
      case 'gzip':
        return gzip.decompressSync(value, maxBytes);
      case 'snappy':
        return snappy.decompressSync(value, maxBytes);
      default: {
        // Magic-0 LZ4 carries Kafka's old, wrong header checksum (KAFKA-3160), which Kafka skips.
        const legacyHeaderChecksum = this.magic === 0;
        return lz4DecompressSync(value, maxBytes, { legacyHeaderChecksum });
      }
    }
  }

  /**
   * baseOffset for v1 relative inner offsets: wrapperOffset − lastInnerOffset. A wrapper
   * offset of 0 means base 0, because some librdkafka versions write 0 (Kafka tolerates it).
   */
  private relativeBase(lastInnerOffset: number): number {
    const wrapperOffset = this.offset;
    if (wrapperOffset === 0) return 0;
    if (wrapperOffset < lastInnerOffset) {
      throw corrupt(`wrapper offset ${wrapperOffset} is below its last inner offset ${lastInnerOffset} and not 0`);
    }
    return wrapperOffset - lastInnerOffset;
  }
}

/** A size-delimited field: its bytes (null for a negative length) and the position after it. */
interface Delimited {
  bytes: Buffer | null;
  next: number;
}

/** Reads an int32 length and the bytes it announces, both bounded by the message's end. */
function sizeDelimited(buf: Buffer, pos: number, what: string): Delimited {
  if (buf.length - pos < 4) throw corrupt(`legacy message ends before its ${what} length`, pos);
  const length = buf.readInt32BE(pos);
  const start = pos + 4;
  if (length < 0) return { bytes: null, next: start };
  if (length > buf.length - start) {
    throw corrupt(`legacy ${what} length ${length} exceeds the ${buf.length - start} bytes left`, pos);
  }
  return { bytes: buf.subarray(start, start + length), next: start + length };
}

/**
 * The end of the inner entry at `pos`, or −1 at the end of the set. As Kafka's
 * DataLogInputStream: a partial entry ends the set; a size below 14 is corruption.
 */
function innerEntryEnd(set: Buffer, pos: number): number {
  if (set.length - pos < LOG_OVERHEAD) return -1;
  const size = set.readInt32BE(pos + LENGTH_OFFSET);
  if (size < MIN_BATCH_LENGTH_FIELD) {
    throw corrupt(`inner message size ${size} at ${pos} of the decompressed set is below ${MIN_BATCH_LENGTH_FIELD}`, pos);
  }
  if (size > set.length - pos - LOG_OVERHEAD) return -1;
  return pos + LOG_OVERHEAD + size;
}

/** Positions of the complete inner entries of a decompressed set, in order. */
function* innerPositions(set: Buffer): Generator<number, void, undefined> {
  let pos = 0;
  for (let end = innerEntryEnd(set, pos); end !== -1; end = innerEntryEnd(set, pos)) {
    yield pos;
    pos = end;
  }
}

/** Position of the last complete inner entry; CORRUPT_RECORD when there is none. */
function lastInnerEntry(set: Buffer): number {
  let last = -1;
  for (const pos of innerPositions(set)) last = pos;
  if (last === -1) throw corrupt('compressed message set holds no inner messages');
  return last;
}

/** One inner message as a record; `base` is null for v0 (absolute offsets). */
function innerRecord(set: Buffer, pos: number, base: number | null, appendTime: number | null): LogRecord {
  const magic = set.readInt8(pos + MAGIC_OFFSET);
  if (magic !== 0 && magic !== 1) throw corrupt(`inner message at ${pos} has magic ${magic}, not 0 or 1`, pos);
  const inner = LegacyBatch.at(set, pos);
  // Kafka: "Inner messages must not be compressed" (DeepRecordsIterator.makeNext).
  if (inner.isCompressed) throw corrupt(`inner message at ${pos} is itself compressed`, pos);
  const offset = base === null ? inner.offset : safeSum(base, inner.offset, pos);
  const timestamp = magic === 0 || appendTime === null ? inner.timestamp : appendTime;
  return { offset, timestamp, key: inner.key, value: inner.value, headers: [] };
}

/** Yields the inner messages of a decompressed set, checking each as it is reached. */
function* iterateInner(set: Buffer, base: number | null, appendTime: number | null): Generator<LogRecord, void, undefined> {
  for (const pos of innerPositions(set)) yield innerRecord(set, pos, base, appendTime);
}

/** base + relative offset, which hostile bytes can push past 2^53 − 1. */
function safeSum(base: number, relative: number, pos: number): number {
  const sum = base + relative;
  if (!Number.isSafeInteger(sum)) {
    throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `inner offset ${base} + ${relative} does not fit a JavaScript number exactly`, {
      position: pos,
    });
  }
  return sum;
}
