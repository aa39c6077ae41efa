/**
 * Encodes records into one RecordBatch v2, as Kafka's MemoryRecordsBuilder does:
 * offsetDelta 0..n−1 (or given deltas, for the cleaner), lastOffsetDelta = last delta,
 * baseTimestamp = first record's timestamp (or the delete horizon), maxTimestamp = the largest
 * record timestamp (or the append time for LogAppendTime), attributes' high byte 0, and the
 * CRC-32C over [21, end).
 *
 * The encoder sizes every record first, then writes into one exact allocation: uncompressed
 * batches are written in place after the header; compressed ones are written to a scratch
 * buffer, compressed, and copied behind the header.
 */
import { invalidArgument } from '../errors.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_OVERHEAD,
} from '../limits.js';
import { encodeAttributes } from './attributes.js';
import { codecForId, compressionIdOf, type CompressionName } from './compression/index.js';
import { crc32c } from './crc32c.js';
import type { BytesInput, HeaderInput, RecordInput, TimestampType } from './types.js';
import { sizeOfVarint, sizeOfVarlong, writeInt64, writeVarint, writeVarlong } from './varint.js';

/** How to build a batch. Every field has Kafka's default for a plain, non-idempotent producer. */
export interface BatchOptions {
  /** baseOffset to stamp (default 0; a log assigns the real one). */
  baseOffset?: number;
  /** partitionLeaderEpoch to stamp (default −1, as a producer sends; a log stamps its epoch). */
  partitionLeaderEpoch?: number;
  /** Codec (default none). */
  compression?: CompressionName;
  /** Codec level (gzip 1..9, zstd −131072..22; lz4 and snappy ignore it). */
  compressionLevel?: number;
  /** Timestamp type (default CreateTime). */
  timestampType?: TimestampType;
  /** For LogAppendTime: the append time written as maxTimestamp (default `now`). */
  logAppendTime?: number;
  /** Timestamp for records that carry none (default `Date.now()` at build time). */
  now?: number;
  /** producerId (default −1). */
  producerId?: number;
  /** producerEpoch (default −1). */
  producerEpoch?: number;
  /** baseSequence (default −1). */
  baseSequence?: number;
  /** Transactional flag. */
  isTransactional?: boolean;
  /** Control flag (use `buildEndTransactionMarker` for markers). */
  isControl?: boolean;
  /**
   * Sets the delete-horizon attribute and stores this value in baseTimestamp; record
   * timestamp deltas are then relative to it (as the log cleaner writes tombstone batches).
   */
  deleteHorizonMs?: number;
  /**
   * Explicit offsetDeltas, one per record, strictly increasing from ≥ 0 (the cleaner keeps
   * original offsets). Default 0..n−1.
   */
  offsetDeltas?: readonly number[];
  /** lastOffsetDelta to keep (the cleaner keeps the original); default the last record's delta. */
  lastOffsetDelta?: number;
}

/**
 * The size pass's results, per record, in typed arrays reused across builds: allocating an
 * object per record was a visible share of encoding. A build's size and write passes run
 * synchronously one after the other (compression happens after the write pass), so one set of
 * arrays serves every build; `inUse` guards against a re-entrant build.
 */
const scratch = {
  capacity: 0,
  keyLength: new Int32Array(0),
  valueLength: new Int32Array(0),
  bodySize: new Int32Array(0),
  offsetDelta: new Int32Array(0),
  timestamp: new Float64Array(0),
  headerStart: new Int32Array(0),
  headerLengths: new Int32Array(64),
  headers: [] as (readonly HeaderInput[])[],
  inUse: false,
};

function reserve(records: number, headerSlots: number): void {
  if (records > scratch.capacity) {
    const cap = Math.max(records, scratch.capacity * 2, 256);
    scratch.capacity = cap;
    scratch.keyLength = new Int32Array(cap);
    scratch.valueLength = new Int32Array(cap);
    scratch.bodySize = new Int32Array(cap);
    scratch.offsetDelta = new Int32Array(cap);
    scratch.timestamp = new Float64Array(cap);
    scratch.headerStart = new Int32Array(cap + 1);
  }
  if (headerSlots > scratch.headerLengths.length) {
    // Grows mid-pass (headers are counted as they come): keep the lengths already filled in.
    const grown = new Int32Array(Math.max(headerSlots, scratch.headerLengths.length * 2));
    grown.set(scratch.headerLengths);
    scratch.headerLengths = grown;
  }
}

const NO_HEADERS: readonly HeaderInput[] = [];

function byteLength(b: BytesInput, what: string): number {
  if (b === null || b === undefined) return -1;
  if (typeof b === 'string') return Buffer.byteLength(b, 'utf8');
  if (b instanceof Uint8Array) return b.length;
  throw invalidArgument(`${what} must be a Buffer, Uint8Array, string or null, got ${typeof b}`);
}

function writeBytes(buf: Buffer, pos: number, b: BytesInput, length: number): number {
  pos = writeVarint(buf, pos, length);
  if (length <= 0) return pos;
  if (typeof b === 'string') {
    buf.write(b, pos, length, 'utf8');
  } else if (length <= 16) {
    // A byte loop beats a native copy call for short keys and header values.
    const src = b as Uint8Array;
    for (let i = 0; i < length; i++) buf[pos + i] = src[i];
  } else {
    buf.set(b as Uint8Array, pos);
  }
  return pos + length;
}

function headerList(headers: RecordInput['headers']): readonly HeaderInput[] {
  if (headers === undefined || headers === null) return NO_HEADERS;
  if (Array.isArray(headers)) return headers as readonly HeaderInput[];
  if (typeof headers === 'object') return Object.entries(headers);
  throw invalidArgument('headers must be an array of [name, value] pairs or an object');
}

function checkInt(value: number, min: number, max: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

const INT32_MAX = 0x7fffffff;

/**
 * The size pass: checks every record and fills the scratch arrays with its lengths; returns the
 * total bytes of the records region and the batch's timestamps.
 */
function sizeRecords(records: readonly RecordInput[], o: BatchOptions, baseTimestamp: number | null): { total: number; maxTimestamp: number; firstTimestamp: number } {
  const now = o.now ?? Date.now();
  const deltas = o.offsetDeltas;
  if (deltas !== undefined && deltas.length !== records.length) {
    throw invalidArgument(`offsetDeltas has ${deltas.length} entries for ${records.length} records`);
  }
  const n = records.length;
  reserve(n, 0);
  const { keyLength: keyLen, valueLength: valueLen, bodySize: bodyLen, offsetDelta: deltaOf, timestamp: tsOf, headerStart, headers: headerLists } = scratch;
  let total = 0;
  let maxTimestamp = NO_TIMESTAMP;
  let firstTimestamp = NO_TIMESTAMP;
  let prevDelta = -1;
  let slot = 0;
  for (let i = 0; i < n; i++) {
    const rec = records[i];
    if (rec === null || typeof rec !== 'object') throw invalidArgument(`record ${i} is not an object`);
    const timestamp = rec.timestamp ?? now;
    checkInt(timestamp, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, `record ${i} timestamp`);
    if (i === 0) firstTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = deltas === undefined ? i : checkInt(deltas[i], prevDelta + 1, INT32_MAX, `offsetDeltas[${i}]`);
    prevDelta = offsetDelta;
    const keyLength = byteLength(rec.key ?? null, `record ${i} key`);
    if (rec.value === undefined) throw invalidArgument(`record ${i} has no value (use null for a tombstone)`);
    const valueLength = byteLength(rec.value, `record ${i} value`);
    const headers = headerList(rec.headers);
    headerLists[i] = headers;
    headerStart[i] = slot;
    let headerBytes = sizeOfVarint(headers.length);
    if (headers.length > 0) {
      reserve(0, slot + headers.length * 2);
      const lengths = scratch.headerLengths;
      for (let h = 0; h < headers.length; h++) {
        const pair = headers[h];
        if (!Array.isArray(pair) || typeof pair[0] !== 'string') {
          throw invalidArgument(`record ${i} header ${h} must be a [string, value] pair`);
        }
        const nameLength = Buffer.byteLength(pair[0], 'utf8');
        const hvLength = byteLength(pair[1] ?? null, `record ${i} header '${pair[0]}' value`);
        lengths[slot++] = nameLength;
        lengths[slot++] = hvLength;
        headerBytes += sizeOfVarint(nameLength) + nameLength + sizeOfVarint(hvLength) + Math.max(0, hvLength);
      }
    }
    const base = baseTimestamp ?? firstTimestamp;
    if (!Number.isSafeInteger(timestamp - base)) {
      throw invalidArgument(`record ${i} timestamp ${timestamp} is too far from the batch's base ${base}`);
    }
    const bodySize =
      1 +
      sizeOfVarlong(timestamp - base) +
      sizeOfVarint(offsetDelta) +
      sizeOfVarint(keyLength) +
      Math.max(0, keyLength) +
      sizeOfVarint(valueLength) +
      Math.max(0, valueLength) +
      headerBytes;
    if (bodySize > INT32_MAX - RECORD_BATCH_OVERHEAD) throw invalidArgument(`record ${i} is too large (${bodySize} bytes)`);
    total += sizeOfVarint(bodySize) + bodySize;
    keyLen[i] = keyLength;
    valueLen[i] = valueLength;
    bodyLen[i] = bodySize;
    deltaOf[i] = offsetDelta;
    tsOf[i] = timestamp;
  }
  return { total, maxTimestamp, firstTimestamp };
}

/** The write pass: encodes every record from the scratch arrays the size pass filled. */
function writeRecords(buf: Buffer, pos: number, records: readonly RecordInput[], baseTimestamp: number): number {
  const { keyLength, valueLength, bodySize, offsetDelta, timestamp, headerStart, headers: headerLists, headerLengths } = scratch;
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    pos = writeVarint(buf, pos, bodySize[i]);
    buf[pos++] = 0; // record attributes
    pos = writeVarlong(buf, pos, timestamp[i] - baseTimestamp);
    pos = writeVarint(buf, pos, offsetDelta[i]);
    pos = writeBytes(buf, pos, rec.key ?? null, keyLength[i]);
    pos = writeBytes(buf, pos, rec.value, valueLength[i]);
    const headers = headerLists[i];
    pos = writeVarint(buf, pos, headers.length);
    let slot = headerStart[i];
    for (let h = 0; h < headers.length; h++) {
      const [name, value] = headers[h];
      pos = writeBytes(buf, pos, name, headerLengths[slot++]);
      pos = writeBytes(buf, pos, value ?? null, headerLengths[slot++]);
    }
  }
  headerLists.length = 0; // drop references to the caller's header arrays
  return pos;
}

/** The header fields, resolved and checked. */
interface Header {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  count: number;
}

/** Writes the 61-byte header into `buf` (which holds exactly the batch) and its CRC. */
function writeHeader(buf: Buffer, h: Header): Buffer {
  writeInt64(buf, BASE_OFFSET_OFFSET, h.baseOffset);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, LENGTH_OFFSET);
  buf.writeInt32BE(h.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(MAGIC_V2, MAGIC_OFFSET);
  buf.writeInt16BE(h.attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(h.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeInt64(buf, PRODUCER_ID_OFFSET, h.producerId);
  buf.writeInt16BE(h.producerEpoch, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(h.baseSequence, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(h.count, RECORDS_COUNT_OFFSET);
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET, buf.length), CRC_OFFSET);
  return buf;
}

/** Everything a build needs, resolved from the records and options, before compression. */
interface Plan {
  header: Header;
  records: readonly RecordInput[];
  recordsBytes: number;
  compressionId: number;
}

function plan(records: readonly RecordInput[], o: BatchOptions): Plan {
  if (!Array.isArray(records) || records.length === 0) {
    throw invalidArgument('a batch needs at least one record (Kafka never writes an empty batch from a producer)');
  }
  if (records.length > INT32_MAX) throw invalidArgument('too many records for one batch');
  const compressionId = compressionIdOf(o.compression ?? 'none');
  const horizon = o.deleteHorizonMs;
  if (horizon !== undefined) checkInt(horizon, 0, Number.MAX_SAFE_INTEGER, 'deleteHorizonMs');
  const { total, maxTimestamp, firstTimestamp } = sizeRecords(records, o, horizon ?? null);
  const lastDelta = scratch.offsetDelta[records.length - 1];
  const lastOffsetDelta = o.lastOffsetDelta === undefined ? lastDelta : checkInt(o.lastOffsetDelta, lastDelta, INT32_MAX, 'lastOffsetDelta');
  const logAppend = o.timestampType === 'LogAppendTime';
  if (o.timestampType !== undefined && o.timestampType !== 'CreateTime' && !logAppend) {
    throw invalidArgument(`timestampType must be CreateTime or LogAppendTime, got ${String(o.timestampType)}`);
  }
  const header: Header = {
    baseOffset: checkInt(o.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER - lastOffsetDelta, 'baseOffset'),
    partitionLeaderEpoch: checkInt(o.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, -1, INT32_MAX, 'partitionLeaderEpoch'),
    attributes: encodeAttributes({
      compressionId,
      logAppendTime: logAppend,
      transactional: o.isTransactional === true,
      control: o.isControl === true,
      hasDeleteHorizon: horizon !== undefined,
    }),
    lastOffsetDelta,
    baseTimestamp: horizon ?? firstTimestamp,
    maxTimestamp: logAppend ? checkInt(o.logAppendTime ?? o.now ?? Date.now(), 0, Number.MAX_SAFE_INTEGER, 'logAppendTime') : maxTimestamp,
    producerId: checkInt(o.producerId ?? NO_PRODUCER_ID, -1, Number.MAX_SAFE_INTEGER, 'producerId'),
    producerEpoch: checkInt(o.producerEpoch ?? NO_PRODUCER_EPOCH, -1, 0x7fff, 'producerEpoch'),
    baseSequence: checkInt(o.baseSequence ?? NO_SEQUENCE, -1, INT32_MAX, 'baseSequence'),
    count: records.length,
  };
  if (total > INT32_MAX - RECORD_BATCH_OVERHEAD) throw invalidArgument(`records total ${total} bytes, too large for one batch`);
  return { header, records, recordsBytes: total, compressionId };
}

function encodeRecordsRegion(p: Plan): Buffer {
  const region = Buffer.allocUnsafe(p.recordsBytes);
  writeRecords(region, 0, p.records, p.header.baseTimestamp);
  return region;
}

/** Uncompressed: records are written in place after the header, one allocation in all. */
function writeUncompressed(p: Plan): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + p.recordsBytes);
  writeRecords(buf, RECORD_BATCH_OVERHEAD, p.records, p.header.baseTimestamp);
  return writeHeader(buf, p.header);
}

/**
 * Runs the size and write passes with the scratch arrays held, so a build started from inside
 * another (a getter on a record calling the builder) fails loudly instead of corrupting both.
 */
function withScratch<T>(fn: () => T): T {
  if (scratch.inUse) throw invalidArgument('the batch builder was re-entered while encoding (from inside a record)');
  scratch.inUse = true;
  try {
    return fn();
  } finally {
    scratch.inUse = false;
  }
}

function assemble(p: Plan, compressed: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + compressed.length);
  compressed.copy(buf, RECORD_BATCH_OVERHEAD);
  return writeHeader(buf, p.header);
}

/**
 * The size and write passes: the finished batch when uncompressed, else the records region to
 * compress. Both passes run synchronously; only compression may leave the event loop.
 */
function encode(records: readonly RecordInput[], options: BatchOptions): { plan: Plan; bytes: Buffer } {
  return withScratch(() => {
    const p = plan(records, options);
    return { plan: p, bytes: p.compressionId === 0 ? writeUncompressed(p) : encodeRecordsRegion(p) };
  });
}

/** Builds one batch synchronously (compression in the calling thread). */
export function buildBatchSync(records: readonly RecordInput[], options: BatchOptions = {}): Buffer {
  const { plan: p, bytes } = encode(records, options);
  if (p.compressionId === 0) return bytes;
  return assemble(p, codecForId(p.compressionId).compressSync(bytes, options.compressionLevel));
}

/** Builds one batch; large compressed batches are compressed off the event loop. */
export async function buildBatch(records: readonly RecordInput[], options: BatchOptions = {}): Promise<Buffer> {
  const { plan: p, bytes } = encode(records, options);
  if (p.compressionId === 0) return bytes;
  return assemble(p, await codecForId(p.compressionId).compress(bytes, options.compressionLevel));
}

/** Fields of an empty batch, as the log cleaner writes one to keep producer state or an offset. */
export interface EmptyBatchOptions {
  /** Original baseOffset. */
  baseOffset: number;
  /** Original lastOffsetDelta. */
  lastOffsetDelta: number;
  /** Original maxTimestamp. */
  maxTimestamp: number;
  /** Original partitionLeaderEpoch (default −1). */
  partitionLeaderEpoch?: number;
  /** Original producerId (default −1). */
  producerId?: number;
  /** Original producerEpoch (default −1). */
  producerEpoch?: number;
  /** Original baseSequence (default −1). */
  baseSequence?: number;
  /** Original timestamp type. */
  timestampType?: TimestampType;
  /** Original transactional flag. */
  isTransactional?: boolean;
  /** Original control flag. */
  isControl?: boolean;
}

/**
 * Builds a batch with no records (61 bytes, uncompressed, baseTimestamp −1), as Kafka's
 * cleaner does to keep a producer's sequence state or a batch's last offset.
 */
export function buildEmptyBatch(o: EmptyBatchOptions): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD);
  return writeHeader(buf, {
    baseOffset: checkInt(o.baseOffset, 0, Number.MAX_SAFE_INTEGER, 'baseOffset'),
    partitionLeaderEpoch: checkInt(o.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, -1, INT32_MAX, 'partitionLeaderEpoch'),
    attributes: encodeAttributes({
      compressionId: 0,
      logAppendTime: o.timestampType === 'LogAppendTime',
      transactional: o.isTransactional === true,
      control: o.isControl === true,
      hasDeleteHorizon: false,
    }),
    lastOffsetDelta: checkInt(o.lastOffsetDelta, 0, INT32_MAX, 'lastOffsetDelta'),
    baseTimestamp: NO_TIMESTAMP,
    maxTimestamp: checkInt(o.maxTimestamp, -1, Number.MAX_SAFE_INTEGER, 'maxTimestamp'),
    producerId: checkInt(o.producerId ?? NO_PRODUCER_ID, -1, Number.MAX_SAFE_INTEGER, 'producerId'),
    producerEpoch: checkInt(o.producerEpoch ?? NO_PRODUCER_EPOCH, -1, 0x7fff, 'producerEpoch'),
    baseSequence: checkInt(o.baseSequence ?? NO_SEQUENCE, -1, INT32_MAX, 'baseSequence'),
    count: 0,
  });
}

