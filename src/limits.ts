/**
 * Named limits and layout constants, each with the reason for its value.
 *
 * Byte layouts of the batch header are here once; every reader and writer uses these names.
 */
import { assert } from './assert.js';

/**
 * RecordBatch v2 header layout (all integers big-endian).
 *
 * | offset | size | field                | CRC-covered |
 * |-------:|-----:|----------------------|-------------|
 * |      0 |    8 | baseOffset           | no          |
 * |      8 |    4 | length (bytes after) | no          |
 * |     12 |    4 | partitionLeaderEpoch | no          |
 * |     16 |    1 | magic (= 2)          | no          |
 * |     17 |    4 | crc (CRC-32C)        | —           |
 * |     21 |    2 | attributes           | yes         |
 * |     23 |    4 | lastOffsetDelta      | yes         |
 * |     27 |    8 | baseTimestamp        | yes         |
 * |     35 |    8 | maxTimestamp         | yes         |
 * |     43 |    8 | producerId           | yes         |
 * |     51 |    2 | producerEpoch        | yes         |
 * |     53 |    4 | baseSequence         | yes         |
 * |     57 |    4 | recordsCount         | yes         |
 * |     61 |    … | records (maybe compressed) | yes   |
 */
export const BASE_OFFSET_OFFSET = 0;
/** Position of the int32 length field. */
export const LENGTH_OFFSET = BASE_OFFSET_OFFSET + 8;
/** baseOffset + length: the part every batch of every magic shares. */
export const LOG_OVERHEAD = LENGTH_OFFSET + 4;
/** Position of partitionLeaderEpoch (v2) or the legacy CRC (v0/v1). */
export const PARTITION_LEADER_EPOCH_OFFSET = LOG_OVERHEAD;
/** Position of the magic byte, the same in every format. */
export const MAGIC_OFFSET = PARTITION_LEADER_EPOCH_OFFSET + 4;
/** A reader needs this many bytes before it can tell which format a batch is. */
export const HEADER_SIZE_UP_TO_MAGIC = MAGIC_OFFSET + 1;
/** Position of the CRC-32C. */
export const CRC_OFFSET = MAGIC_OFFSET + 1;
/** Position of attributes; the CRC covers from here to the end of the batch. */
export const ATTRIBUTES_OFFSET = CRC_OFFSET + 4;
/** Position of lastOffsetDelta. */
export const LAST_OFFSET_DELTA_OFFSET = ATTRIBUTES_OFFSET + 2;
/** Position of baseTimestamp (or the delete horizon when attribute bit 6 is set). */
export const BASE_TIMESTAMP_OFFSET = LAST_OFFSET_DELTA_OFFSET + 4;
/** Position of maxTimestamp. */
export const MAX_TIMESTAMP_OFFSET = BASE_TIMESTAMP_OFFSET + 8;
/** Position of producerId. */
export const PRODUCER_ID_OFFSET = MAX_TIMESTAMP_OFFSET + 8;
/** Position of producerEpoch. */
export const PRODUCER_EPOCH_OFFSET = PRODUCER_ID_OFFSET + 8;
/** Position of baseSequence. */
export const BASE_SEQUENCE_OFFSET = PRODUCER_EPOCH_OFFSET + 2;
/** Position of recordsCount. */
export const RECORDS_COUNT_OFFSET = BASE_SEQUENCE_OFFSET + 4;
/** Position of the first record: the v2 header size (Kafka's RECORD_BATCH_OVERHEAD). */
export const RECORD_BATCH_OVERHEAD = RECORDS_COUNT_OFFSET + 4;

assert(RECORD_BATCH_OVERHEAD === 61, 'v2 header is 61 bytes');
assert(HEADER_SIZE_UP_TO_MAGIC === 17, 'magic is byte 16');

/** The magic byte of RecordBatch v2, the only format seglog writes. */
export const MAGIC_V2 = 2;

/**
 * Smallest legal value of the length field: Kafka's LegacyRecord.RECORD_OVERHEAD_V0. A file
 * walker that sees less treats it as corruption (zero-filled preallocated tails land here).
 */
export const MIN_BATCH_LENGTH_FIELD = 14;

/**
 * The smallest possible encoded record: length, attributes, timestampDelta, offsetDelta,
 * keyLength, valueLength and headerCount, one byte each. Used to bound a record count
 * by the bytes that could hold it.
 */
export const MIN_RECORD_SIZE = 7;

/** Largest varint: 5 bytes carry 32 bits. */
export const MAX_VARINT_BYTES = 5;
/** Largest varlong: 10 bytes carry 64 bits. */
export const MAX_VARLONG_BYTES = 10;

/**
 * Default bound on one batch's decompressed records region, in bytes.
 *
 * Kafka has no such bound (it streams), but seglog decodes a batch into memory, so a hostile
 * batch of a few KiB must not expand into gigabytes. 128 MiB is over 100 times Kafka's default
 * max.message.bytes (1 MiB) and so never refuses a batch a real producer made.
 */
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 128 * 1024 * 1024;

/**
 * Largest batch the length field may claim (int32 max, as Kafka). Readers also bound it by
 * what is actually present; this is the absolute ceiling.
 */
export const MAX_BATCH_SIZE = 0x7fffffff;

/** The value Kafka uses for "no producer id", "no epoch", "no sequence", "no timestamp". */
export const NO_PRODUCER_ID = -1;
/** No producer epoch. */
export const NO_PRODUCER_EPOCH = -1;
/** No sequence number. */
export const NO_SEQUENCE = -1;
/** No timestamp (an empty batch's baseTimestamp). */
export const NO_TIMESTAMP = -1;
/** No partition leader epoch. */
export const NO_PARTITION_LEADER_EPOCH = -1;
