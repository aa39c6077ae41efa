/**
 * `LogCleaner`: Kafka's log compaction for one log (LogCleaner's `Cleaner.doClean` plus the
 * parts of LogCleanerManager and LocalLog.replaceSegments it needs).
 *
 * One round:
 * 1. plan (in the writer's order, from a snapshot): firstDirtyOffset, firstUncleanableOffset,
 *    dirty ratio, max.compaction.lag.ms (see plan.ts); stop unless the log should be cleaned;
 * 2. offset map over the dirty segments (control batches skipped); when it fills, the round
 *    ends at map.latestOffset + 1 = endOffset;
 * 3. every segment from the log start up to endOffset, grouped into outputs ≤ segment.bytes,
 *    is rewritten into `<base>.log.cleaned` (+ `.index.cleaned`, `.timeindex.cleaned`) by the
 *    filter (filter.ts); the outputs are trimmed and fsynced;
 * 4. swap, per group, in the writer's order (`exclusive`), after checking that the group's
 *    segments are still the log's (retention or truncation may have changed them meanwhile;
 *    then the round is abandoned and the `.cleaned` files deleted): `.cleaned` → `.swap` →
 *    old segments `.deleted` (deferred removal) → final names, see swap.ts for the order and
 *    for what the loader makes of a crash at each point;
 * 5. `cleaner-offset-checkpoint` = endOffset (in the writer's order). It is written last: a
 *    crash before it only means the next round re-cleans an already clean range.
 *
 * One deliberate difference from Kafka: the last batch of a group's last source segment is
 * kept even when it becomes empty (filter.ts), at most one 61-byte batch per output. The loader
 * deletes the originals a `.swap` replaces by offset range — up to the swap's next offset — so
 * without it a crash between the `.swap` and `.deleted` renames could bring back a replaced
 * segment whose batches were all removed (Kafka keeps only the round's last batch).
 *
 * Concurrency: steps 2–3 run outside the writer's chain, reading only inactive segments (which
 * never change), in chunks of 256 KiB, yielding to the event loop after each chunk, so appends
 * and reads go on. Every step that touches the log's state runs in `exclusive` after a
 * synchronous check of the abort flag (set by close) — so close never waits on a swap queued
 * behind it — and of the log's truncation generation. One round at a time per log.
 */
import { abortedTransactionsIn } from '../log/transactions.js';
import { performance } from 'node:perf_hooks';
import { ErrorCode, SeglogError } from '../errors.js';
import { segmentIndexFor, type LogSegment } from '../segment/segment.js';
import { filterBatch, newFilterStats, TransactionTracker, type FilterContext, type FilterStats } from './filter.js';
import { OffsetMap } from './offset-map.js';
import { groupSegmentsBySize, planCleaning, type CleanPlan } from './plan.js';
import { ActiveProducers, DEFAULT_PRODUCER_ID_EXPIRATION_MS, ProducerTracker } from './producers.js';
import { OutputWriter, readChunks } from './segment-io.js';
import { SimulatedCrash, swapSegments } from './swap.js';
import { Throttler } from './throttle.js';
import type { CleanOptions, CleanReport, CleanerHost, CleanerOptions, CleanerStep, LogSnapshot } from './types.js';

export type { CleanOptions, CleanReport, CleanerHost, CleanerOptions, CleanerStep, LogSnapshot } from './types.js';

/** Thrown inside a round to stop it. */
class RoundAborted extends Error {
  constructor(readonly reason: NonNullable<CleanReport['reason']>) {
    super(reason);
  }
}

/**
 * Longest stretch of cleaning work between two turns of the event loop. The round is CPU-bound
 * (decode, hash, rebuild: ~0.5 M records/s measured on this machine), so a 256 KiB chunk alone
 * holds the loop ~4 ms; yielding by time keeps an append's added latency near this value.
 */
const TIME_SLICE_MS = 1;

/** Waits for the event loop to turn (I/O callbacks of appends and reads run). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One log's cleaner. Rounds are serialised. */
export class LogCleaner {
  private readonly host: CleanerHost;
  private readonly defaults: CleanerOptions;
  private readonly producers = new ProducerTracker();
  private queue: Promise<unknown> = Promise.resolve();
  private running = 0;
  private abortRequested = false;
  /** Throttle sleeps in progress: an abort ends them at once, so close never waits out a long one. */
  private readonly sleepers = new Set<() => void>();

  /**
   * @param host - the log
   * @param defaults - options every round starts from
   */
  constructor(host: CleanerHost, defaults: CleanerOptions = {}) {
    this.host = host;
    this.defaults = defaults;
  }

  /** Whether a round is running or queued. */
  get busy(): boolean {
    return this.running > 0;
  }

  /** Stops the running round at its next step (close). Later rounds are refused. */
  requestAbort(): void {
    this.abortRequested = true;
    for (const wake of [...this.sleepers]) wake();
  }

  /** Resolves when no round is running (errors swallowed). */
  async whenIdle(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  /** Runs a round after any running one. */
  clean(options: CleanOptions = {}): Promise<CleanReport> {
    this.running++;
    const merged = { ...this.defaults, ...options };
    const round = () => new Round(this.host, { ...merged, sleep: this.abortableSleep(merged.sleep) }, this.producers, () => this.abortRequested);
    const run = this.queue.then(() => round().run());
    this.queue = run.catch(() => undefined);
    return run.finally(() => {
      this.running--;
    });
  }

  /** `sleep` (a real timer by default) that an abort request ends early. */
  private abortableSleep(sleep: ((ms: number) => Promise<void>) | undefined): (ms: number) => Promise<void> {
    return (ms) =>
      new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const wake = () => {
          if (timer !== undefined) clearTimeout(timer);
          this.sleepers.delete(wake);
          resolve();
        };
        this.sleepers.add(wake);
        if (this.abortRequested) wake();
        else if (sleep === undefined) timer = setTimeout(wake, ms);
        else sleep(ms).then(wake, wake);
      });
  }
}

/** One cleaning round. */
class Round {
  private readonly host: CleanerHost;
  private readonly options: CleanOptions;
  private readonly tracker: ProducerTracker;
  private readonly aborted: () => boolean;
  private readonly throttle: Throttler;
  private startGeneration = -1;
  private readonly started = performance.now();
  private readonly stats: FilterStats = newFilterStats();
  private bytesRead = 0;
  private bytesWritten = 0;
  private group = 0;
  private swaps = 0;
  private lastYieldMs = performance.now();

  constructor(host: CleanerHost, options: CleanOptions, tracker: ProducerTracker, aborted: () => boolean) {
    this.host = host;
    this.options = options;
    this.tracker = tracker;
    this.aborted = aborted;
    this.throttle = new Throttler({ bytesPerSecond: options.ioMaxBytesPerSecond, clock: () => host.clock(), sleep: options.sleep });
  }

  async run(): Promise<CleanReport> {
    const host = this.host;
    let start: { snapshot: LogSnapshot; checkpoint: number | undefined; now: number };
    try {
      start = await this.inWriterOrder(() => {
        this.startGeneration = host.generation();
        return { snapshot: host.snapshot(), checkpoint: host.readCheckpoint(), now: host.clock() };
      });
    } catch (err) {
      if (err instanceof RoundAborted) throw new SeglogError(ErrorCode.LOG_CLOSED, `log ${host.dir} is closed`);
      throw err;
    }
    const { snapshot, now } = start;
    const segs = snapshot.segments;
    const plan = planCleaning({
      segments: segs,
      logStartOffset: snapshot.logStartOffset,
      logEndOffset: snapshot.logEndOffset,
      highWatermark: snapshot.highWatermark,
      checkpoint: start.checkpoint,
      now,
      minCompactionLagMs: host.config.minCompactionLagMs,
      maxCompactionLagMs: host.config.maxCompactionLagMs,
      minCleanableDirtyRatio: host.config.minCleanableDirtyRatio,
    });
    const report = this.report(plan, segs.length);
    if (!host.config.cleanupPolicy.includes('compact')) return { ...report, reason: 'not-compacted' };
    const cleanable = segs.filter((s, i) => i < segs.length - 1 && s.baseOffset < plan.firstUncleanableOffset);
    try {
      if (plan.checkpointReset && start.checkpoint !== undefined) {
        // Kafka rewrites an out-of-range checkpoint at once (forceUpdateCheckpoint).
        await this.inWriterOrder(() => host.writeCheckpoint(plan.firstDirtyOffset));
      }
      if (cleanable.length === 0) return { ...report, reason: 'nothing-to-clean' };
      if (!plan.shouldClean && this.options.force !== true) return { ...report, reason: 'not-cleanable' };
      return await this.clean(plan, segs, now, report);
    } catch (err) {
      if (err instanceof SimulatedCrash) throw err.original;
      let reason: CleanReport['reason'] | undefined;
      if (err instanceof RoundAborted) reason = err.reason;
      else if (err instanceof SeglogError && (err.code === ErrorCode.LOG_CLOSED || err.code === ErrorCode.IO_ERROR) && this.sourcesChanged(cleanable)) {
        // Retention or truncation removed a segment while it was being read.
        reason = 'aborted-segments-changed';
      }
      if (reason === undefined) throw err;
      return { ...this.report(plan, segs.length), ran: this.swaps > 0, aborted: true, reason, segmentsAfter: this.segmentCountNow(segs.length) };
    }
  }

  /** Whether some of `segments` are no longer the log's. */
  private sourcesChanged(segments: readonly LogSegment[]): boolean {
    if (this.host.isClosed()) return true;
    const current = new Set(this.host.snapshot().segments);
    return segments.some((s) => !current.has(s));
  }

  /** The log's segment count, read synchronously (a count needs no writer turn). */
  private segmentCountNow(fallback: number): number {
    return this.host.isClosed() ? fallback : this.host.snapshot().segments.length;
  }

  private async clean(plan: CleanPlan, segs: LogSegment[], now: number, base: CleanReport): Promise<CleanReport> {
    const host = this.host;
    const summaries = await this.tracker.collect(segs, (bytes) => this.afterChunk(bytes));
    const producers = new ActiveProducers(summaries, now, this.options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS);
    const map = new OffsetMap({ maxBytes: this.options.dedupeBufferSize, loadFactor: this.options.dedupeBufferLoadFactor });
    await this.buildOffsetMap(map, segs, plan);
    const endOffset = map.latestOffset + 1;
    if (endOffset <= plan.firstDirtyOffset && plan.cleanableBytes > 0 && map.isFull) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `the offset map (dedupe buffer of ${map.maxBytes} bytes) cannot hold the keys of one batch at offset ${plan.firstDirtyOffset}; raise dedupeBufferSize`);
    }
    const toClean = segs.filter((s, i) => i < segs.length - 1 && s.baseOffset < endOffset);
    const groups = groupSegmentsBySize(toClean, { maxSize: host.config.segmentBytes, maxIndexSize: host.config.segmentIndexBytes, firstUncleanableOffset: plan.firstUncleanableOffset });
    const ctx: FilterContext = { map, now, deleteRetentionMs: host.config.deleteRetentionMs, producers, txns: new TransactionTracker(), upperBoundOffset: plan.firstUncleanableOffset, stats: this.stats };
    let written = 0;
    for (const group of groups) {
      this.group++;
      const outputs = await this.cleanGroup(group, ctx, now, segs);
      written += outputs.length;
      await this.swap(group, outputs);
      this.swaps++;
    }
    const segmentsAfter = await this.inWriterOrder(() => {
      this.step('before-checkpoint');
      host.writeCheckpoint(endOffset);
      this.step('checkpointed');
      return host.snapshot().segments.length;
    });
    return {
      ...this.report(plan, base.segmentsBefore),
      ran: true,
      endOffset,
      segmentsCleaned: toClean.length,
      segmentsWritten: written,
      segmentsAfter,
      offsetMapKeys: map.size,
      offsetMapUtilization: map.utilization,
    };
  }

  private report(plan: CleanPlan, segmentsBefore: number): CleanReport {
    const s = this.stats;
    return {
      ran: false,
      aborted: false,
      firstDirtyOffset: plan.firstDirtyOffset,
      firstUncleanableOffset: plan.firstUncleanableOffset,
      endOffset: plan.firstDirtyOffset,
      dirtyRatio: plan.dirtyRatio,
      needsCompactionNow: plan.needsCompactionNow,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
      recordsRead: s.recordsRead,
      recordsKept: s.recordsKept,
      recordsRemoved: s.recordsRead - s.recordsKept,
      batchesCopied: s.batchesCopied,
      batchesRebuilt: s.batchesRebuilt,
      emptyBatches: s.emptyBatches,
      batchesRemoved: s.batchesRemoved,
      segmentsBefore,
      segmentsAfter: segmentsBefore,
      segmentsCleaned: 0,
      segmentsWritten: 0,
      offsetMapKeys: 0,
      offsetMapUtilization: 0,
      throttledMs: this.throttle.sleptMs,
      durationMs: performance.now() - this.started,
    };
  }

  // ---- steps in the writer's order

  /** Checks abort and generation synchronously, then queues `task` in the writer's order. */
  private inWriterOrder<T>(task: () => T): Promise<T> {
    this.checkContinue();
    return this.host.exclusive(() => {
      this.checkContinue();
      return task();
    });
  }

  private checkContinue(): void {
    if (this.aborted() || this.host.isClosed()) throw new RoundAborted('aborted-closed');
    if (this.startGeneration >= 0 && this.host.generation() !== this.startGeneration) throw new RoundAborted('aborted-truncated');
  }

  private step(step: CleanerStep, file?: string): void {
    const hook = this.options.onStep;
    if (hook === undefined) return;
    try {
      hook(step, { group: this.group, file });
    } catch (err) {
      throw new SimulatedCrash(err);
    }
  }

  /** Accounts a chunk of I/O: throttles, yields to the event loop, stops when asked. */
  private async afterChunk(readBytes: number, writtenBytes = 0): Promise<void> {
    this.bytesRead += readBytes;
    this.bytesWritten += writtenBytes;
    await this.throttle.maybeThrottle(readBytes + writtenBytes);
    await yieldToEventLoop();
    this.lastYieldMs = performance.now();
    this.checkContinue();
  }

  /** Yields to the event loop when the current slice of work is over (called per batch). */
  private async slice(): Promise<void> {
    if (performance.now() - this.lastYieldMs < TIME_SLICE_MS) return;
    await yieldToEventLoop();
    this.lastYieldMs = performance.now();
    this.checkContinue();
  }

  // ---- the offset map

  /** Kafka's buildOffsetMap over the segments overlapping [firstDirty, firstUncleanable). */
  private async buildOffsetMap(map: OffsetMap, segs: LogSegment[], plan: CleanPlan): Promise<void> {
    const start = plan.firstDirtyOffset;
    const end = plan.firstUncleanableOffset;
    map.updateLatestOffset(start - 1);
    if (start >= end) return;
    const last = segs.length - 1;
    for (let i = segmentIndexFor(segs, start); i < last && segs[i].baseOffset < end; i++) {
      const seg = segs[i];
      const nextStart = Math.min(segs[i + 1].baseOffset, end);
      const from = seg.baseOffset >= start ? 0 : (seg.translateOffset(start)?.position ?? seg.size);
      for (const chunk of readChunks(seg, from)) {
        for (const { batch } of chunk.batches) {
          if (batch.lastOffset < start) continue;
          await this.slice();
          if (!batch.isControl) {
            batch.ensureValid();
            for (const r of await batch.recordsAsync()) {
              if (r.key === null || r.offset < start) continue;
              if (map.isFull) return; // Kafka's endOffset rule: stop here; latestOffset is the last whole batch
              map.put(r.key, r.offset);
            }
          }
          map.updateLatestOffset(batch.lastOffset);
        }
        await this.afterChunk(chunk.bytes);
      }
      // Offsets past the last batch (a gap before the next segment) count as mapped.
      map.updateLatestOffset(nextStart - 1);
    }
  }

  // ---- rewriting one group

  /** Writes the `.cleaned` outputs of a group, trimmed, fsynced and reopened read-only. */
  private async cleanGroup(group: LogSegment[], ctx: FilterContext, now: number, segs: readonly LogSegment[]): Promise<LogSegment[]> {
    const writer = new OutputWriter(this.host, group[0].baseOffset, now);
    try {
      for (let k = 0; k < group.length; k++) {
        const seg = group[k];
        const isLastSource = k === group.length - 1;
        // Kafka collects the aborted transactions over the source segment's whole offset range
        // (the next segment's base as the bound), so the tracker knows every aborted
        // transaction with data in it, whichever later segment's index holds its entry.
        const at = segs.indexOf(seg);
        const upper = at + 1 < segs.length ? segs[at + 1].baseOffset : seg.readNextOffset();
        ctx.txns.addAbortedTransactions(abortedTransactionsIn(segs, at, seg.baseOffset, upper));
        for (const chunk of readChunks(seg, 0)) {
          for (const { batch, position } of chunk.batches) {
            const lastOfGroup = isLastSource && position + batch.sizeInBytes === seg.size;
            await this.slice();
            const outcome = await filterBatch(batch, ctx, lastOfGroup);
            if (outcome !== null) writer.add(outcome.buffer, outcome.abortedTxn);
          }
          const written = writer.flush();
          await this.afterChunk(chunk.bytes, written);
        }
      }
      const outputs = writer.finish(group[group.length - 1].log.lastModifiedMs());
      for (const { seg, producers } of outputs) this.tracker.remember(seg, producers);
      this.step('cleaned-written');
      return outputs.map((o) => o.seg);
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) writer.discard();
      throw err;
    }
  }

  // ---- the swap

  /** Replaces `sources` by `outputs` in the writer's order (swap.ts); abandons the round if they changed. */
  private async swap(sources: LogSegment[], outputs: LogSegment[]): Promise<void> {
    const host = this.host;
    let attempted = false;
    try {
      await this.inWriterOrder(async () => {
        // A rolled segment may still be being fsynced in the background: its files must not be
        // retired (and, with file.delete.delay.ms = 0, closed) under that fsync.
        await host.backgroundSettled();
        this.checkContinue();
        attempted = true;
        if (!swapSegments(host, sources, outputs, (s, file) => this.step(s, file))) throw new RoundAborted('aborted-segments-changed');
      });
    } catch (err) {
      // Not started (abort, closed, or the sources changed): nothing is visible, drop the outputs.
      const untouched = !attempted || (err instanceof RoundAborted && err.reason === 'aborted-segments-changed');
      if (untouched && !(err instanceof SimulatedCrash)) for (const out of outputs) out.deleteFiles();
      throw err;
    }
  }
}
