/**
 * The record shapes of seglog's public API: what callers give (`RecordInput`) and what readers
 * get back (`LogRecord`). Shared by every layer.
 */

/** Bytes as callers may give them: strings are encoded as UTF-8; null means "no bytes". */
export type BytesInput = Buffer | Uint8Array | string | null;

/** One record header as given: a name and a value. Order and duplicates are kept. */
export type HeaderInput = readonly [name: string, value: BytesInput];

/**
 * A record to append. `value` is required (null makes a tombstone when the key is set);
 * `timestamp` (epoch ms) defaults to the writer's clock. Headers may be an array of pairs,
 * which keeps order and duplicates, or a plain object as a convenience.
 */
export interface RecordInput {
  /** The record key; null or absent means no key. */
  key?: BytesInput | undefined;
  /** The record value; null is a tombstone. */
  value: BytesInput;
  /** Headers, in order. */
  headers?: readonly HeaderInput[] | { readonly [name: string]: BytesInput } | undefined;
  /** CreateTime timestamp in epoch milliseconds. */
  timestamp?: number | undefined;
}

/** One record header as read: key and value are views into the batch. */
export type RecordHeader = [name: string, value: Buffer | null];

/**
 * A record read back from a batch. `key` and `value` are views into the decoded batch buffer
 * (no copy): copy them if you keep them longer than the buffer you read.
 */
export interface LogRecord {
  /** Absolute offset: baseOffset + offsetDelta. */
  offset: number;
  /** Epoch ms: baseTimestamp + delta (CreateTime) or the batch's maxTimestamp (LogAppendTime). */
  timestamp: number;
  /** The key, or null. */
  key: Buffer | null;
  /** The value, or null (a tombstone when the key is set). */
  value: Buffer | null;
  /** Headers in stored order, duplicates kept. */
  headers: RecordHeader[];
}

/** Kafka's two timestamp types (attribute bit 3). */
export type TimestampType = 'CreateTime' | 'LogAppendTime';
