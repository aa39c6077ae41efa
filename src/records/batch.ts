/**
 * `RecordBatch`: a view over the bytes of one RecordBatch v2 (layout in `src/limits.ts`).
 *
 * Every header field is read straight from the bytes, without decompressing. Records are
 * decoded on demand, decompressing once per call. The view never copies the batch; the
 * setters the log layer uses (baseOffset, partitionLeaderEpoch, LogAppendTime) write into it.
 *
 * Invariants checked at construction: at least 61 bytes, magic 2, and a length field that
 * covers the header and fits in the buffer. Field values (CRC, count, int64 ranges) are
 * checked when read, so a damaged batch can still be inspected (as the dump tool does).
 */
import { ErrorCode, SeglogError, corrupt } from '../errors.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  DEFAULT_MAX_UNCOMPRESSED_BYTES,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  MIN_RECORD_SIZE,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_OVERHEAD,
} from '../limits.js';
import {
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  DELETE_HORIZON_FLAG_MASK,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
} from './attributes.js';
import { codecForId, compressionName, type CompressionName } from './compression/index.js';
import { crc32c } from './crc32c.js';
import { iterateRecords, type RecordContext } from './record.js';
import type { LogRecord, TimestampType } from './types.js';
import { readInt64, writeInt64 } from './varint.js';

/** Options for decoding a batch's records. */
export interface DecodeOptions {
  /** Bound on the decompressed records region, bytes (default 128 MiB). */
  maxUncompressedBytes?: number;
}

/** A v2 record batch over a buffer that holds exactly its bytes. */
export class RecordBatch {
  /** Exactly this batch's bytes (a view, not a copy). */
  readonly buffer: Buffer;

  private constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /**
   * Views the v2 batch that starts at `position` in `buf`. Throws CORRUPT_RECORD if the
   * header is incomplete or its length field is impossible, UNSUPPORTED_FORMAT if the magic
   * is not 2. The returned view covers exactly `12 + length` bytes.
   */
  static at(buf: Buffer, position = 0): RecordBatch {
    const available = buf.length - position;
    if (available < RECORD_BATCH_OVERHEAD) {
      throw corrupt(`a v2 batch needs ${RECORD_BATCH_OVERHEAD} bytes, ${available} available`, position);
    }
    const magic = buf.readInt8(position + MAGIC_OFFSET);
    if (magic !== MAGIC_V2) {
      throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `magic ${magic} is not a v2 batch`, { position });
    }
    const length = buf.readInt32BE(position + LENGTH_OFFSET);
    if (length < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
      throw corrupt(`batch length ${length} is below the v2 minimum of ${RECORD_BATCH_OVERHEAD - LOG_OVERHEAD}`, position);
    }
    if (length > available - LOG_OVERHEAD) {
      throw corrupt(`batch length ${length} exceeds the ${available - LOG_OVERHEAD} bytes present`, position);
    }
    return new RecordBatch(buf.subarray(position, position + LOG_OVERHEAD + length));
  }

  /** baseOffset: the offset of the first record (offsetDelta 0). */
  get baseOffset(): number {
    return readInt64(this.buffer, BASE_OFFSET_OFFSET, 'baseOffset');
  }

  /** The length field: bytes after it (sizeInBytes − 12). */
  get length(): number {
    return this.buffer.readInt32BE(LENGTH_OFFSET);
  }

  /** Total bytes of the batch. */
  get sizeInBytes(): number {
    return this.buffer.length;
  }

  /** partitionLeaderEpoch (−1 for none); not covered by the CRC. */
  get partitionLeaderEpoch(): number {
    return this.buffer.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET);
  }

  /** The magic byte (always 2 for this class). */
  get magic(): number {
    return this.buffer.readInt8(MAGIC_OFFSET);
  }

  /** The stored CRC-32C, unsigned. */
  get crc(): number {
    return this.buffer.readUInt32BE(CRC_OFFSET);
  }

  /** The raw attributes int16. */
  get attributes(): number {
    return this.buffer.readInt16BE(ATTRIBUTES_OFFSET);
  }

  /** The codec id in attribute bits 0–2 (5..7 are invalid). */
  get compressionId(): number {
    return this.attributes & COMPRESSION_CODEC_MASK;
  }

  /** The codec's name; UNKNOWN_COMPRESSION for ids 5..7. */
  get compression(): CompressionName {
    return compressionName(this.compressionId);
  }

  /** CreateTime or LogAppendTime. */
  get timestampType(): TimestampType {
    return this.attributes & TIMESTAMP_TYPE_MASK ? 'LogAppendTime' : 'CreateTime';
  }

  /** Whether the batch belongs to a transaction. */
  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
  }

  /** Whether the batch holds control records (transaction markers and others). */
  get isControl(): boolean {
    return (this.attributes & CONTROL_FLAG_MASK) !== 0;
  }

  /** Whether baseTimestamp holds the delete horizon (set by the log cleaner). */
  get hasDeleteHorizon(): boolean {
    return (this.attributes & DELETE_HORIZON_FLAG_MASK) !== 0;
  }

  /** The delete horizon (epoch ms) when the attribute is set, else null. */
  get deleteHorizonMs(): number | null {
    return this.hasDeleteHorizon ? this.baseTimestamp : null;
  }

  /** lastOffset − baseOffset. */
  get lastOffsetDelta(): number {
    return this.buffer.readInt32BE(LAST_OFFSET_DELTA_OFFSET);
  }

  /** The offset of the last record the batch was written with (kept after compaction). */
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }

  /** lastOffset + 1. */
  get nextOffset(): number {
    return this.lastOffset + 1;
  }

  /** The stored baseTimestamp (the first record's time, −1 when empty, or the delete horizon). */
  get baseTimestamp(): number {
    return readInt64(this.buffer, BASE_TIMESTAMP_OFFSET, 'baseTimestamp');
  }

  /** The largest record timestamp (CreateTime) or the append time (LogAppendTime). */
  get maxTimestamp(): number {
    return readInt64(this.buffer, MAX_TIMESTAMP_OFFSET, 'maxTimestamp');
  }

  /** producerId (−1 for none). */
  get producerId(): number {
    return readInt64(this.buffer, PRODUCER_ID_OFFSET, 'producerId');
  }

  /** producerEpoch (−1 for none). */
  get producerEpoch(): number {
    return this.buffer.readInt16BE(PRODUCER_EPOCH_OFFSET);
  }

  /** baseSequence (−1 for none). */
  get baseSequence(): number {
    return this.buffer.readInt32BE(BASE_SEQUENCE_OFFSET);
  }

  /** The sequence of the last record: baseSequence + lastOffsetDelta, wrapping at int32 max. */
  get lastSequence(): number {
    const base = this.baseSequence;
    if (base === -1) return -1;
    const last = base + this.lastOffsetDelta;
    return last > 0x7fffffff ? last - 0x7fffffff - 1 : last;
  }

  /** recordsCount from the header (never compressed). */
  get count(): number {
    return this.buffer.readInt32BE(RECORDS_COUNT_OFFSET);
  }

  /** CRC-32C of bytes [21, end), as Kafka computes it. */
  computeCrc(): number {
    return crc32c(this.buffer, ATTRIBUTES_OFFSET, this.buffer.length);
  }

  /** Whether the stored CRC matches the bytes (Kafka's isValid). */
  isValid(): boolean {
    return this.computeCrc() === this.crc;
  }

  /** Throws INVALID_CRC when the stored CRC does not match. */
  ensureValid(): void {
    const computed = this.computeCrc();
    if (computed !== this.crc) {
      throw new SeglogError(
        ErrorCode.INVALID_CRC,
        `batch at baseOffset ${this.buffer.readBigInt64BE(0)}: stored CRC ${this.crc} != computed ${computed}`,
      );
    }
  }

  /** The stored records region: compressed bytes, or the records themselves. */
  get payload(): Buffer {
    return this.buffer.subarray(RECORD_BATCH_OVERHEAD);
  }

  /** The records region decompressed (a view of the batch when uncompressed). */
  uncompressedPayload(options: DecodeOptions = {}): Buffer {
    const id = this.compressionId;
    if (id === 0) return this.payload;
    return codecForId(id).decompressSync(this.payload, maxBytes(options));
  }

  /** The records region decompressed, off the event loop for large batches. */
  async uncompressedPayloadAsync(options: DecodeOptions = {}): Promise<Buffer> {
    const id = this.compressionId;
    if (id === 0) return this.payload;
    return codecForId(id).decompress(this.payload, maxBytes(options));
  }

  /**
   * The records, decompressing once. Control records are returned like any record (their
   * key and value are the control key and marker). Iterating checks Kafka's record rules
   * and throws CORRUPT_RECORD on the first violation.
   */
  records(options: DecodeOptions = {}): IterableIterator<LogRecord> {
    return this.iterate(this.uncompressedPayload(options));
  }

  /** Like {@link records}, with decompression off the event loop for large batches. */
  async recordsAsync(options: DecodeOptions = {}): Promise<IterableIterator<LogRecord>> {
    return this.iterate(await this.uncompressedPayloadAsync(options));
  }

  /** All records as an array. */
  toArray(options: DecodeOptions = {}): LogRecord[] {
    return Array.from(this.records(options));
  }

  private iterate(payload: Buffer): IterableIterator<LogRecord> {
    const count = this.count;
    if (count < 0) throw corrupt(`negative record count ${count}`);
    if (count > Math.ceil(payload.length / MIN_RECORD_SIZE)) {
      throw corrupt(`record count ${count} cannot fit in ${payload.length} bytes`);
    }
    const ctx: RecordContext = {
      baseOffset: this.baseOffset,
      baseTimestamp: this.baseTimestamp,
      logAppendTime: this.timestampType === 'LogAppendTime' ? this.maxTimestamp : null,
    };
    return iterateRecords(payload, 0, payload.length, count, ctx);
  }

  /**
   * Rewrites baseOffset in place. The CRC does not cover it, so this is how a log assigns
   * offsets to a pre-encoded batch without re-encoding it.
   */
  setBaseOffset(offset: number): void {
    writeInt64(this.buffer, BASE_OFFSET_OFFSET, offset);
  }

  /** Rewrites partitionLeaderEpoch in place (not CRC-covered). */
  setPartitionLeaderEpoch(epoch: number): void {
    this.buffer.writeInt32BE(epoch, PARTITION_LEADER_EPOCH_OFFSET);
  }

  /**
   * Sets the timestamp type and maxTimestamp in place and recomputes the CRC when either
   * changed (both are CRC-covered), as a broker does for LogAppendTime topics.
   */
  setMaxTimestamp(type: TimestampType, maxTimestamp: number): void {
    const attrs = this.attributes;
    const newAttrs = type === 'LogAppendTime' ? attrs | TIMESTAMP_TYPE_MASK : attrs & ~TIMESTAMP_TYPE_MASK;
    if (newAttrs === attrs && this.maxTimestamp === maxTimestamp) return;
    this.buffer.writeInt16BE(newAttrs, ATTRIBUTES_OFFSET);
    writeInt64(this.buffer, MAX_TIMESTAMP_OFFSET, maxTimestamp);
    this.buffer.writeUInt32BE(this.computeCrc(), CRC_OFFSET);
  }
}

function maxBytes(options: DecodeOptions): number {
  return options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
}
