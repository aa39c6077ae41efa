/**
 * One bounded read of decoded records from a partition log, shared by `EventStore.read` and the
 * consumers: a single `Log.read` (a zero-copy slice, bounded by bytes and by the high
 * watermark) materialized once, its batches decoded one by one until a record limit.
 *
 * Invariants: records are returned in offset order, all at or after the requested offset and
 * below the high watermark at the time of the call; control batches (transaction markers) are
 * skipped, as Kafka's consumers skip them; every decoded batch's CRC is checked first
 * (INVALID_CRC), as `check.crcs`. `nextOffset` is where the next read continues: after the last
 * record returned when the limit cut a batch, else after the last whole batch read — which
 * moves past offsets compaction removed and past control batches, so a caller never loops.
 */
import { assert } from '../assert.js';
import { ErrorCode, SeglogError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { LogRecord } from '../records/types.js';

/** What {@link fetchRecords} read. */
export interface FetchResult {
  /** The records, in offset order. */
  records: LogRecord[];
  /** Offset to continue from. */
  nextOffset: number;
  /** Bytes of the slice read. */
  bytesRead: number;
}

/**
 * Reads records of `log` from `offset`.
 *
 * @param log - the partition log
 * @param offset - first offset wanted, in [logStartOffset, logEndOffset] (else OFFSET_OUT_OF_RANGE)
 * @param maxBytes - bound of the read (at least one whole batch is read)
 * @param maxRecords - most records to return (≥ 1)
 */
export async function fetchRecords(log: Log, offset: number, maxBytes: number, maxRecords: number): Promise<FetchResult> {
  assert(maxRecords >= 1, 'a fetch asks for at least one record');
  const hw = log.highWatermark;
  if (!Number.isSafeInteger(offset) || offset < log.logStartOffset || offset > log.logEndOffset) {
    throw new SeglogError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${log.logStartOffset}, ${log.logEndOffset}] of ${log.dir}`);
  }
  if (offset >= hw) return { records: [], nextOffset: offset, bytesRead: 0 };
  const slice = log.read(offset, { maxBytes, maxOffset: hw });
  // Nothing from `offset` below the high watermark holds a record: all of it was compacted away.
  if (slice.isEmpty) return { records: [], nextOffset: hw, bytesRead: 0 };
  const bytes = slice.materialize();
  const records: LogRecord[] = [];
  let next = offset;
  for (const batch of slice.batches(bytes)) {
    if (batch.nextOffset <= next) continue;
    if (!batch.isControl) {
      batch.ensureValid();
      // Uncompressed batches decode in place; compressed ones decompress off the event loop.
      const decoded = batch.compression === 'none' ? batch.records() : await batch.recordsAsync();
      for (const r of decoded) {
        if (r.offset < next) continue;
        if (records.length >= maxRecords) return { records, nextOffset: next, bytesRead: bytes.length };
        records.push(r);
        next = r.offset + 1;
      }
    }
    next = Math.max(next, batch.nextOffset);
  }
  assert(next > offset, 'a non-empty read moves the fetch offset');
  return { records, nextOffset: Math.min(next, hw), bytesRead: bytes.length };
}
