/**
 * A partition's leader epoch cache: which leader epoch began at which offset, with Kafka's
 * `LeaderEpochFileCache` semantics, persisted as `<partition dir>/leader-epoch-checkpoint`
 * (format in `checkpoint.ts`).
 *
 * Invariants (re-checked after every mutation):
 * - entries are ordered with both `epoch` and `startOffset` strictly increasing;
 * - every epoch is in [0, 2^31 − 1] and every start offset in [0, 2^53 − 1].
 *
 * Differences from Kafka, by design: Kafka writes the checkpoint inside `assign` (synchronously)
 * and schedules a background write after truncations; here every mutation only marks the cache
 * dirty and {@link LeaderEpochCache.flush} writes it when something changed. The log layer calls
 * `flush()` after an `assign` that returned true and before the batch that caused it is
 * acknowledged, which keeps Kafka's guarantee that the file never misses an epoch the log holds
 * (a stale file after truncation is repaired by truncating again at load, as Kafka does).
 *
 * Concurrency: not re-entrant; all mutating calls and `flush()` need the log's append lock.
 */
import path from 'node:path';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, invalidArgument } from '../errors.js';
import { LEADER_EPOCH_CHECKPOINT_FILE, readLeaderEpochCheckpoint, writeLeaderEpochCheckpoint, type EpochEntry } from './checkpoint.js';

export type { EpochEntry } from './checkpoint.js';

/** Kafka's `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH`: no such epoch. */
export const UNDEFINED_EPOCH = -1;
/** Kafka's `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH_OFFSET`: no end offset known. */
export const UNDEFINED_EPOCH_OFFSET = -1;

const INT_MAX = 0x7fffffff;

/** The answer to an OffsetsForLeaderEpoch question ({@link LeaderEpochCache.endOffsetFor}). */
export interface EpochEndOffset {
  /** The largest known epoch ≤ the requested one (or the requested one), or {@link UNDEFINED_EPOCH}. */
  readonly epoch: number;
  /** Where that epoch ends (the next epoch's start, or the log end), or {@link UNDEFINED_EPOCH_OFFSET}. */
  readonly endOffset: number;
}

function sameEntries(a: readonly EpochEntry[], b: readonly EpochEntry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.epoch === b[i].epoch && e.startOffset === b[i].startOffset);
}

function checkOffsetArgument(name: string, offset: number): void {
  if (!Number.isInteger(offset)) throw invalidArgument(`${name} ${offset} is not an integer`);
  if (!Number.isSafeInteger(offset)) throw new SeglogError(ErrorCode.VALUE_OUT_OF_RANGE, `${name} ${offset} is beyond 2^53 - 1`);
}

/** Kafka's LeaderEpochFileCache over one partition directory. */
export class LeaderEpochCache {
  /** Path of the checkpoint file this cache flushes to. */
  readonly file: string;
  #entries: EpochEntry[] = [];
  #dirty = false;

  private constructor(file: string) {
    this.file = file;
  }

  /**
   * Loads the cache of a partition directory from its `leader-epoch-checkpoint` (none: empty).
   * Like Kafka's constructor, each stored entry goes through {@link assign}, so a file whose
   * entries are not monotonic loads as the monotonic cache Kafka would build (and is marked
   * dirty so the next flush rewrites it).
   *
   * @param dir - the partition directory
   * @throws SeglogError as the checkpoint reader does; CORRUPT_CHECKPOINT for a
   *   negative epoch or start offset in the file
   */
  static load(dir: string): LeaderEpochCache {
    const cache = new LeaderEpochCache(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE));
    const stored = readLeaderEpochCheckpoint(cache.file);
    for (const e of stored) {
      if (e.epoch < 0 || e.startOffset < 0) {
        // Kafka's load fails here too (IllegalArgumentException from assign).
        throw new SeglogError(ErrorCode.CORRUPT_CHECKPOINT, `${cache.file}: malformed checkpoint: invalid entry epoch ${e.epoch} startOffset ${e.startOffset}`, {
          file: cache.file,
        });
      }
      cache.assign(e.epoch, e.startOffset);
    }
    cache.#dirty = !sameEntries(stored, cache.#entries);
    return cache;
  }

  /**
   * An empty cache for a partition directory, not read from disk (a new partition). Its first
   * flush creates the checkpoint.
   *
   * @param dir - the partition directory
   */
  static empty(dir: string): LeaderEpochCache {
    return new LeaderEpochCache(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE));
  }

  /** True when the cache differs from what it last loaded or flushed. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /**
   * Records that `epoch` began at `startOffset` (Kafka calls this for every appended batch with
   * its partitionLeaderEpoch and baseOffset). Nothing changes when `epoch` equals the latest
   * epoch and `startOffset` is not lower than its start. Otherwise entries whose epoch is ≥
   * `epoch` or whose start is ≥ `startOffset` are removed from the end, then the entry is added.
   *
   * Needs the append lock; not re-entrant.
   *
   * @returns true when the cache changed (call {@link flush} before acknowledging the batch)
   * @throws SeglogError INVALID_ARGUMENT for a negative or non-int32 epoch or a negative offset
   */
  assign(epoch: number, startOffset: number): boolean {
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > INT_MAX) throw invalidArgument(`leader epoch ${epoch} is not in [0, ${INT_MAX}]`);
    checkOffsetArgument('start offset', startOffset);
    if (startOffset < 0) throw invalidArgument(`start offset ${startOffset} of epoch ${epoch} is negative`);
    const latest = this.latestEntry;
    if (latest !== undefined && epoch === latest.epoch && startOffset >= latest.startOffset) return false;
    const e = this.#entries;
    while (e.length > 0 && (e[e.length - 1].epoch >= epoch || e[e.length - 1].startOffset >= startOffset)) e.pop();
    e.push(Object.freeze({ epoch, startOffset }));
    this.#changed();
    return true;
  }

  /** The latest epoch, or undefined when the cache is empty. */
  get latestEpoch(): number | undefined {
    return this.latestEntry?.epoch;
  }

  /** The entry with the highest epoch, or undefined. */
  get latestEntry(): EpochEntry | undefined {
    return this.#entries[this.#entries.length - 1];
  }

  /** The entry with the lowest epoch, or undefined. */
  get earliestEntry(): EpochEntry | undefined {
    return this.#entries[0];
  }

  /** A copy of the entries, in epoch order. */
  entries(): EpochEntry[] {
    return this.#entries.slice();
  }

  /**
   * Kafka's OffsetsForLeaderEpoch answer: the largest known epoch ≤ `requestedEpoch` and the
   * offset where it ends.
   *
   * - `requestedEpoch` is {@link UNDEFINED_EPOCH} (−1): (−1, −1);
   * - it is the latest epoch: (`requestedEpoch`, `logEndOffset`);
   * - no known epoch is above it: (−1, −1);
   * - it is below every known epoch: (`requestedEpoch`, start of the first epoch) — the data
   *   before it is gone, so the follower truncates to where the log now starts;
   * - otherwise: (largest known epoch ≤ requested, start of the next known epoch).
   *
   * @param requestedEpoch - the epoch asked about
   * @param logEndOffset - the log's current end offset
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    if (requestedEpoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const e = this.#entries;
    const higher = e.findIndex((x) => x.epoch > requestedEpoch);
    if (higher < 0) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (higher === 0) return { epoch: requestedEpoch, endOffset: e[0].startOffset };
    return { epoch: e[higher - 1].epoch, endOffset: e[higher].startOffset };
  }

  /**
   * The epoch of the record at `offset`: the epoch of the last entry starting at or before it,
   * or undefined when `offset` is before every entry (Kafka's `epochForOffset`).
   */
  epochForOffset(offset: number): number | undefined {
    let found: number | undefined;
    for (const x of this.#entries) {
      if (x.startOffset > offset) break;
      found = x.epoch;
    }
    return found;
  }

  /**
   * Removes the entries that start at or after `endOffset` (the log was truncated to end
   * there). A negative `endOffset` is ignored, as in Kafka.
   *
   * Needs the append lock.
   *
   * @returns the removed entries, highest epoch first
   */
  truncateFromEnd(endOffset: number): EpochEntry[] {
    const removed: EpochEntry[] = [];
    if (endOffset < 0) return removed;
    const e = this.#entries;
    while (e.length > 0 && e[e.length - 1].startOffset >= endOffset) removed.push(e.pop()!);
    if (removed.length > 0) this.#changed();
    return removed;
  }

  /**
   * Drops what lies before a new log start offset. Entries starting at or before `startOffset`
   * are removed, and the last of them — the epoch in force at `startOffset` — is put back with
   * its start moved up to `startOffset`. So `truncateFromStart(6)` keeps an entry starting at 6,
   * and entries starting after `startOffset` are untouched.
   *
   * Needs the append lock.
   *
   * @returns the removed entries, in epoch order (the last one was re-added at `startOffset`)
   */
  truncateFromStart(startOffset: number): EpochEntry[] {
    const e = this.#entries;
    let n = 0;
    while (n < e.length && e[n].startOffset <= startOffset) n++;
    if (n === 0) return [];
    const removed = e.splice(0, n);
    const straddling = removed[removed.length - 1];
    e.unshift(Object.freeze({ epoch: straddling.epoch, startOffset }));
    // Only an entry exactly at startOffset was "removed and re-added": nothing changed.
    if (n > 1 || straddling.startOffset !== startOffset) this.#changed();
    return removed;
  }

  /** Removes every entry. Needs the append lock. */
  clear(): void {
    if (this.#entries.length === 0) return;
    this.#entries = [];
    this.#changed();
  }

  /**
   * Writes the checkpoint atomically if the cache changed since it was loaded or last flushed.
   *
   * Needs the append lock (a concurrent flush would share the `.tmp` file).
   *
   * @returns true when it wrote the file
   * @throws SeglogError IO_ERROR when the write fails (the cache stays dirty)
   */
  flush(): boolean {
    if (!this.#dirty) return false;
    writeLeaderEpochCheckpoint(this.file, this.#entries);
    this.#dirty = false;
    return true;
  }

  #changed(): void {
    this.#dirty = true;
    const e = this.#entries;
    for (let i = 1; i < e.length; i++) {
      assert(e[i].epoch > e[i - 1].epoch && e[i].startOffset > e[i - 1].startOffset, `leader epoch entries strictly increasing at ${i}`);
    }
  }
}
