/**
 * Legacy messages (magic 0 and 1), recognised so a walker can step over them and a dump can
 * name them. Layout (each uncompressed message is its own "batch"):
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
 */
import zlib from 'node:zlib';
import { ErrorCode, SeglogError, corrupt } from '../errors.js';
import { LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MIN_BATCH_LENGTH_FIELD } from '../limits.js';
import { readInt64 } from './varint.js';

/** Position of the legacy CRC. */
const LEGACY_CRC_OFFSET = LOG_OVERHEAD;
/** Position of the legacy attributes byte. */
const LEGACY_ATTRIBUTES_OFFSET = MAGIC_OFFSET + 1;
/** Smallest v1 message: 22 bytes after the log overhead (v0: 14). */
const MIN_V1_LENGTH_FIELD = 22;

/** A view over one legacy (magic 0/1) message. */
export class LegacyBatch {
  /** Exactly this message's bytes. */
  readonly buffer: Buffer;

  private constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** Views the legacy message at `position`; CORRUPT_RECORD if it is incomplete. */
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

  /** CRC-32 (IEEE) over [16, end). */
  computeCrc(): number {
    return zlib.crc32(this.buffer.subarray(MAGIC_OFFSET)) >>> 0;
  }

  /** Whether the stored CRC matches. */
  isValid(): boolean {
    return this.computeCrc() === this.crc;
  }
}
