/**
 * The last batch of each producer, for the cleaner's "keep the batch that holds a producer's
 * last sequence" rule (Kafka's `lastRecordsOfActiveProducers` + `isBatchLastRecordOfProducer`).
 *
 * Kafka reads this from its producer state manager. The cleaner derives it from the batch
 * headers of the whole log instead, which needs no coordination with the log's writer: per
 * producer id, its last data batch (last offset, epoch) and its last entry of any kind. A
 * producer counts as active until producer.id.expiration.ms (Kafka's default: one day) has
 * passed since the max timestamp of its last entry, unless that entry is transactional data
 * (an open transaction never expires, as in Kafka).
 *
 * Kafka's rule, as applied per batch of a producer that is active:
 * 1. it has a last data offset: keep (possibly empty) the batch whose last offset is it — that
 *    batch carries the producer's last sequence number;
 * 2. its last entry is a marker written with a new epoch (Kafka clears the batch metadata on an
 *    epoch bump): keep its control batches of that epoch, which carry the epoch for fencing.
 *
 * Only headers are read (61 bytes per batch, in 256 KiB chunks). Inactive segments never
 * change, so their summaries are cached per segment object; the active segment is re-read
 * each time.
 */
import { RECORD_BATCH_OVERHEAD, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, ATTRIBUTES_OFFSET, LAST_OFFSET_DELTA_OFFSET, MAX_TIMESTAMP_OFFSET, PRODUCER_ID_OFFSET, PRODUCER_EPOCH_OFFSET, MIN_BATCH_LENGTH_FIELD } from '../limits.js';
import { CONTROL_FLAG_MASK, TRANSACTIONAL_FLAG_MASK } from '../records/attributes.js';
import type { RecordBatch } from '../records/batch.js';
import { readInt64 } from '../records/varint.js';
import { corrupt } from '../errors.js';
import type { LogSegment } from '../segment/segment.js';

/** Kafka's producer.id.expiration.ms default: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

/** Header bytes read per chunk. */
const HEADER_SCAN_CHUNK_BYTES = 256 * 1024;

/** A producer's latest entries in a range of the log. */
export interface ProducerSummary {
  /** The last data batch: its last offset and epoch; null when none was seen. */
  lastData: { lastOffset: number; epoch: number } | null;
  /** The last batch of any kind. */
  lastEntry: { lastOffset: number; epoch: number; isControl: boolean; isTransactional: boolean; maxTimestamp: number };
}

/** The fields the tracker needs from a batch header. */
export interface ProducerBatchHeader {
  /** producerId (≥ 0 for producers that are tracked). */
  producerId: number;
  /** producerEpoch. */
  producerEpoch: number;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  /** maxTimestamp. */
  maxTimestamp: number;
  /** Control flag. */
  isControl: boolean;
  /** Transactional flag. */
  isTransactional: boolean;
}

/** Folds one batch (in log order) into a producer map. */
export function observeProducerBatch(map: Map<number, ProducerSummary>, h: ProducerBatchHeader): void {
  if (h.producerId < 0) return;
  const entry = { lastOffset: h.lastOffset, epoch: h.producerEpoch, isControl: h.isControl, isTransactional: h.isTransactional, maxTimestamp: h.maxTimestamp };
  const prev = map.get(h.producerId);
  const lastData = h.isControl ? (prev?.lastData ?? null) : { lastOffset: h.lastOffset, epoch: h.producerEpoch };
  map.set(h.producerId, { lastData, lastEntry: entry });
}

/** The header fields of a batch view. */
export function producerHeaderOf(b: RecordBatch): ProducerBatchHeader {
  return { producerId: b.producerId, producerEpoch: b.producerEpoch, lastOffset: b.lastOffset, maxTimestamp: b.maxTimestamp, isControl: b.isControl, isTransactional: b.isTransactional };
}

/** The active producers of a log at one moment, answering Kafka's isBatchLastRecordOfProducer. */
export class ActiveProducers {
  private readonly producers: Map<number, ProducerSummary>;

  /**
   * @param producers - each producer's summary over the whole log
   * @param now - the cleaning time
   * @param expirationMs - producer.id.expiration.ms
   */
  constructor(producers: Map<number, ProducerSummary>, now: number, expirationMs: number) {
    this.producers = new Map();
    for (const [id, s] of producers) {
      const openTxn = s.lastEntry.isTransactional && !s.lastEntry.isControl;
      if (openTxn || now - s.lastEntry.maxTimestamp < expirationMs) this.producers.set(id, s);
    }
  }

  /** Number of active producers. */
  get size(): number {
    return this.producers.size;
  }

  /** Whether `batch` must be kept (possibly empty) to preserve its producer's state. */
  isLastBatchOfProducer(batch: ProducerBatchHeader): boolean {
    if (batch.producerId < 0) return false;
    const s = this.producers.get(batch.producerId);
    if (s === undefined) return false;
    const { lastData, lastEntry } = s;
    // A marker with another epoch than the last data batch is an epoch bump: Kafka's producer
    // state then has no last data offset, only the epoch, which the marker carries.
    const bumped = lastEntry.isControl && (lastData === null || lastData.epoch !== lastEntry.epoch);
    if (!bumped && lastData !== null) return batch.lastOffset === lastData.lastOffset;
    return batch.isControl && batch.producerEpoch === lastEntry.epoch;
  }
}

/** Caches per-segment summaries across cleanings of one log. */
export class ProducerTracker {
  private readonly cache = new WeakMap<LogSegment, Map<number, ProducerSummary>>();

  /** Stores the summary of a segment the cleaner just wrote. */
  remember(segment: LogSegment, summary: Map<number, ProducerSummary>): void {
    this.cache.set(segment, summary);
  }

  /**
   * The summary of every producer over `segments` (in order). `onChunk` runs after each chunk
   * read (the cleaner yields and throttles there).
   */
  async collect(segments: readonly LogSegment[], onChunk: (bytes: number) => Promise<void>): Promise<Map<number, ProducerSummary>> {
    const all = new Map<number, ProducerSummary>();
    for (const seg of segments) {
      let summary = seg.isActive ? undefined : this.cache.get(seg);
      if (summary === undefined) {
        summary = await scanSegment(seg, onChunk);
        if (!seg.isActive) this.cache.set(seg, summary);
      }
      for (const [id, s] of summary) {
        const prev = all.get(id);
        all.set(id, { lastData: s.lastData ?? prev?.lastData ?? null, lastEntry: s.lastEntry });
      }
    }
    return all;
  }
}

/** Reads the batch headers of one segment (up to its size now) into a summary. */
async function scanSegment(seg: LogSegment, onChunk: (bytes: number) => Promise<void>): Promise<Map<number, ProducerSummary>> {
  const out = new Map<number, ProducerSummary>();
  const end = seg.size;
  const chunk = Buffer.allocUnsafe(HEADER_SCAN_CHUNK_BYTES);
  let pos = 0;
  while (end - pos >= RECORD_BATCH_OVERHEAD) {
    const len = seg.log.readInto(chunk, pos, Math.min(chunk.length, end - pos));
    let at = 0;
    while (len - at >= RECORD_BATCH_OVERHEAD) {
      const length = chunk.readInt32BE(at + LENGTH_OFFSET);
      if (length < MIN_BATCH_LENGTH_FIELD) throw corrupt(`${seg.log.file}: batch length ${length} at position ${pos + at}`, pos + at, seg.log.file);
      const size = LOG_OVERHEAD + length;
      if (chunk.readInt8(at + MAGIC_OFFSET) === MAGIC_V2) {
        const attributes = chunk.readInt16BE(at + ATTRIBUTES_OFFSET);
        observeProducerBatch(out, {
          producerId: readInt64(chunk, at + PRODUCER_ID_OFFSET, 'producerId'),
          producerEpoch: chunk.readInt16BE(at + PRODUCER_EPOCH_OFFSET),
          lastOffset: readInt64(chunk, at, 'baseOffset') + chunk.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET),
          maxTimestamp: readInt64(chunk, at + MAX_TIMESTAMP_OFFSET, 'maxTimestamp'),
          isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
          isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
        });
      }
      at += size;
    }
    if (at === 0) break; // cannot happen with a 256 KiB chunk and a 61-byte header; guards the loop
    pos += at;
    await onChunk(Math.min(at, len));
  }
  return out;
}
