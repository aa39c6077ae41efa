/**
 * `IndexFile`: what a segment's `.index` and `.timeindex` share (Kafka's AbstractIndex),
 * without mmap. The entry layouts and the search keys belong to offset-index.ts and
 * time-index.ts.
 *
 * Owns: the in-memory copy of the entries, loading it lazily from the file, writing each
 * appended entry through to the file, truncation, trimming and re-expanding the file, fsync,
 * rename and delete.
 *
 * On disk: fixed-size big-endian entries back to back from byte 0; no header, no checksum
 * (an index is never trusted over the log: the segment rebuilds it). A file is either
 * - trimmed: length = entries × entrySize (inactive segments; what Kafka leaves on close), or
 * - preallocated: length = roundDown(maxIndexSize, entrySize), zero after the last entry
 *   (the active segment, and any index after a crash).
 *
 * Loading (first use, not the constructor): entries = floor(length / entrySize), except that
 * the first all-zero entry after entry 0 ends the valid entries — the zero-filled tail of a
 * preallocated file that was not trimmed because the process died. Kafka's dump tool stops
 * at the same place. An all-zero entry 0 counts only when a non-zero entry follows it;
 * alone, it is a preallocated file nobody wrote to, and the index is empty. The file length
 * bounds the allocation, and so does maxIndexSize: more valid entries than maxEntries is
 * CORRUPT_INDEX (see {@link IndexFile.entries}). A missing file is 0 entries; the segment
 * decides whether to rebuild.
 *
 * Why a Buffer and not mmap: Node has no mmap. Kafka's mapping gives it lookups from memory
 * (here: binary search over the Buffer) and appends that reach the page cache at once (here:
 * one positional write per entry, about a microsecond from the page cache, see log-file.ts).
 * The Buffer grows by doubling, so an index of ten entries costs a few hundred bytes rather
 * than segment.index.bytes (10 MiB by default).
 *
 * Invariants (asserted after each mutation):
 * - 0 ≤ entries ≤ maxEntries, and entries × entrySize ≤ the Buffer's capacity;
 * - bytes [0, entries × entrySize) of the file equal those of the Buffer;
 * - once this class has written to a file, its bytes from entries × entrySize to its end are
 *   zero (`tailClean`), so a crash leaves a file whose valid prefix the loader finds. A file
 *   loaded with unknown bytes after its first zero entry is cleaned before the first write,
 *   so stale entries there can never come back.
 *
 * Concurrency: single writer. Every mutating method needs the segment's append lock (the
 * log's writer queue) and is not re-entrant. Reads are synchronous and see every append that
 * returned, so they are safe between appends.
 */
import fs from 'node:fs';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, ioError } from '../errors.js';

/**
 * Largest relative offset an entry can hold: the field is an int32, and Kafka rejects
 * negative relative offsets (IndexOffsetOverflowException), so 0..2^31 − 1.
 */
export const MAX_RELATIVE_OFFSET = 0x7fffffff;

/**
 * Largest maxIndexSize: Kafka's segment.index.bytes is an int, and an index position is an
 * int32 byte offset.
 */
export const MAX_INDEX_SIZE = 0x7fffffff;

/**
 * First read when loading a file: one 4 KiB page. The active segment's preallocated index
 * usually holds a few entries and then zeros, so one page finds the end; later reads double
 * up to {@link MAX_LOAD_CHUNK_BYTES}, keeping the Buffer within twice the valid bytes.
 */
const FIRST_LOAD_CHUNK_BYTES = 4096;
/** Largest single read when loading: 1 MiB keeps a full 10 MiB index to ~10 syscalls. */
const MAX_LOAD_CHUNK_BYTES = 1024 * 1024;
/** Smallest Buffer allocated for appends: 64 entries, so a new index does not regrow at once. */
const MIN_CAPACITY_ENTRIES = 64;

/** How an index is opened. */
export interface IndexOptions {
  /**
   * Largest size of the file in bytes (segment.index.bytes); it is rounded down to a
   * multiple of the entry size. Between one entry size and 2^31 − 1.
   */
  maxIndexSize: number;
  /**
   * True for the active segment: the file is opened read-write on load and the descriptor
   * kept for appends, and trimToValidSize creates a missing file. False for inactive segments:
   * the file is read once and the descriptor closed; a later mutation (recovery,
   * truncation) reopens it read-write.
   */
  writable: boolean;
}

/** Rounds `n` down to a multiple of `factor` (Kafka's roundDownToExactMultiple). */
export function roundDownToMultiple(n: number, factor: number): number {
  return factor * Math.floor(n / factor);
}

/**
 * The shared machinery of the offset and time indexes: lazy load, write-through appends,
 * truncation, file sizing and lifecycle. Subclasses define the entry layout.
 */
export abstract class IndexFile {
  /** The segment's base offset; entries store offsets relative to it. */
  readonly baseOffset: number;
  /** Bytes per entry (8 for `.index`, 12 for `.timeindex`). */
  readonly entrySize: number;
  private filePath: string;
  private readonly isWritable: boolean;
  private maxSize: number;
  /** The entries; null until loaded (and again after close or delete). */
  private buf: Buffer | null = null;
  private count = 0;
  private fd: number | null = null;
  private fdWritable = false;
  private fileExists = false;
  /** The file's length as loaded or as last set by this class; 0 when missing. */
  private fileLength = 0;
  /** Whether every byte of the file after the valid entries is known to be zero. */
  private tailClean = true;
  private dirty = false;

  /**
   * No I/O: the file is read on first use.
   *
   * @param file - path of the index file
   * @param baseOffset - the segment's base offset (non-negative safe integer)
   * @param options - size bound and role, see {@link IndexOptions}
   * @param entrySize - bytes per entry, from the subclass
   */
  protected constructor(file: string, baseOffset: number, options: IndexOptions, entrySize: number) {
    assert(entrySize > 0 && entrySize % 4 === 0, 'entries are whole int32 words');
    if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `${file}: base offset ${baseOffset} is not a non-negative safe integer`, { file });
    }
    this.filePath = file;
    this.baseOffset = baseOffset;
    this.entrySize = entrySize;
    this.isWritable = options.writable;
    this.maxSize = this.checkMaxIndexSize(options.maxIndexSize);
  }

  /** Current path of the file (changes with {@link IndexFile.renameTo}). */
  get file(): string {
    return this.filePath;
  }

  /** Whether this is the active segment's index (from {@link IndexOptions.writable}). */
  get writable(): boolean {
    return this.isWritable;
  }

  /** The size bound in bytes, as given (last set by {@link IndexFile.resize}). */
  get maxIndexSize(): number {
    return this.maxSize;
  }

  /**
   * Number of entries. Loads the file on first use: IO_ERROR if it cannot be read,
   * CORRUPT_INDEX if it holds more valid entries than {@link IndexFile.maxEntries} (a file
   * longer than maxIndexSize is accepted when its zero tail starts within the bound, as after a
   * crash with a larger segment.index.bytes; reading only a prefix instead would lose the
   * time index's last entry, which retention uses as the segment's age).
   */
  get entries(): number {
    this.load();
    return this.count;
  }

  /** How many entries fit: floor(maxIndexSize / entrySize). */
  get maxEntries(): number {
    return Math.floor(this.maxSize / this.entrySize);
  }

  /** True when no more entries may be appended (loads the file). */
  get isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  /** Bytes used by the entries: entries × entrySize (loads the file). */
  get sizeInBytes(): number {
    return this.entries * this.entrySize;
  }

  /**
   * The file's length as loaded or last set here (0 when the file does not exist). This is
   * the length {@link IndexFile.sanityCheck} checks; it is not re-read from the disk.
   */
  get length(): number {
    this.load();
    return this.fileLength;
  }

  /** Whether `offset` can be stored relative to the base offset (Kafka's canAppendOffset). */
  canAppendOffset(offset: number): boolean {
    const rel = offset - this.baseOffset;
    return Number.isSafeInteger(offset) && rel >= 0 && rel <= MAX_RELATIVE_OFFSET;
  }

  /** `offset − baseOffset`; INVALID_ARGUMENT when it does not fit 0..2^31 − 1. */
  relativeOffset(offset: number): number {
    if (!this.canAppendOffset(offset)) {
      throw this.invalid(`offset ${offset} is not within [${this.baseOffset}, ${this.baseOffset + MAX_RELATIVE_OFFSET}] (relative offsets are int32)`);
    }
    return offset - this.baseOffset;
  }

  /** Drops every entry whose offset is ≥ `offset`. Needs the append lock. */
  abstract truncateTo(offset: number): void;

  /** Throws CORRUPT_INDEX, naming the file, when the entries or the length are structurally wrong. */
  abstract sanityCheck(): void;

  /**
   * Removes every entry and re-expands the file to roundDown(maxIndexSize), zero-filled
   * (Kafka's reset: truncate, then resize). Recovery calls it before rebuilding; it creates a
   * missing file. Needs the append lock.
   */
  reset(): void {
    this.load();
    const rounded = roundDownToMultiple(this.maxSize, this.entrySize);
    if (this.fileExists && this.count === 0 && this.tailClean && this.fileLength === rounded) return;
    const fd = this.openForWrite(rounded);
    assert(fd !== null, 'reset creates the file');
    this.ftruncate(fd, 0);
    this.ftruncate(fd, rounded);
    this.count = 0;
    this.fileLength = rounded;
    this.tailClean = true;
    this.checkInvariants();
  }

  /**
   * Cuts the file to entries × entrySize (on roll, close and after recovery), so that Kafka,
   * which takes every byte of a file as entries, reads it right. A missing file is created
   * empty when writable (the active segment must leave its index behind) and left missing
   * otherwise. Needs the append lock.
   */
  trimToValidSize(): void {
    this.load();
    const target = this.count * this.entrySize;
    if (!this.fileExists) {
      if (this.isWritable) this.openForWrite(target);
      return;
    }
    if (this.fileLength === target) return;
    const fd = this.openForWrite(undefined);
    assert(fd !== null, 'an existing file opens');
    this.ftruncate(fd, target);
    this.fileLength = target;
    this.tailClean = true;
    this.checkInvariants();
  }

  /**
   * Sets the bound to `maxIndexSize` and the file length to roundDown(maxIndexSize,
   * entrySize), zero-filled (sparse, by ftruncate): the segment is active again, after load or
   * truncation. Creates a missing file. INVALID_ARGUMENT when the entries would not fit.
   * Needs the append lock.
   */
  resize(maxIndexSize: number): void {
    const max = this.checkMaxIndexSize(maxIndexSize);
    this.load();
    const rounded = roundDownToMultiple(max, this.entrySize);
    if (rounded < this.count * this.entrySize) {
      throw this.invalid(`cannot resize to ${maxIndexSize} bytes: ${this.count} entries need ${this.count * this.entrySize}`);
    }
    this.maxSize = max;
    if (this.fileExists && this.fileLength === rounded) return;
    const fd = this.openForWrite(rounded);
    assert(fd !== null, 'resize creates the file');
    if (this.fileLength !== rounded || !this.tailClean) {
      // Cut first so that stale bytes after the entries cannot survive the extension.
      if (!this.tailClean) this.ftruncate(fd, this.count * this.entrySize);
      this.ftruncate(fd, rounded);
      this.fileLength = rounded;
      this.tailClean = true;
    }
    this.checkInvariants();
  }

  /** fdatasyncs the file if this index has written to it since the last flush. */
  flush(): void {
    if (this.fd === null || !this.dirty) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw ioError(err, this.filePath);
    }
    this.dirty = false;
  }

  /**
   * Closes the descriptor and drops the in-memory entries. It does not trim (the segment
   * calls {@link IndexFile.trimToValidSize} first) and does not fsync. The object stays
   * usable: the next call loads the file again, as Kafka's LazyIndex does.
   */
  close(): void {
    this.buf = null;
    this.count = 0;
    this.closeDescriptor();
  }

  /**
   * Renames the file (to `.deleted`, `.swap`, `.cleaned` names) and updates
   * {@link IndexFile.file}; an open descriptor stays valid. An index whose file was never
   * created only changes its name.
   */
  renameTo(newFile: string): void {
    try {
      fs.renameSync(this.filePath, newFile);
    } catch (err) {
      const nothingToMove = (err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(this.filePath);
      if (!nothingToMove) throw ioError(err, this.filePath);
    }
    this.filePath = newFile;
  }

  /** Closes and deletes the file; returns false when it did not exist. */
  deleteIfExists(): boolean {
    this.close();
    try {
      fs.unlinkSync(this.filePath);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw ioError(err, this.filePath);
    }
  }

  // ---- for the subclasses --------------------------------------------------------------

  /** The entries (loads the file). Only the first entries × entrySize bytes are meaningful. */
  protected get data(): Buffer {
    this.load();
    return this.buf as Buffer;
  }

  /**
   * Makes room for one more entry and returns the Buffer to write it into, at byte
   * `entries × entrySize`. Nothing is counted until {@link IndexFile.commitEntry}.
   */
  protected reserveEntry(): Buffer {
    this.load();
    assert(this.count < this.maxEntries, 'callers check isFull before appending');
    this.ensureCapacity(this.count + 1);
    return this.buf as Buffer;
  }

  /**
   * Writes the reserved entry through to the file with one positional write and counts it.
   * If the write fails, nothing is counted and the index is unchanged.
   */
  protected commitEntry(): void {
    const fd = this.openForWrite(roundDownToMultiple(this.maxSize, this.entrySize));
    assert(fd !== null, 'appending creates the file');
    this.cleanTail(fd);
    const at = this.count * this.entrySize;
    this.writeFully(fd, this.buf as Buffer, at, this.entrySize);
    this.count++;
    this.fileLength = Math.max(this.fileLength, at + this.entrySize);
    this.checkInvariants();
  }

  /**
   * Keeps the first `n` entries. The dropped bytes of the file become zero (ftruncate down
   * and back up), so a crash cannot bring them back; a trimmed file stays trimmed.
   */
  protected truncateToEntries(n: number): void {
    this.load();
    assert(Number.isInteger(n) && n >= 0, 'entry counts are non-negative integers');
    if (n >= this.count) return;
    const fd = this.openForWrite(undefined);
    assert(fd !== null, 'a file with entries exists');
    const wasTrimmed = this.fileLength <= this.count * this.entrySize;
    const keep = n * this.entrySize;
    this.ftruncate(fd, keep);
    if (wasTrimmed) this.fileLength = keep;
    else this.ftruncate(fd, this.fileLength);
    this.count = n;
    this.tailClean = true;
    this.checkInvariants();
  }

  /** Largest slot whose key is ≤ `target`, or −1; `keyAt` must not decrease. O(log n). */
  protected largestSlotAtOrBelow(target: number, keyAt: (slot: number) => number): number {
    const n = this.entries;
    if (n === 0 || keyAt(0) > target) return -1;
    // Kafka first searches the last 8 KiB ("warm section") to keep its mapped pages hot;
    // the whole index is in memory here, so a plain binary search does the same work.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (keyAt(mid) <= target) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Smallest slot whose key is ≥ `target`, or `entries`; `keyAt` must not decrease. O(log n). */
  protected firstSlotAtOrAbove(target: number, keyAt: (slot: number) => number): number {
    let lo = 0;
    let hi = this.entries;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keyAt(mid) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** INVALID_ARGUMENT naming this file. */
  protected invalid(message: string): SeglogError {
    return new SeglogError(ErrorCode.INVALID_ARGUMENT, `${this.filePath}: ${message}`, { file: this.filePath });
  }

  /** CORRUPT_INDEX naming this file and, when given, the byte position of the bad entry. */
  protected corrupt(message: string, slot?: number): SeglogError {
    const position = slot === undefined ? undefined : slot * this.entrySize;
    return new SeglogError(ErrorCode.CORRUPT_INDEX, `${this.filePath}: ${message}`, { file: this.filePath, position });
  }

  /** The length check shared by both sanity checks (Kafka's "multiple of entrySize"). */
  protected checkLength(): void {
    this.load();
    if (this.fileLength % this.entrySize !== 0) {
      throw this.corrupt(`length ${this.fileLength} bytes is not a multiple of the entry size ${this.entrySize}`);
    }
  }

  /** INVALID_ARGUMENT unless `n` is an existing entry number (loads the file). */
  protected checkSlot(n: number): void {
    const count = this.entries;
    if (!Number.isInteger(n) || n < 0 || n >= count) throw this.invalid(`no entry ${n}: the index has ${count}`);
  }

  // ---- loading and file handling -------------------------------------------------------

  private checkMaxIndexSize(maxIndexSize: number): number {
    if (!Number.isInteger(maxIndexSize) || maxIndexSize < this.entrySize || maxIndexSize > MAX_INDEX_SIZE) {
      throw new SeglogError(
        ErrorCode.INVALID_ARGUMENT,
        `${this.filePath}: maxIndexSize ${maxIndexSize} is not an integer in [${this.entrySize}, ${MAX_INDEX_SIZE}]`,
        { file: this.filePath },
      );
    }
    return maxIndexSize;
  }

  private load(): void {
    if (this.buf !== null) return;
    let fd: number;
    try {
      fd = fs.openSync(this.filePath, this.isWritable ? 'r+' : 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, this.filePath);
      this.setLoaded(Buffer.alloc(0), 0, false, 0);
      return;
    }
    try {
      const length = fs.fstatSync(fd).size;
      const { buf, entries } = this.readEntries(fd, length);
      this.setLoaded(buf, entries, true, length);
    } catch (err) {
      fs.closeSync(fd);
      this.buf = null;
      throw ioError(err, this.filePath);
    }
    if (this.isWritable) {
      this.fd = fd;
      this.fdWritable = true;
    } else {
      // Inactive segments are many; their entries are in memory, so hold no descriptor.
      try {
        fs.closeSync(fd);
      } catch (err) {
        throw ioError(err, this.filePath);
      }
    }
  }

  private setLoaded(buf: Buffer, entries: number, exists: boolean, length: number): void {
    this.buf = buf;
    this.count = entries;
    this.fileExists = exists;
    this.fileLength = length;
    this.tailClean = entries * this.entrySize === length;
    this.dirty = false;
    this.checkInvariants();
  }

  /**
   * Reads whole entries until the first zero entry after entry 0, the end of the file, or
   * one entry past maxEntries (enough to tell an over-full file from a zero tail). Reads
   * double from one page, so the Buffer stays within about twice the valid bytes.
   */
  private readEntries(fd: number, length: number): { buf: Buffer; entries: number } {
    const size = this.entrySize;
    const slotsInFile = Math.floor(length / size);
    const readable = Math.min(slotsInFile, this.maxEntries + 1);
    let buf: Buffer = Buffer.alloc(0);
    let read = 0;
    let valid = -1;
    while (read < readable && valid < 0) {
      const chunkBytes = Math.min(MAX_LOAD_CHUNK_BYTES, Math.max(FIRST_LOAD_CHUNK_BYTES, read * size));
      const want = Math.min(readable - read, Math.max(1, Math.floor(chunkBytes / size)));
      if (buf.length < (read + want) * size) buf = grow(buf, (read + want) * size);
      const got = Math.floor(this.readFully(fd, buf, read * size, want * size) / size);
      for (let i = Math.max(read, 1); i < read + got; i++) {
        if (isZeroEntry(buf, i * size, size)) {
          valid = i;
          break;
        }
      }
      read += got;
      if (got < want) break; // the file shrank under us: keep what was there
    }
    if (valid < 0) valid = read;
    // Entry 0 may legitimately be all zero, (baseOffset, 0) or (0, baseOffset), and then a
    // non-zero entry follows it. Alone, it is far more likely a preallocated slot nobody wrote
    // (a one-slot file cannot tell trimmed from preallocated). Counting it would give the time
    // index a last timestamp of 0, which makes the segment look 50 years old to time retention;
    // dropping a real one loses nothing, since lookups answer (baseOffset, 0) and
    // (−1, baseOffset) for an empty index, and retention falls back to the file's mtime.
    if (valid === 1 && isZeroEntry(buf, 0, size)) valid = 0;
    if (valid > this.maxEntries) {
      throw this.corrupt(
        `holds more than ${this.maxEntries} entries (file length ${length}, maxIndexSize ${this.maxSize}); rebuild it from the log`,
        this.maxEntries,
      );
    }
    return { buf, entries: valid };
  }

  /**
   * A read-write descriptor, reopening a read-only one. When the file is missing it is
   * created with length `createLength`, or null is returned if that is undefined.
   */
  private openForWrite(createLength: number | undefined): number | null {
    this.load();
    if (this.fd !== null && this.fdWritable) return this.fd;
    if (!this.fileExists && createLength === undefined) return null;
    this.closeDescriptor(); // a read-only one
    let fd: number;
    try {
      fd = fs.openSync(this.filePath, this.fileExists ? 'r+' : fs.constants.O_RDWR | fs.constants.O_CREAT);
    } catch (err) {
      throw ioError(err, this.filePath);
    }
    this.fd = fd;
    this.fdWritable = true;
    if (!this.fileExists) {
      assert(createLength !== undefined && this.count === 0, 'only an empty index is created');
      this.ftruncate(fd, createLength);
      this.fileExists = true;
      this.fileLength = createLength;
      this.tailClean = true;
    }
    return fd;
  }

  private closeDescriptor(): void {
    const fd = this.fd;
    this.fd = null;
    this.fdWritable = false;
    this.dirty = false;
    if (fd === null) return;
    try {
      fs.closeSync(fd);
    } catch (err) {
      throw ioError(err, this.filePath);
    }
  }

  /** Zeroes whatever a loaded file held after its valid entries, before the first write. */
  private cleanTail(fd: number): void {
    if (this.tailClean) return;
    this.ftruncate(fd, this.count * this.entrySize);
    this.ftruncate(fd, this.fileLength);
    this.tailClean = true;
  }

  private ensureCapacity(entries: number): void {
    const need = entries * this.entrySize;
    const buf = this.buf as Buffer;
    if (buf.length >= need) return;
    const cap = Math.max(need, MIN_CAPACITY_ENTRIES * this.entrySize, buf.length * 2);
    this.buf = grow(buf, Math.min(cap, Math.max(need, this.maxEntries * this.entrySize)));
  }

  private ftruncate(fd: number, length: number): void {
    try {
      fs.ftruncateSync(fd, length);
    } catch (err) {
      throw ioError(err, this.filePath);
    }
    this.dirty = true;
  }

  private writeFully(fd: number, buf: Buffer, at: number, length: number): void {
    try {
      let done = 0;
      while (done < length) done += fs.writeSync(fd, buf, at + done, length - done, at + done);
    } catch (err) {
      // A partial entry may be on disk past `entries`; the next append overwrites it, and
      // recovery rebuilds the index if the process dies first.
      this.tailClean = false;
      throw ioError(err, this.filePath);
    }
    this.dirty = true;
  }

  private readFully(fd: number, buf: Buffer, at: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, at + done, length - done, at + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  private checkInvariants(): void {
    assert(this.count >= 0 && this.count <= this.maxEntries, 'entries within [0, maxEntries]');
    assert(this.buf === null || this.count * this.entrySize <= this.buf.length, 'entries fit the buffer');
    assert(this.fileExists ? this.count * this.entrySize <= this.fileLength : this.count === 0, 'entries fit the file');
  }
}

/** A copy of `buf` in a zeroed Buffer of `capacity` bytes. */
function grow(buf: Buffer, capacity: number): Buffer {
  const next = Buffer.alloc(capacity);
  buf.copy(next, 0, 0, Math.min(buf.length, capacity));
  return next;
}

/** Whether the `size` bytes at `at` are all zero (entry sizes are whole int32 words). */
function isZeroEntry(buf: Buffer, at: number, size: number): boolean {
  for (let p = at; p < at + size; p += 4) if (buf.readInt32BE(p) !== 0) return false;
  return true;
}
