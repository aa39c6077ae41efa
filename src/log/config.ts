/**
 * Per-log (topic-level) configuration: Kafka's topic configs as a typed, frozen object.
 *
 * Owns: the {@link LogConfig} shape, its defaults ({@link DEFAULT_LOG_CONFIG}), validation
 * ({@link resolveLogConfig}) and the mapping back to Kafka's dotted property names
 * ({@link toKafkaProperties}), which is the form a persisted topic config takes.
 *
 * Keys are the camelCase of Kafka's topic config names (`segment.bytes` → `segmentBytes`);
 * every key also resolves from its dotted name, and string values are parsed the way Kafka's
 * `ConfigDef` parses them (trimmed; `Integer.parseInt` / `Long.parseLong` / `Double.parseDouble`
 * / case-insensitive booleans; case-sensitive enum names), because the CLI and persisted topic
 * configs hand us strings.
 *
 * Numbers: Kafka's INT keys are bounded by int32 as in Kafka. Kafka's LONG keys are JavaScript
 * numbers, so Kafka's `Long.MAX_VALUE` ("never" / "unbounded", the default of `flush.ms`,
 * `flush.messages`, `max.compaction.lag.ms` and the timestamp bounds) is represented by
 * {@link UNBOUNDED_LONG} = `Number.MAX_SAFE_INTEGER` (2^53 − 1 ms is about 285,000 years).
 * We chose it over `Infinity` because it is an integer: it passes the same integer checks as
 * every other value, survives JSON, and `Math.min` / comparisons with it behave as Kafka's do
 * with Long.MAX. On input, `9223372036854775807` (string, bigint, or the number 2^63 that a JS
 * literal of it becomes) maps to it; on output it is written back as `9223372036854775807`.
 * Any other value beyond 2^53 − 1 is rejected rather than rounded.
 *
 * Invariants of every returned config: all values within their Kafka bounds, integers where
 * Kafka has INT/LONG, `minCompactionLagMs <= maxCompactionLagMs` (the one cross-key check
 * Kafka's `LogConfig.validateValues` makes outside tiered storage), `cleanupPolicy` non-empty,
 * deduplicated and in canonical order (`compact` before `delete`), and the object and its
 * array frozen.
 */
import { ErrorCode, SeglogError } from '../errors.js';

/** A topic's cleanup policy element (Kafka's `cleanup.policy` is a list of these). */
export type CleanupPolicy = 'delete' | 'compact';

/** Which timestamp a log stores in its batches (Kafka's `message.timestamp.type`). */
export type MessageTimestampType = 'CreateTime' | 'LogAppendTime';

/**
 * Kafka's broker-side `compression.type`: `producer` keeps whatever codec the producer used;
 * any other value makes the log recompress batches to that codec.
 */
export type BrokerCompressionType = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/**
 * Stands for Kafka's `Long.MAX_VALUE` ("never" / "unbounded") in a {@link LogConfig}.
 * It is `Number.MAX_SAFE_INTEGER` so that it stays an exact integer; see the file header.
 */
export const UNBOUNDED_LONG = Number.MAX_SAFE_INTEGER;

/** Kafka's `Long.MAX_VALUE` as Kafka writes it in a properties file. */
export const KAFKA_LONG_MAX_STRING = '9223372036854775807';

/** Kafka's `Integer.MAX_VALUE`, the upper bound of every INT-typed config. */
const INT_MAX = 0x7fffffff;
/** Kafka's `Integer.MIN_VALUE`. */
const INT_MIN = -0x80000000;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * One log's configuration. Every key is the camelCase of a Kafka topic config; the dotted name
 * and Kafka's bound are given on each field. Build one with {@link resolveLogConfig}.
 */
export interface LogConfig {
  /**
   * `segment.bytes` (INT): roll a segment when it would exceed this size. Default 1 GiB.
   * Minimum 14 (Kafka ≤ 3.9). Kafka 4.x raises the minimum to 1 MiB (KIP-1030; Kafka trunk's
   * LogConfig has `atLeast(1024 * 1024)` plus an internal test-only override) — which release
   * shipped it is UNVERIFIED; seglog keeps 14 because small segments are what tests and
   * embedded use need, and older Kafka topic configs may carry them.
   */
  readonly segmentBytes: number;
  /** `segment.ms` (LONG): roll a segment older than this. Default 7 days; minimum 1. */
  readonly segmentMs: number;
  /** `segment.jitter.ms` (LONG): random jitter subtracted from `segmentMs` per segment. Default 0; minimum 0. */
  readonly segmentJitterMs: number;
  /**
   * `segment.index.bytes` (INT): maximum size of each `.index` / `.timeindex`. Default 10 MiB;
   * minimum 12 (Kafka allows 4, but below one 12-byte time-index entry the index can hold
   * nothing and every append would roll; seglog refuses such a value up front).
   */
  readonly segmentIndexBytes: number;
  /** `index.interval.bytes` (INT): bytes of log between two index entries. Default 4096; minimum 0. */
  readonly indexIntervalBytes: number;
  /** `flush.messages` (LONG): fsync after this many messages. Default {@link UNBOUNDED_LONG} (never); minimum 1. */
  readonly flushMessages: number;
  /** `flush.ms` (LONG): fsync when the last flush is this old. Default {@link UNBOUNDED_LONG} (never); minimum 0. */
  readonly flushMs: number;
  /** `max.message.bytes` (INT): largest batch accepted, after compression. Default 1048588 (1 MiB + 12); minimum 0. */
  readonly maxMessageBytes: number;
  /** `message.timestamp.type`: `CreateTime` (producer's) or `LogAppendTime` (the log's clock). Default `CreateTime`. */
  readonly messageTimestampType: MessageTimestampType;
  /**
   * `message.timestamp.before.max.ms` (LONG): how far in the past a CreateTime timestamp may be.
   * Default {@link UNBOUNDED_LONG}; minimum 0.
   */
  readonly messageTimestampBeforeMaxMs: number;
  /**
   * `message.timestamp.after.max.ms` (LONG): how far in the future a CreateTime timestamp may be.
   * Default {@link UNBOUNDED_LONG} (Kafka ≤ 3.9); Kafka 4.0 changed the default to 3600000 (1 h,
   * KIP-1030). Minimum 0.
   */
  readonly messageTimestampAfterMaxMs: number;
  /** `compression.type`: the codec batches are stored in; `producer` keeps the producer's. Default `producer`. */
  readonly compressionType: BrokerCompressionType;
  /** `compression.gzip.level` (INT): −1 (zlib default) or 1..9. Default −1. */
  readonly compressionGzipLevel: number;
  /** `compression.lz4.level` (INT): 1..17. Default 9. */
  readonly compressionLz4Level: number;
  /** `compression.zstd.level` (INT): −131072..22. Default 3. */
  readonly compressionZstdLevel: number;
  /** `preallocate`: preallocate each new `.log` to `segmentBytes`. Default false. */
  readonly preallocate: boolean;
  /** `retention.ms` (LONG): delete segments older than this; −1 = unlimited. Default 7 days; minimum −1. */
  readonly retentionMs: number;
  /** `retention.bytes` (LONG): delete old segments while the log is bigger than this; −1 = unlimited. Default −1. */
  readonly retentionBytes: number;
  /**
   * `cleanup.policy` (LIST): `delete` (retention), `compact` (keep the last value per key) or
   * both. Default `['delete']`. Accepts the strings `delete`, `compact`, `compact,delete`.
   */
  readonly cleanupPolicy: readonly CleanupPolicy[];
  /** `min.cleanable.dirty.ratio` (DOUBLE): compact when the dirty share of the log reaches this. Default 0.5; in [0, 1]. */
  readonly minCleanableDirtyRatio: number;
  /** `delete.retention.ms` (LONG): how long tombstones and txn markers survive compaction. Default 1 day; minimum 0. */
  readonly deleteRetentionMs: number;
  /** `min.compaction.lag.ms` (LONG): records younger than this are not compacted. Default 0; minimum 0; ≤ `maxCompactionLagMs`. */
  readonly minCompactionLagMs: number;
  /** `max.compaction.lag.ms` (LONG): records older than this must be compacted. Default {@link UNBOUNDED_LONG}; minimum 1. */
  readonly maxCompactionLagMs: number;
  /** `file.delete.delay.ms` (LONG): delay between renaming a segment to `.deleted` and removing it. Default 60000; minimum 0. */
  readonly fileDeleteDelayMs: number;
}

type Kind = 'int' | 'long' | 'double' | 'boolean' | 'enum' | 'list';

/** How one key is named, typed and bounded. */
interface Spec {
  readonly dotted: string;
  readonly kind: Kind;
  readonly min?: number;
  readonly max?: number;
  /** One extra value allowed outside [min, max] (gzip's −1). */
  readonly alsoAllowed?: number;
  /** Allowed names for `enum` and `list`. */
  readonly values?: readonly string[];
}

const int = (dotted: string, min: number, max = INT_MAX, alsoAllowed?: number): Spec => ({ dotted, kind: 'int', min, max, alsoAllowed });
const long = (dotted: string, min: number): Spec => ({ dotted, kind: 'long', min, max: UNBOUNDED_LONG });

/**
 * The key table, in the order of Kafka's documentation. Bounds are Kafka's `ConfigDef`
 * validators (storage/.../log/LogConfig.java), except `segment.bytes` (see its field).
 */
const SPECS: { readonly [K in keyof LogConfig]: Spec } = {
  segmentBytes: int('segment.bytes', 14),
  segmentMs: long('segment.ms', 1),
  segmentJitterMs: long('segment.jitter.ms', 0),
  segmentIndexBytes: int('segment.index.bytes', 12),
  indexIntervalBytes: int('index.interval.bytes', 0),
  flushMessages: long('flush.messages', 1),
  flushMs: long('flush.ms', 0),
  maxMessageBytes: int('max.message.bytes', 0),
  messageTimestampType: { dotted: 'message.timestamp.type', kind: 'enum', values: ['CreateTime', 'LogAppendTime'] },
  messageTimestampBeforeMaxMs: long('message.timestamp.before.max.ms', 0),
  messageTimestampAfterMaxMs: long('message.timestamp.after.max.ms', 0),
  compressionType: {
    dotted: 'compression.type',
    kind: 'enum',
    values: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'],
  },
  compressionGzipLevel: int('compression.gzip.level', 1, 9, -1),
  compressionLz4Level: int('compression.lz4.level', 1, 17),
  compressionZstdLevel: int('compression.zstd.level', -131072, 22),
  preallocate: { dotted: 'preallocate', kind: 'boolean' },
  retentionMs: long('retention.ms', -1),
  // Kafka puts no bound on retention.bytes (any negative means unlimited); ours is the safe range.
  retentionBytes: long('retention.bytes', -Number.MAX_SAFE_INTEGER),
  // Canonical order: the order values are written back in by toKafkaProperties.
  cleanupPolicy: { dotted: 'cleanup.policy', kind: 'list', values: ['compact', 'delete'] },
  minCleanableDirtyRatio: { dotted: 'min.cleanable.dirty.ratio', kind: 'double', min: 0, max: 1 },
  deleteRetentionMs: long('delete.retention.ms', 0),
  minCompactionLagMs: long('min.compaction.lag.ms', 0),
  maxCompactionLagMs: long('max.compaction.lag.ms', 1),
  fileDeleteDelayMs: long('file.delete.delay.ms', 0),
};

const KEYS = Object.keys(SPECS) as (keyof LogConfig)[];

/** Both spellings of every key → its camelCase key. A Map, so `__proto__` and friends are just unknown. */
const BY_NAME = new Map<string, keyof LogConfig>();
for (const key of KEYS) {
  BY_NAME.set(key, key);
  BY_NAME.set(SPECS[key].dotted, key);
}

/**
 * Kafka topic configs that seglog recognises but does not implement (replication, tiered
 * storage, removed message-format settings). They are rejected like unknown keys, with a
 * message that says why, so that importing a Kafka topic's config fails loudly.
 */
const KAFKA_ONLY = new Set([
  'message.format.version',
  'message.downconversion.enable',
  'message.timestamp.difference.max.ms',
  'unclean.leader.election.enable',
  'min.insync.replicas',
  'leader.replication.throttled.replicas',
  'follower.replication.throttled.replicas',
  'remote.storage.enable',
  'local.retention.ms',
  'local.retention.bytes',
  'remote.log.copy.disable',
  'remote.log.delete.on.disable',
]);

/** Kafka's defaults (the 2024-10 trunk snapshot, §8 of the format notes), frozen. */
export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  segmentJitterMs: 0,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  flushMessages: UNBOUNDED_LONG,
  flushMs: UNBOUNDED_LONG,
  maxMessageBytes: 1024 * 1024 + 12,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: UNBOUNDED_LONG,
  messageTimestampAfterMaxMs: UNBOUNDED_LONG,
  compressionType: 'producer',
  compressionGzipLevel: -1,
  compressionLz4Level: 9,
  compressionZstdLevel: 3,
  preallocate: false,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  cleanupPolicy: Object.freeze(['delete'] as CleanupPolicy[]),
  minCleanableDirtyRatio: 0.5,
  deleteRetentionMs: DAY_MS,
  minCompactionLagMs: 0,
  maxCompactionLagMs: UNBOUNDED_LONG,
  fileDeleteDelayMs: 60_000,
});

/** "segmentBytes (segment.bytes)", or "segment.bytes (segmentBytes)" when the user wrote the dotted name. */
function label(written: string, key: keyof LogConfig): string {
  const dotted = SPECS[key].dotted;
  return written === dotted ? `${dotted} (${key})` : `${key} (${dotted})`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return String(value);
}

function invalid(written: string, key: keyof LogConfig, value: unknown, problem: string): SeglogError {
  return new SeglogError(ErrorCode.INVALID_CONFIG, `invalid config ${label(written, key)} = ${show(value)}: ${problem}`);
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;

/** Turns a number, bigint or decimal string into an exact integer, or explains why not. */
function toInteger(value: unknown, kind: 'int' | 'long'): number | string {
  let big: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'must be an integer';
    // A JS literal of Long.MAX_VALUE evaluates to exactly 2^63.
    if (kind === 'long' && value === 2 ** 63) return UNBOUNDED_LONG;
    if (!Number.isSafeInteger(value)) return `must be an exact integer (|value| <= ${Number.MAX_SAFE_INTEGER})`;
    return value;
  } else if (typeof value === 'bigint') {
    big = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (!INTEGER_TEXT.test(text)) return 'must be an integer';
    big = BigInt(text);
  } else {
    return `must be an integer, got ${value === null ? 'null' : typeof value}`;
  }
  if (kind === 'long' && big === LONG_MAX) return UNBOUNDED_LONG;
  const [lo, hi] = kind === 'int' ? [BigInt(INT_MIN), BigInt(INT_MAX)] : [LONG_MIN, LONG_MAX];
  if (big < lo || big > hi) return `does not fit Kafka's ${kind === 'int' ? 'int32' : 'int64'}`;
  if (big < -BigInt(Number.MAX_SAFE_INTEGER) || big > BigInt(Number.MAX_SAFE_INTEGER)) {
    return `must be an exact integer (|value| <= ${Number.MAX_SAFE_INTEGER}) or ${KAFKA_LONG_MAX_STRING}`;
  }
  return Number(big);
}

function parseIntegerKey(written: string, key: keyof LogConfig, spec: Spec, value: unknown): number {
  const n = toInteger(value, spec.kind as 'int' | 'long');
  if (typeof n === 'string') throw invalid(written, key, value, n);
  const min = spec.min!;
  const max = spec.max!;
  if ((n < min || n > max) && n !== spec.alsoAllowed) {
    const range = max === UNBOUNDED_LONG ? `must be at least ${min}` : `must be between ${min} and ${max}`;
    throw invalid(written, key, value, spec.alsoAllowed === undefined ? range : `must be ${spec.alsoAllowed} or between ${min} and ${max}`);
  }
  return n;
}

function parseDoubleKey(written: string, key: keyof LogConfig, spec: Spec, value: unknown): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) n = Number(value.trim());
  else throw invalid(written, key, value, 'must be a number');
  if (!Number.isFinite(n)) throw invalid(written, key, value, 'must be a finite number');
  if (n < spec.min! || n > spec.max!) throw invalid(written, key, value, `must be between ${spec.min} and ${spec.max}`);
  return n;
}

function parseBooleanKey(written: string, key: keyof LogConfig, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  // Kafka's ConfigDef accepts "true"/"false" in any case, trimmed.
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw invalid(written, key, value, 'must be true or false');
}

function parseEnumKey(written: string, key: keyof LogConfig, spec: Spec, value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (text !== undefined && spec.values!.includes(text)) return text;
  throw invalid(written, key, value, `must be one of ${spec.values!.join(', ')}`);
}

function parseListKey(written: string, key: keyof LogConfig, spec: Spec, value: unknown): readonly string[] {
  let items: unknown[];
  if (typeof value === 'string') items = value.trim() === '' ? [] : value.trim().split(/\s*,\s*/);
  else if (Array.isArray(value)) items = value;
  else throw invalid(written, key, value, `must be a list of ${spec.values!.join(', ')}`);
  const allowed = spec.values!;
  for (const item of items) {
    if (typeof item !== 'string' || !allowed.includes(item)) {
      throw invalid(written, key, value, `${show(item)} is not one of ${allowed.join(', ')}`);
    }
  }
  // Kafka ≤ 3.9 let an empty list through ValidList; it means "never remove anything", which
  // seglog refuses so that a typo (cleanup.policy=) cannot silently disable retention.
  if (items.length === 0) throw invalid(written, key, value, `must name at least one of ${allowed.join(', ')}`);
  return Object.freeze(allowed.filter((v) => items.includes(v)));
}

function parseKey(written: string, key: keyof LogConfig, value: unknown): unknown {
  const spec = SPECS[key];
  switch (spec.kind) {
    case 'int':
    case 'long':
      return parseIntegerKey(written, key, spec, value);
    case 'double':
      return parseDoubleKey(written, key, spec, value);
    case 'boolean':
      return parseBooleanKey(written, key, value);
    case 'enum':
      return parseEnumKey(written, key, spec, value);
    case 'list':
      return parseListKey(written, key, spec, value);
  }
}

/**
 * Validates and completes a log configuration.
 *
 * Accepts camelCase keys and Kafka's dotted names (`segmentBytes` or `segment.bytes`), and
 * values either typed or as the strings the CLI and persisted topic configs carry. Keys left
 * out (or `undefined`) take their value from `base`. Rejects, with a `SeglogError` of code
 * `INVALID_CONFIG` whose message names the key as written, its other spelling, the value and
 * the bound: unknown keys, the same key given in both spellings, wrong types, non-integers for
 * Kafka's INT/LONG keys, out-of-range values, and `minCompactionLagMs > maxCompactionLagMs`.
 *
 * @param partial - the overrides
 * @param base - the values for keys `partial` leaves out (default {@link DEFAULT_LOG_CONFIG});
 *   Kafka's broker-default-then-topic-override layering is `resolveLogConfig(topic, resolveLogConfig(broker))`
 * @returns a new frozen config
 */
export function resolveLogConfig(partial: Partial<LogConfig> | Record<string, unknown>, base: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new SeglogError(ErrorCode.INVALID_CONFIG, `a log config must be a plain object, got ${partial === null ? 'null' : Array.isArray(partial) ? 'an array' : typeof partial}`);
  }
  const out: Record<string, unknown> = { ...base };
  const seen = new Map<keyof LogConfig, string>();
  for (const [written, value] of Object.entries(partial)) {
    const key = BY_NAME.get(written);
    if (key === undefined) {
      const why = KAFKA_ONLY.has(written) ? 'a Kafka topic config that seglog does not implement' : 'not a known log config key';
      throw new SeglogError(ErrorCode.INVALID_CONFIG, `unknown config ${JSON.stringify(written)}: ${why}`);
    }
    if (value === undefined) continue;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new SeglogError(ErrorCode.INVALID_CONFIG, `config ${label(written, key)} is given twice (as ${JSON.stringify(other)} and ${JSON.stringify(written)})`);
    }
    seen.set(key, written);
    out[key] = parseKey(written, key, value);
  }
  const config = out as unknown as LogConfig;
  if (config.minCompactionLagMs > config.maxCompactionLagMs) {
    throw new SeglogError(
      ErrorCode.INVALID_CONFIG,
      `conflicting config: minCompactionLagMs (min.compaction.lag.ms) = ${config.minCompactionLagMs} ` +
        `must be <= maxCompactionLagMs (max.compaction.lag.ms) = ${config.maxCompactionLagMs}`,
    );
  }
  return Object.freeze(config);
}

function formatValue(key: keyof LogConfig, value: LogConfig[keyof LogConfig]): string {
  if (Array.isArray(value)) return value.join(',');
  if (SPECS[key].kind === 'long' && value === UNBOUNDED_LONG) return KAFKA_LONG_MAX_STRING;
  return String(value);
}

/**
 * Kafka's properties form of a config: dotted names → strings, as Kafka would persist a topic
 * config (`9223372036854775807` for {@link UNBOUNDED_LONG}, `compact,delete` for a list).
 * `resolveLogConfig(toKafkaProperties(c))` equals `c`.
 *
 * @param config - a resolved config
 * @param options - `overridesOnly`: list only keys whose value differs from `base`
 *   (default {@link DEFAULT_LOG_CONFIG}), the way Kafka persists only a topic's overrides
 */
export function toKafkaProperties(
  config: LogConfig,
  options: { overridesOnly?: boolean; base?: LogConfig } = {},
): Record<string, string> {
  const base = options.base ?? DEFAULT_LOG_CONFIG;
  const out: Record<string, string> = {};
  for (const key of KEYS) {
    const text = formatValue(key, config[key]);
    if (options.overridesOnly && text === formatValue(key, base[key])) continue;
    out[SPECS[key].dotted] = text;
  }
  return out;
}

/** Kafka's dotted name for a camelCase key (`segmentBytes` → `segment.bytes`). */
export function kafkaConfigName(key: keyof LogConfig): string {
  return SPECS[key].dotted;
}
