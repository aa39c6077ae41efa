/**
 * Topic names and partition directory names of a data directory (Kafka's `Topic.validate` and
 * `LocalLog.parseTopicPartitionName`, format notes §3.2 and §9.2).
 *
 * Invariant: every name {@link validateTopicName} accepts is a single path component made of
 * `[a-zA-Z0-9._-]`, never `.` or `..`, so `path.join(dataDir, partitionDirName(topic, p))`
 * always names a direct child of the data directory — no topic can reach outside it.
 */
import { ErrorCode, SeglogError } from '../errors.js';

/**
 * Longest legal topic name (Kafka's `Topic.MAX_NAME_LENGTH`). 249 leaves room for `-<partition>`
 * (with up to 5 digits) inside the 255-byte file-name limit of common file systems.
 */
export const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * Most partitions one topic may have. Kafka has no hard bound, but every partition is a
 * directory with open descriptors and its own maintenance, and 4-digit partition numbers keep
 * `<249-char topic>-<partition>` at 254 bytes, under the 255-byte file-name limit.
 */
export const MAX_PARTITIONS = 10_000;

/** Kafka's consumer-offsets topic (compacted; the event store keeps group commits in it). */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

/** Kafka's internal topics (`Topic.INTERNAL_TOPICS` plus the share-group state topic). */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([CONSUMER_OFFSETS_TOPIC, '__transaction_state', '__share_group_state']);

/** The KRaft metadata log: a partition directory Kafka's LogManager skips, and so do we. */
export const CLUSTER_METADATA_TOPIC = '__cluster_metadata';

const LEGAL_CHARS = /^[a-zA-Z0-9._-]+$/;

/** Whether `name` is one of Kafka's internal topics. */
export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

/**
 * Checks a topic name against Kafka's rules: 1..249 characters from `[a-zA-Z0-9._-]`, and not
 * `.` or `..`. Those rules are what keeps a name from escaping the data directory (`/`, `\`,
 * NUL and `..` components are all refused).
 *
 * @throws SeglogError INVALID_TOPIC naming the rule broken
 */
export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw invalidTopic(`a topic name must be a string, got ${name === null ? 'null' : typeof name}`);
  if (name.length === 0) throw invalidTopic('a topic name cannot be empty');
  if (name === '.' || name === '..') throw invalidTopic(`topic name ${JSON.stringify(name)} is not allowed`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw invalidTopic(`topic name of ${name.length} characters is longer than ${MAX_TOPIC_NAME_LENGTH} (${JSON.stringify(name.slice(0, 20))}...)`);
  }
  if (!LEGAL_CHARS.test(name)) {
    throw invalidTopic(`topic name ${JSON.stringify(name)} has characters outside ASCII letters, digits, '.', '_' and '-'`);
  }
}

/** Whether {@link validateTopicName} accepts `name`. */
export function isValidTopicName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kafka's collision rule: `.` and `_` become the same character in metric names, so two topics
 * that differ only there cannot coexist (`Topic.hasCollision`).
 */
export function topicsCollide(a: string, b: string): boolean {
  return a !== b && a.replace(/\./g, '_') === b.replace(/\./g, '_');
}

/** The partition directory name, `<topic>-<partition>` (the topic must be valid). */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Parses a live partition directory name: split at the last `-`, the topic must be a legal
 * name, the partition a decimal int32 without sign. Returns null for anything else — renamed
 * forms (`…-delete`, `…-future`, `…-stray`), files such as `expected` or `remote-log-index-cache`.
 */
export function parsePartitionDirName(name: string): {
  /** The topic (the name up to the last `-`). */
  topic: string;
  /** The partition number. */
  partition: number;
} | null {
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return null;
  const topic = name.slice(0, dash);
  const digits = name.slice(dash + 1);
  // Kafka parses with Integer.parseInt, which takes "007"; a canonical name never has a leading zero.
  if (!/^\d{1,10}$/.test(digits)) return null;
  const partition = Number(digits);
  if (partition > 0x7fffffff || String(partition) !== digits) return null;
  if (!isValidTopicName(topic)) return null;
  return { topic, partition };
}

/** Suffix of a partition directory renamed for deletion (Kafka's `LocalLog.DeleteDirSuffix`). */
export const DELETE_DIR_SUFFIX = '-delete';

/** Kafka's pattern for renamed directories: `<topic>-<partition>.<uuid>-delete|-future|-stray`. */
const RENAMED_DIR = /^(\S+)-(\S+)\.(\S+)(-delete|-future|-stray)$/;

/** Whether `name` is a partition directory renamed for deletion (removed at open). */
export function isDeleteDirName(name: string): boolean {
  const m = RENAMED_DIR.exec(name);
  return m !== null && m[4] === DELETE_DIR_SUFFIX;
}

/**
 * The name a partition directory takes while it is being deleted, as Kafka's
 * `LocalLog.logDeleteDirName`: `<topic>-<partition>.<uuid without dashes>-delete`, the topic
 * part cut so the whole stays within 255 characters.
 */
export function deleteDirName(topic: string, partition: number, uuid: string): string {
  const suffix = `-${partition}.${uuid.replace(/-/g, '')}${DELETE_DIR_SUFFIX}`;
  return `${topic.slice(0, Math.max(0, 255 - suffix.length))}${suffix}`;
}

function invalidTopic(message: string): SeglogError {
  return new SeglogError(ErrorCode.INVALID_TOPIC, message);
}
