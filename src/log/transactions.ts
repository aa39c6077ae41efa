/**
 * What the log needs around producer state and transactions: reading a segment's batch headers
 * for a producer-state replay, collecting the aborted transactions of a fetch range from the
 * segments' `.txnindex` files, and the read_committed filter.
 *
 * The filter is Kafka's consumer-side rule (CompletedFetch): the aborted transactions of a fetch
 * are kept ordered by first offset; before each batch with a producer id, every aborted
 * transaction whose first offset is ≤ the batch's last offset marks its producer as "aborting";
 * an ABORT marker of that producer ends it; a transactional data batch of an aborting producer
 * is skipped whole. Control batches never reach an application.
 */
import { parseControlRecordKey } from '../records/control.js';
import { RecordBatch } from '../records/batch.js';
import { BatchWalker } from '../records/walker.js';
import type { LogSegment } from '../segment/segment.js';
import { collectAbortedTransactions, type AbortedTxn } from '../segment/txn-index.js';
import type { ProducerStateSegment } from './producer-state.js';

/** Read isolation, Kafka's `isolation.level`. */
export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** Bytes read per chunk when walking a segment's batches for a replay. */
const REPLAY_CHUNK_BYTES = 1024 * 1024;

/**
 * The batches of one segment from the one holding `startOffset` until the first whose last
 * offset is ≥ `endOffset` (that one included), read in chunks. Each batch is a view into the
 * current chunk: use it before advancing. CRCs are not checked (the data was checked when it
 * was appended or recovered).
 */
export function* segmentBatches(seg: LogSegment, startOffset: number, endOffset: number): Generator<RecordBatch, void, undefined> {
  let position = startOffset > seg.baseOffset ? (seg.translateOffset(startOffset)?.position ?? seg.size) : 0;
  const end = seg.size;
  let buf = Buffer.allocUnsafe(Math.min(REPLAY_CHUNK_BYTES, Math.max(end - position, 0)));
  while (position < end) {
    const n = seg.log.readInto(buf, position, Math.min(buf.length, end - position));
    const walker = new BatchWalker(buf.subarray(0, n), { file: seg.log.file });
    for (const { batch } of walker) {
      if (!(batch instanceof RecordBatch)) continue;
      yield batch;
      if (batch.lastOffset >= endOffset) return;
    }
    if (walker.position === 0) {
      // A batch larger than the chunk: read it whole (bounded by the bytes present).
      const whole = n >= 12 ? 12 + buf.readInt32BE(8) : 0;
      if (whole <= buf.length || whole > end - position) return;
      buf = Buffer.allocUnsafe(whole);
      continue;
    }
    position += walker.position;
  }
}

/** The log's segments as a producer-state rebuild reads them. */
export function producerStateSegments(segments: readonly LogSegment[]): ProducerStateSegment[] {
  return segments.map((seg) => ({ baseOffset: seg.baseOffset, batches: (start: number, end: number) => segmentBatches(seg, start, end) }));
}

/**
 * The aborted transactions overlapping [fetchOffset, upperBoundOffset), from the `.txnindex`
 * of the segment at `segmentIndex` (the one holding fetchOffset) and the later ones, sorted by
 * first offset (Kafka's LocalLog.collectAbortedTransactions).
 */
export function abortedTransactionsIn(segments: readonly LogSegment[], segmentIndex: number, fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
  if (upperBoundOffset <= fetchOffset) return [];
  const txns = collectAbortedTransactions(
    segments.slice(segmentIndex).map((s) => s.txnIndex),
    fetchOffset,
    upperBoundOffset,
  );
  return txns.sort((a, b) => a.firstOffset - b.firstOffset);
}

/** The read_committed filter of one fetch's batches (Kafka's CompletedFetch rule). */
export class AbortedTransactionFilter {
  private readonly pending: AbortedTxn[];
  private next = 0;
  private readonly aborting = new Set<number>();

  /** @param abortedTransactions - the fetch's aborted transactions (any order) */
  constructor(abortedTransactions: readonly AbortedTxn[]) {
    this.pending = [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * Whether a read_committed reader must skip `batch`: a control batch (never delivered), or a
   * transactional batch of a producer whose transaction was aborted. Call it for every batch
   * of the fetch, in order.
   */
  skip(batch: RecordBatch): boolean {
    if (batch.producerId >= 0) {
      while (this.next < this.pending.length && this.pending[this.next].firstOffset <= batch.lastOffset) {
        this.aborting.add(this.pending[this.next].producerId);
        this.next++;
      }
      if (batch.isControl) {
        if (this.aborting.has(batch.producerId) && isAbortMarker(batch)) this.aborting.delete(batch.producerId);
        return true;
      }
      return batch.isTransactional && this.aborting.has(batch.producerId);
    }
    return batch.isControl;
  }
}

function isAbortMarker(batch: RecordBatch): boolean {
  const first = batch.records().next();
  return first.done !== true && parseControlRecordKey(first.value.key).type === 'ABORT';
}
