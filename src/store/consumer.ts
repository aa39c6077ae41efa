/**
 * `Consumer`: reads one topic's partitions as an async iterator, in one of three modes:
 * - a group member (`group`, no `partitions`): the group's members in this process split the
 *   partitions (group.ts) and a partition starts at the group's committed offset;
 * - manual assignment (`partitions`, with or without `group`): those partitions, no membership;
 *   with a group, commits are stored under it and the start is its committed offset;
 * - neither: every partition of the topic, no commits.
 * Where there is no commit, `from` decides (default `latest`, Kafka's auto.offset.reset).
 *
 * Delivery: each partition has a fetch offset and a small buffer of decoded records. The
 * iterator hands out buffered records; when every buffer is empty it reads one bounded chunk
 * from a partition that has data (fetch.ts), taking partitions in turn; when no partition has
 * data it awaits `Log.waitForAppend` on every assigned partition (and an abort signal the
 * consumer fires on close or reassignment) — no timer, no polling: an append wakes it. At most
 * `maxBufferedRecords` decoded records are held, and a chunk is only read when the caller asks
 * for the next record, so a slow caller holds the consumer back (back-pressure).
 *
 * Positions (Kafka's): `position(p)` is the offset of the next record to deliver. Commits store
 * "the next offset to read": `commit(record)` commits `record.offset + 1`, `commit()` every
 * assigned partition's position. At-least-once unless you commit before processing.
 * Auto-commit commits, every interval, the position as of the last `next()` call (the records
 * the caller came back from, so processed), and on revocation and close everything delivered —
 * as the Java consumer commits `allConsumed()` in those places.
 *
 * Concurrency: `next()` calls are served one at a time, in call order. Not safe to share one
 * consumer's iterator between independent loops.
 */
import { ErrorCode, SeglogError, invalidArgument } from '../errors.js';
import type { Log } from '../log/log.js';
import type { LogRecord } from '../records/types.js';
import { fetchRecords } from './fetch.js';
import type { AssignmentStrategy, ConsumerGroup, GroupMember } from './group.js';
import type { CommitEntry } from './offsets.js';

/** A record as the store returns it: a log record plus where it lives. */
export interface StoreRecord extends LogRecord {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
}

/** Where a consumer starts in a partition the group has no commit for. */
export type StartFrom =
  | 'earliest'
  | 'latest'
  | {
      /** Start at this offset. */
      offset: number;
    }
  | {
      /** Start at the first record with a timestamp at or after this one (epoch ms). */
      timestamp: number;
    };

/** Options of `EventStore.subscribe`. */
export interface SubscribeOptions {
  /** Consumer group: commits are stored under it; without `partitions`, joins its members. */
  group?: string;
  /** Where to start without a commit (default `latest`, Kafka's auto.offset.reset). */
  from?: StartFrom;
  /** Manual assignment: read exactly these partitions, no group membership. */
  partitions?: number[];
  /** Commit automatically (needs a group): true = every 5000 ms (Kafka's default), or an interval. */
  autoCommit?:
    | boolean
    | {
        /** How often to commit what was delivered (ms). */
        intervalMs: number;
      };
  /** The group's assignor (default `range`, Kafka's classic default). */
  assignment?: AssignmentStrategy;
  /** Most decoded records held in memory (default 500, Kafka's max.poll.records). */
  maxBufferedRecords?: number;
}

/** Kafka's auto.commit.interval.ms default. */
export const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5000;
/** Kafka's max.poll.records default: the most records a consumer decodes ahead of its caller. */
export const DEFAULT_MAX_BUFFERED_RECORDS = 500;
/** Largest chunk read from one partition at a time (Kafka's max.partition.fetch.bytes). */
const MAX_FETCH_BYTES = 1024 * 1024;
/** Smallest chunk read: below a page, reads cost more than they save. */
const MIN_FETCH_BYTES = 4096;

/** What a consumer needs from its store. @internal */
export interface ConsumerHost {
  /** The partition log (UNKNOWN_TOPIC when the topic is gone). */
  log(topic: string, partition: number): Log;
  /** Partition count of a topic. */
  partitionCount(topic: string): number;
  /** The group's committed offset, or null. */
  committed(group: string, topic: string, partition: number): number | null;
  /** Commits for a group (durable in the offsets topic when it resolves). */
  commit(group: string, entries: CommitEntry[]): Promise<void>;
  /** The in-process group (created on first use). */
  group(id: string, strategy: AssignmentStrategy): ConsumerGroup;
  /** Called when the consumer has closed. */
  unregister(consumer: Consumer): void;
}

/** One assigned partition's state. */
interface PartitionState {
  readonly partition: number;
  readonly log: Log;
  /** Next offset to read from the log. */
  fetchOffset: number;
  /** Decoded records not delivered yet, from `head`. */
  buffer: StoreRecord[];
  head: number;
  /** Estimated bytes per record, to size the next read to the free buffer space. */
  bytesPerRecord: number;
}

/** A consumer of one topic. Iterate it with `for await`; close it when done. */
export class Consumer implements AsyncIterable<StoreRecord> {
  /** The topic. */
  readonly topic: string;
  /** The group, if any. */
  readonly group: string | undefined;
  private readonly host: ConsumerHost;
  private readonly from: StartFrom;
  private readonly maxBuffered: number;
  private readonly autoCommit: boolean;
  private readonly member: (GroupMember & { consumer: Consumer }) | null = null;
  private readonly groupRef: ConsumerGroup | null = null;
  private readonly parts = new Map<number, PartitionState>();
  /** Assigned partitions in delivery order; `cursor` says whose turn it is. */
  private order: number[] = [];
  private cursor = 0;
  private buffered = 0;
  /** Positions as of the last next() call: what the interval auto-commit commits. */
  private processed = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private waiting: AbortController | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Resolves when the first assignment of a group member is in place. */
  private readonly joined: Promise<void>;

  /** @internal Created by `EventStore.subscribe`. */
  constructor(host: ConsumerHost, topic: string, options: SubscribeOptions = {}) {
    this.host = host;
    this.topic = topic;
    this.group = options.group;
    this.from = validateFrom(options.from ?? 'latest');
    this.maxBuffered = options.maxBufferedRecords ?? DEFAULT_MAX_BUFFERED_RECORDS;
    if (!Number.isSafeInteger(this.maxBuffered) || this.maxBuffered < 1) throw invalidArgument(`maxBufferedRecords must be a positive integer, got ${options.maxBufferedRecords}`);
    if (this.group !== undefined && (typeof this.group !== 'string' || this.group === '')) throw invalidArgument('a consumer group id must be a non-empty string');
    const auto = options.autoCommit ?? false;
    this.autoCommit = auto !== false;
    if (this.autoCommit && this.group === undefined) throw invalidArgument('autoCommit needs a group to commit to');
    const intervalMs = typeof auto === 'object' ? auto.intervalMs : DEFAULT_AUTO_COMMIT_INTERVAL_MS;
    if (this.autoCommit && (!Number.isSafeInteger(intervalMs) || intervalMs < 1)) throw invalidArgument(`autoCommit.intervalMs must be a positive integer, got ${intervalMs}`);
    const strategy = options.assignment ?? 'range';
    if (strategy !== 'range' && strategy !== 'roundrobin') throw invalidArgument(`assignment must be 'range' or 'roundrobin', got ${String(strategy)}`);
    const count = host.partitionCount(topic);
    if (options.partitions !== undefined) {
      const list = options.partitions;
      if (!Array.isArray(list) || list.length === 0) throw invalidArgument('partitions must be a non-empty array of partition numbers');
      for (const p of list) {
        if (!Number.isInteger(p) || p < 0 || p >= count) throw invalidArgument(`partition ${p} is out of range: ${topic} has partitions 0..${count - 1}`);
      }
      if (new Set(list).size !== list.length) throw invalidArgument(`partitions lists a partition twice: ${list.join(', ')}`);
      this.setAssignment(list);
      this.joined = Promise.resolve();
    } else if (this.group !== undefined) {
      const group = host.group(this.group, strategy);
      this.member = {
        topic,
        consumer: this,
        assignedPartitions: () => [...this.parts.keys()],
        revoke: (partitions) => this.revoke(partitions),
        assign: (partitions) => this.setAssignment(partitions),
      };
      this.groupRef = group;
      this.joined = group.join(this.member, strategy);
    } else {
      this.setAssignment(Array.from({ length: count }, (_, p) => p));
      this.joined = Promise.resolve();
    }
    if (this.autoCommit) {
      this.timer = setInterval(() => {
        if (this.closed) return;
        this.commitPositions(this.processed).catch(() => undefined);
      }, intervalMs);
      this.timer.unref();
    }
  }

  /** The partitions this consumer delivers now, ascending. */
  assignment(): number[] {
    return [...this.parts.keys()].sort((a, b) => a - b);
  }

  /** Decoded records held and not yet delivered (at most `maxBufferedRecords`). */
  get bufferedRecords(): number {
    return this.buffered;
  }

  /** Resolves once a group member has its first assignment (at once otherwise). */
  ready(): Promise<void> {
    return this.joined;
  }

  /**
   * The offset of the next record this consumer delivers from `partition`.
   *
   * @throws SeglogError INVALID_ARGUMENT when the partition is not assigned to it
   */
  position(partition: number): number {
    const s = this.parts.get(partition);
    if (s === undefined) throw invalidArgument(`partition ${partition} of ${this.topic} is not assigned to this consumer (assigned: ${this.assignment().join(', ') || 'none'})`);
    return positionOf(s);
  }

  /** The async iterator: existing records, then new ones as they are appended, until close. */
  [Symbol.asyncIterator](): AsyncIterator<StoreRecord> {
    return {
      next: () => this.next(),
      // Leaving a for-await loop does not close the consumer: commit, then close() it.
      return: async () => ({ done: true, value: undefined }),
    };
  }

  /** The next record; `done` once the consumer is closed. */
  next(): Promise<IteratorResult<StoreRecord, undefined>> {
    const run = this.queue.then(() => this.nextRecord());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Commits for the group: no argument = every assigned partition's position (everything
   * delivered), where it is ahead of the group's commit; a record = `record.offset + 1` in its
   * partition; `{ partition, offset }` = that offset (the next one to read, Kafka's meaning;
   * lower than the current commit rewinds the group). Resolves when the commit is written to
   * the offsets topic (a process crash keeps it; `EventStore.flush()` makes it survive power loss).
   *
   * @throws SeglogError INVALID_ARGUMENT without a group, for another topic's record, or for a
   *   partition not assigned to this consumer (a rebalance moved it: Kafka's
   *   CommitFailedException); CLOSED after close
   */
  async commit(record?: StoreRecord | { partition: number; offset: number }): Promise<void> {
    if (this.closed) throw new SeglogError(ErrorCode.CLOSED, `the consumer of ${this.topic} is closed`);
    if (this.group === undefined) throw invalidArgument('commit needs a consumer group (subscribe with { group })');
    if (record === undefined) return this.commitPositions(this.currentPositions());
    if (typeof record !== 'object' || record === null) throw invalidArgument('commit takes a record or { partition, offset }');
    const isRecord = 'value' in record && 'timestamp' in record;
    if (isRecord && (record as StoreRecord).topic !== undefined && (record as StoreRecord).topic !== this.topic) {
      throw invalidArgument(`the record is from topic ${(record as StoreRecord).topic}, this consumer reads ${this.topic}`);
    }
    const offset = isRecord ? record.offset + 1 : record.offset;
    if (!this.parts.has(record.partition)) {
      throw invalidArgument(`cannot commit partition ${record.partition} of ${this.topic}: it is not assigned to this consumer (assigned: ${this.assignment().join(', ') || 'none'})`);
    }
    return this.doCommit([{ topic: this.topic, partition: record.partition, offset }]);
  }

  /**
   * Stops delivering: a pending `next()` resolves `done`. With auto-commit, commits everything
   * delivered; a group member then leaves its group (its partitions go to the others).
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const positions = this.currentPositions();
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.waiting?.abort();
    this.closing = (async () => {
      let failure: unknown;
      try {
        await this.joined;
        if (this.autoCommit) await this.commitPositions(positions, true);
      } catch (err) {
        failure = err;
      }
      if (this.member !== null) await this.groupRef!.leave(this.member);
      this.parts.clear();
      this.host.unregister(this);
      if (failure !== undefined) throw failure;
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- delivery

  private async nextRecord(): Promise<IteratorResult<StoreRecord, undefined>> {
    this.processed = this.currentPositions();
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      const record = this.takeBuffered();
      if (record !== null) return { done: false, value: record };
      if (await this.fetchSome()) continue;
      await this.waitForData();
    }
  }

  /** The next buffered record, taking partitions in turn (a partition's buffer drains first). */
  private takeBuffered(): StoreRecord | null {
    if (this.buffered === 0) return null;
    for (let i = 0; i < this.order.length; i++) {
      const s = this.parts.get(this.order[(this.cursor + i) % this.order.length])!;
      if (s.head < s.buffer.length) {
        this.cursor = (this.cursor + i) % this.order.length;
        const r = s.buffer[s.head++];
        this.buffered--;
        if (s.head === s.buffer.length) {
          s.buffer = [];
          s.head = 0;
          this.cursor++;
        }
        return r;
      }
    }
    return null;
  }

  /**
   * Reads one chunk from the next partition (in turn) with records below its high watermark.
   * Resolves true when a read happened (records buffered or the fetch offset moved).
   */
  private async fetchSome(): Promise<boolean> {
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const partition = this.order[(this.cursor + i) % n];
      const s = this.parts.get(partition)!;
      clampFetchOffset(s);
      if (s.fetchOffset >= s.log.highWatermark) continue;
      const room = this.maxBuffered - this.buffered;
      const maxBytes = Math.min(MAX_FETCH_BYTES, Math.max(MIN_FETCH_BYTES, Math.ceil(s.bytesPerRecord * room)));
      const from = s.fetchOffset;
      const got = await fetchRecords(s.log, from, maxBytes, room);
      // The assignment may have changed while a compressed batch decoded.
      if (this.closed || this.parts.get(partition) !== s || s.fetchOffset !== from) return true;
      s.fetchOffset = got.nextOffset;
      if (got.records.length > 0) {
        s.bytesPerRecord = Math.max(1, got.bytesRead / got.records.length);
        for (const r of got.records) s.buffer.push(Object.assign(r, { topic: this.topic, partition }));
        this.buffered += got.records.length;
        this.cursor = (this.cursor + i) % n;
      }
      return true;
    }
    return false;
  }

  /**
   * Waits until an assigned partition has data, the assignment changes, or close. No timers.
   *
   * @throws SeglogError when a partition's log closed under the consumer: UNKNOWN_TOPIC (the
   *   topic was deleted), CLOSED (the store closed), LOG_CLOSED otherwise
   */
  private async waitForData(): Promise<void> {
    const controller = new AbortController();
    this.waiting = controller;
    let closedLog: PartitionState | null = null;
    try {
      const aborted = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
      const waits: Promise<unknown>[] = [aborted];
      for (const s of this.parts.values()) {
        waits.push(
          s.log.waitForAppend(s.fetchOffset, controller.signal).then((ok) => {
            // false without our abort: the log closed (a deleted topic or a closed store).
            if (!ok && !controller.signal.aborted) closedLog = s;
          }),
        );
      }
      await Promise.race(waits);
    } finally {
      // Drops the other partitions' waiters.
      controller.abort();
      if (this.waiting === controller) this.waiting = null;
    }
    const gone = closedLog as PartitionState | null;
    if (gone !== null && !this.closed && this.parts.get(gone.partition) === gone) {
      // Throws UNKNOWN_TOPIC or CLOSED when that is why; else the log itself was closed.
      if (this.host.log(this.topic, gone.partition) === gone.log) throw new SeglogError(ErrorCode.LOG_CLOSED, `the log of ${this.topic}-${gone.partition} was closed`);
      throw new SeglogError(ErrorCode.UNKNOWN_TOPIC, `topic ${this.topic} was deleted and created again while this consumer read it`);
    }
  }

  // ---------------------------------------------------------------- assignment

  /** Sets the assigned partitions: new ones start at the commit (or `from`), kept ones go on. */
  private setAssignment(partitions: readonly number[]): void {
    if (this.closed) return;
    const keep = new Set(partitions);
    for (const p of [...this.parts.keys()]) if (!keep.has(p)) this.drop(p);
    for (const p of partitions) {
      if (this.parts.has(p)) continue;
      const log = this.host.log(this.topic, p);
      const start = this.startOffset(log, p);
      this.parts.set(p, { partition: p, log, fetchOffset: start, buffer: [], head: 0, bytesPerRecord: 1024 });
    }
    this.order = this.assignment();
    this.cursor = 0;
    this.waiting?.abort();
  }

  /** Group hook: stop delivering `partitions`; with auto-commit, commit what was delivered first. */
  private revoke(partitions: number[]): Promise<void> | undefined {
    const positions = new Map<number, number>();
    for (const p of partitions) {
      const s = this.parts.get(p);
      if (s !== undefined) positions.set(p, positionOf(s));
      this.drop(p);
    }
    this.order = this.assignment();
    this.cursor = 0;
    this.waiting?.abort();
    if (!this.autoCommit || positions.size === 0) return undefined;
    return this.commitPositions(positions, true);
  }

  private drop(partition: number): void {
    const s = this.parts.get(partition);
    if (s === undefined) return;
    this.buffered -= s.buffer.length - s.head;
    this.parts.delete(partition);
    this.processed.delete(partition);
  }

  private startOffset(log: Log, partition: number): number {
    const committed = this.group === undefined ? null : this.host.committed(this.group, this.topic, partition);
    let offset: number;
    if (committed !== null) offset = committed;
    else if (this.from === 'earliest') offset = log.logStartOffset;
    else if (this.from === 'latest') offset = log.logEndOffset;
    else if ('offset' in this.from) offset = this.from.offset;
    else offset = log.offsetForTimestamp(this.from.timestamp)?.offset ?? log.logEndOffset;
    return Math.min(Math.max(offset, log.logStartOffset), log.logEndOffset);
  }

  // ---------------------------------------------------------------- commits

  private currentPositions(): Map<number, number> {
    const out = new Map<number, number>();
    for (const s of this.parts.values()) out.set(s.partition, positionOf(s));
    return out;
  }

  /**
   * Commits the positions that are ahead of the group's commit (nothing to do resolves at once).
   * Only forward: an explicit commit of a record delivered after the last `next()` must not be
   * undone by the interval commit of the older position.
   */
  private commitPositions(positions: ReadonlyMap<number, number>, evenIfClosed = false): Promise<void> {
    if (this.group === undefined || (this.closed && !evenIfClosed)) return Promise.resolve();
    const entries: CommitEntry[] = [];
    for (const [partition, offset] of positions) {
      const committed = this.host.committed(this.group, this.topic, partition);
      if (committed === null || offset > committed) entries.push({ topic: this.topic, partition, offset });
    }
    return this.doCommit(entries);
  }

  private doCommit(entries: CommitEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const commit = this.host.commit(this.group!, entries);
    return this.groupRef === null ? commit : this.groupRef.track(commit);
  }
}

/** The offset of the next record to deliver from a partition. */
function positionOf(s: PartitionState): number {
  return s.head < s.buffer.length ? s.buffer[s.head].offset : s.fetchOffset;
}

/**
 * Retention may have deleted what the consumer was about to read (OFFSET_OUT_OF_RANGE in
 * Kafka, then auto.offset.reset): continue at the log start. A truncation below the fetch
 * offset continues at the new log end.
 */
function clampFetchOffset(s: PartitionState): void {
  if (s.buffer.length > s.head) return;
  const log = s.log;
  if (s.fetchOffset < log.logStartOffset) s.fetchOffset = log.logStartOffset;
  else if (s.fetchOffset > log.logEndOffset) s.fetchOffset = log.logEndOffset;
}

function validateFrom(from: StartFrom): StartFrom {
  if (from === 'earliest' || from === 'latest') return from;
  if (typeof from === 'object' && from !== null) {
    if ('offset' in from && Number.isSafeInteger(from.offset) && from.offset >= 0) return { offset: from.offset };
    if ('timestamp' in from && Number.isSafeInteger(from.timestamp)) return { timestamp: from.timestamp };
  }
  throw invalidArgument(`from must be 'earliest', 'latest', { offset } or { timestamp }, got ${JSON.stringify(from)}`);
}
