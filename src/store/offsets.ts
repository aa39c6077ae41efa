/**
 * Committed consumer offsets, stored as Kafka stores them: records of the compacted internal
 * topic `__consumer_offsets`, keyed and valued with the group coordinator's schemas, in the
 * partition `abs(group.hashCode()) % partitions` (GroupMetadataManager.partitionFor).
 *
 * Record layout (big-endian; `string` = int16 byte length + UTF-8, as Kafka's non-flexible
 * schemas; versions ≥ 4 of the value are "flexible": compact strings and tagged fields):
 *
 * | part | version (int16) | fields |
 * |---|---|---|
 * | key: offset commit | 0 or 1 | group string, topic string, partition int32 |
 * | key: group metadata | 2 | group string (the value is the group's membership; skipped here) |
 * | value v0, v2 | 0 / 2 | offset int64, metadata string, commitTimestamp int64 |
 * | value v1 | 1 | offset int64, metadata string, commitTimestamp int64, expireTimestamp int64 |
 * | value v3 | 3 | offset int64, leaderEpoch int32, metadata string, commitTimestamp int64 |
 * | value v4 | 4 | as v3 with compact strings (uvarint length + 1), then tagged fields |
 *
 * A null value (tombstone) deletes the key's commit. seglog writes key v1 and value v3, what
 * Kafka ≥ 2.1 writes for a commit without an explicit expiry; it reads every version above, so
 * the commits a real broker left in a data directory load too (test: the Kafka 2.7.1 fixture).
 *
 * Invariant of {@link CommitStore}: its map holds, per (group, topic, partition), the value of
 * the last record in the offsets topic for that key (last write wins, tombstones delete), as of
 * the last load plus every commit this process completed.
 */
import { ErrorCode, SeglogError, corrupt, invalidArgument } from '../errors.js';
import { readInt64, writeInt64 } from '../records/varint.js';
import type { Log } from '../log/log.js';
import type { LogManager } from '../manager/manager.js';
import { CONSUMER_OFFSETS_CONFIG } from '../manager/manager.js';
import { CONSUMER_OFFSETS_TOPIC } from '../manager/names.js';
import { javaAbs, javaStringHashCode } from './partitioner.js';

/** Key version seglog writes for an offset commit (Kafka's current offset-commit key). */
export const OFFSET_COMMIT_KEY_VERSION = 1;
/** Value version seglog writes (offset, leaderEpoch, metadata, commitTimestamp). */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
/** Kafka's default partition count of `__consumer_offsets` (offsets.topic.num.partitions). */
export const DEFAULT_OFFSETS_TOPIC_PARTITIONS = 50;

/** The key of an offset commit. */
export interface OffsetCommitKey {
  /** Consumer group id. */
  group: string;
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
}

/** The value of an offset commit. */
export interface OffsetCommitValue {
  /** The next offset the group reads (Kafka's committed offset). */
  offset: number;
  /** Leader epoch of the record before `offset`, −1 when unknown (v3+). */
  leaderEpoch: number;
  /** Client metadata string. */
  metadata: string;
  /** When the commit was made, epoch ms. */
  commitTimestamp: number;
  /** Explicit expiry (v1 only), −1 otherwise. */
  expireTimestamp: number;
}

/** A decoded `__consumer_offsets` key. */
export type OffsetsTopicKey =
  | ({
      /** An offset commit. */
      type: 'offset-commit';
      /** The key's schema version (0 or 1). */
      version: number;
    } & OffsetCommitKey)
  | {
      /** A group's metadata record. */
      type: 'group-metadata';
      /** The key's schema version (2). */
      version: number;
      /** The group. */
      group: string;
    }
  | {
      /** A key of a schema version seglog does not read. */
      type: 'other';
      /** The key's schema version. */
      version: number;
    };

/** The partition of `__consumer_offsets` a group's records go to: `Utils.abs(group.hashCode()) % partitions`. */
export function offsetsPartitionFor(group: string, partitions: number): number {
  return javaAbs(javaStringHashCode(group)) % partitions;
}

// ------------------------------------------------------------------ encoding

const MAX_SCHEMA_STRING_BYTES = 0x7fff;

function stringBytes(what: string, s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > MAX_SCHEMA_STRING_BYTES) throw invalidArgument(`${what} is ${b.length} bytes in UTF-8, more than Kafka's string limit ${MAX_SCHEMA_STRING_BYTES}`);
  return b;
}

/** Encodes an offset-commit key (version 1). */
export function encodeOffsetCommitKey(key: OffsetCommitKey): Buffer {
  const group = stringBytes('group id', key.group);
  const topic = stringBytes('topic', key.topic);
  const out = Buffer.allocUnsafe(2 + 2 + group.length + 2 + topic.length + 4);
  let pos = out.writeInt16BE(OFFSET_COMMIT_KEY_VERSION, 0);
  pos = out.writeInt16BE(group.length, pos);
  pos += group.copy(out, pos);
  pos = out.writeInt16BE(topic.length, pos);
  pos += topic.copy(out, pos);
  out.writeInt32BE(key.partition, pos);
  return out;
}

/** Encodes an offset-commit value (version 3). */
export function encodeOffsetCommitValue(value: Pick<OffsetCommitValue, 'offset' | 'commitTimestamp'> & Partial<OffsetCommitValue>): Buffer {
  const metadata = stringBytes('commit metadata', value.metadata ?? '');
  const out = Buffer.allocUnsafe(2 + 8 + 4 + 2 + metadata.length + 8);
  let pos = out.writeInt16BE(OFFSET_COMMIT_VALUE_VERSION, 0);
  writeInt64(out, pos, value.offset);
  pos += 8;
  pos = out.writeInt32BE(value.leaderEpoch ?? -1, pos);
  pos = out.writeInt16BE(metadata.length, pos);
  pos += metadata.copy(out, pos);
  writeInt64(out, pos, value.commitTimestamp);
  return out;
}

// ------------------------------------------------------------------ decoding

/** A bounds-checked cursor over one schema-encoded buffer. */
class SchemaReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw corrupt(`offsets record truncated: need ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos}`, this.pos);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(what: string): number {
    this.need(8);
    const v = readInt64(this.buf, this.pos, what);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      this.need(1);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw corrupt('unsigned varint longer than 5 bytes in an offsets record', this.pos);
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw corrupt(`negative string length ${n} in an offsets record`, this.pos - 2);
    return this.text(n);
  }

  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) throw corrupt('null compact string in an offsets record', this.pos);
    return this.text(n);
  }

  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.need(size);
      this.pos += size;
    }
  }

  private text(n: number): string {
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

/**
 * Decodes a `__consumer_offsets` key. Versions 0 and 1 are offset commits, 2 group metadata;
 * anything else (newer coordinators' record types) is `other`, which a reader skips.
 *
 * @throws SeglogError CORRUPT_RECORD when a known version is truncated
 */
export function decodeOffsetsTopicKey(buf: Buffer): OffsetsTopicKey {
  const r = new SchemaReader(buf);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const group = r.string();
    const topic = r.string();
    const partition = r.int32();
    return { type: 'offset-commit', version, group, topic, partition };
  }
  if (version === 2) return { type: 'group-metadata', version, group: r.string() };
  return { type: 'other', version };
}

/**
 * Decodes an offset-commit value of any version 0–4.
 *
 * @throws SeglogError CORRUPT_RECORD when truncated, UNSUPPORTED_FORMAT for a version above 4
 */
export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new SchemaReader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `offset commit value version ${version} (seglog reads 0..4)`);
  const offset = r.int64('committed offset');
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = version >= 4 ? r.compactString() : r.string();
  const commitTimestamp = r.int64('commit timestamp');
  const expireTimestamp = version === 1 ? r.int64('expire timestamp') : -1;
  if (version >= 4) r.skipTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

// ------------------------------------------------------------------ the store of commits

/** What loading the offsets topic found. */
export interface OffsetsLoadReport {
  /** Records read. */
  records: number;
  /** Offset commits in effect after the load. */
  commits: number;
  /** Records that did not decode (left in place, ignored). */
  skipped: number;
}

/** One commit to make. */
export interface CommitEntry {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Next offset to read. */
  offset: number;
  /** Client metadata (default empty). */
  metadata?: string;
}

/** The committed offsets of every group of one data directory, backed by `__consumer_offsets`. */
export class CommitStore {
  private readonly manager: LogManager;
  private readonly clock: () => number;
  private readonly defaultPartitions: number;
  /** group → topic → partition → committed value. */
  private readonly commits = new Map<string, Map<string, Map<number, OffsetCommitValue>>>();
  private creating: Promise<void> | null = null;

  /**
   * @param manager - the data directory
   * @param options - `clock` for commit timestamps; `partitions` of the offsets topic when it
   *   has to be created (Kafka's default 50)
   */
  constructor(manager: LogManager, options: { clock?: () => number; partitions?: number } = {}) {
    this.manager = manager;
    this.clock = options.clock ?? Date.now;
    this.defaultPartitions = options.partitions ?? DEFAULT_OFFSETS_TOPIC_PARTITIONS;
  }

  /**
   * Rebuilds the map from the offsets topic (every partition, from its log start): the last
   * record per key wins, a tombstone deletes. Records that do not decode are counted and
   * skipped, so one damaged commit does not make the store unopenable.
   */
  load(): OffsetsLoadReport {
    this.commits.clear();
    const report: OffsetsLoadReport = { records: 0, commits: 0, skipped: 0 };
    if (!this.manager.hasTopic(CONSUMER_OFFSETS_TOPIC)) return report;
    const n = this.manager.partitionCount(CONSUMER_OFFSETS_TOPIC);
    for (let p = 0; p < n; p++) {
      for (const record of this.manager.log(CONSUMER_OFFSETS_TOPIC, p).recordsSync()) {
        report.records++;
        if (record.key === null) continue;
        try {
          const key = decodeOffsetsTopicKey(record.key);
          if (key.type !== 'offset-commit') continue;
          if (record.value === null) this.delete(key.group, key.topic, key.partition);
          else this.set(key.group, key.topic, key.partition, decodeOffsetCommitValue(record.value));
        } catch (err) {
          if (!(err instanceof SeglogError)) throw err;
          report.skipped++;
        }
      }
    }
    for (const topics of this.commits.values()) for (const parts of topics.values()) report.commits += parts.size;
    return report;
  }

  /** The committed offset (next offset to read), or null when the group has none for it. */
  committed(group: string, topic: string, partition: number): number | null {
    return this.commits.get(group)?.get(topic)?.get(partition)?.offset ?? null;
  }

  /** The full committed value, or null. */
  committedValue(group: string, topic: string, partition: number): OffsetCommitValue | null {
    return this.commits.get(group)?.get(topic)?.get(partition) ?? null;
  }

  /** Every group with at least one commit, sorted. */
  groups(): string[] {
    return [...this.commits.keys()].sort();
  }

  /**
   * Commits offsets for one group: one append (one batch) to the group's partition of the
   * offsets topic, created on first use. Resolves once the batch is written (a process crash
   * after that keeps it; an fsync follows the offsets topic's flush policy or `flush()`), and
   * the map is updated then.
   *
   * @throws SeglogError INVALID_ARGUMENT for an offset that is not a non-negative integer
   */
  async commit(group: string, entries: readonly CommitEntry[]): Promise<void> {
    if (entries.length === 0) return;
    for (const e of entries) {
      if (!Number.isSafeInteger(e.offset) || e.offset < 0) throw invalidArgument(`a committed offset must be a non-negative integer, got ${e.offset} for ${e.topic}-${e.partition}`);
    }
    const log = await this.logFor(group);
    const now = this.clock();
    const values = entries.map((e) => ({ ...e, value: { offset: e.offset, leaderEpoch: -1, metadata: e.metadata ?? '', commitTimestamp: now, expireTimestamp: -1 } }));
    await log.append(
      values.map((e) => ({
        key: encodeOffsetCommitKey({ group, topic: e.topic, partition: e.partition }),
        value: encodeOffsetCommitValue(e.value),
        timestamp: now,
      })),
    );
    for (const e of values) this.set(group, e.topic, e.partition, e.value);
  }

  /**
   * Removes every group's commits of `topic` (tombstones), as Kafka's coordinator does when a
   * topic is deleted, so a topic created again under the same name starts without them.
   */
  async deleteTopic(topic: string): Promise<void> {
    for (const group of this.groups()) {
      const parts = this.commits.get(group)?.get(topic);
      if (parts === undefined || parts.size === 0) continue;
      const log = await this.logFor(group);
      await log.append([...parts.keys()].map((partition) => ({ key: encodeOffsetCommitKey({ group, topic, partition }), value: null, timestamp: this.clock() })));
      this.commits.get(group)?.delete(topic);
    }
  }

  /** The log of the group's offsets partition, creating the offsets topic when missing. */
  private async logFor(group: string): Promise<Log> {
    if (!this.manager.hasTopic(CONSUMER_OFFSETS_TOPIC)) {
      this.creating ??= this.manager
        .createTopic(CONSUMER_OFFSETS_TOPIC, { partitions: this.defaultPartitions, config: { ...CONSUMER_OFFSETS_CONFIG } })
        .then(
          () => undefined,
          (err: unknown) => {
            if (!(err instanceof SeglogError && err.code === ErrorCode.TOPIC_EXISTS)) throw err;
          },
        )
        .finally(() => {
          this.creating = null;
        });
      await this.creating;
    }
    const n = this.manager.partitionCount(CONSUMER_OFFSETS_TOPIC);
    return this.manager.log(CONSUMER_OFFSETS_TOPIC, offsetsPartitionFor(group, n));
  }

  private set(group: string, topic: string, partition: number, value: OffsetCommitValue): void {
    let topics = this.commits.get(group);
    if (topics === undefined) this.commits.set(group, (topics = new Map()));
    let parts = topics.get(topic);
    if (parts === undefined) topics.set(topic, (parts = new Map()));
    parts.set(partition, value);
  }

  private delete(group: string, topic: string, partition: number): void {
    const topics = this.commits.get(group);
    const parts = topics?.get(topic);
    if (parts === undefined) return;
    parts.delete(partition);
    if (parts.size === 0) topics!.delete(topic);
    if (topics!.size === 0) this.commits.delete(group);
  }
}
