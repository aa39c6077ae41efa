/**
 * `seglog-topics.json`: the topics of a data directory, their partition counts and config
 * overrides, in a small JSON file at the root. Kafka keeps this in ZooKeeper or the KRaft
 * metadata log; a data directory without the file (a Kafka log dir) is discovered from its
 * partition directories instead (see manager.ts).
 *
 * Format (UTF-8 JSON, written atomically: `.tmp`, fsync, rename, fsync dir):
 *
 * ```
 * { "version": 1,
 *   "topics": { "<name>": { "partitions": <n>, "config": { "<dotted.name>": "<value>", ... } }, ... },
 *   "deleting": ["<name>", ...] }
 * ```
 *
 * `config` holds only the topic's overrides, in Kafka's dotted names and string values, as
 * `kafka-configs` shows them. `deleting` lists topics whose deletion was decided but may not be
 * finished: the manager removes their directories at open (a crash-safe delete).
 *
 * The name is a file, not a directory, and does not parse as `<topic>-<partition>`, so neither
 * seglog's nor Kafka's directory scan mistakes it for a partition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { writeFileAtomicSync } from '../log/checkpoint.js';
import { MAX_PARTITIONS, isValidTopicName } from './names.js';

/** The metadata file's name. */
export const TOPICS_FILE = 'seglog-topics.json';

/** The only version written and read. */
const TOPICS_FILE_VERSION = 1;

/** One topic as persisted. */
export interface TopicRecord {
  /** Number of partitions. */
  partitions: number;
  /** Overrides, Kafka dotted names → string values. */
  config: Record<string, string>;
}

/** The whole file. */
export interface TopicsFileContent {
  /** Topics by name. */
  topics: Map<string, TopicRecord>;
  /** Topics being deleted. */
  deleting: string[];
}

/**
 * Reads the file; null when it does not exist.
 *
 * @throws SeglogError CORRUPT_CHECKPOINT when it does not parse or breaks the format's rules,
 *   UNSUPPORTED_FORMAT for another version, IO_ERROR when it cannot be read
 */
export function readTopicsFile(dir: string): TopicsFileContent | null {
  const file = path.join(dir, TOPICS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(err, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, `not JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw corrupt(file, 'not a JSON object');
  if (json.version !== TOPICS_FILE_VERSION) {
    throw new SeglogError(ErrorCode.UNSUPPORTED_FORMAT, `${file}: version ${String(json.version)}, expected ${TOPICS_FILE_VERSION}`, { file });
  }
  if (!isObject(json.topics)) throw corrupt(file, '"topics" is not an object');
  const topics = new Map<string, TopicRecord>();
  for (const [name, value] of Object.entries(json.topics)) {
    if (!isValidTopicName(name)) throw corrupt(file, `illegal topic name ${JSON.stringify(name)}`);
    if (!isObject(value)) throw corrupt(file, `topic ${name} is not an object`);
    const partitions = value.partitions;
    if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw corrupt(file, `topic ${name} has partitions ${JSON.stringify(partitions)}`);
    }
    // Null prototypes: keys come from the file (and a topic may be called `__proto__`).
    const config: Record<string, string> = Object.create(null) as Record<string, string>;
    if (value.config !== undefined) {
      if (!isObject(value.config)) throw corrupt(file, `topic ${name}: "config" is not an object`);
      for (const [k, v] of Object.entries(value.config)) {
        if (typeof v !== 'string') throw corrupt(file, `topic ${name}: config ${k} is not a string`);
        config[k] = v;
      }
    }
    topics.set(name, { partitions, config });
  }
  const deleting: string[] = [];
  if (json.deleting !== undefined) {
    if (!Array.isArray(json.deleting)) throw corrupt(file, '"deleting" is not an array');
    for (const name of json.deleting) {
      if (typeof name !== 'string' || !isValidTopicName(name)) throw corrupt(file, `illegal topic name ${JSON.stringify(name)} in "deleting"`);
      deleting.push(name);
    }
  }
  return { topics, deleting };
}

/** Replaces the file atomically and durably (topics sorted by name). */
export function writeTopicsFile(dir: string, content: TopicsFileContent): void {
  // A null prototype, so that a topic named `__proto__` is an ordinary key.
  const topics = Object.create(null) as Record<string, TopicRecord>;
  for (const name of [...content.topics.keys()].sort()) {
    const t = content.topics.get(name)!;
    topics[name] = { partitions: t.partitions, config: t.config };
  }
  const json = { version: TOPICS_FILE_VERSION, topics, deleting: [...content.deleting].sort() };
  writeFileAtomicSync(path.join(dir, TOPICS_FILE), `${JSON.stringify(json, null, 2)}\n`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function corrupt(file: string, message: string): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_CHECKPOINT, `${file}: ${message}`, { file });
}
