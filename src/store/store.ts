/**
 * `EventStore`: Kafka's model — topics, partitions, offsets, consumer groups — embedded, over one
 * data directory ({@link LogManager}) and with no broker.
 *
 * - `append` partitions records as the Java producer's default partitioner does
 *   (partitioner.ts) and writes one batch per partition touched;
 * - `read` / `offsetForTimestamp` read by offset and by time (Kafka's Fetch and ListOffsets);
 * - `subscribe` / `stream` consume with positions, groups and commits (consumer.ts, group.ts);
 *   commits live in the compacted `__consumer_offsets` topic in Kafka's record format
 *   (offsets.ts), loaded by scanning it when the store opens.
 *
 * Concurrency: every method may be called while others run. Appends to one partition are
 * ordered by call order (the log's writer queue); appends to different partitions of one call
 * are written concurrently, so a failure can leave some partitions written and others not —
 * as a Kafka producer's batches to several partitions can.
 */
import type { Readable } from 'node:stream';
import { ErrorCode, SeglogError, invalidArgument } from '../errors.js';
import type { CompressionName } from '../records/compression/index.js';
import type { RecordInput } from '../records/types.js';
import { LogManager, type CreateTopicOptions, type LogManagerOptions, type TopicDescription } from '../manager/manager.js';
import { isInternalTopic } from '../manager/names.js';
import { Consumer, type ConsumerHost, type StoreRecord, type SubscribeOptions } from './consumer.js';
import { fetchRecords } from './fetch.js';
import { ConsumerGroup, type AssignmentStrategy } from './group.js';
import { CommitStore, DEFAULT_OFFSETS_TOPIC_PARTITIONS, type CommitEntry, type OffsetsLoadReport } from './offsets.js';
import { DefaultPartitioner } from './partitioner.js';
import { ConsumerStream } from './stream.js';

/** How to open an event store. */
export interface EventStoreOptions extends LogManagerOptions {
  /** Create a topic on its first append (true: 1 partition). Default false (UNKNOWN_TOPIC). */
  autoCreateTopics?:
    | boolean
    | {
        /** Partitions of an auto-created topic (default 1). */
        partitions?: number;
      };
  /** Partitions of `__consumer_offsets` when the store creates it (default 50, Kafka's). */
  offsetsTopicPartitions?: number;
}

/** A record to append; `partition` picks the partition and overrides the partitioner. */
export interface StoreRecordInput extends RecordInput {
  /** Explicit partition (must exist: INVALID_ARGUMENT otherwise). */
  partition?: number;
}

/** Where one partition's part of an append landed. */
export interface StoreAppendResult {
  /** Partition number. */
  partition: number;
  /** Offset of its first record. */
  firstOffset: number;
  /** Offset of its last record. */
  lastOffset: number;
  /** True when this partition's batch was a retry the log had already written (nothing was written again). */
  duplicate?: boolean;
}

/**
 * An idempotent append's producer (Kafka's idempotent producer fields). Sequence numbers count
 * records per producer and partition: a partition's next append continues at baseSequence + the
 * records it took. Re-sending an append with the same identity and sequences after a crash or
 * a timeout writes nothing new: the result gives the original offsets with `duplicate: true`
 * (the log remembers each producer's last five batches per partition; after a restart, its
 * last one).
 */
export interface StoreProducer {
  /** The producer id (≥ 0), chosen by the application (one per writer instance). */
  producerId: number;
  /** Its epoch (0..32767); a higher one fences writers still using a lower one. */
  producerEpoch: number;
  /**
   * The sequence number of the append's first record in its partition, or per partition when
   * the records go to several (`{ [partition]: sequence }`). A plain number needs the records
   * to go to one partition.
   */
  baseSequence: number | Readonly<Record<number, number>>;
}

/** Options of {@link EventStore.append}. */
export interface StoreAppendOptions {
  /** Codec of the batches (when the topic's compression.type is `producer`). */
  compression?: CompressionName;
  /** Make the append idempotent (see {@link StoreProducer}). */
  producer?: StoreProducer;
}

/** Options of {@link EventStore.read}. */
export interface StoreReadOptions {
  /** Most records returned (default: as many as `maxBytes` holds). */
  maxRecords?: number;
  /** Bytes read from the log (default 1 MiB); at least one batch is read. */
  maxBytes?: number;
}

/** Options of {@link EventStore.stream}: a subscription plus the stream's buffer size. */
export interface StreamOptions extends SubscribeOptions {
  /** Records the stream buffers ahead of its reader (default 16). */
  highWaterMark?: number;
}

const DEFAULT_READ_MAX_BYTES = 1024 * 1024;

/** An embedded event store over one data directory. */
export class EventStore {
  /** The data directory's manager (topics, logs, maintenance). */
  readonly manager: LogManager;
  /** What loading the committed offsets found at open. */
  readonly offsetsLoadReport: OffsetsLoadReport;
  private readonly options: EventStoreOptions;
  private readonly partitioner: DefaultPartitioner;
  private readonly commits: CommitStore;
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly consumers = new Set<Consumer>();
  private readonly host: ConsumerHost;
  /** Topic creations started by an append (autoCreateTopics), so concurrent appends share one. */
  private readonly creating = new Map<string, Promise<unknown>>();
  private closing: Promise<void> | null = null;
  /** True while close() closes the consumers (their auto-commits still go through). */
  private closingConsumers = false;

  private constructor(manager: LogManager, options: EventStoreOptions, commits: CommitStore, report: OffsetsLoadReport) {
    this.manager = manager;
    this.options = options;
    this.partitioner = new DefaultPartitioner(options.random);
    this.commits = commits;
    this.offsetsLoadReport = report;
    this.host = {
      log: (topic, partition) => this.manager.log(topic, partition),
      partitionCount: (topic) => this.manager.partitionCount(topic),
      committed: (group, topic, partition) => this.commits.committed(group, topic, partition),
      commit: (group, entries: CommitEntry[]) => this.commitOffsets(group, entries),
      group: (id, strategy) => this.groupFor(id, strategy),
      unregister: (consumer) => {
        this.consumers.delete(consumer);
        for (const [id, g] of this.groups) if (g.size === 0) this.groups.delete(id);
      },
    };
  }

  /**
   * Opens the data directory (see {@link LogManager.open}) and loads the committed offsets.
   *
   * @throws SeglogError as LogManager.open; INVALID_ARGUMENT for bad options
   */
  static async open(dataDir: string, options: EventStoreOptions = {}): Promise<EventStore> {
    const offsetsPartitions = options.offsetsTopicPartitions ?? DEFAULT_OFFSETS_TOPIC_PARTITIONS;
    if (!Number.isInteger(offsetsPartitions) || offsetsPartitions < 1) throw invalidArgument(`offsetsTopicPartitions must be a positive integer, got ${offsetsPartitions}`);
    const auto = options.autoCreateTopics;
    if (typeof auto === 'object' && auto !== null && auto.partitions !== undefined && (!Number.isInteger(auto.partitions) || auto.partitions < 1)) {
      throw invalidArgument(`autoCreateTopics.partitions must be a positive integer, got ${auto.partitions}`);
    }
    const manager = await LogManager.open(dataDir, options);
    try {
      const commits = new CommitStore(manager, { clock: options.clock, partitions: offsetsPartitions });
      const report = commits.load();
      return new EventStore(manager, options, commits, report);
    } catch (err) {
      await manager.close().catch(() => undefined);
      throw err;
    }
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new SeglogError(ErrorCode.CLOSED, `the event store at ${this.manager.dataDir} is closed`);
  }

  // ---------------------------------------------------------------- topics

  /** Creates a topic (see {@link LogManager.createTopic}). */
  createTopic(name: string, options?: CreateTopicOptions): Promise<TopicDescription> {
    this.checkOpen();
    return this.manager.createTopic(name, options);
  }

  /**
   * Deletes a topic and every group's committed offsets for it (as Kafka's coordinator removes
   * the offsets of deleted partitions). Internal topics cannot be deleted through the store.
   *
   * @throws SeglogError UNKNOWN_TOPIC, INVALID_TOPIC (an internal topic), CLOSED
   */
  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    if (isInternalTopic(name)) throw new SeglogError(ErrorCode.INVALID_TOPIC, `${name} is an internal topic; the event store keeps its state there`);
    await this.manager.deleteTopic(name);
    await this.commits.deleteTopic(name);
  }

  /** Every topic, sorted (internal topics included). */
  listTopics(): string[] {
    this.checkOpen();
    return this.manager.listTopics();
  }

  /** A topic's partitions, offsets and overrides (see {@link LogManager.describeTopic}). */
  describeTopic(name: string): TopicDescription {
    this.checkOpen();
    return this.manager.describeTopic(name);
  }

  // ---------------------------------------------------------------- produce

  /**
   * Appends records to a topic, partitioned as Kafka's Java producer does: an explicit
   * `partition` wins; a keyed record goes to `toPositive(murmur2(key)) % partitions`; records
   * without a key go to one sticky partition for this call, the next call to the next one.
   * One `Log.append` (one batch) per partition touched, issued in the order of each partition's
   * first record; records keep their order within a partition. Resolves with where each
   * partition's records landed, in that order.
   *
   * With `options.producer` the append is idempotent: each partition's batch carries the
   * producer's id, epoch and sequence, and a retry is answered with the original offsets.
   *
   * @throws SeglogError UNKNOWN_TOPIC (unless autoCreateTopics), INVALID_ARGUMENT (a partition
   *   out of range; a record without a key on a compacted topic; a plain baseSequence for records
   *   that go to several partitions, or a sequence map missing one), RECORD_TOO_LARGE, CLOSED;
   *   with a producer also OUT_OF_ORDER_SEQUENCE and INVALID_PRODUCER_EPOCH
   */
  async append(topic: string, records: readonly StoreRecordInput[], options: StoreAppendOptions = {}): Promise<StoreAppendResult[]> {
    this.checkOpen();
    if (!Array.isArray(records)) throw invalidArgument('append takes an array of records');
    if (!this.manager.hasTopic(topic)) await this.autoCreate(topic);
    if (records.length === 0) return [];
    const n = this.manager.partitionCount(topic);
    let sticky = -1;
    const stickyPartition = () => (sticky >= 0 ? sticky : (sticky = this.partitioner.nextStickyPartition(topic, n)));
    const byPartition = new Map<number, StoreRecordInput[]>();
    for (const record of records) {
      if (typeof record !== 'object' || record === null) throw invalidArgument('every record must be an object with a value');
      const p = this.partitioner.partition(record, n, stickyPartition);
      let list = byPartition.get(p);
      if (list === undefined) byPartition.set(p, (list = []));
      list.push(record);
    }
    const producer = options.producer;
    const sequenceFor = (partition: number): number | undefined => {
      if (producer === undefined) return undefined;
      const seq = producer.baseSequence;
      if (typeof seq === 'number') {
        if (byPartition.size > 1) throw invalidArgument(`an idempotent append with one baseSequence must go to one partition; these records go to ${byPartition.size} (pass { [partition]: sequence })`);
        return seq;
      }
      const own = seq[partition];
      if (own === undefined) throw invalidArgument(`no baseSequence for partition ${partition} of ${topic}`);
      return own;
    };
    const sequences = new Map([...byPartition.keys()].map((p) => [p, sequenceFor(p)]));
    // Records pass as they are: the builder reads key, value, headers and timestamp only.
    const appends = [...byPartition].map(async ([partition, list]) => {
      const baseSequence = sequences.get(partition);
      const r = await this.manager.log(topic, partition).append(list.length === records.length ? records : list, {
        compression: options.compression,
        producer: producer === undefined || baseSequence === undefined ? undefined : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence },
      });
      return r.duplicate === true ? { partition, firstOffset: r.firstOffset, lastOffset: r.lastOffset, duplicate: true } : { partition, firstOffset: r.firstOffset, lastOffset: r.lastOffset };
    });
    return Promise.all(appends);
  }

  private async autoCreate(topic: string): Promise<void> {
    const auto = this.options.autoCreateTopics ?? false;
    if (auto === false) throw new SeglogError(ErrorCode.UNKNOWN_TOPIC, `unknown topic ${JSON.stringify(topic)} (open the store with autoCreateTopics to create topics on first append)`);
    let pending = this.creating.get(topic);
    if (pending === undefined) {
      const partitions = typeof auto === 'object' ? (auto.partitions ?? 1) : 1;
      pending = this.manager.createTopic(topic, { partitions }).catch((err: unknown) => {
        if (!(err instanceof SeglogError && err.code === ErrorCode.TOPIC_EXISTS)) throw err;
      });
      this.creating.set(topic, pending);
      pending.then(
        () => this.creating.delete(topic),
        () => this.creating.delete(topic),
      );
    }
    await pending;
  }

  // ---------------------------------------------------------------- read

  /**
   * Records of one partition from `offset` (Kafka's Fetch, below the high watermark), decoded.
   * Reads until `maxRecords` or about `maxBytes` of log; an offset at the log end returns [].
   *
   * @throws SeglogError UNKNOWN_TOPIC, OFFSET_OUT_OF_RANGE (outside [logStartOffset,
   *   logEndOffset]), INVALID_ARGUMENT, INVALID_CRC / CORRUPT_RECORD for damaged batches, CLOSED
   */
  async read(topic: string, partition: number, offset: number, options: StoreReadOptions = {}): Promise<StoreRecord[]> {
    this.checkOpen();
    const log = this.manager.log(topic, partition);
    const maxRecords = options.maxRecords ?? Number.MAX_SAFE_INTEGER;
    const maxBytes = options.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) throw invalidArgument(`maxRecords must be a positive integer, got ${options.maxRecords}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw invalidArgument(`maxBytes must be a positive integer, got ${options.maxBytes}`);
    const out: StoreRecord[] = [];
    let next = offset;
    let bytes = 0;
    // Past compacted-away ranges and control batches until records, the byte budget or the end.
    while (out.length < maxRecords && bytes < maxBytes) {
      const got = await fetchRecords(log, next, maxBytes - bytes, maxRecords - out.length);
      if (got.nextOffset === next) break;
      for (const r of got.records) out.push(Object.assign(r, { topic, partition }));
      bytes += got.bytesRead;
      next = got.nextOffset;
    }
    return out;
  }

  /**
   * Kafka's ListOffsets: `'earliest'` → the log start offset, `'latest'` → the log end offset,
   * a timestamp → the first offset whose record timestamp is at or after it, or null when none.
   *
   * @throws SeglogError UNKNOWN_TOPIC, INVALID_ARGUMENT, CLOSED
   */
  offsetForTimestamp(topic: string, partition: number, timestamp: number | 'earliest' | 'latest'): number | null {
    this.checkOpen();
    return this.manager.log(topic, partition).offsetForTimestamp(timestamp)?.offset ?? null;
  }

  // ---------------------------------------------------------------- consume

  /**
   * A consumer of `topic` (see {@link Consumer}). A group member's first assignment is in place
   * when the call returns unless another member's auto-commit has to finish first
   * (`consumer.ready()` resolves then).
   *
   * @throws SeglogError UNKNOWN_TOPIC, INVALID_ARGUMENT (options), CLOSED
   */
  subscribe(topic: string, options: SubscribeOptions = {}): Consumer {
    this.checkOpen();
    this.manager.partitionCount(topic);
    const consumer = new Consumer(this.host, topic, options);
    this.consumers.add(consumer);
    return consumer;
  }

  /** A Readable of `topic`'s records for a new consumer (see {@link ConsumerStream}). */
  stream(topic: string, options: StreamOptions = {}): Readable {
    const { highWaterMark, ...subscribe } = options;
    return new ConsumerStream(this.subscribe(topic, subscribe), highWaterMark);
  }

  /** The group's committed offset of a partition (the next offset it reads), or null. */
  committed(group: string, topic: string, partition: number): number | null {
    this.checkOpen();
    return this.commits.committed(group, topic, partition);
  }

  /**
   * Commits offsets for a group without a consumer (like kafka-consumer-groups
   * --reset-offsets): each entry's offset is the next one the group reads.
   */
  commit(group: string, entries: readonly CommitEntry[]): Promise<void> {
    this.checkOpen();
    if (typeof group !== 'string' || group === '') throw invalidArgument('a consumer group id must be a non-empty string');
    return this.commitOffsets(group, [...entries]);
  }

  /** Groups with committed offsets, sorted. */
  listGroups(): string[] {
    this.checkOpen();
    return this.commits.groups();
  }

  /** fsyncs a topic's logs (every topic's when omitted), committed offsets included. */
  flush(topic?: string): Promise<void> {
    this.checkOpen();
    return this.manager.flush(topic);
  }

  private commitOffsets(group: string, entries: CommitEntry[]): Promise<void> {
    if (this.closing !== null && !this.closingConsumers) return Promise.reject(new SeglogError(ErrorCode.CLOSED, 'the event store is closed'));
    return this.commits.commit(group, entries);
  }

  private groupFor(id: string, strategy: AssignmentStrategy): ConsumerGroup {
    let group = this.groups.get(id);
    if (group === undefined) {
      group = new ConsumerGroup(id, strategy, (topic) => this.manager.partitionCount(topic));
      this.groups.set(id, group);
    }
    return group;
  }

  /**
   * Closes every consumer (auto-commits go through), then the manager (flush, checkpoints,
   * clean-shutdown marker, lock). Idempotent; other methods then throw CLOSED.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closingConsumers = true;
    this.closing = (async () => {
      const results = await Promise.allSettled([...this.consumers].map((c) => c.close()));
      this.closingConsumers = false;
      let failure: unknown = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
      try {
        await this.manager.close();
      } catch (err) {
        failure ??= err;
      }
      if (failure !== undefined) throw failure;
    })();
    return this.closing;
  }
}

// The contract names these beside EventStore; they live with the consumer.
export { Consumer, type StartFrom, type StoreRecord, type SubscribeOptions } from './consumer.js';
