/**
 * `LogManager`: one data directory of many partition logs (Kafka's LogManager for one log dir).
 *
 * On disk (format notes §3.1): `<dataDir>/<topic>-<partition>/` per partition log, and at the
 * root `.lock` (held while open), the three offset checkpoint files and `.kafka_cleanshutdown`
 * (root-checkpoints.ts), plus seglog's `seglog-topics.json` (topics-file.ts). A Kafka log dir
 * without the topics file opens too: its partition directories are discovered (topic = the name
 * up to the last `-`) and the partition count inferred from them and from the root checkpoints
 * (discovery.ts).
 *
 * Invariants:
 * - every topic name passed Kafka's rules (names.ts), so every directory the manager touches is
 *   a direct child of the data directory;
 * - while the manager is open it holds the data directory's lock, and every one of its logs is
 *   open with `lock: false` and the root checkpoints;
 * - topic creation and deletion run one at a time (the admin chain), and each persists its
 *   decision in the topics file before it touches partition directories, so a crash in the
 *   middle is finished by the next open: missing partition directories of a listed topic are
 *   created, directories of a topic listed in `deleting` and every `…-delete` directory are
 *   removed;
 * - the root clean-shutdown marker is consumed before any log loads and written only after
 *   every log closed cleanly and the checkpoint files were written.
 *
 * Concurrency: appends and reads go to the logs directly (each log has its own writer queue).
 * Maintenance runs on an unref'd interval timer, one round at a time, and on demand; both call
 * each log's `runMaintenance`, which takes that log's writer turn. `close()` stops the timer,
 * waits for a running admin task, then closes every log.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CleanReport, CleanerOptions } from '../cleaner/cleaner.js';
import { ErrorCode, SeglogError, invalidArgument, ioError } from '../errors.js';
import { fsyncDirectory } from '../log/checkpoint.js';
import { kafkaConfigName, resolveLogConfig, toKafkaProperties, type LogConfig } from '../log/config.js';
import { DirectoryLock } from '../log/lock.js';
import { Log, type MaintenanceReport } from '../log/log.js';
import { discoverTopics } from './discovery.js';
import { MAX_PARTITIONS, deleteDirName, partitionDirName, topicsCollide, validateTopicName } from './names.js';
import { RootCheckpoints } from './root-checkpoints.js';
import { readTopicsFile, writeTopicsFile, type TopicRecord } from './topics-file.js';

export { CONSUMER_OFFSETS_CONFIG } from './discovery.js';

/**
 * Default interval of the background maintenance, ms. Kafka checks retention every 5 minutes
 * (log.retention.check.interval.ms) and the cleaner backs off 15 s; an embedded store with small
 * segments and injected policies wants quicker answers, and a round over idle logs costs one
 * writer turn per log.
 */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 1000;

/** How to open a data directory. */
export interface LogManagerOptions {
  /** The clock every log reads (epoch ms); tests inject one. Default Date.now. */
  clock?: () => number;
  /** Random source in [0, 1) (segment jitter; the store's partitioner). Default Math.random. */
  random?: () => number;
  /** Settings of every log's cleaner (Kafka's log.cleaner.* broker settings). */
  cleaner?: CleanerOptions;
  /** Config for every topic (camelCase or Kafka's dotted names), under per-topic overrides. */
  defaults?: Record<string, unknown>;
  /** Interval of the background maintenance, ms (default 1000); 0 disables the timer. */
  maintenanceIntervalMs?: number;
}

/** How to create a topic. */
export interface CreateTopicOptions {
  /** Number of partitions (default 1, at most {@link MAX_PARTITIONS}). */
  partitions?: number;
  /** Per-topic config overrides (camelCase or Kafka's dotted names), validated. */
  config?: Record<string, unknown>;
}

/** One partition of a topic, as {@link LogManager.describeTopic} reports it. */
export interface PartitionDescription {
  /** Partition number. */
  partition: number;
  /** The partition directory. */
  dir: string;
  /** First offset readable. */
  logStartOffset: number;
  /** Offset the next record gets. */
  logEndOffset: number;
  /** High watermark (the log end for an embedded log). */
  highWatermark: number;
  /** Bytes of all `.log` files. */
  size: number;
  /** Number of segments. */
  segments: number;
}

/** A topic, as {@link LogManager.describeTopic} reports it. */
export interface TopicDescription {
  /** Topic name. */
  name: string;
  /** Number of partitions. */
  partitions: number;
  /** The topic's overrides, Kafka's dotted names → string values (as kafka-configs shows them). */
  config: Record<string, string>;
  /** Each partition, by number. */
  partitionInfo: PartitionDescription[];
}

/** What one maintenance round did to one log. */
export interface PartitionMaintenanceReport extends MaintenanceReport {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Bytes of the log before the round. */
  sizeBefore: number;
  /** Bytes of the log after the round. */
  sizeAfter: number;
  /** Log start offset before the round. */
  logStartOffsetBefore: number;
  /** Log start offset after the round (retention moves it). */
  logStartOffsetAfter: number;
  /** The failure of this log's round, if it failed (the other logs still ran). */
  error?: unknown;
}

/** What a maintenance round over the data directory did. */
export interface ManagerMaintenanceReport {
  /** One entry per log visited, in visit order (logs closed meanwhile are left out). */
  partitions: PartitionMaintenanceReport[];
  /** Logs whose time-based flush ran. */
  logsFlushed: number;
  /** Segments deleted by retention. */
  deletedSegments: number;
  /** `.deleted` files removed. */
  deletedFiles: number;
  /** Logs compacted (a cleaning round that ran). */
  logsCleaned: number;
  /** Bytes the cleaning rounds read. */
  cleanerBytesRead: number;
  /** Bytes the cleaning rounds wrote. */
  cleanerBytesWritten: number;
  /** Records compaction removed. */
  recordsRemoved: number;
  /** Total bytes of the visited logs before the round. */
  sizeBefore: number;
  /** Total bytes of the visited logs after the round. */
  sizeAfter: number;
  /** Logs whose round failed (see each entry's `error`). */
  errors: number;
}

/** Options of {@link LogManager.runMaintenance}. */
export interface RunMaintenanceOptions {
  /** Only this topic's logs (UNKNOWN_TOPIC if it does not exist). */
  topic?: string;
  /** Called after each log: logs done so far, logs in the round, and the log's `<topic>-<partition>`. */
  onProgress?: (done: number, total: number, topicPartition: string) => void;
}

/** One topic in memory. */
interface TopicState {
  readonly name: string;
  /** Overrides, dotted names → strings (what is persisted). */
  readonly overrides: Record<string, string>;
  /** Partition count (what is persisted; `logs` fills up to it while the topic is created). */
  readonly partitions: number;
  readonly logs: Log[];
}

/** A data directory of partition logs. */
export class LogManager {
  /** The data directory (absolute). */
  readonly dataDir: string;
  private readonly options: LogManagerOptions;
  private readonly defaults: LogConfig;
  private readonly lock: DirectoryLock;
  private readonly root: RootCheckpoints;
  private readonly topics: Map<string, TopicState>;
  /** Topic creations and deletions, one at a time. */
  private adminChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** The timer's round in progress, if any (a tick is skipped while one runs). */
  private timerRound: Promise<unknown> | null = null;
  private backgroundError: unknown = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  private constructor(dataDir: string, options: LogManagerOptions, defaults: LogConfig, lock: DirectoryLock, root: RootCheckpoints, topics: Map<string, TopicState>) {
    this.dataDir = dataDir;
    this.options = options;
    this.defaults = defaults;
    this.lock = lock;
    this.root = root;
    this.topics = topics;
  }

  /**
   * Opens (creating if needed) a data directory: takes its `.lock` (LOCKED when another process
   * or another open in this process holds it), consumes the clean-shutdown marker, finishes any
   * interrupted topic deletion, and opens every partition log (recovering after an unclean
   * shutdown). Starts the maintenance timer unless `maintenanceIntervalMs` is 0.
   *
   * @throws SeglogError LOCKED, INVALID_CONFIG (options.defaults or a persisted override),
   *   INVALID_ARGUMENT (options), CORRUPT_CHECKPOINT (the topics file), IO_ERROR
   */
  static async open(dataDir: string, options: LogManagerOptions = {}): Promise<LogManager> {
    if (typeof dataDir !== 'string' || dataDir === '') throw invalidArgument('LogManager.open needs a data directory path');
    const interval = options.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS;
    if (!Number.isSafeInteger(interval) || interval < 0) throw invalidArgument(`maintenanceIntervalMs must be a non-negative integer, got ${interval}`);
    const defaults = resolveLogConfig(options.defaults ?? {});
    const dir = path.resolve(dataDir);
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw ioError(err, dir);
    }
    const lock = DirectoryLock.acquire(dir);
    const opened: Log[] = [];
    try {
      const meta = readTopicsFile(dir);
      const root = RootCheckpoints.load(dir);
      const deleting = new Set(meta?.deleting ?? []);
      const records = discoverTopics(dir, meta?.topics ?? new Map(), deleting, root);
      const topics = new Map<string, TopicState>();
      for (const name of [...records.keys()].sort()) {
        const record = records.get(name)!;
        const config = resolveTopicConfig(name, record.config, defaults);
        const logs: Log[] = [];
        for (let p = 0; p < record.partitions; p++) {
          const key = partitionDirName(name, p);
          const log = await Log.open(path.join(dir, key), {
            config,
            clock: options.clock,
            random: options.random,
            cleaner: options.cleaner,
            lock: false,
            checkpoints: root.forLog(key, root.hadCleanShutdown),
          });
          opened.push(log);
          logs.push(log);
        }
        topics.set(name, { name, overrides: record.config, partitions: record.partitions, logs });
      }
      root.retain(new Set([...topics.values()].flatMap((t) => t.logs.map((_, p) => partitionDirName(t.name, p)))));
      const manager = new LogManager(dir, options, defaults, lock, root, topics);
      // A deletion that a crash interrupted is finished now; the topics file says so.
      if (meta !== null && deleting.size > 0) manager.persist();
      if (interval > 0) manager.startTimer(interval);
      return manager;
    } catch (err) {
      await Promise.allSettled(opened.map((l) => l.close()));
      lock.release();
      throw err;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new SeglogError(ErrorCode.CLOSED, `the data directory ${this.dataDir} is closed`);
  }

  /** Runs a topic creation or deletion after the ones before it. */
  private admin<T>(task: () => Promise<T>): Promise<T> {
    const run = this.adminChain.then(task);
    this.adminChain = run.catch(() => undefined);
    return run;
  }

  /** Writes the topics file from memory (plus the topics being deleted). */
  private persist(deleting: string[] = []): void {
    const topics = new Map<string, TopicRecord>();
    for (const t of this.topics.values()) topics.set(t.name, { partitions: t.partitions, config: t.overrides });
    writeTopicsFile(this.dataDir, { topics, deleting });
  }

  // ---------------------------------------------------------------- topics

  /**
   * Creates a topic with `partitions` empty logs and the given config overrides, and persists
   * it. Resolves to its description.
   *
   * @throws SeglogError TOPIC_EXISTS, INVALID_TOPIC (an illegal name, or one that collides with
   *   an existing topic on `.` versus `_`), INVALID_CONFIG, INVALID_ARGUMENT (partitions), CLOSED
   */
  createTopic(name: string, options: CreateTopicOptions = {}): Promise<TopicDescription> {
    return this.admin(async () => {
      this.checkOpen();
      validateTopicName(name);
      const partitions = options.partitions ?? 1;
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
        throw invalidArgument(`partitions must be an integer between 1 and ${MAX_PARTITIONS}, got ${partitions}`);
      }
      if (this.topics.has(name)) throw new SeglogError(ErrorCode.TOPIC_EXISTS, `topic ${name} already exists`);
      for (const other of this.topics.keys()) {
        if (topicsCollide(name, other)) throw new SeglogError(ErrorCode.INVALID_TOPIC, `topic ${name} collides with existing topic ${other} ('.' and '_' are the same in metric names)`);
      }
      const overrides = normalizeOverrides(options.config ?? {});
      const config = resolveTopicConfig(name, overrides, this.defaults);
      const state: TopicState = { name, overrides, partitions, logs: [] };
      // Persisted first: after a crash from here on, the next open creates the missing partitions.
      this.topics.set(name, state);
      try {
        this.persist();
      } catch (err) {
        this.topics.delete(name);
        throw err;
      }
      try {
        for (let p = 0; p < partitions; p++) {
          const key = partitionDirName(name, p);
          state.logs.push(
            await Log.open(path.join(this.dataDir, key), {
              config,
              clock: this.options.clock,
              random: this.options.random,
              cleaner: this.options.cleaner,
              lock: false,
              checkpoints: this.root.forLog(key, false),
            }),
          );
        }
        fsyncDirectory(this.dataDir);
      } catch (err) {
        // Undo: the topic never existed.
        this.topics.delete(name);
        await Promise.allSettled(state.logs.map((l) => l.close()));
        for (let p = 0; p < partitions; p++) fs.rmSync(path.join(this.dataDir, partitionDirName(name, p)), { recursive: true, force: true });
        this.root.remove(state.logs.map((_, p) => partitionDirName(name, p)));
        this.persist();
        throw err;
      }
      return this.describeTopic(name);
    });
  }

  /**
   * Deletes a topic: closes its logs and removes their directories. Crash-safe: the decision is
   * persisted first (the topic leaves the topics file and enters its `deleting` list), then each
   * partition directory is renamed `<topic>-<p>.<uuid>-delete` (Kafka's form), its checkpoint
   * entries removed, and the renamed directories removed. A crash at any point is finished by
   * the next open. Readers of the topic see LOG_CLOSED; waiting consumers wake with false.
   *
   * @throws SeglogError UNKNOWN_TOPIC, CLOSED, IO_ERROR
   */
  deleteTopic(name: string): Promise<void> {
    return this.admin(async () => {
      this.checkOpen();
      const state = this.topicState(name);
      this.topics.delete(name);
      try {
        this.persist([name]);
      } catch (err) {
        this.topics.set(name, state);
        throw err;
      }
      // Close errors do not matter: the data is going away.
      await Promise.allSettled(state.logs.map((l) => l.close()));
      const keys = state.logs.map((_, p) => partitionDirName(name, p));
      const renamed: string[] = [];
      try {
        for (let p = 0; p < keys.length; p++) {
          const from = path.join(this.dataDir, keys[p]);
          const to = path.join(this.dataDir, deleteDirName(name, p, randomUUID()));
          if (!fs.existsSync(from)) continue;
          fs.renameSync(from, to);
          renamed.push(to);
        }
        fsyncDirectory(this.dataDir);
      } catch (err) {
        throw ioError(err, this.dataDir);
      }
      this.root.remove(keys);
      this.persist();
      for (const d of renamed) {
        try {
          fs.rmSync(d, { recursive: true, force: true });
        } catch (err) {
          // Left for the next open, which removes every `-delete` directory.
          throw ioError(err, d);
        }
      }
    });
  }

  /** Whether the topic exists. */
  hasTopic(name: string): boolean {
    this.checkOpen();
    return this.topics.has(name);
  }

  /** Every topic name, sorted (internal topics included). */
  listTopics(): string[] {
    this.checkOpen();
    return [...this.topics.keys()].sort();
  }

  /** Number of partitions of a topic. @throws SeglogError UNKNOWN_TOPIC */
  partitionCount(topic: string): number {
    this.checkOpen();
    return this.topicState(topic).logs.length;
  }

  /**
   * The topic's overrides, partitions and each partition's offsets and size.
   *
   * @throws SeglogError UNKNOWN_TOPIC, CLOSED
   */
  describeTopic(name: string): TopicDescription {
    this.checkOpen();
    const state = this.topicState(name);
    return {
      name,
      partitions: state.logs.length,
      config: { ...state.overrides },
      partitionInfo: state.logs.map((log, partition) => ({
        partition,
        dir: log.dir,
        logStartOffset: log.logStartOffset,
        logEndOffset: log.logEndOffset,
        highWatermark: log.highWatermark,
        size: log.size,
        segments: log.numberOfSegments,
      })),
    };
  }

  /** The topic's effective config: its overrides over the manager's defaults over Kafka's. @throws SeglogError UNKNOWN_TOPIC */
  topicConfig(name: string): LogConfig {
    this.checkOpen();
    return this.topicState(name).logs[0].config;
  }

  /**
   * The log of one partition. Appends and reads go to it directly.
   *
   * @throws SeglogError UNKNOWN_TOPIC (no such topic or partition), CLOSED
   */
  log(topic: string, partition: number): Log {
    this.checkOpen();
    const state = this.topicState(topic);
    const log = Number.isInteger(partition) ? state.logs[partition] : undefined;
    if (log === undefined) throw new SeglogError(ErrorCode.UNKNOWN_TOPIC, `topic ${topic} has no partition ${partition} (it has ${state.logs.length})`);
    return log;
  }

  /** fsyncs every log of `topic` (all topics when omitted) up to its log end. */
  async flush(topic?: string): Promise<void> {
    this.checkOpen();
    const logs = topic === undefined ? this.allLogs().map((e) => e.log) : this.topicState(topic).logs;
    await Promise.all(logs.map((l) => l.flush()));
  }

  private topicState(name: string): TopicState {
    const state = typeof name === 'string' ? this.topics.get(name) : undefined;
    if (state === undefined) throw new SeglogError(ErrorCode.UNKNOWN_TOPIC, `unknown topic ${JSON.stringify(name)}`);
    return state;
  }

  private allLogs(): { topic: string; partition: number; log: Log }[] {
    const out: { topic: string; partition: number; log: Log }[] = [];
    for (const name of [...this.topics.keys()].sort()) {
      this.topics.get(name)!.logs.forEach((log, partition) => out.push({ topic: name, partition, log }));
    }
    return out;
  }

  // ---------------------------------------------------------------- maintenance

  /**
   * One maintenance round now, over every log (or one topic's): each log's time-based flush,
   * retention, removal of `.deleted` files and, for compacted topics, a cleaning round when the
   * log is cleanable. Logs are visited one after another; a failure in one is reported in its
   * entry and the others still run. Safe alongside appends, reads and the background timer.
   *
   * @throws SeglogError UNKNOWN_TOPIC, CLOSED
   */
  async runMaintenance(options: RunMaintenanceOptions = {}): Promise<ManagerMaintenanceReport> {
    this.checkOpen();
    const targets = options.topic === undefined ? this.allLogs() : this.topicState(options.topic).logs.map((log, partition) => ({ topic: options.topic!, partition, log }));
    const report: ManagerMaintenanceReport = {
      partitions: [],
      logsFlushed: 0,
      deletedSegments: 0,
      deletedFiles: 0,
      logsCleaned: 0,
      cleanerBytesRead: 0,
      cleanerBytesWritten: 0,
      recordsRemoved: 0,
      sizeBefore: 0,
      sizeAfter: 0,
      errors: 0,
    };
    let done = 0;
    for (const { topic, partition, log } of targets) {
      const entry = await maintainOne(topic, partition, log);
      done++;
      if (entry !== null) {
        report.partitions.push(entry);
        addToReport(report, entry);
      }
      options.onProgress?.(done, targets.length, partitionDirName(topic, partition));
    }
    return report;
  }

  private startTimer(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.closed || this.timerRound !== null) return;
      this.timerRound = this.runMaintenance()
        .then((r) => {
          const failed = r.partitions.find((p) => p.error !== undefined);
          if (failed !== undefined && this.backgroundError === null) this.backgroundError = failed.error;
        })
        .catch((err: unknown) => {
          if (!(err instanceof SeglogError && err.code === ErrorCode.CLOSED)) this.backgroundError ??= err;
        })
        .finally(() => {
          this.timerRound = null;
        });
    }, intervalMs);
    this.timer.unref();
  }

  // ---------------------------------------------------------------- close

  /**
   * Stops the maintenance timer, lets a running topic creation or deletion finish, closes every
   * log (each flushes and writes its checkpoint entries), writes the root checkpoint files, then
   * the clean-shutdown marker (only when every log closed cleanly), and releases the lock.
   * Idempotent: later calls return the same promise; every other method then throws CLOSED.
   * Rejects with the first failure (a log's close, or an error the background maintenance kept).
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.closing = (async () => {
      await this.adminChain;
      await this.timerRound;
      this.root.defer();
      const results = await Promise.allSettled(this.allLogs().map((e) => e.log.close()));
      let failure: unknown = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
      try {
        this.root.flush();
        if (failure === undefined) this.root.markCleanShutdown();
      } catch (err) {
        failure ??= err;
      }
      try {
        this.lock.release();
      } catch (err) {
        failure ??= err;
      }
      failure ??= this.backgroundError ?? undefined;
      if (failure !== undefined) throw failure;
    })();
    return this.closing;
  }
}

// ------------------------------------------------------------------ helpers

/** Runs one log's maintenance; null when the log was closed meanwhile (topic deleted, manager closing). */
async function maintainOne(topic: string, partition: number, log: Log): Promise<PartitionMaintenanceReport | null> {
  const base = { topic, partition, sizeBefore: log.size, logStartOffsetBefore: log.logStartOffset };
  try {
    const r = await log.runMaintenance();
    return { ...base, ...r, sizeAfter: log.size, logStartOffsetAfter: log.logStartOffset };
  } catch (err) {
    if (err instanceof SeglogError && err.code === ErrorCode.LOG_CLOSED) return null;
    return { ...base, flushed: false, deletedSegments: 0, deletedFiles: 0, cleaned: null, sizeAfter: log.size, logStartOffsetAfter: log.logStartOffset, error: err };
  }
}

function addToReport(report: ManagerMaintenanceReport, entry: PartitionMaintenanceReport): void {
  if (entry.error !== undefined) report.errors++;
  if (entry.flushed) report.logsFlushed++;
  report.deletedSegments += entry.deletedSegments;
  report.deletedFiles += entry.deletedFiles;
  report.sizeBefore += entry.sizeBefore;
  report.sizeAfter += entry.sizeAfter;
  const c: CleanReport | null = entry.cleaned;
  if (c !== null && c.ran) {
    report.logsCleaned++;
    report.cleanerBytesRead += c.bytesRead;
    report.cleanerBytesWritten += c.bytesWritten;
    report.recordsRemoved += c.recordsRemoved;
  }
}

/**
 * Validates overrides (either spelling) and returns them in Kafka's dotted names with Kafka's
 * string form of each value (`9223372036854775807` for "unbounded", `compact,delete`).
 *
 * @throws SeglogError INVALID_CONFIG
 */
function normalizeOverrides(config: Record<string, unknown>): Record<string, string> {
  const resolved = resolveLogConfig(config);
  const props = toKafkaProperties(resolved);
  const out: Record<string, string> = {};
  for (const [written, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const dotted = Object.hasOwn(props, written) ? written : kafkaConfigName(written as keyof LogConfig);
    out[dotted] = props[dotted];
  }
  return out;
}

/** A topic's effective config: overrides over the manager's defaults. */
function resolveTopicConfig(name: string, overrides: Record<string, string>, defaults: LogConfig): LogConfig {
  try {
    return resolveLogConfig(overrides, defaults);
  } catch (err) {
    if (err instanceof SeglogError) throw new SeglogError(err.code, `topic ${name}: ${err.message}`, { cause: err });
    throw err;
  }
}
