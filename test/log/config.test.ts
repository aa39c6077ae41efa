/** LogConfig: Kafka's defaults, both key spellings, string values, validation messages, round trip. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import {
  DEFAULT_LOG_CONFIG,
  KAFKA_LONG_MAX_STRING,
  UNBOUNDED_LONG,
  kafkaConfigName,
  resolveLogConfig,
  toKafkaProperties,
  type LogConfig,
} from '../../src/log/config.js';

/** Runs `fn`, expects an INVALID_CONFIG SeglogError, returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    expect((err as SeglogError).code).toBe(ErrorCode.INVALID_CONFIG);
    return (err as SeglogError).message;
  }
  throw new Error('expected an INVALID_CONFIG error');
}

describe('defaults', () => {
  it('are Kafka topic defaults (format notes §8)', () => {
    expect(DEFAULT_LOG_CONFIG).toEqual({
      segmentBytes: 1073741824,
      segmentMs: 604800000,
      segmentJitterMs: 0,
      segmentIndexBytes: 10485760,
      indexIntervalBytes: 4096,
      flushMessages: UNBOUNDED_LONG,
      flushMs: UNBOUNDED_LONG,
      maxMessageBytes: 1048588,
      messageTimestampType: 'CreateTime',
      messageTimestampBeforeMaxMs: UNBOUNDED_LONG,
      messageTimestampAfterMaxMs: UNBOUNDED_LONG,
      compressionType: 'producer',
      compressionGzipLevel: -1,
      compressionLz4Level: 9,
      compressionZstdLevel: 3,
      preallocate: false,
      retentionMs: 604800000,
      retentionBytes: -1,
      cleanupPolicy: ['delete'],
      minCleanableDirtyRatio: 0.5,
      deleteRetentionMs: 86400000,
      minCompactionLagMs: 0,
      maxCompactionLagMs: UNBOUNDED_LONG,
      fileDeleteDelayMs: 60000,
    } satisfies LogConfig);
    expect(UNBOUNDED_LONG).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('are frozen, and so is every resolved config', () => {
    expect(Object.isFrozen(DEFAULT_LOG_CONFIG)).toBe(true);
    expect(Object.isFrozen(DEFAULT_LOG_CONFIG.cleanupPolicy)).toBe(true);
    const c = resolveLogConfig({ cleanupPolicy: 'compact' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.cleanupPolicy)).toBe(true);
    expect(() => {
      (c as { segmentBytes: number }).segmentBytes = 1;
    }).toThrow(TypeError);
  });

  it('an empty partial resolves to the defaults', () => {
    expect(resolveLogConfig({})).toEqual(DEFAULT_LOG_CONFIG);
  });
});

describe('resolveLogConfig accepts', () => {
  it('camelCase keys and Kafka dotted names', () => {
    const c = resolveLogConfig({ segmentBytes: 1024, 'retention.ms': 1000, 'cleanup.policy': 'compact', minCleanableDirtyRatio: 0.25 });
    expect(c.segmentBytes).toBe(1024);
    expect(c.retentionMs).toBe(1000);
    expect(c.cleanupPolicy).toEqual(['compact']);
    expect(c.minCleanableDirtyRatio).toBe(0.25);
    expect(kafkaConfigName('segmentIndexBytes')).toBe('segment.index.bytes');
  });

  it('strings as the CLI passes them (trimmed; Kafka parse rules)', () => {
    const c = resolveLogConfig({
      'segment.bytes': ' 1048576 ',
      'segment.ms': '+60000',
      'retention.bytes': '-1',
      'preallocate': 'TRUE',
      'min.cleanable.dirty.ratio': '1e-1',
      'message.timestamp.type': 'LogAppendTime',
      'compression.type': 'zstd',
      'compression.zstd.level': '-5',
    });
    expect(c).toMatchObject({
      segmentBytes: 1048576,
      segmentMs: 60000,
      retentionBytes: -1,
      preallocate: true,
      minCleanableDirtyRatio: 0.1,
      messageTimestampType: 'LogAppendTime',
      compressionType: 'zstd',
      compressionZstdLevel: -5,
    });
    expect(resolveLogConfig({ preallocate: 'false' }).preallocate).toBe(false);
  });

  it('cleanup.policy in every form, normalised to [compact, delete] order without duplicates', () => {
    expect(resolveLogConfig({ cleanupPolicy: 'delete' }).cleanupPolicy).toEqual(['delete']);
    expect(resolveLogConfig({ cleanupPolicy: 'compact' }).cleanupPolicy).toEqual(['compact']);
    expect(resolveLogConfig({ cleanupPolicy: 'compact,delete' }).cleanupPolicy).toEqual(['compact', 'delete']);
    expect(resolveLogConfig({ 'cleanup.policy': 'delete , compact' }).cleanupPolicy).toEqual(['compact', 'delete']);
    expect(resolveLogConfig({ cleanupPolicy: ['delete', 'compact', 'delete'] }).cleanupPolicy).toEqual(['compact', 'delete']);
  });

  it("Kafka's Long.MAX_VALUE in every spelling as UNBOUNDED_LONG", () => {
    for (const v of [KAFKA_LONG_MAX_STRING, 9223372036854775807n, 9223372036854775807, UNBOUNDED_LONG]) {
      expect(resolveLogConfig({ flushMs: v as number }).flushMs).toBe(UNBOUNDED_LONG);
    }
  });

  it('bigints within the safe range, and undefined values as "not set"', () => {
    expect(resolveLogConfig({ segmentMs: 5000n as unknown as number, retentionMs: undefined }).segmentMs).toBe(5000);
    expect(resolveLogConfig({ retentionMs: undefined }).retentionMs).toBe(DEFAULT_LOG_CONFIG.retentionMs);
  });

  it('the bounds themselves (segment.bytes 14, gzip -1, dirty ratio 0 and 1, retention.ms -1)', () => {
    expect(resolveLogConfig({ segmentBytes: 14 }).segmentBytes).toBe(14);
    expect(resolveLogConfig({ segmentBytes: 2147483647 }).segmentBytes).toBe(2147483647);
    expect(resolveLogConfig({ compressionGzipLevel: -1 }).compressionGzipLevel).toBe(-1);
    expect(resolveLogConfig({ compressionGzipLevel: 9 }).compressionGzipLevel).toBe(9);
    expect(resolveLogConfig({ minCleanableDirtyRatio: 0 }).minCleanableDirtyRatio).toBe(0);
    expect(resolveLogConfig({ minCleanableDirtyRatio: '1' }).minCleanableDirtyRatio).toBe(1);
    expect(resolveLogConfig({ retentionMs: -1 }).retentionMs).toBe(-1);
    expect(resolveLogConfig({ compressionZstdLevel: -131072 }).compressionZstdLevel).toBe(-131072);
  });

  it('a base config to layer topic overrides on (broker defaults → topic overrides)', () => {
    const broker = resolveLogConfig({ 'retention.ms': '1000', segmentBytes: 4096 });
    const topic = resolveLogConfig({ segmentBytes: 8192 }, broker);
    expect(topic.retentionMs).toBe(1000);
    expect(topic.segmentBytes).toBe(8192);
  });
});

describe('resolveLogConfig rejects, naming the key both ways and the bound', () => {
  it('values below the minimum', () => {
    const m = configError(() => resolveLogConfig({ segmentBytes: 13 }));
    expect(m).toContain('segmentBytes');
    expect(m).toContain('segment.bytes');
    expect(m).toContain('13');
    expect(m).toContain('14');
  });

  it('as the user wrote it: the dotted name first when dotted was used', () => {
    const m = configError(() => resolveLogConfig({ 'segment.index.bytes': '8' }));
    expect(m).toMatch(/^invalid config segment\.index\.bytes \(segmentIndexBytes\) = "8": must be between 12 and 2147483647$/);
    const m2 = configError(() => resolveLogConfig({ segmentMs: 0 }));
    expect(m2).toBe('invalid config segmentMs (segment.ms) = 0: must be at least 1');
  });

  it('values above an INT maximum', () => {
    const m = configError(() => resolveLogConfig({ maxMessageBytes: 2147483648 }));
    expect(m).toContain('maxMessageBytes (max.message.bytes)');
    expect(m).toContain('2147483647');
    expect(configError(() => resolveLogConfig({ compressionLz4Level: 18 }))).toContain('between 1 and 17');
    expect(configError(() => resolveLogConfig({ compressionGzipLevel: 0 }))).toContain('must be -1 or between 1 and 9');
    expect(configError(() => resolveLogConfig({ compressionZstdLevel: 23 }))).toContain('between -131072 and 22');
    expect(configError(() => resolveLogConfig({ minCleanableDirtyRatio: 1.5 }))).toContain('between 0 and 1');
    expect(configError(() => resolveLogConfig({ retentionMs: -2 }))).toContain('at least -1');
  });

  it('non-integers for INT and LONG keys', () => {
    expect(configError(() => resolveLogConfig({ segmentBytes: 1024.5 }))).toContain('must be an integer');
    expect(configError(() => resolveLogConfig({ 'segment.ms': '1.5' }))).toContain('must be an integer');
    expect(configError(() => resolveLogConfig({ retentionMs: Number.NaN }))).toContain('must be an integer');
    expect(configError(() => resolveLogConfig({ flushMs: Infinity }))).toContain('must be an integer');
    expect(configError(() => resolveLogConfig({ indexIntervalBytes: '' }))).toContain('must be an integer');
  });

  it('longs beyond 2^53 - 1 other than Long.MAX_VALUE, and beyond int64', () => {
    expect(configError(() => resolveLogConfig({ flushMs: '9007199254740992' }))).toContain('9007199254740991');
    expect(configError(() => resolveLogConfig({ flushMs: 2 ** 60 }))).toContain('exact integer');
    expect(configError(() => resolveLogConfig({ flushMs: '9223372036854775808' }))).toContain('int64');
    expect(configError(() => resolveLogConfig({ segmentBytes: KAFKA_LONG_MAX_STRING }))).toContain('int32');
  });

  it('wrong types', () => {
    expect(configError(() => resolveLogConfig({ segmentBytes: true as unknown as number }))).toContain('got boolean');
    expect(configError(() => resolveLogConfig({ segmentBytes: null as unknown as number }))).toContain('got null');
    expect(configError(() => resolveLogConfig({ preallocate: 1 as unknown as boolean }))).toContain('must be true or false');
    expect(configError(() => resolveLogConfig({ preallocate: 'yes' }))).toContain('preallocate');
    expect(configError(() => resolveLogConfig({ minCleanableDirtyRatio: 'half' }))).toContain('must be a number');
    expect(configError(() => resolveLogConfig({ cleanupPolicy: 5 as unknown as string }))).toContain('must be a list');
  });

  it('enum and list values outside Kafka’s set (case-sensitive, like Kafka)', () => {
    const m = configError(() => resolveLogConfig({ compressionType: 'brotli' as 'gzip' }));
    expect(m).toContain('compressionType (compression.type)');
    expect(m).toContain('producer, uncompressed, gzip, snappy, lz4, zstd');
    expect(configError(() => resolveLogConfig({ 'message.timestamp.type': 'createtime' }))).toContain('CreateTime, LogAppendTime');
    expect(configError(() => resolveLogConfig({ cleanupPolicy: 'compact,Delete' }))).toContain('"Delete" is not one of compact, delete');
    expect(configError(() => resolveLogConfig({ cleanupPolicy: '' }))).toContain('at least one of compact, delete');
    expect(configError(() => resolveLogConfig({ cleanupPolicy: [] }))).toContain('at least one');
  });

  it('unknown keys, Kafka-only keys, a key given in both spellings, non-objects', () => {
    expect(configError(() => resolveLogConfig({ 'segment.byte': 1 }))).toBe('unknown config "segment.byte": not a known log config key');
    expect(configError(() => resolveLogConfig(JSON.parse('{"__proto__": 1}') as Record<string, unknown>))).toContain('"__proto__"');
    expect(configError(() => resolveLogConfig({ 'min.insync.replicas': '2' }))).toContain('does not implement');
    expect(configError(() => resolveLogConfig({ segmentBytes: 100, 'segment.bytes': 200 }))).toContain('given twice');
    expect(configError(() => resolveLogConfig(null as unknown as Record<string, unknown>))).toContain('plain object');
    expect(configError(() => resolveLogConfig([] as unknown as Record<string, unknown>))).toContain('an array');
  });

  it('min.compaction.lag.ms > max.compaction.lag.ms (Kafka validateValues)', () => {
    const m = configError(() => resolveLogConfig({ minCompactionLagMs: 10, 'max.compaction.lag.ms': '9' }));
    expect(m).toContain('minCompactionLagMs (min.compaction.lag.ms) = 10');
    expect(m).toContain('maxCompactionLagMs (max.compaction.lag.ms) = 9');
    expect(resolveLogConfig({ minCompactionLagMs: 9, maxCompactionLagMs: 9 }).minCompactionLagMs).toBe(9);
    // Checked against the base too.
    const base = resolveLogConfig({ maxCompactionLagMs: 100 });
    expect(configError(() => resolveLogConfig({ minCompactionLagMs: 101 }, base))).toContain('conflicting');
  });
});

describe('toKafkaProperties', () => {
  it('writes dotted names and Kafka strings', () => {
    const p = toKafkaProperties(resolveLogConfig({ cleanupPolicy: 'delete,compact', preallocate: true }));
    expect(p['segment.bytes']).toBe('1073741824');
    expect(p['flush.ms']).toBe(KAFKA_LONG_MAX_STRING);
    expect(p['max.compaction.lag.ms']).toBe(KAFKA_LONG_MAX_STRING);
    expect(p['cleanup.policy']).toBe('compact,delete');
    expect(p['preallocate']).toBe('true');
    expect(p['min.cleanable.dirty.ratio']).toBe('0.5');
    expect(p['compression.gzip.level']).toBe('-1');
    expect(Object.keys(p)).toHaveLength(24);
  });

  it('overridesOnly lists just what differs from the defaults (what Kafka persists per topic)', () => {
    const c = resolveLogConfig({ retentionMs: 1000, 'cleanup.policy': 'compact', segmentBytes: DEFAULT_LOG_CONFIG.segmentBytes });
    expect(toKafkaProperties(c, { overridesOnly: true })).toEqual({ 'retention.ms': '1000', 'cleanup.policy': 'compact' });
    expect(toKafkaProperties(DEFAULT_LOG_CONFIG, { overridesOnly: true })).toEqual({});
  });

  it('round-trips through resolveLogConfig (seeded property)', () => {
    const partial = fc.record(
      {
        segmentBytes: fc.integer({ min: 14, max: 0x7fffffff }),
        segmentMs: fc.oneof(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.constant(UNBOUNDED_LONG)),
        flushMessages: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        retentionBytes: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        compressionGzipLevel: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 9 })),
        compressionType: fc.constantFrom('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd' as const),
        preallocate: fc.boolean(),
        cleanupPolicy: fc.constantFrom(['delete'], ['compact'], ['compact', 'delete']) as fc.Arbitrary<('delete' | 'compact')[]>,
        minCleanableDirtyRatio: fc.double({ min: 0, max: 1, noNaN: true }),
        minCompactionLagMs: fc.integer({ min: 0, max: 1000 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(partial, (p) => {
        const c = resolveLogConfig(p);
        expect(resolveLogConfig(toKafkaProperties(c))).toEqual(c);
        expect(resolveLogConfig(toKafkaProperties(c, { overridesOnly: true }))).toEqual(c);
      }),
      { seed: 20240611, numRuns: 300 },
    );
  });
});
