/**
 * One record inside a v2 batch's (uncompressed) records region, as Kafka's DefaultRecord
 * reads and writes it:
 *
 * | field          | encoding                                             |
 * |----------------|------------------------------------------------------|
 * | length         | varint: bytes of everything below                    |
 * | attributes     | int8, written 0, ignored on read                     |
 * | timestampDelta | varlong: timestamp − baseTimestamp                   |
 * | offsetDelta    | varint: offset − baseOffset                          |
 * | keyLength, key | varint (negative ⇒ null), bytes                      |
 * | valueLength, value | varint (negative ⇒ null), bytes                  |
 * | headerCount    | varint ≥ 0                                           |
 * | headers        | per header: keyLength ≥ 0, UTF-8 key, valueLength (negative ⇒ null), value |
 *
 * Reader invariants (Kafka's): the body is fully present, the header count is not negative
 * and not larger than the bytes left, and the fields consume exactly `length` bytes.
 */
import { corrupt } from '../errors.js';
import type { LogRecord, RecordHeader } from './types.js';
import { ByteReader } from './varint.js';

/** What record decoding needs from its batch. */
export interface RecordContext {
  /** The batch's baseOffset. */
  baseOffset: number;
  /** The batch's baseTimestamp (or delete horizon). */
  baseTimestamp: number;
  /** When set (LogAppendTime), every record's timestamp is this value. */
  logAppendTime: number | null;
}

/**
 * Reads one record at the reader's cursor and advances past it. Keys, values and header
 * values are views into the reader's buffer.
 */
export function readRecord(r: ByteReader, ctx: RecordContext): LogRecord {
  const start = r.pos;
  const length = r.readVarint();
  const bodyStart = r.pos;
  if (length < 0 || length > r.end - bodyStart) {
    throw corrupt(`record length ${length} at ${start} exceeds the ${r.end - bodyStart} bytes left`, start);
  }
  const body = new ByteReader(r.buf, bodyStart, bodyStart + length);
  body.readInt8(); // attributes: unused by every Kafka version so far
  const timestampDelta = body.readVarlong();
  const offsetDelta = body.readVarint();
  const keyLength = body.readVarint();
  const key = keyLength < 0 ? null : body.readBytes(keyLength);
  const valueLength = body.readVarint();
  const value = valueLength < 0 ? null : body.readBytes(valueLength);
  const headerCount = body.readVarint();
  if (headerCount < 0) throw corrupt(`negative header count ${headerCount} in record at ${start}`, start);
  if (headerCount > body.remaining) {
    throw corrupt(`header count ${headerCount} exceeds the ${body.remaining} bytes left in record at ${start}`, start);
  }
  const headers: RecordHeader[] = new Array(headerCount);
  for (let i = 0; i < headerCount; i++) {
    const nameLength = body.readVarint();
    if (nameLength < 0) throw corrupt(`negative header key length ${nameLength} in record at ${start}`, start);
    const name = body.readBytes(nameLength).toString('utf8');
    const headerValueLength = body.readVarint();
    headers[i] = [name, headerValueLength < 0 ? null : body.readBytes(headerValueLength)];
  }
  if (body.pos !== body.end) {
    throw corrupt(`record at ${start} declares ${length} bytes but its fields use ${body.pos - bodyStart}`, start);
  }
  r.pos = body.end;
  return {
    offset: ctx.baseOffset + offsetDelta,
    timestamp: ctx.logAppendTime ?? ctx.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/**
 * Iterates `count` records from `payload[start, end)`. After the last record no bytes may
 * remain (Kafka: "records still remaining").
 */
export function* iterateRecords(
  payload: Buffer,
  start: number,
  end: number,
  count: number,
  ctx: RecordContext,
): Generator<LogRecord, void, undefined> {
  const r = new ByteReader(payload, start, end);
  for (let i = 0; i < count; i++) {
    if (r.remaining === 0) throw corrupt(`batch declares ${count} records but holds only ${i}`, r.pos);
    yield readRecord(r, ctx);
  }
  if (r.remaining !== 0) throw corrupt(`${r.remaining} bytes remain after the last of ${count} records`, r.pos);
}
