/**
 * Model-based property test of `Log`: seeded random command sequences run against a real Log
 * in a temp directory and against a plain in-memory model (batches of records with their
 * offsets, keys, values, headers and timestamps). After every command the answers must agree;
 * every few commands, and after every reopen, everything is compared (all records, ListOffsets
 * answers, segment layout) and each segment's files are read directly and cross-checked
 * (`.log` batches = the model's, every `.index` / `.timeindex` entry agrees with the `.log`).
 *
 * Commands: append (random keys/values/headers/timestamps, any codec; some too large, which
 * must be refused with RECORD_TOO_LARGE exactly when the encoded batch is too large),
 * appendBatches (pre-encoded with buildBatchSync, 1–3 batches), several appends in one tick
 * (group commit), read (offset, maxBytes, maxOffset, minOneMessage), records(from),
 * offsetForTimestamp (Kafka's ListOffsets), truncateTo (the log end becomes the end of the
 * data that remains), truncateFullyAndStartAt,
 * deleteRecordsBefore and deleteOldSegments (retention.bytes), roll, flush, advancing the
 * injected clock, close + reopen, and crash + reopen (the lock and descriptors dropped without
 * close, so the reopen recovers). After a reopen every answer must be what it was.
 *
 * Configs are random too: small segment.bytes (300–2000), segment.index.bytes (12–200),
 * index.interval.bytes (0–200), sometimes segment.ms, flush.messages, preallocate,
 * max.message.bytes, retention.bytes, a broker-side compression.type (recompression) or
 * LogAppendTime.
 *
 * Environment: SEGLOG_PROPERTY_RUNS (default 50), SEGLOG_PROPERTY_SEED, SEGLOG_PROPERTY_PATH
 * (replay the `path` of a printed counterexample), SEGLOG_PROPERTY_DEBUG=1 (print each command
 * and the state after it; SEGLOG_PROPERTY_DEBUG_TS=t1,t2 adds those ListOffsets answers).
 *
 * The problems this test found (stale max timestamp after truncation, index overflow inside a
 * group write, the recovery point raised past the log end by a roll's background flush, the
 * log end after a mid-batch truncation, oversized multi-batch sets, a background fsync racing
 * a truncation, the log end below the log start) are pinned, each reduced to a few calls, in
 * test/log/log.regressions.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Log, RECOVERY_POINT_CHECKPOINT_FILE } from '../../src/log/log.js';
import { RecordBatch, buildBatch, buildBatchSync, type CompressionName, type LogRecord, type RecordInput } from '../../src/records/index.js';
import { checkSegmentFiles, readCheckpointFile } from './crash-shared.js';

const T0 = 1_700_000_000_000;
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

// ------------------------------------------------------------------ generators

type BrokerCompression = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

interface Cfg {
  segmentBytes: number;
  segmentIndexBytes: number;
  indexIntervalBytes: number;
  segmentMs: number;
  flushMessages: number;
  maxMessageBytes: number;
  preallocate: boolean;
  compressionType: BrokerCompression;
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  retentionBytes: number;
}

const cfgArb: fc.Arbitrary<Cfg> = fc.record({
  segmentBytes: fc.integer({ min: 300, max: 2000 }),
  segmentIndexBytes: fc.integer({ min: 12, max: 200 }),
  indexIntervalBytes: fc.integer({ min: 0, max: 200 }),
  segmentMs: fc.constantFrom(UNBOUNDED, UNBOUNDED, 60_000, 5_000),
  flushMessages: fc.constantFrom(UNBOUNDED, UNBOUNDED, UNBOUNDED, 7),
  maxMessageBytes: fc.constantFrom(1024 * 1024 + 12, 1024 * 1024 + 12, 700),
  preallocate: fc.boolean(),
  compressionType: fc.constantFrom<BrokerCompression>('producer', 'producer', 'producer', 'producer', 'uncompressed', 'gzip', 'lz4', 'zstd', 'snappy'),
  messageTimestampType: fc.constantFrom<Cfg['messageTimestampType']>('CreateTime', 'CreateTime', 'CreateTime', 'LogAppendTime'),
  retentionBytes: fc.constantFrom(-1, -1, 0, 800, 2500),
});

const text = fc.string({ maxLength: 24 });
const bytesIn = fc.oneof(text, fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)));
// Random bytes do not compress: these make batches too large for small segments now and then.
const bigValue = fc.uint8Array({ minLength: 250, maxLength: 1500 }).map((u) => Buffer.from(u));
const recArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant(undefined) }),
  value: fc.oneof({ weight: 40, arbitrary: bytesIn }, { weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bigValue }),
  headers: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.option(text, { nil: null })), { maxLength: 2 }) },
  ),
  // Not monotonic, within or across batches; a fifth take the clock.
  timestamp: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: T0, max: T0 + 200_000 }) }, { weight: 1, arbitrary: fc.constant(undefined) }),
});
const codecArb = fc.constantFrom<CompressionName>('none', 'none', 'gzip', 'snappy', 'lz4', 'zstd');

interface AppendItem {
  kind: 'append';
  recs: RecordInput[];
  codec: CompressionName;
}
interface BatchesItem {
  kind: 'batches';
  batches: { recs: RecordInput[]; codec: CompressionName }[];
}
type Item = AppendItem | BatchesItem;

/** One batch of a prepared call, as the Log will store it. */
interface Part {
  /** The client bytes (appendBatches), null for append(). */
  buf: Buffer | null;
  size: number;
  target: CompressionName;
  recs: MRec[];
}
interface Prepared {
  kind: Item['kind'];
  parts: Part[];
  issue: () => Promise<unknown>;
}

const appendItemArb: fc.Arbitrary<AppendItem> = fc.record({ kind: fc.constant('append' as const), recs: fc.array(recArb, { minLength: 1, maxLength: 5 }), codec: codecArb });
const batchesItemArb: fc.Arbitrary<BatchesItem> = fc.record({
  kind: fc.constant('batches' as const),
  batches: fc.array(fc.record({ recs: fc.array(recArb, { minLength: 1, maxLength: 4 }), codec: codecArb }), { minLength: 1, maxLength: 3 }),
});

type Cmd =
  | { t: 'append'; item: AppendItem }
  | { t: 'appendBatches'; item: BatchesItem }
  | { t: 'concurrent'; items: Item[] }
  | { t: 'read'; pick: number; maxBytes: number | undefined; maxOffsetPick: number | undefined; minOneMessage: boolean | undefined }
  | { t: 'records'; pick: number }
  | { t: 'offsetForTimestamp'; pick: number; exact: boolean }
  | { t: 'truncateTo'; pick: number }
  | { t: 'truncateFullyAndStartAt'; pick: number }
  | { t: 'deleteRecordsBefore'; pick: number }
  | { t: 'deleteOldSegments' }
  | { t: 'roll' }
  | { t: 'flush' }
  | { t: 'clock'; ms: number }
  | { t: 'reopen' }
  | { t: 'crash' };

const pick = fc.nat({ max: 1_000_000 });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 10, arbitrary: appendItemArb.map((item) => ({ t: 'append' as const, item })) },
  { weight: 5, arbitrary: batchesItemArb.map((item) => ({ t: 'appendBatches' as const, item })) },
  { weight: 3, arbitrary: fc.array(fc.oneof(appendItemArb, batchesItemArb), { minLength: 2, maxLength: 4 }).map((items) => ({ t: 'concurrent' as const, items })) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('read' as const),
      pick,
      maxBytes: fc.option(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 3000 })), { nil: undefined }),
      maxOffsetPick: fc.option(pick, { nil: undefined }),
      minOneMessage: fc.option(fc.boolean(), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('records' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('offsetForTimestamp' as const), pick, exact: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('truncateTo' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('truncateFullyAndStartAt' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('deleteRecordsBefore' as const), pick }) },
  { weight: 1, arbitrary: fc.constant({ t: 'deleteOldSegments' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'roll' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('clock' as const), ms: fc.integer({ min: 0, max: 120_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
);

// ------------------------------------------------------------------ the model

interface MRec {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: [string, Buffer | null][];
}
interface MBatch {
  base: number;
  last: number;
  maxTimestamp: number;
  size: number;
  codec: CompressionName;
  records: MRec[];
}
interface Model {
  batches: MBatch[];
  start: number;
  end: number;
}

const toBuf = (b: unknown): Buffer | null =>
  b === null || b === undefined ? null : typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b as Uint8Array);

function plainRecord(r: LogRecord): MRec {
  return { offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers };
}

/** Counters printed at the end: what the runs exercised. */
const stats = {
  runs: 0,
  commands: 0,
  appendedBatches: 0,
  refusedTooLarge: 0,
  reads: 0,
  readsOutOfRange: 0,
  timestampQueries: 0,
  truncations: 0,
  truncationsIntoLogStartBatch: 0,
  logStartRaises: 0,
  segmentsDeletedByRetention: 0,
  rolls: 0,
  reopens: 0,
  crashes: 0,
  maxSegments: 0,
  fullChecks: 0,
};

class Harness {
  readonly dir: string;
  readonly cfg: Cfg;
  now = T0 + 100_000;
  log!: Log;
  model: Model = { batches: [], start: 0, end: 0 };

  constructor(cfg: Cfg) {
    this.cfg = cfg;
    this.dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-prop-')), 'topic-0');
  }

  async open(): Promise<Log> {
    const c = this.cfg;
    this.log = await Log.open(this.dir, {
      clock: () => this.now,
      config: {
        segmentBytes: c.segmentBytes,
        segmentIndexBytes: c.segmentIndexBytes,
        indexIntervalBytes: c.indexIntervalBytes,
        segmentMs: c.segmentMs,
        flushMessages: c.flushMessages,
        maxMessageBytes: c.maxMessageBytes,
        preallocate: c.preallocate,
        compressionType: c.compressionType,
        messageTimestampType: c.messageTimestampType,
        retentionBytes: c.retentionBytes,
      },
    });
    return this.log;
  }

  async dispose(): Promise<void> {
    try {
      await this.log?.close();
    } catch {
      // the failure being reported matters more
    }
    fs.rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }

  // ---- model helpers

  targetCodec(codec: CompressionName): CompressionName {
    const t = this.cfg.compressionType;
    if (t === 'producer') return codec;
    return t === 'uncompressed' ? 'none' : t;
  }

  levelFor(codec: CompressionName): number | undefined {
    if (codec === 'gzip') return -1;
    if (codec === 'zstd') return 3;
    return undefined;
  }

  get maxBatchBytes(): number {
    return Math.min(this.cfg.segmentBytes, this.cfg.maxMessageBytes);
  }

  modelRecords(recs: RecordInput[], base: number): MRec[] {
    const lat = this.cfg.messageTimestampType === 'LogAppendTime';
    return recs.map((r, i) => ({
      offset: base + i,
      timestamp: lat ? this.now : (r.timestamp ?? this.now),
      key: toBuf(r.key),
      value: toBuf(r.value),
      headers: r.headers === undefined ? [] : (r.headers as readonly (readonly [string, unknown])[]).map(([k, v]) => [k, toBuf(v)] as [string, Buffer | null]),
    }));
  }

  /** Segment base offsets (the Log's), and the segment a batch lies in. */
  segOf(bases: number[], offset: number): number {
    let s = bases[0];
    for (const b of bases) if (b <= offset) s = b;
    return s;
  }

  allRecords(from = this.model.start): MRec[] {
    const lo = Math.max(from, this.model.start);
    return this.model.batches.flatMap((b) => b.records).filter((r) => r.offset >= lo);
  }

  /**
   * Kafka's ListOffsets by timestamp, as the segment search does it: batches in offset order,
   * skipping any whose maxTimestamp < ts; in the first that qualifies, the first record with
   * a timestamp ≥ ts at or after the log start (a later batch if none there).
   */
  expectedForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    for (const b of this.model.batches) {
      if (b.last < this.model.start || b.maxTimestamp < ts) continue;
      const r = b.records.find((x) => x.timestamp >= ts && x.offset >= this.model.start);
      if (r !== undefined) return { offset: r.offset, timestamp: r.timestamp };
    }
    return null;
  }

  checkForTimestamp(ts: number): void {
    stats.timestampQueries++;
    const actual = this.log.offsetForTimestamp(ts);
    expect({ ts, actual }).toEqual({ ts, actual: this.expectedForTimestamp(ts) });
  }

  // ---- appends

  /**
   * Prepares an item: the batches the Log will store (encoded here the way the Log encodes
   * them, to know their sizes), whether it must be refused, and how to issue it.
   */
  async prepare(item: Item): Promise<Prepared> {
    if (item.kind === 'append') {
      const target = this.targetCodec(item.codec);
      const size = (await buildBatch(item.recs, { compression: target, compressionLevel: this.levelFor(target), now: this.now, partitionLeaderEpoch: 0 })).length;
      return { kind: 'append', parts: [{ buf: null, size, target, recs: this.modelRecords(item.recs, 0) }], issue: () => this.log.append(item.recs, { compression: item.codec }) };
    }
    // Client batches: encoded here (missing timestamps take the clock), sized as the Log will store them.
    const parts: Part[] = [];
    for (const b of item.batches) {
      const buf = buildBatchSync(b.recs, { compression: b.codec, now: this.now });
      const target = this.targetCodec(b.codec);
      let size = buf.length;
      if (target !== b.codec) {
        const decoded = [...RecordBatch.at(buf).records()].map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
        size = (await buildBatch(decoded, { compression: target, compressionLevel: this.levelFor(target), partitionLeaderEpoch: 0 })).length;
      }
      parts.push({ buf, size, target, recs: this.modelRecords(b.recs, 0) });
    }
    const payload = Buffer.concat(parts.map((b) => b.buf as Buffer));
    return { kind: 'batches', parts, issue: () => this.log.appendBatches(payload) };
  }

  makeBatch(base: number, recs: MRec[], size: number, codec: CompressionName): MBatch {
    const records = recs.map((r, i) => ({ ...r, offset: base + i }));
    return { base, last: base + records.length - 1, maxTimestamp: Math.max(...records.map((r) => r.timestamp)), size, codec, records };
  }

  /**
   * Settles one call against the model: refused exactly when a batch is larger than
   * max.message.bytes or segment.bytes, or the call's batches together are larger than
   * segment.bytes (Kafka refuses such a produce set whole); else appended whole.
   */
  settle(parts: Part[], outcome: PromiseSettledResult<unknown>): void {
    if (parts.some((p) => p.size > this.maxBatchBytes) || parts.reduce((t, p) => t + p.size, 0) > this.cfg.segmentBytes) {
      expect(outcome.status, 'a batch or set larger than segment.bytes / max.message.bytes must be refused').toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'RECORD_TOO_LARGE' });
      stats.refusedTooLarge++;
      return;
    }
    if (outcome.status === 'rejected') throw outcome.reason;
    const batches: MBatch[] = [];
    let base = this.model.end;
    for (const p of parts) {
      batches.push(this.makeBatch(base, p.recs, p.size, p.target));
      base += p.recs.length;
    }
    const result = outcome.value as { firstOffset: number; lastOffset: number };
    expect([result.firstOffset, result.lastOffset]).toEqual([batches[0].base, batches.at(-1)!.last]);
    this.model.batches.push(...batches);
    this.model.end = base;
    stats.appendedBatches += batches.length;
  }

  /** Read-your-write: each new batch reads back whole, valid, with the model's records. */
  checkStored(batches: MBatch[]): void {
    for (const m of batches) {
      const got = [...this.log.read(m.base, { maxBytes: 1 }).batches()];
      expect(got.length).toBe(1);
      const b = got[0];
      expect({ base: b.baseOffset, last: b.lastOffset, size: b.sizeInBytes, codec: b.compression, valid: b.isValid(), epoch: b.partitionLeaderEpoch, maxTs: b.maxTimestamp }).toEqual({
        base: m.base,
        last: m.last,
        size: m.size,
        codec: m.codec,
        valid: true,
        epoch: 0,
        maxTs: m.maxTimestamp,
      });
      expect([...b.records()].map(plainRecord)).toEqual(m.records);
    }
  }

  async appendItems(items: Item[]): Promise<void> {
    const prepared: Prepared[] = [];
    for (const item of items) prepared.push(await this.prepare(item));
    const before = this.model.batches.length;
    const endBefore = this.log.logEndOffset;
    // Issued in one tick: one group commit; offsets follow call order.
    const promises = prepared.map((p) => p.issue());
    // Reads never wait on the writer: nothing is visible yet.
    expect(this.log.logEndOffset).toBe(endBefore);
    expect(this.log.read(endBefore).isEmpty).toBe(true);
    const outcomes = await Promise.allSettled(promises);
    for (const [i, p] of prepared.entries()) this.settle(p.parts, outcomes[i]);
    this.checkStored(this.model.batches.slice(before));
  }

  // ---- reads

  checkRead(cmd: Extract<Cmd, { t: 'read' }>): void {
    stats.reads++;
    const { start, end } = this.model;
    const offset = start - 1 + (cmd.pick % (end - start + 3));
    const maxOffset = cmd.maxOffsetPick === undefined ? undefined : start + (cmd.maxOffsetPick % (end - start + 2));
    const opts = { maxBytes: cmd.maxBytes, maxOffset, minOneMessage: cmd.minOneMessage };
    if (offset < start || offset > end) {
      stats.readsOutOfRange++;
      expect(() => this.log.read(offset, opts)).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE' }));
      return;
    }
    const slice = this.log.read(offset, opts);
    const exp = this.expectedRead(offset, opts);
    const got = { size: slice.size, batches: [...slice.batches()].map((b) => [b.baseOffset, b.lastOffset, b.isValid()]) };
    expect({ offset, opts, got }).toEqual({ offset, opts, got: { size: exp.size, batches: exp.batches.map((b) => [b.base, b.last, true]) } });
    expect(slice.startOffset).toBe(offset);
    expect([...slice.records()].map(plainRecord)).toEqual(exp.batches.flatMap((b) => b.records).filter((r) => r.offset >= offset));
  }

  /**
   * What a read must return: the batches of one segment from the one holding `offset` (the
   * first whose last offset ≥ it), none at or past maxOffset, as many as fit in maxBytes (at
   * least the first when minOneMessage); the slice may end inside a batch.
   */
  expectedRead(offset: number, opts: { maxBytes?: number; maxOffset?: number; minOneMessage?: boolean }): { size: number; batches: MBatch[] } {
    const none = { size: 0, batches: [] };
    const maxOffset = Math.min(opts.maxOffset ?? this.model.end, this.model.end);
    if (offset >= maxOffset) return none;
    const bs = this.model.batches;
    const i = bs.findIndex((b) => b.last >= offset);
    if (i < 0) return none;
    const bases = this.log.segmentBaseOffsets();
    const seg = this.segOf(bases, bs[i].base);
    const candidates: MBatch[] = [];
    for (let j = i; j < bs.length && this.segOf(bases, bs[j].base) === seg && bs[j].last < maxOffset; j++) candidates.push(bs[j]);
    if (candidates.length === 0) return none;
    const maxBytes = opts.maxBytes ?? 1024 * 1024;
    const limit = (opts.minOneMessage ?? true) ? Math.max(maxBytes, candidates[0].size) : maxBytes;
    const size = Math.min(candidates.reduce((s, b) => s + b.size, 0), limit);
    if (size <= 0) return none;
    const whole: MBatch[] = [];
    let used = 0;
    for (const b of candidates) {
      if (used + b.size > size) break;
      whole.push(b);
      used += b.size;
    }
    return { size, batches: whole };
  }

  async checkRecords(from: number): Promise<void> {
    const got: MRec[] = [];
    for await (const r of this.log.records(from)) got.push(plainRecord(r));
    expect(got).toEqual(this.allRecords(from));
  }

  /** Timestamps worth asking about: every record's, its neighbours, and the extremes. */
  probeTimestamps(limit = 60): number[] {
    const all = new Set<number>([0, T0, T0 + 300_000, this.now, this.now + 1]);
    const recs = this.allRecords();
    const step = Math.max(1, Math.floor(recs.length / limit));
    for (let i = 0; i < recs.length; i += step) for (const d of [-1, 0, 1]) all.add(recs[i].timestamp + d);
    return [...all];
  }

  // ---- whole-state checks

  /** Layout, every record, ListOffsets answers, and the files on disk. */
  async checkAll(): Promise<void> {
    stats.fullChecks++;
    const log = this.log;
    const m = this.model;
    expect([log.logStartOffset, log.logEndOffset]).toEqual([m.start, m.end]);
    const bases = log.segmentBaseOffsets();
    stats.maxSegments = Math.max(stats.maxSegments, bases.length);
    // The log start lies in or after the first segment (segments wholly below it go at the
    // next retention run, checked in afterRetention).
    expect(bases[0]).toBeLessThanOrEqual(m.start);
    for (let i = 1; i < bases.length; i++) expect(bases[i]).toBeGreaterThan(bases[i - 1]);
    expect(bases.at(-1)!).toBeLessThanOrEqual(m.end);
    for (const b of m.batches) {
      const s = bases.indexOf(this.segOf(bases, b.base));
      expect(b.base).toBeGreaterThanOrEqual(bases[s]);
      if (s + 1 < bases.length) expect(b.last).toBeLessThan(bases[s + 1]);
    }
    expect(log.size).toBe(m.batches.reduce((s, b) => s + b.size, 0));
    await this.checkRecords(m.start);
    for (const ts of this.probeTimestamps()) this.checkForTimestamp(ts);
    expect(log.offsetForTimestamp('earliest')).toEqual({ offset: m.start, timestamp: -1 });
    expect(log.offsetForTimestamp('latest')).toEqual({ offset: m.end, timestamp: -1 });
    this.checkDisk(bases);
  }

  /** Each segment's files, read directly: batches = the model's, indexes agree with the log. */
  checkDisk(bases: number[]): void {
    for (const [i, base] of bases.entries()) {
      const active = i === bases.length - 1;
      const seg = checkSegmentFiles(this.dir, base, { trimmed: !active, lastTimeEntryIsMax: !active });
      expect(seg.problems).toEqual([]);
      const mine = this.model.batches.filter((b) => this.segOf(bases, b.base) === base).map((b) => [b.base, b.last]);
      expect(seg.walk.batches.map((b) => [b.baseOffset, b.lastOffset])).toEqual(mine);
      expect(seg.walk.validBytes).toBeLessThanOrEqual(this.cfg.segmentBytes);
      if (!active || !this.cfg.preallocate) expect(seg.logSize).toBe(seg.walk.validBytes);
    }
  }

  /** Everything a reader can ask, to compare before and after a reopen. */
  async answers(): Promise<unknown> {
    const records: MRec[] = [];
    for await (const r of this.log.records()) records.push(plainRecord(r));
    return {
      start: this.log.logStartOffset,
      end: this.log.logEndOffset,
      records,
      ts: this.probeTimestamps(200).map((ts) => [ts, this.log.offsetForTimestamp(ts)]),
    };
  }

  /**
   * The log end the loader must find: after the last segment's last batch, or its base when it
   * is empty (which truncateTo keeps equal to the log end). When that is below the checkpointed
   * log start, every segment is deleted and the log restarts empty at the log start (Kafka's
   * rule, format notes §5 step 6).
   */
  expectedAfterReopen(): { end: number; wipe: boolean; segments: number } {
    const bases = this.log.segmentBaseOffsets();
    const dataEnd = this.dataEndOfSegment(bases, bases.at(-1)!);
    const wipe = dataEnd < this.model.start;
    return { end: wipe ? this.model.start : dataEnd, wipe, segments: bases.length };
  }

  /** Where the data of the segment at `base` ends: after its last batch, or `base` when empty. */
  dataEndOfSegment(bases: number[], base: number, batches = this.model.batches): number {
    const mine = batches.filter((b) => this.segOf(bases, b.base) === base);
    return mine.length > 0 ? mine.at(-1)!.last + 1 : base;
  }

  async reopen(crash: boolean): Promise<void> {
    const before = (await this.answers()) as { end: number };
    const { end: expectedEnd, wipe, segments } = this.expectedAfterReopen();
    const deletedSegments = wipe ? segments : 0;
    expect(expectedEnd, 'the log end is where the data ends, so a reopen finds it again').toBe(this.model.end);
    let expectedReport: Record<string, unknown>;
    if (crash) {
      stats.crashes++;
      // A process crash (the OS survives): no close, no marker; the lock and descriptors go.
      const internals = this.log as unknown as { background: Promise<void>; lock: { release(): void }; segments: { log: { close(): void }; offsetIndex: { close(): void }; timeIndex: { close(): void } }[] };
      await internals.background;
      for (const s of internals.segments) {
        s.log.close();
        s.offsetIndex.close();
        s.timeIndex.close();
      }
      internals.lock.release();
      // What recovery must do: from the segment holding the checkpointed recovery point, cut
      // what is not a valid batch (a preallocated active segment's zero tail), nothing else.
      const rp = readCheckpointFile(path.join(this.dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0;
      const bases = this.log.segmentBaseOffsets();
      const from = bases.filter((b) => b <= rp).at(-1) ?? bases[0];
      const recovered = bases.filter((b) => b >= from);
      let truncatedBytes = 0;
      for (const b of recovered) {
        const seg = checkSegmentFiles(this.dir, b, { relaxTimeIndex: true });
        truncatedBytes += seg.logSize - seg.walk.validBytes;
      }
      // Segments retention retired (renamed .deleted, removal pending) are cleaned up on open.
      const leftovers = fs.readdirSync(this.dir).filter((n) => n.endsWith('.deleted')).length;
      expectedReport = { cleanShutdown: false, recoveredSegments: recovered.length, truncatedBytes, deletedSegments, removedTemporaryFiles: leftovers, completedSwaps: 0 };
    } else {
      stats.reopens++;
      await this.log.close();
      expectedReport = { cleanShutdown: true, recoveredSegments: 0, truncatedBytes: 0, deletedSegments, removedTemporaryFiles: 0, completedSwaps: 0 };
    }
    await this.open();
    expect(this.log.loadReport).toMatchObject(expectedReport);
    this.model.end = expectedEnd;
    if (wipe) {
      // Everything was below the log start: nothing visible is lost.
      this.model.batches = [];
      expect(this.log.segmentBaseOffsets()).toEqual([this.model.start]);
    }
    expect(await this.answers()).toEqual({ ...before, end: expectedEnd });
    await this.checkAll();
  }

  /**
   * Settles retention (deleteRecordsBefore, deleteOldSegments) against the model: the deleted
   * segments are a prefix of the old ones, their batches leave the model, the log start rises
   * to the first segment kept; and the decision is Kafka's (format notes §6.1): nothing left
   * that lies wholly below the log start, and size retention never takes the log below
   * retention.bytes yet leaves nothing it could still delete. Returns how many were deleted.
   */
  afterRetention(before: number[]): number {
    const m = this.model;
    const after = this.log.segmentBaseOffsets();
    const deleted = before.filter((b) => !after.includes(b));
    expect(deleted).toEqual(before.slice(0, deleted.length));
    // When everything goes, the log rolls first: the log end survives in a new empty segment.
    for (const b of after.filter((x) => !before.includes(x))) expect([b, after.at(-1)]).toEqual([m.end, m.end]);
    if (deleted.length > 0) {
      stats.segmentsDeletedByRetention += deleted.length;
      m.batches = m.batches.filter((b) => !deleted.includes(this.segOf(before, b.base)));
      m.start = Math.max(m.start, after[0]);
    }
    expect(this.log.logStartOffset).toBe(m.start);
    const size = (base: number) => m.batches.filter((b) => this.segOf(after, b.base) === base).reduce((t, b) => t + b.size, 0);
    for (let i = 0; i + 1 < after.length; i++) expect(after[i + 1]).toBeGreaterThan(m.start);
    const total = m.batches.reduce((t, b) => t + b.size, 0);
    const bySize = deleted.filter((b, i) => (before[i + 1] ?? m.end) > m.start || before[i + 1] === undefined);
    const rb = this.cfg.retentionBytes;
    if (rb >= 0) {
      if (bySize.length > 0) expect(total).toBeGreaterThanOrEqual(rb);
      // Maximal: the oldest segment left is either needed for retention.bytes or an empty last one.
      const first = after[0];
      const firstDeletable = !(after.length === 1 && size(first) === 0);
      if (firstDeletable) expect({ total, first: size(first), rb, stillDeletable: total - size(first) >= rb }).toMatchObject({ stillDeletable: false });
    }
    return deleted.length;
  }

  debug(i: number, cmd: Cmd): void {
    const probes = (process.env.SEGLOG_PROPERTY_DEBUG_TS ?? '').split(',').filter(Boolean).map(Number);
    const ts = probes.map((t) => [t, this.log.offsetForTimestamp(t), this.expectedForTimestamp(t)]);
    const segs = (this.log as unknown as { segments: { baseOffset: number; size: number; maxTimestampAndOffset(): unknown }[] }).segments.map((g) => [g.baseOffset, g.size, g.maxTimestampAndOffset()]);
    console.log(i, cmd.t, JSON.stringify({ start: this.model.start, end: this.model.end, segs, ts }));
  }

  // ---- one command

  async run(cmd: Cmd): Promise<void> {
    stats.commands++;
    const m = this.model;
    switch (cmd.t) {
      case 'append':
      case 'appendBatches':
        await this.appendItems([cmd.item]);
        break;
      case 'concurrent':
        await this.appendItems(cmd.items);
        break;
      case 'read':
        this.checkRead(cmd);
        break;
      case 'records':
        await this.checkRecords(m.start - 2 + (cmd.pick % (m.end - m.start + 5)));
        break;
      case 'offsetForTimestamp': {
        const recs = this.allRecords();
        const ts = cmd.exact && recs.length > 0 ? recs[cmd.pick % recs.length].timestamp : T0 - 1000 + (cmd.pick % 203_000);
        this.checkForTimestamp(ts);
        break;
      }
      case 'truncateTo': {
        stats.truncations++;
        const offset = cmd.pick % (m.end + 3);
        const bases = this.log.segmentBaseOffsets();
        // Batches holding `offset` or later go whole; segments starting at or after it go (the
        // first stays). The log end is where the data left in the last kept segment ends:
        // `offset` at a batch boundary, less inside a batch, but never below the log start.
        const kept = bases.filter((b, i) => b < offset || i === 0);
        const remaining = m.batches.filter((b) => b.last < offset);
        const dataEnd = this.dataEndOfSegment(bases, kept.at(-1)!, remaining);
        if (offset >= m.start && offset < m.end && dataEnd < m.start) stats.truncationsIntoLogStartBatch++;
        await this.log.truncateTo(offset);
        if (offset >= m.end) break;
        if (offset < m.start) {
          this.model = { batches: [], start: offset, end: offset };
          break;
        }
        const after = this.log.segmentBaseOffsets();
        m.batches = remaining.filter((b) => after.includes(this.segOf(bases, b.base)));
        m.end = Math.max(dataEnd, m.start);
        expect(m.end).toBeLessThanOrEqual(offset);
        expect(this.log.recoveryPoint).toBeLessThanOrEqual(m.end);
        break;
      }
      case 'truncateFullyAndStartAt': {
        const offset = cmd.pick % (m.end + 60);
        await this.log.truncateFullyAndStartAt(offset);
        this.model = { batches: [], start: offset, end: offset };
        expect(this.log.segmentBaseOffsets()).toEqual([offset]);
        break;
      }
      case 'deleteRecordsBefore': {
        const offset = cmd.pick % (m.end + 3);
        const before = this.log.segmentBaseOffsets();
        if (offset > m.end) {
          // Beyond the high watermark (which follows the log end here).
          await expect(this.log.deleteRecordsBefore(offset)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
          break;
        }
        const start = await this.log.deleteRecordsBefore(offset);
        if (offset > m.start) {
          stats.logStartRaises++;
          m.start = offset;
        }
        this.afterRetention(before);
        expect(start).toBe(m.start);
        break;
      }
      case 'deleteOldSegments': {
        const before = this.log.segmentBaseOffsets();
        const deleted = await this.log.deleteOldSegments();
        expect(this.afterRetention(before)).toBe(deleted);
        break;
      }
      case 'roll': {
        stats.rolls++;
        await this.log.roll();
        expect(this.log.segmentBaseOffsets().at(-1)).toBe(m.end);
        break;
      }
      case 'flush':
        await this.log.flush();
        expect(this.log.recoveryPoint).toBe(m.end);
        expect(readCheckpointFile(path.join(this.dir, RECOVERY_POINT_CHECKPOINT_FILE))).toBe(m.end);
        break;
      case 'clock':
        this.now += cmd.ms;
        break;
      case 'reopen':
        await this.reopen(false);
        break;
      case 'crash':
        await this.reopen(true);
        break;
    }
    expect([this.log.logStartOffset, this.log.logEndOffset]).toEqual([this.model.start, this.model.end]);
    expect(this.log.recoveryPoint).toBeLessThanOrEqual(this.model.end);
  }
}

// ------------------------------------------------------------------ the property

const NUM_RUNS = Number(process.env.SEGLOG_PROPERTY_RUNS ?? 50);
const SEED = Number(process.env.SEGLOG_PROPERTY_SEED ?? 0x5e6_1060);
/** Prints each command and the state after it (with SEGLOG_PROPERTY_PATH, to study a failure). */
const DEBUG = process.env.SEGLOG_PROPERTY_DEBUG === '1';
/** Replays one counterexample (the `path` fast-check prints), without shrinking. */
const REPLAY = process.env.SEGLOG_PROPERTY_PATH;

describe('Log against an in-memory model (seeded fast-check)', () => {
  it('every command sequence gives the model\'s answers, before and after reopen and crash', async () => {
    await fc.assert(
      fc.asyncProperty(cfgArb, fc.array(cmdArb, { minLength: 20, maxLength: 90, size: 'max' }), async (cfg, cmds) => {
        stats.runs++;
        const h = new Harness(cfg);
        try {
          await h.open();
          for (const [i, cmd] of cmds.entries()) {
            await h.run(cmd);
            if (DEBUG) h.debug(i, cmd);
            if (i % 10 === 9) await h.checkAll();
          }
          await h.checkAll();
          // A last clean reopen: everything must survive it.
          await h.reopen(false);
        } finally {
          await h.dispose();
        }
      }),
      { seed: SEED, numRuns: NUM_RUNS, interruptAfterTimeLimit: 90_000, markInterruptAsFailure: true, ...(REPLAY ? { path: REPLAY, endOnFailure: true, numRuns: 1 } : {}) },
    );
    console.log(`[log.property] ${JSON.stringify(stats)}`);
    expect(stats.appendedBatches).toBeGreaterThan(0);
  }, 120_000);
});
