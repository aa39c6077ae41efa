/**
 * `TimeIndex`: a segment's `.timeindex` file, Kafka's TimeIndex. A sparse map from timestamps
 * to offsets: an entry (T, O) means "T is the largest timestamp in the segment up to and
 * including the batch whose last offset is O", so any record with a timestamp above T comes
 * after O (format notes §4.2). Loading, write-through and file sizing are in index-file.ts.
 *
 * One entry, 12 bytes, big-endian:
 *
 * | offset | size | field                                                   |
 * |-------:|-----:|---------------------------------------------------------|
 * |      0 |    8 | timestamp int64 (ms)                                    |
 * |      8 |    4 | relativeOffset int32 = offset − baseOffset (0..2^31 − 1) |
 *
 * Invariants: timestamps strictly increase (an equal timestamp is not appended); offsets
 * never decrease; one slot is kept free for the entry written when the segment rolls, so
 * `isFull` is entries ≥ maxEntries − 1. The last entry is the segment's largest timestamp,
 * which time retention uses.
 *
 * Concurrency: `maybeAppend`, `truncateTo`, `reset`, `trimToValidSize` and `resize` need the
 * segment's append lock; `lookup`, `entry` and `lastEntry` are safe between appends.
 */
import { ErrorCode, SeglogError } from '../errors.js';
import { NO_TIMESTAMP } from '../limits.js';
import { readInt64, writeInt64 } from '../records/varint.js';
import { IndexFile, type IndexOptions } from './index-file.js';

export type { IndexOptions } from './index-file.js';

/** Position of the timestamp in an entry. */
const TIMESTAMP_OFFSET = 0;
/** Position of the relative offset in an entry. */
const RELATIVE_OFFSET_OFFSET = TIMESTAMP_OFFSET + 8;
/** Bytes per `.timeindex` entry. */
export const TIME_INDEX_ENTRY_SIZE = RELATIVE_OFFSET_OFFSET + 4;

/** A time-index entry, with the offset made absolute. */
export interface TimestampOffset {
  /** The largest timestamp up to `offset`, or −1 (no timestamp) for the empty answer. */
  timestamp: number;
  /** Absolute offset: the last offset of the batch holding `timestamp`. */
  offset: number;
}

/** The `.timeindex` file of a segment. */
export class TimeIndex extends IndexFile {
  /**
   * No I/O: the file is read on first use.
   *
   * @param file - path of the `.timeindex` file
   * @param baseOffset - the segment's base offset
   * @param options - size bound (segment.index.bytes) and whether this is the active segment
   */
  constructor(file: string, baseOffset: number, options: IndexOptions) {
    super(file, baseOffset, options, TIME_INDEX_ENTRY_SIZE);
  }

  /**
   * True when only the slot kept for the final entry (written on roll with `skipFullCheck`)
   * is left: entries ≥ maxEntries − 1, as in Kafka.
   */
  override get isFull(): boolean {
    return this.entries >= this.maxEntries - 1;
  }

  /** The last entry, or (−1, baseOffset) when the index is empty. */
  lastEntry(): TimestampOffset {
    const n = this.entries;
    return n === 0 ? { timestamp: NO_TIMESTAMP, offset: this.baseOffset } : this.entryAt(this.data, n - 1);
  }

  /** Entry `n` (0-based) with its absolute offset; INVALID_ARGUMENT if there is no such entry. */
  entry(n: number): TimestampOffset {
    this.checkSlot(n);
    return this.entryAt(this.data, n);
  }

  /**
   * Kafka's maybeAppend: appends (timestamp, offset) only if `timestamp` is above the last
   * entry's (−1 when empty, so an index of v0 data with no timestamps stays empty); an equal
   * timestamp is skipped, because the roll and close paths re-offer the last entry.
   * INVALID_ARGUMENT when the index is full (unless `skipFullCheck`, used once on roll; even
   * then the file has no slot past maxEntries), when the index is not empty and `timestamp` or
   * `offset` is below the last entry's, or when the relative offset does not fit an int32.
   * Needs the append lock.
   */
  maybeAppend(timestamp: number, offset: number, skipFullCheck = false): void {
    if (!Number.isSafeInteger(timestamp)) throw this.invalid(`timestamp ${timestamp} is not a safe integer`);
    if (!Number.isSafeInteger(offset)) throw this.invalid(`offset ${offset} is not a safe integer`);
    const n = this.entries;
    if (!skipFullCheck && this.isFull) {
      throw this.invalid(`cannot append to a full time index (${n} entries; ${this.maxEntries - 1} before the slot kept for roll)`);
    }
    const last = this.lastEntry();
    if (n > 0 && offset < last.offset) {
      throw this.invalid(`offset ${offset} offered as entry ${n} is below the last offset ${last.offset}`);
    }
    if (n > 0 && timestamp < last.timestamp) {
      throw this.invalid(`timestamp ${timestamp} offered as entry ${n} is below the last timestamp ${last.timestamp}`);
    }
    if (timestamp <= last.timestamp) return;
    if (n >= this.maxEntries) throw this.invalid(`no slot left for (${timestamp}, ${offset}): ${n} of ${this.maxEntries} entries used`);
    const rel = this.relativeOffset(offset);
    const buf = this.reserveEntry();
    const at = n * TIME_INDEX_ENTRY_SIZE;
    writeInt64(buf, at + TIMESTAMP_OFFSET, timestamp);
    buf.writeInt32BE(rel, at + RELATIVE_OFFSET_OFFSET);
    this.commitEntry();
  }

  /**
   * The entry with the largest timestamp ≤ `targetTimestamp`, or (−1, baseOffset) when there
   * is none (Kafka's lookup). A search for the first record with a timestamp ≥ the target can
   * start at the batch holding the returned offset. Binary search over the in-memory entries.
   */
  lookup(targetTimestamp: number): TimestampOffset {
    if (Number.isNaN(targetTimestamp)) throw this.invalid('lookup of NaN');
    const buf = this.data;
    const slot = this.largestSlotAtOrBelow(targetTimestamp, (s) => this.timestampAt(buf, s));
    return slot < 0 ? { timestamp: NO_TIMESTAMP, offset: this.baseOffset } : this.entryAt(buf, slot);
  }

  /**
   * Drops every entry whose offset is ≥ `offset`; truncating above the last entry does
   * nothing. (Kafka searches for an entry with exactly that offset and can keep an earlier
   * entry with the same offset; here the first entry at or above `offset` and everything after
   * it go.) Needs the append lock.
   */
  truncateTo(offset: number): void {
    if (Number.isNaN(offset)) throw this.invalid('truncateTo(NaN)');
    const buf = this.data;
    this.truncateToEntries(this.firstSlotAtOrAbove(offset, (s) => this.offsetAt(buf, s)));
  }

  /**
   * CORRUPT_INDEX, naming the file, when: its length (as loaded or last set) is not a
   * multiple of 12; the last timestamp is below the first; the last offset is below the base
   * offset (Kafka's three checks); or, scanning every entry, a timestamp does not fit a
   * JavaScript number, timestamps do not strictly increase, or offsets decrease.
   */
  sanityCheck(): void {
    this.checkLength();
    const n = this.entries;
    if (n === 0) return;
    const buf = this.data;
    const first = this.checkedEntry(buf, 0);
    const last = this.checkedEntry(buf, n - 1);
    if (last.timestamp < first.timestamp) {
      throw this.corrupt(`the last timestamp ${last.timestamp} is below the first ${first.timestamp}`, n - 1);
    }
    if (last.offset < this.baseOffset) {
      throw this.corrupt(`the last offset ${last.offset} is below the base offset ${this.baseOffset}`, n - 1);
    }
    if (first.offset < this.baseOffset) throw this.corrupt(`entry 0 has offset ${first.offset}, below the base offset ${this.baseOffset}`, 0);
    let prev = first;
    for (let i = 1; i < n; i++) {
      const e = this.checkedEntry(buf, i);
      if (e.timestamp <= prev.timestamp) {
        throw this.corrupt(`entry ${i} has timestamp ${e.timestamp}, not above entry ${i - 1}'s ${prev.timestamp}`, i);
      }
      if (e.offset < prev.offset) throw this.corrupt(`entry ${i} has offset ${e.offset}, below entry ${i - 1}'s ${prev.offset}`, i);
      prev = e;
    }
  }

  /** An entry whose timestamp must fit a JavaScript number; CORRUPT_INDEX otherwise. */
  private checkedEntry(buf: Buffer, slot: number): TimestampOffset {
    try {
      return this.entryAt(buf, slot);
    } catch (err) {
      if (err instanceof SeglogError && err.code === ErrorCode.VALUE_OUT_OF_RANGE) {
        throw this.corrupt(`entry ${slot} has a timestamp beyond ±2^53: ${err.message}`, slot);
      }
      throw err;
    }
  }

  private timestampAt(buf: Buffer, slot: number): number {
    return readInt64(buf, slot * TIME_INDEX_ENTRY_SIZE + TIMESTAMP_OFFSET, 'timestamp');
  }

  private offsetAt(buf: Buffer, slot: number): number {
    return this.baseOffset + buf.readInt32BE(slot * TIME_INDEX_ENTRY_SIZE + RELATIVE_OFFSET_OFFSET);
  }

  private entryAt(buf: Buffer, slot: number): TimestampOffset {
    return { timestamp: this.timestampAt(buf, slot), offset: this.offsetAt(buf, slot) };
  }
}
