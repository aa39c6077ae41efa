/**
 * The cleaner's segment I/O: reading an inactive segment in chunks of whole batches, and
 * writing a group's kept batches into `.cleaned` segments (split into several outputs when one
 * would exceed segment.bytes, its indexes, or the int32 relative-offset range), finished as
 * Kafka finishes a cleaned segment: final time-index entry, trimmed files, fsync, the last
 * source segment's mtime.
 */
import type { AbortedTxn } from '../segment/txn-index.js';
import fs from 'node:fs';
import { ErrorCode, SeglogError, corrupt, ioError } from '../errors.js';
import { LOG_OVERHEAD } from '../limits.js';
import { RecordBatch } from '../records/batch.js';
import { BatchWalker } from '../records/walker.js';
import { CLEANED_FILE_SUFFIX } from '../log/loader.js';
import { LogSegment, type SegmentAppend } from '../segment/segment.js';
import { observeProducerBatch, producerHeaderOf, type ProducerSummary } from './producers.js';
import type { CleanerHost } from './types.js';

/** Bytes read per chunk; a larger batch is read whole on its own. Kafka's io buffer is 512 KiB for read + write. */
const READ_CHUNK_BYTES = 256 * 1024;

/** A chunk of whole batches read from a segment. */
export interface Chunk {
  batches: { batch: RecordBatch; position: number }[];
  bytes: number;
}

/**
 * Reads an inactive segment's batches from `position` in chunks of whole batches (a batch
 * larger than a chunk is read on its own). Legacy (magic < 2) data is not cleaned.
 */
export function* readChunks(seg: LogSegment, position: number): Generator<Chunk, void, undefined> {
  const end = seg.size;
  const file = seg.log.file;
  let pos = position;
  while (pos < end) {
    let buf = seg.log.read(pos, Math.min(READ_CHUNK_BYTES, end - pos));
    const batches: Chunk['batches'] = [];
    const walker = new BatchWalker(buf, { file });
    for (const { batch, position: at } of walker) {
      if (!(batch instanceof RecordBatch)) throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `${file}: legacy (magic < 2) batch at ${pos + at}; seglog cleans v2 data only`, { file });
      batches.push({ batch, position: pos + at });
    }
    let consumed = walker.position;
    if (batches.length === 0) {
      const whole = buf.length >= LOG_OVERHEAD ? LOG_OVERHEAD + buf.readInt32BE(8) : 0;
      if (whole <= buf.length || whole > end - pos) throw corrupt(`${file}: no whole batch at position ${pos} of an inactive segment of ${end} bytes`, pos, file);
      buf = seg.log.read(pos, whole);
      batches.push({ batch: RecordBatch.at(buf), position: pos });
      consumed = whole;
    }
    yield { batches, bytes: consumed };
    pos += consumed;
  }
}

/** Writes a group's kept batches into one or more `.cleaned` segments. */
export class OutputWriter {
  private readonly host: CleanerHost;
  private readonly now: number;
  private readonly outputs: { seg: LogSegment; producers: Map<number, ProducerSummary> }[] = [];
  private pending: SegmentAppend[] = [];
  private pendingBytes = 0;

  constructor(host: CleanerHost, firstBase: number, now: number) {
    this.host = host;
    this.now = now;
    // The first output always starts at the group's first base, even if it stays empty: the
    // loader's swap range starts there.
    this.open(firstBase);
  }

  private get current(): { seg: LogSegment; producers: Map<number, ProducerSummary> } {
    return this.outputs[this.outputs.length - 1];
  }

  private open(base: number): void {
    const seg = LogSegment.create(this.host.dir, base, this.host.segmentConfig, { now: this.now, suffix: CLEANED_FILE_SUFFIX });
    this.outputs.push({ seg, producers: new Map() });
  }

  /**
   * Queues one batch, starting a new output when the current one cannot take it. A kept ABORT
   * marker brings its aborted transaction, recorded in the `.txnindex` of the output it goes to.
   */
  add(buffer: Buffer, abortedTxn?: AbortedTxn): void {
    const batch = RecordBatch.at(buffer);
    const lastOffset = batch.lastOffset;
    const cur = this.current.seg;
    const used = cur.size + this.pendingBytes;
    const n = this.pending.length;
    const mustSplit =
      !cur.canConvertToRelativeOffset(lastOffset) ||
      (used > 0 &&
        (used + buffer.length > this.host.config.segmentBytes ||
          cur.offsetIndex.entries + n + 1 >= cur.offsetIndex.maxEntries ||
          cur.timeIndex.entries + n + 2 >= cur.timeIndex.maxEntries));
    if (mustSplit) {
      this.flush();
      this.open(batch.baseOffset);
    }
    this.pending.push({ buffer, lastOffset, maxTimestamp: batch.maxTimestamp });
    this.pendingBytes += buffer.length;
    if (abortedTxn !== undefined) this.current.seg.txnIndex.append(abortedTxn);
    observeProducerBatch(this.current.producers, producerHeaderOf(batch));
  }

  /** Appends the queued batches (one writev). Returns the bytes written. */
  flush(): number {
    if (this.pending.length === 0) return 0;
    this.current.seg.append(this.pending);
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    return bytes;
  }

  /**
   * Finishes every output: final time-index entry, trimmed files, fsync, the mtime of the last
   * source segment (retention of segments without timestamps reads it), reopened read-only.
   */
  finish(mtimeMs: number): { seg: LogSegment; producers: Map<number, ProducerSummary> }[] {
    this.flush();
    const done: { seg: LogSegment; producers: Map<number, ProducerSummary> }[] = [];
    for (const { seg, producers } of this.outputs) {
      seg.onBecomeInactiveSegment();
      seg.flush();
      seg.close();
      const mtime = new Date(mtimeMs);
      for (const f of [seg.log.file, seg.offsetIndex.file, seg.timeIndex.file, seg.txnIndex.file]) {
        try {
          if (fs.existsSync(f)) fs.utimesSync(f, mtime, mtime);
        } catch (err) {
          throw ioError(err, f);
        }
      }
      const reopened = LogSegment.open(this.host.dir, seg.baseOffset, this.host.segmentConfig, { now: this.now, writable: false, fileSuffix: CLEANED_FILE_SUFFIX });
      done.push({ seg: reopened, producers });
    }
    this.outputs.length = 0;
    return done;
  }

  /** Deletes every output (the round was abandoned before its swap). */
  discard(): void {
    for (const { seg } of this.outputs) seg.deleteFiles();
    this.outputs.length = 0;
  }
}
