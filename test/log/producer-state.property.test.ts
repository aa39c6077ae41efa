/**
 * Model-based property test of ProducerStateManager (seeded fast-check). Random idempotent and
 * transactional producers append through analyze + applyAppend, as a log does: batches in
 * sequence, retries of one of their last batches (duplicates while within the last five,
 * out of order beyond), gaps, epoch bumps (starting at 0 or not), stale epochs, sequences
 * wrapping at int32 max, non-transactional writes inside a transaction, COMMIT / ABORT markers
 * with coordinator epochs going up or (fenced) down, several batches and producers in one
 * append, appends undone as if the write had failed, and high watermark updates.
 *
 * The model is a plain re-statement of Kafka's rules (format notes §7.1, §7.3): per producer
 * the epoch, coordinator epoch, last timestamp, open transaction and last five batches; the
 * ongoing and unreplicated transactions; the `.txnindex` entry of each abort. After every
 * append the outcome (duplicate with its offsets / error code / applied with its aborted-txn
 * entries) and the whole state must agree. At the end of a run the state must survive a
 * snapshot round trip (keeping only each producer's last batch, as Kafka), a full replay of
 * the accepted batches with origin 'replication', and a segment-recovery replay that writes
 * the same `.txnindex` entries.
 *
 * Environment: SEGLOG_PROPERTY_RUNS (default 150), SEGLOG_PROPERTY_SEED.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeglogError } from '../../src/errors.js';
import { ProducerStateManager, type AppendOrigin, type ProducerBatchInfo } from '../../src/log/producer-state.js';
import type { AbortedTxn } from '../../src/segment/txn-index.js';

const INT32_MAX = 0x7fffffff;
const T0 = 1_700_000_000_000;
const NUM_RUNS = Number(process.env.SEGLOG_PROPERTY_RUNS ?? 150);
const SEED = Number(process.env.SEGLOG_PROPERTY_SEED ?? 0x7e_a5e0);

// ------------------------------------------------------------------------------ the model

interface MBatch {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  ts: number;
}
interface MProducer {
  epoch: number;
  coord: number;
  ts: number;
  txn: number | null;
  batches: MBatch[];
}
interface MTxn {
  pid: number;
  first: number;
  last: number | null;
}
type Outcome =
  | { kind: 'dup'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; code: string }
  | { kind: 'ok'; aborted: AbortedTxn[]; completed: { producerId: number; firstOffset: number; lastOffset: number; isAborted: boolean }[] };

const EMPTY: MProducer = { epoch: -1, coord: -1, ts: -1, txn: null, batches: [] };
const clone = (p: MProducer): MProducer => ({ ...p, batches: p.batches.slice() });
const inSeq = (last: number, next: number) => next === last + 1 || (next === 0 && last === INT32_MAX);

class Model {
  producers = new Map<number, MProducer>();
  ongoing: MTxn[] = [];
  unreplicated: MTxn[] = [];
  mapEnd = 0;

  /** Kafka's rules, stated plainly; commits the new state only when the append is accepted. */
  append(batches: ProducerBatchInfo[], origin: AppendOrigin): Outcome {
    const work = new Map<number, MProducer>();
    const started: MTxn[] = [];
    const completed: { producerId: number; firstOffset: number; lastOffset: number; isAborted: boolean }[] = [];
    for (const b of batches) {
      const pid = b.producerId;
      if (pid < 0) continue;
      const committed = this.producers.get(pid);
      // 1. A retry of one of the last five batches (same epoch, same sequence range).
      if (origin === 'client' && committed !== undefined && b.producerEpoch === committed.epoch) {
        const d = committed.batches.find((x) => x.firstSeq === b.baseSequence && x.lastSeq === b.lastSequence);
        if (d !== undefined) return { kind: 'dup', firstOffset: d.firstOffset, lastOffset: d.lastOffset };
      }
      let w = work.get(pid);
      if (w === undefined) work.set(pid, (w = clone(committed ?? EMPTY)));
      const lenient = origin === 'replication';
      // 2. An older epoch is fenced.
      if (b.producerEpoch < w.epoch && !lenient) return { kind: 'error', code: 'INVALID_PRODUCER_EPOCH' };
      if (b.isControl) {
        const m = b.marker!;
        if (w.coord > m.coordinatorEpoch && !lenient) return { kind: 'error', code: 'COORDINATOR_FENCED' };
        if (w.txn !== null) completed.push({ producerId: pid, firstOffset: w.txn, lastOffset: b.baseOffset, isAborted: m.type === 'ABORT' });
        if (b.producerEpoch !== w.epoch) w.batches = [];
        Object.assign(w, { epoch: b.producerEpoch, coord: m.coordinatorEpoch, txn: null, ts: m.timestamp });
        continue;
      }
      // 3. Sequences (clients only): a new epoch starts at 0 unless the epoch is unknown; the
      //    same epoch continues from the last sequence, unless the state had no epoch at all.
      if (origin === 'client') {
        if (b.producerEpoch !== w.epoch) {
          if (b.baseSequence !== 0 && w.epoch !== -1) return { kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE' };
        } else {
          const last = w.batches.length === 0 ? -1 : w.batches[w.batches.length - 1].lastSeq;
          if ((committed?.epoch ?? -1) !== -1 && !inSeq(last, b.baseSequence)) return { kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE' };
        }
      }
      if (b.producerEpoch !== w.epoch) w.batches = [];
      w.epoch = b.producerEpoch;
      w.batches.push({ firstSeq: b.baseSequence, lastSeq: b.lastSequence, firstOffset: b.baseOffset, lastOffset: b.lastOffset, ts: b.maxTimestamp });
      if (w.batches.length > 5) w.batches.shift();
      w.ts = b.maxTimestamp;
      // 4. Transactions.
      if (w.txn !== null && !b.isTransactional) return { kind: 'error', code: 'INVALID_TXN_STATE' };
      if (w.txn === null && b.isTransactional) {
        w.txn = b.baseOffset;
        started.push({ pid, first: b.baseOffset, last: null });
      }
    }
    for (const [pid, w] of work) this.producers.set(pid, w);
    this.ongoing.push(...started);
    this.ongoing.sort((x, y) => x.first - y.first);
    const aborted: AbortedTxn[] = [];
    for (const c of completed) {
      // The LSO after a completion: the earliest open transaction of another producer, else marker + 1.
      const lso = this.ongoing.find((t) => t.pid !== c.producerId)?.first ?? c.lastOffset + 1;
      if (c.isAborted) aborted.push({ producerId: c.producerId, firstOffset: c.firstOffset, lastOffset: c.lastOffset, lastStableOffset: lso });
      this.ongoing = this.ongoing.filter((t) => t.first !== c.firstOffset);
      this.unreplicated.push({ pid: c.producerId, first: c.firstOffset, last: c.lastOffset });
      this.unreplicated.sort((x, y) => x.first - y.first);
    }
    this.mapEnd = batches[batches.length - 1].lastOffset + 1;
    return { kind: 'ok', aborted, completed };
  }

  onHighWatermarkUpdated(hw: number): void {
    this.unreplicated = this.unreplicated.filter((t) => !(t.last !== null && t.last < hw));
  }

  state(): unknown {
    return {
      producers: [...this.producers.entries()]
        .sort(([a], [b]) => a - b)
        .map(([pid, p]) => ({ pid, epoch: p.epoch, coordinatorEpoch: p.coord, lastTimestamp: p.ts, txn: p.txn, batches: p.batches.map((b) => [b.lastSeq, b.lastOffset, b.lastOffset - b.firstOffset, b.ts]) })),
      ongoing: this.ongoing.map((t) => [t.pid, t.first, null]),
      unreplicated: this.unreplicated.map((t) => [t.pid, t.first, t.last]),
      mapEndOffset: this.mapEnd,
    };
  }
}

function stateOf(psm: ProducerStateManager): unknown {
  return {
    producers: [...psm.activeProducers().values()]
      .sort((a, b) => a.producerId - b.producerId)
      .map((e) => ({
        pid: e.producerId,
        epoch: e.producerEpoch,
        coordinatorEpoch: e.coordinatorEpoch,
        lastTimestamp: e.lastTimestamp,
        txn: e.currentTxnFirstOffset,
        batches: e.batchMetadata.map((b) => [b.lastSeq, b.lastOffset, b.offsetDelta, b.timestamp]),
      })),
    ongoing: psm.ongoingTransactions().map((t) => [t.producerId, t.firstOffset, t.lastOffset]),
    unreplicated: psm.unreplicatedTransactions().map((t) => [t.producerId, t.firstOffset, t.lastOffset]),
    mapEndOffset: psm.mapEndOffset,
  };
}

function snapshotView(state: unknown): unknown {
  const x = state as { producers: { lastTimestamp: number; batches: number[][] }[] };
  return { ...x, unreplicated: [], producers: x.producers.map((p) => ({ ...p, batches: p.batches.slice(-1).map(([s, o, d]) => [s, o, d, p.lastTimestamp]) })) };
}

// ------------------------------------------------------------------------------ commands

const KINDS = ['next', 'next', 'next', 'next', 'retry', 'retry', 'gap', 'bump', 'old', 'plain', 'marker', 'marker', 'foreign'] as const;
type Kind = (typeof KINDS)[number];

interface Op {
  kind: Kind;
  pid: number;
  a: number;
  b: number;
  /** Joins the previous op's append (several batches in one append). */
  join: boolean;
  /** The write fails after applying: undo. */
  fail: boolean;
  /** Advance the high watermark to the log end after this append. */
  hw: boolean;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom(...KINDS),
  pid: fc.integer({ min: 1, max: 4 }),
  a: fc.nat(1000),
  b: fc.nat(1000),
  join: fc.nat(4).map((n) => n === 0),
  fail: fc.nat(9).map((n) => n === 0),
  hw: fc.nat(2).map((n) => n === 0),
});

/** What a producer believes about itself while building an append (synced with the model after each). */
interface Spec {
  epoch: number;
  nextSeq: number;
  txnOpen: boolean;
  coord: number;
  /** Batches it sent and saw accepted: candidates for retries. */
  sent: { epoch: number; baseSeq: number; count: number; txn: boolean }[];
}

const wrapSeq = (s: number) => (s > INT32_MAX ? s - INT32_MAX - 1 : s);

function dataBatch(pid: number, epoch: number, baseSeq: number, count: number, offset: number, txn: boolean): ProducerBatchInfo {
  return { producerId: pid, producerEpoch: epoch, baseSequence: baseSeq, lastSequence: wrapSeq(baseSeq + count - 1), baseOffset: offset, lastOffset: offset + count - 1, maxTimestamp: T0 + offset, isTransactional: txn, isControl: false };
}

/** Builds the batch an op sends at `offset`, from the producer's own view of its state. */
function build(op: Op, spec: Spec, offset: number): ProducerBatchInfo {
  // Near int32 max, end a batch exactly there now and then, so that the next one wraps to 0.
  const room = INT32_MAX - spec.nextSeq;
  const count = room >= 0 && room < 4 && op.a % 2 === 0 ? room + 1 : 1 + (op.b % 4);
  const epoch = Math.max(spec.epoch, 0);
  switch (op.kind) {
    case 'next':
    case 'plain': {
      const txn = op.kind === 'plain' ? false : spec.txnOpen || op.a % 3 === 0;
      return dataBatch(op.pid, epoch, spec.nextSeq, count, offset, txn);
    }
    case 'retry': {
      const k = op.a % 7;
      const s = spec.sent[spec.sent.length - 1 - k];
      if (s === undefined) return dataBatch(op.pid, epoch, spec.nextSeq, count, offset, spec.txnOpen);
      return dataBatch(op.pid, s.epoch, s.baseSeq, s.count, offset, s.txn);
    }
    case 'gap':
      return dataBatch(op.pid, epoch, wrapSeq(spec.nextSeq + 1 + (op.a % 3)), count, offset, spec.txnOpen);
    case 'bump':
      return dataBatch(op.pid, epoch + 1, op.a % 4 === 0 ? op.a % 10 : 0, count, offset, false);
    case 'old':
      return dataBatch(op.pid, epoch - 1, spec.nextSeq, count, offset, spec.txnOpen);
    case 'foreign':
      return dataBatch(-1, -1, -1, count, offset, false);
    case 'marker': {
      const bumpEpoch = op.b % 5 === 0 ? 1 : 0;
      const coord = Math.max(-1, spec.coord + (op.b % 4) - 1);
      return {
        producerId: op.pid,
        producerEpoch: epoch + bumpEpoch,
        baseSequence: -1,
        lastSequence: -1,
        baseOffset: offset,
        lastOffset: offset,
        maxTimestamp: T0 + offset,
        isTransactional: true,
        isControl: true,
        marker: { type: op.a % 2 === 0 ? 'COMMIT' : 'ABORT', coordinatorEpoch: coord, timestamp: T0 + offset },
      };
    }
  }
}

/** Moves the producer's view past a batch it is about to send. */
function advance(spec: Spec, b: ProducerBatchInfo): void {
  if (b.isControl) {
    if (b.producerEpoch !== spec.epoch) spec.nextSeq = 0;
    spec.epoch = b.producerEpoch;
    spec.txnOpen = false;
    spec.coord = b.marker!.coordinatorEpoch;
    return;
  }
  spec.epoch = b.producerEpoch;
  spec.nextSeq = wrapSeq(b.lastSequence + 1);
  spec.txnOpen = spec.txnOpen || b.isTransactional;
}

function outcomeOf(psm: ProducerStateManager, batches: ProducerBatchInfo[], origin: AppendOrigin, fail: boolean): Outcome {
  let analysis;
  try {
    analysis = psm.analyze(batches, origin);
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    return { kind: 'error', code: err.code };
  }
  if (analysis.duplicate !== null) return { kind: 'dup', firstOffset: analysis.duplicate.firstOffset, lastOffset: analysis.duplicate.lastOffset };
  const applied = psm.applyAppend(analysis, batches[batches.length - 1].lastOffset + 1);
  if (fail) applied.undo();
  return { kind: 'ok', aborted: applied.abortedTxns, completed: applied.completedTxns };
}

function run(ops: Op[], dir: string): void {
  const psm = new ProducerStateManager({ dir });
  const model = new Model();
  const specs = new Map<number, Spec>();
  const spec = (pid: number): Spec => {
    let s = specs.get(pid);
    if (s === undefined) specs.set(pid, (s = { epoch: -1, nextSeq: pid === 3 ? INT32_MAX - 12 : 0, txnOpen: false, coord: -1, sent: [] }));
    return s;
  };
  const log: ProducerBatchInfo[] = [];
  const aborted: AbortedTxn[] = [];

  let i = 0;
  while (i < ops.length) {
    // One append: this op and the following ones that join it.
    const group = [ops[i++]];
    while (i < ops.length && ops[i].join && group.length < 4) group.push(ops[i++]);
    let offset = model.mapEnd;
    const batches: ProducerBatchInfo[] = [];
    for (const op of group) {
      const b = build(op, spec(op.pid), offset);
      if (b.producerId >= 0) advance(spec(op.pid), b);
      batches.push(b);
      offset = b.lastOffset + 1;
    }
    const origin: AppendOrigin = batches.some((b) => b.isControl) ? 'coordinator' : 'client';
    const fail = group[0].fail;
    const before = JSON.stringify(model.state());
    const actual = outcomeOf(psm, batches, origin, fail);
    const probe = new Model();
    probe.producers = new Map([...model.producers].map(([k, v]) => [k, clone(v)]));
    probe.ongoing = model.ongoing.map((t) => ({ ...t }));
    probe.unreplicated = model.unreplicated.map((t) => ({ ...t }));
    probe.mapEnd = model.mapEnd;
    const expected = probe.append(batches, origin);
    expect(actual, `append ${JSON.stringify(batches)} (${origin})`).toEqual(expected);
    if (expected.kind === 'ok' && !fail) {
      Object.assign(model, { producers: probe.producers, ongoing: probe.ongoing, unreplicated: probe.unreplicated, mapEnd: probe.mapEnd });
      log.push(...batches);
      aborted.push(...expected.aborted);
      for (const b of batches) {
        if (b.producerId >= 0 && !b.isControl) spec(b.producerId).sent.push({ epoch: b.producerEpoch, baseSeq: b.baseSequence, count: b.lastOffset - b.baseOffset + 1, txn: b.isTransactional });
      }
    } else {
      expect(JSON.stringify(model.state())).toBe(before);
    }
    if (group[0].hw) {
      psm.onHighWatermarkUpdated(model.mapEnd);
      model.onHighWatermarkUpdated(model.mapEnd);
    }
    expect(stateOf(psm)).toEqual(model.state());
    // Each producer's view follows what the log accepted.
    for (const [pid, s] of specs) {
      const p = model.producers.get(pid);
      if (p === undefined) continue;
      s.epoch = p.epoch;
      s.coord = p.coord;
      s.txnOpen = p.txn !== null;
      s.nextSeq = p.batches.length === 0 ? 0 : wrapSeq(p.batches[p.batches.length - 1].lastSeq + 1);
    }
  }

  // A snapshot keeps each producer's last batch; reloading it gives the same state otherwise.
  const end = model.mapEnd;
  psm.takeSnapshot({ sync: false });
  if (end > 0) {
    const loaded = new ProducerStateManager({ dir });
    expect(loaded.truncateAndReload(0, end, T0)).toBe(end);
    expect(stateOf(loaded)).toEqual(snapshotView(stateOf(psm)));
  }
  // Replaying the accepted batches as 'replication' rebuilds the same state.
  psm.onHighWatermarkUpdated(end);
  const replayed = new ProducerStateManager({ dir: path.join(dir, 'none') });
  replayed.loadProducersFromRecords(log);
  replayed.updateMapEndOffset(end);
  replayed.onHighWatermarkUpdated(end);
  expect(stateOf(replayed)).toEqual(stateOf(psm));
  // Recovery, batch by batch, writes the same .txnindex entries.
  const recovered = new ProducerStateManager({ dir: path.join(dir, 'none') });
  const entries: AbortedTxn[] = [];
  for (const b of log) {
    const e = recovered.recoverBatch(b);
    if (e !== null) entries.push(e);
  }
  expect(entries).toEqual(aborted);
}

describe('ProducerStateManager against a model of Kafka\'s rules (seeded fast-check)', () => {
  it('agrees on every append, and survives snapshot, replay and recovery', () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120, size: 'max' }), (ops) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-producer-prop-'));
        try {
          run(ops, dir);
          runs++;
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    expect(runs).toBeGreaterThanOrEqual(NUM_RUNS);
  });

  it('the generated appends cover every outcome', () => {
    // Sanity check on the generator: the properties above are only as good as what it produces.
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 40, maxLength: 120, size: 'max' }), (ops) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-producer-cov-'));
        try {
          const psm = new ProducerStateManager({ dir });
          let offset = 0;
          const specs = new Map<number, Spec>();
          for (const op of ops) {
            let s = specs.get(op.pid);
            if (s === undefined) specs.set(op.pid, (s = { epoch: -1, nextSeq: 0, txnOpen: false, coord: -1, sent: [] }));
            const b = build(op, s, offset);
            const out = outcomeOf(psm, [b], b.isControl ? 'coordinator' : 'client', false);
            seen.add(out.kind === 'error' ? out.code : out.kind === 'ok' && out.aborted.length > 0 ? 'aborted' : out.kind);
            if (out.kind === 'ok') {
              offset = b.lastOffset + 1;
              if (b.producerId >= 0) advance(s, b);
              if (!b.isControl && b.producerId >= 0) s.sent.push({ epoch: b.producerEpoch, baseSeq: b.baseSequence, count: b.lastOffset - b.baseOffset + 1, txn: b.isTransactional });
            }
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED + 1, numRuns: 30 },
    );
    expect([...seen].sort()).toEqual(['COORDINATOR_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_TXN_STATE', 'OUT_OF_ORDER_SEQUENCE', 'aborted', 'dup', 'ok']);
  });
});
