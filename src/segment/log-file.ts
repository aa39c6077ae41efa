/**
 * `LogFile`: one segment's `.log` file, Kafka's FileRecords. Batches back to back, no header.
 *
 * Owns the file descriptor (opened lazily: a log with thousands of inactive segments keeps
 * only the ones in use open), the logical size (bytes of whole batches written; a preallocated
 * file is longer), positional appends with writev, positional reads, truncation and fsync.
 *
 * Invariants: `size` only grows by whole appends and only shrinks by `truncateTo`; every byte
 * below `size` was written by an append that returned. Readers take `size` as their snapshot
 * of the end, so they never see a torn batch.
 *
 * All calls here are synchronous: from the page cache a positional write or read costs about a
 * microsecond, while an awaited fs.promises call costs ~50 µs (thread-pool round trip, see
 * ../shared/reference/dependencies.md). fsync is the one slow call and has an async variant.
 */
import fs from 'node:fs';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { HEADER_SIZE_UP_TO_MAGIC, LAST_OFFSET_DELTA_OFFSET, MAX_TIMESTAMP_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MIN_BATCH_LENGTH_FIELD, RECORD_BATCH_OVERHEAD } from '../limits.js';
import { readInt64 } from '../records/varint.js';

/** How a log file is opened. */
export interface LogFileOptions {
  /** Create the file if it does not exist. */
  create?: boolean;
  /** Preallocate a new file to this many bytes (Kafka's `preallocate`). */
  preallocateBytes?: number;
  /** The logical size when known (a preallocated file is longer than its data). */
  size?: number;
}

/** A batch found by a shallow scan: its position, size and last offset. */
export interface BatchPosition {
  /** Byte position of the batch in the file. */
  position: number;
  /** Bytes of the batch. */
  size: number;
  /** baseOffset + lastOffsetDelta for v2 (the message offset for legacy). */
  lastOffset: number;
  /** The batch's maxTimestamp for v2 (−1 for legacy messages). */
  maxTimestamp: number;
}

/** Largest read of a header scan: enough to hold many batch headers per syscall. */
const SCAN_CHUNK_BYTES = 64 * 1024;
/** First read of a header scan: a page holds the target batch's header in most lookups. */
const SCAN_FIRST_CHUNK_BYTES = 4 * 1024;

/** One `.log` file. */
export class LogFile {
  /** Current path (changes on rename). */
  file: string;
  private fd: number | null = null;
  private sizeBytes: number;
  private dirty = false;
  private closed = false;

  private constructor(file: string, size: number) {
    this.file = file;
    this.sizeBytes = size;
  }

  /**
   * Opens (or creates) a log file. The logical size is `options.size` when given, else the
   * file's length.
   */
  static open(file: string, options: LogFileOptions = {}): LogFile {
    try {
      if (options.create === true && !fs.existsSync(file)) {
        const fd = fs.openSync(file, 'wx+');
        if (options.preallocateBytes !== undefined && options.preallocateBytes > 0) fs.ftruncateSync(fd, options.preallocateBytes);
        const lf = new LogFile(file, 0);
        lf.fd = fd;
        return lf;
      }
      const size = options.size ?? fs.statSync(file).size;
      return new LogFile(file, size);
    } catch (err) {
      throw ioError(err, file);
    }
  }

  /** Bytes of whole batches in the file: the readers' snapshot of the end. */
  get size(): number {
    return this.sizeBytes;
  }

  /** The open descriptor (opened on demand); LOG_CLOSED after close. */
  descriptor(): number {
    return this.handle();
  }

  private handle(): number {
    if (this.closed) throw new SeglogError(ErrorCode.LOG_CLOSED, `${this.file} is closed`);
    if (this.fd === null) {
      try {
        this.fd = fs.openSync(this.file, 'r+');
      } catch (err) {
        throw ioError(err, this.file);
      }
    }
    return this.fd;
  }

  /**
   * Appends buffers at the logical end with one writev (retried on partial writes) and
   * returns the position of the first byte. Not re-entrant: the log's writer queue is the only
   * caller.
   */
  append(buffers: readonly Buffer[]): number {
    const fd = this.handle();
    const start = this.sizeBytes;
    let total = 0;
    for (const b of buffers) total += b.length;
    let written = 0;
    try {
      let pending = buffers.slice();
      while (written < total) {
        const n = fs.writevSync(fd, pending, start + written);
        written += n;
        if (written < total) pending = dropBytes(pending, n);
      }
    } catch (err) {
      // Bytes past `start` may be on disk; they are outside `size`, and the next append or a
      // truncation overwrites them. Recovery would cut them as a torn tail.
      throw ioError(err, this.file);
    }
    this.sizeBytes = start + total;
    this.dirty = true;
    return start;
  }

  /** Reads `length` bytes at `position` into a new buffer; fewer if the file ends first. */
  read(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(buf, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  /** Reads into `buf` from `position` until it is full or the file ends; returns bytes read. */
  readInto(buf: Buffer, position: number, length = buf.length): number {
    const fd = this.handle();
    let done = 0;
    try {
      while (done < length) {
        const n = fs.readSync(fd, buf, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (err) {
      throw ioError(err, this.file);
    }
    return done;
  }

  /**
   * Shallow scan of batch headers from `position` up to `end` (default: the logical size):
   * yields each complete batch's position, size and last offset, reading 64 KiB at a time.
   * Stops at a partial batch (end of data) and throws CORRUPT_RECORD at a length below the
   * minimum, like Kafka's FileLogInputStream. CRCs are not checked.
   */
  *scan(position = 0, end = this.sizeBytes): Generator<BatchPosition, void, undefined> {
    // Most scans stop at the first or second batch (an index lookup lands just before the
    // target), so start with a small read and grow it only while the scan goes on: a fixed
    // 64 KiB read per lookup was 85% of a random read's cost (bench/log/read.bench.ts).
    let chunk = Buffer.allocUnsafe(SCAN_FIRST_CHUNK_BYTES);
    let chunkStart = -1;
    let chunkLen = 0;
    let pos = position;
    while (end - pos >= HEADER_SIZE_UP_TO_MAGIC) {
      // Keep a whole v2 header (or what is left of the file) in the chunk.
      const want = Math.min(RECORD_BATCH_OVERHEAD, end - pos);
      if (chunkStart < 0 || pos + want > chunkStart + chunkLen) {
        if (chunkStart >= 0 && chunk.length < SCAN_CHUNK_BYTES) chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, chunk.length * 4));
        chunkStart = pos;
        chunkLen = this.readInto(chunk, pos, Math.min(chunk.length, end - pos));
      }
      const at = pos - chunkStart;
      if (chunkLen - at < HEADER_SIZE_UP_TO_MAGIC) return; // the file is shorter than its size says
      const length = chunk.readInt32BE(at + LENGTH_OFFSET);
      if (length < MIN_BATCH_LENGTH_FIELD) {
        throw new SeglogError(ErrorCode.CORRUPT_RECORD, `${this.file}: batch length ${length} at position ${pos} is below ${MIN_BATCH_LENGTH_FIELD}`, { file: this.file, position: pos });
      }
      const size = LOG_OVERHEAD + length;
      if (size > end - pos) return;
      const magic = chunk.readInt8(at + MAGIC_OFFSET);
      let lastOffset: number;
      let maxTimestamp = -1;
      if (magic >= 2) {
        if (chunkLen - at < RECORD_BATCH_OVERHEAD) return;
        lastOffset = readInt64(chunk, at, 'baseOffset') + chunk.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET);
        maxTimestamp = readInt64(chunk, at + MAX_TIMESTAMP_OFFSET, 'maxTimestamp');
      } else {
        lastOffset = readInt64(chunk, at, 'offset');
      }
      yield { position: pos, size, lastOffset, maxTimestamp };
      pos += size;
    }
  }

  /**
   * Kafka's searchForOffsetWithSize: the first batch at or after `startingPosition` whose last
   * offset is ≥ `targetOffset`, or null.
   */
  searchForOffset(targetOffset: number, startingPosition: number, end = this.sizeBytes): BatchPosition | null {
    for (const b of this.scan(startingPosition, end)) if (b.lastOffset >= targetOffset) return b;
    return null;
  }

  /** Cuts the file to `size` bytes (the logical size follows). Returns the bytes removed. */
  truncateTo(size: number): number {
    assert(size >= 0 && size <= Math.max(this.sizeBytes, size), 'truncate within the file');
    const fd = this.handle();
    const before = this.sizeBytes;
    try {
      fs.ftruncateSync(fd, size);
    } catch (err) {
      throw ioError(err, this.file);
    }
    this.sizeBytes = size;
    this.dirty = true;
    return Math.max(0, before - size);
  }

  /** Trims a preallocated file to its logical size (on roll and close). */
  trimToSize(): void {
    if (this.fd === null && this.closed) return;
    const fd = this.handle();
    try {
      if (fs.fstatSync(fd).size !== this.sizeBytes) fs.ftruncateSync(fd, this.sizeBytes);
    } catch (err) {
      throw ioError(err, this.file);
    }
  }

  /** fsyncs data written since the last flush (synchronously). */
  flush(): void {
    if (!this.dirty || this.fd === null) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw ioError(err, this.file);
    }
    this.dirty = false;
  }

  /** fsyncs in the thread pool, so appends can be coalesced meanwhile. */
  async flushAsync(): Promise<void> {
    if (!this.dirty || this.fd === null) return;
    const fd = this.fd;
    this.dirty = false;
    await new Promise<void>((resolve, reject) => {
      fs.fdatasync(fd, (err) => {
        if (err) {
          this.dirty = true;
          reject(ioError(err, this.file));
        } else resolve();
      });
    });
  }

  /** Renames the file (for `.deleted`, `.swap`, `.cleaned`); the open descriptor stays valid. */
  renameTo(file: string): void {
    try {
      fs.renameSync(this.file, file);
    } catch (err) {
      throw ioError(err, this.file);
    }
    this.file = file;
  }

  /** Closes the descriptor; further use is LOG_CLOSED. */
  close(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch (err) {
        throw ioError(err, this.file);
      }
      this.fd = null;
    }
    this.closed = true;
  }

  /** Closes the descriptor but allows reopening on next use (for idle inactive segments). */
  release(): void {
    if (this.fd !== null && !this.dirty) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Deletes the file if it exists; returns whether it did. */
  deleteIfExists(): boolean {
    this.close();
    try {
      fs.unlinkSync(this.file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw ioError(err, this.file);
    }
  }

  /** Last modification time of the file in epoch ms. */
  lastModifiedMs(): number {
    try {
      return fs.statSync(this.file).mtimeMs;
    } catch (err) {
      throw ioError(err, this.file);
    }
  }
}

/** The buffers left after the first `n` bytes of `buffers` were written. */
function dropBytes(buffers: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i].length) n -= buffers[i++].length;
  const rest = buffers.slice(i);
  if (rest.length > 0 && n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}
