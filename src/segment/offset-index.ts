/**
 * `OffsetIndex`: a segment's `.index` file, Kafka's OffsetIndex. A sparse map from offsets to
 * byte positions in the `.log`: an entry (O, P) means "the batch that starts at position P
 * has last offset O" (format notes §4.1). Loading, write-through and file sizing are in
 * index-file.ts.
 *
 * One entry, 8 bytes, big-endian:
 *
 * | offset | size | field                                                   |
 * |-------:|-----:|---------------------------------------------------------|
 * |      0 |    4 | relativeOffset int32 = offset − baseOffset (0..2^31 − 1) |
 * |      4 |    4 | position int32: where the batch starts in the `.log`    |
 *
 * Invariants: offsets strictly increase, positions never decrease, every relative offset is
 * in 0..2^31 − 1. `append` refuses anything else; `sanityCheck` re-checks a loaded file.
 *
 * Concurrency: `append`, `truncateTo`, `reset`, `trimToValidSize` and `resize` need the
 * segment's append lock; `lookup` and `entry` are safe between appends.
 */
import { IndexFile, type IndexOptions } from './index-file.js';

export type { IndexOptions } from './index-file.js';

/** Position of the relative offset in an entry. */
const RELATIVE_OFFSET_OFFSET = 0;
/** Position of the `.log` byte position in an entry. */
const POSITION_OFFSET = RELATIVE_OFFSET_OFFSET + 4;
/** Bytes per `.index` entry. */
export const OFFSET_INDEX_ENTRY_SIZE = POSITION_OFFSET + 4;

/** Largest `.log` position an entry can hold: the field is an int32, as segment.bytes is. */
const MAX_POSITION = 0x7fffffff;

/** An offset-index entry, with the offset made absolute. */
export interface OffsetPosition {
  /** Absolute offset: the last offset of the batch at `position`. */
  offset: number;
  /** Byte position in the `.log` where that batch starts. */
  position: number;
}

/** The `.index` file of a segment. */
export class OffsetIndex extends IndexFile {
  /**
   * No I/O: the file is read on first use.
   *
   * @param file - path of the `.index` file
   * @param baseOffset - the segment's base offset
   * @param options - size bound (segment.index.bytes) and whether this is the active segment
   */
  constructor(file: string, baseOffset: number, options: IndexOptions) {
    super(file, baseOffset, options, OFFSET_INDEX_ENTRY_SIZE);
  }

  /** Absolute offset of the last entry, or the base offset when the index is empty. */
  get lastOffset(): number {
    const n = this.entries;
    return n === 0 ? this.baseOffset : this.offsetAt(this.data, n - 1);
  }

  /** Entry `n` (0-based) with its absolute offset; INVALID_ARGUMENT if there is no such entry. */
  entry(n: number): OffsetPosition {
    this.checkSlot(n);
    return this.entryAt(this.data, n);
  }

  /**
   * Appends (offset, position) and writes it through to the file (creating it, preallocated,
   * if needed). INVALID_ARGUMENT when the index is full, when `offset` is not above
   * {@link OffsetIndex.lastOffset} (unless the index is empty), when `position` is below the
   * last entry's, or when the relative offset does not fit an int32. Needs the append lock.
   */
  append(offset: number, position: number): void {
    if (!Number.isSafeInteger(offset)) throw this.invalid(`offset ${offset} is not a safe integer`);
    if (!Number.isInteger(position) || position < 0 || position > MAX_POSITION) {
      throw this.invalid(`position ${position} is not an integer in [0, ${MAX_POSITION}]`);
    }
    const n = this.entries;
    if (n >= this.maxEntries) throw this.invalid(`cannot append to a full offset index (${n} of ${this.maxEntries} entries)`);
    if (n > 0) {
      const last = this.entryAt(this.data, n - 1);
      if (offset <= last.offset) {
        throw this.invalid(`offset ${offset} appended as entry ${n} is not above the last offset ${last.offset}`);
      }
      if (position < last.position) {
        throw this.invalid(`position ${position} appended as entry ${n} is below the last position ${last.position}`);
      }
    }
    const rel = this.relativeOffset(offset);
    const buf = this.reserveEntry();
    const at = n * OFFSET_INDEX_ENTRY_SIZE;
    buf.writeInt32BE(rel, at + RELATIVE_OFFSET_OFFSET);
    buf.writeInt32BE(position, at + POSITION_OFFSET);
    this.commitEntry();
  }

  /**
   * The entry with the largest offset ≤ `targetOffset`, or (baseOffset, 0) when there is none
   * (Kafka's lookup). The batch holding `targetOffset` starts at or after the returned
   * position. Binary search over the in-memory entries.
   */
  lookup(targetOffset: number): OffsetPosition {
    if (Number.isNaN(targetOffset)) throw this.invalid('lookup of NaN');
    const buf = this.data;
    const slot = this.largestSlotAtOrBelow(targetOffset, (s) => this.offsetAt(buf, s));
    return slot < 0 ? { offset: this.baseOffset, position: 0 } : this.entryAt(buf, slot);
  }

  /**
   * Drops every entry whose offset is ≥ `offset`; truncating above the last entry does
   * nothing. The file keeps its length if preallocated, else shrinks. Needs the append lock.
   */
  truncateTo(offset: number): void {
    if (Number.isNaN(offset)) throw this.invalid('truncateTo(NaN)');
    const buf = this.data;
    this.truncateToEntries(this.firstSlotAtOrAbove(offset, (s) => this.offsetAt(buf, s)));
  }

  /**
   * CORRUPT_INDEX, naming the file, when: its length (as loaded or last set) is not a
   * multiple of 8; the last offset is below the base offset; offsets do not strictly increase;
   * positions are negative or decrease. Kafka checks the first two; the scan, O(entries),
   * covers what the binary search relies on.
   */
  sanityCheck(): void {
    this.checkLength();
    const n = this.entries;
    if (n === 0) return;
    const buf = this.data;
    const last = this.offsetAt(buf, n - 1);
    if (last < this.baseOffset) {
      throw this.corrupt(`the last offset ${last} is below the base offset ${this.baseOffset}`, n - 1);
    }
    let prev = this.entryAt(buf, 0);
    if (prev.offset < this.baseOffset) throw this.corrupt(`entry 0 has offset ${prev.offset}, below the base offset ${this.baseOffset}`, 0);
    if (prev.position < 0) throw this.corrupt(`entry 0 has negative position ${prev.position}`, 0);
    for (let i = 1; i < n; i++) {
      const e = this.entryAt(buf, i);
      if (e.offset <= prev.offset) throw this.corrupt(`entry ${i} has offset ${e.offset}, not above entry ${i - 1}'s ${prev.offset}`, i);
      if (e.position < prev.position) throw this.corrupt(`entry ${i} has position ${e.position}, below entry ${i - 1}'s ${prev.position}`, i);
      prev = e;
    }
  }

  private offsetAt(buf: Buffer, slot: number): number {
    return this.baseOffset + buf.readInt32BE(slot * OFFSET_INDEX_ENTRY_SIZE + RELATIVE_OFFSET_OFFSET);
  }

  private entryAt(buf: Buffer, slot: number): OffsetPosition {
    const at = slot * OFFSET_INDEX_ENTRY_SIZE;
    return {
      offset: this.baseOffset + buf.readInt32BE(at + RELATIVE_OFFSET_OFFSET),
      position: buf.readInt32BE(at + POSITION_OFFSET),
    };
  }
}

