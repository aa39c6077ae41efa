/**
 * `LogSlice`: the zero-copy result of a read — a byte range of one segment's `.log` file.
 *
 * A slice does no I/O until it is used. It can be materialized into one Buffer (sync from the
 * page cache, or async through the thread pool), iterated as batches, or iterated as records.
 * Like a Kafka fetch, the range starts at a batch boundary and may end inside a batch; iteration
 * treats that partial batch as the end. A slice keeps reading valid bytes after its segment is
 * deleted by retention (files are renamed, not removed, while readers may hold them), but not
 * after the log is closed (LOG_CLOSED).
 */
import fs from 'node:fs';
import type net from 'node:net';
import { ioError } from '../errors.js';
import { sendFile } from '../native/sendfile.js';
import { RecordBatch } from '../records/batch.js';
import type { LogRecord } from '../records/types.js';
import { BatchWalker } from '../records/walker.js';
import type { LogFile } from '../segment/log-file.js';
import type { AbortedTxn } from '../segment/txn-index.js';
import { AbortedTransactionFilter } from './transactions.js';

/** A byte range of a segment file, read lazily. */
export class LogSlice {
  /** The segment file the bytes are in (at the time of the read). */
  readonly file: string;
  /** Position of the first byte in the file. */
  readonly position: number;
  /** Number of bytes. */
  readonly size: number;
  /** The offset the read asked for: records below it in the first batch are skipped by {@link records}. */
  readonly startOffset: number;
  /**
   * For a read_committed read: the aborted transactions overlapping the slice (Kafka's
   * FetchResponse abortedTransactions, sorted by first offset), which {@link records} leaves
   * out. Null for a read_uncommitted read.
   */
  readonly abortedTransactions: readonly AbortedTxn[] | null;
  private readonly source: LogFile | null;

  /** @internal Built by the log's read path. */
  constructor(source: LogFile | null, position: number, size: number, startOffset: number, abortedTransactions: readonly AbortedTxn[] | null = null) {
    this.source = source;
    this.file = source?.file ?? '';
    this.position = position;
    this.size = size;
    this.startOffset = startOffset;
    this.abortedTransactions = abortedTransactions;
  }

  /** An empty slice (a read at the log end). */
  static empty(startOffset: number, abortedTransactions: readonly AbortedTxn[] | null = null): LogSlice {
    return new LogSlice(null, 0, 0, startOffset, abortedTransactions === null ? null : []);
  }

  /** Whether the slice holds no bytes. */
  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Reads the bytes into one new Buffer, synchronously (fast from the page cache). */
  materialize(): Buffer {
    if (this.source === null || this.size === 0) return Buffer.alloc(0);
    return this.source.read(this.position, this.size);
  }

  /** Reads the bytes into one new Buffer through the thread pool (for cold or large reads). */
  async materializeAsync(): Promise<Buffer> {
    if (this.source === null || this.size === 0) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(this.size);
    const fd = this.source.descriptor();
    let done = 0;
    while (done < this.size) {
      const n = await new Promise<number>((resolve, reject) => {
        fs.read(fd, buf, done, this.size - done, this.position + done, (err, bytes) => (err ? reject(ioError(err, this.file)) : resolve(bytes)));
      });
      if (n === 0) break;
      done += n;
    }
    return done === this.size ? buf : buf.subarray(0, done);
  }

  /**
   * Sends the slice's bytes to a socket (or a raw fd) and resolves with the bytes sent: the
   * slice's size, or fewer if the file was truncated under the read. Zero-copy with sendfile(2)
   * when the native addon is loaded (see {@link native}), non-blocking and resumed when the
   * socket drains; otherwise reads into a pooled 256 KiB buffer and writes with back-pressure.
   *
   * Errors: `SeglogError` IO_ERROR with the errno name (`EPIPE`, `ECONNRESET`, ...) when the
   * socket is closed or fails, LOG_CLOSED if the log closes during the send. Sends to one socket
   * run in call order; do not `socket.write` to it until the promise settles. Bytes sent with
   * sendfile are not counted in `socket.bytesWritten`.
   *
   * @param target - a connected `net.Socket`, or a file descriptor (non-blocking or a regular
   *   file, so the event loop is not blocked while it is full)
   */
  sendTo(target: net.Socket | number): Promise<number> {
    if (this.source === null || this.size === 0) return Promise.resolve(0);
    return sendFile(target, this.source, this.position, this.size);
  }

  /** The complete v2 batches in the slice, in order (a partial last batch is left out). */
  *batches(bytes: Buffer = this.materialize()): Generator<RecordBatch, void, undefined> {
    for (const { batch } of new BatchWalker(bytes, { file: this.file })) {
      if (batch instanceof RecordBatch) yield batch;
    }
  }

  /**
   * The records of the slice at or after {@link startOffset}, decoded lazily batch by batch.
   * Control records (transaction markers) are skipped, as Kafka's consumers skip them; each
   * batch's CRC is checked first (INVALID_CRC), as Kafka's consumers do with check.crcs. A
   * read_committed slice also skips the batches of its {@link abortedTransactions}.
   */
  *records(bytes: Buffer = this.materialize()): Generator<LogRecord, void, undefined> {
    const filter = this.abortedTransactions === null ? null : new AbortedTransactionFilter(this.abortedTransactions);
    for (const batch of this.batches(bytes)) {
      if (filter?.skip(batch) === true) continue;
      if (batch.isControl || batch.lastOffset < this.startOffset) continue;
      batch.ensureValid();
      for (const r of batch.records()) if (r.offset >= this.startOffset) yield r;
    }
  }
}
