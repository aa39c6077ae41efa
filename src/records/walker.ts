/**
 * Walks a buffer of batches written back to back (a `.log` file or a slice of one), the way
 * Kafka's FileLogInputStream does:
 *
 * 1. fewer than 17 bytes left (not enough to see the magic): end of data;
 * 2. a length field below 14 (Kafka's smallest legacy record): CORRUPT_RECORD — a zero-filled
 *    preallocated tail lands here, and recovery truncates it;
 * 3. a batch that runs past the end of the buffer: end of data (a partially written last
 *    batch is not an error);
 * 4. magic 2: a {@link RecordBatch}; magic 0/1: a {@link LegacyBatch}; anything else:
 *    UNSUPPORTED_FORMAT.
 *
 * CRCs are not checked here (callers decide, as Kafka's recovery does with ensureValid).
 */
import { ErrorCode, SeglogError, corrupt } from '../errors.js';
import { HEADER_SIZE_UP_TO_MAGIC, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, MIN_BATCH_LENGTH_FIELD } from '../limits.js';
import { RecordBatch } from './batch.js';
import { LegacyBatch } from './legacy.js';

/** One batch found by the walker, with its position in the walked buffer. */
export interface WalkedBatch {
  /** Byte position of the batch in the buffer. */
  position: number;
  /** The batch view. */
  batch: RecordBatch | LegacyBatch;
}

/**
 * A cursor over back-to-back batches. `position` is where the next batch starts; after the
 * walk ends it is the end of the last complete batch (the valid prefix).
 */
export class BatchWalker implements IterableIterator<WalkedBatch> {
  /** The buffer being walked. */
  readonly buf: Buffer;
  /** Where the next batch starts. */
  position: number;
  /** One past the last byte that may be read. */
  readonly end: number;
  /** Name of the file being walked, for error messages. */
  readonly file: string | undefined;

  /**
   * @param buf - the bytes to walk
   * @param options - start and end positions, and a file name for errors
   */
  constructor(buf: Buffer, options: { start?: number; end?: number; file?: string } = {}) {
    this.buf = buf;
    this.position = options.start ?? 0;
    this.end = options.end ?? buf.length;
    this.file = options.file;
  }

  /** Bytes after `position` that did not form a complete batch (valid only once the walk ended). */
  get remainingBytes(): number {
    return this.end - this.position;
  }

  /** The next batch, or `done` at the end of data. */
  next(): IteratorResult<WalkedBatch, undefined> {
    const pos = this.position;
    const left = this.end - pos;
    if (left < HEADER_SIZE_UP_TO_MAGIC) return { done: true, value: undefined };
    const length = this.buf.readInt32BE(pos + LENGTH_OFFSET);
    if (length < MIN_BATCH_LENGTH_FIELD) {
      throw corrupt(`batch length ${length} at position ${pos} is below the minimum of ${MIN_BATCH_LENGTH_FIELD}`, pos, this.file);
    }
    if (length > left - LOG_OVERHEAD) return { done: true, value: undefined };
    const magic = this.buf.readInt8(pos + MAGIC_OFFSET);
    const view = this.buf.subarray(0, this.end);
    let batch: RecordBatch | LegacyBatch;
    try {
      if (magic === MAGIC_V2) batch = RecordBatch.at(view, pos);
      else if (magic === 0 || magic === 1) batch = LegacyBatch.at(view, pos);
      else throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `unknown magic ${magic} at position ${pos}`, { position: pos, file: this.file });
    } catch (err) {
      if (err instanceof SeglogError && err.file === undefined && this.file !== undefined) {
        throw new SeglogError(err.code, `${this.file}: ${err.message}`, { position: pos, file: this.file, cause: err });
      }
      throw err;
    }
    this.position = pos + LOG_OVERHEAD + length;
    return { done: false, value: { position: pos, batch } };
  }

  /** The walker is its own iterator. */
  [Symbol.iterator](): BatchWalker {
    return this;
  }
}

/** Iterates the complete batches of `buf` (see {@link BatchWalker}). */
export function walkBatches(buf: Buffer, options: { start?: number; end?: number; file?: string } = {}): BatchWalker {
  return new BatchWalker(buf, options);
}
