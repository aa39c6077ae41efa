/**
 * Exactly-once in the log: idempotent producers (sequence and epoch checks, duplicates answered
 * with the original offsets), transactions (markers, the last stable offset, the `.txnindex`),
 * read_committed reads, and producer state across close, crash, truncation and retention.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { Log, type AppendResult } from '../../src/log/log.js';
import { decodeProducerSnapshot } from '../../src/log/producer-snapshot.js';
import { ABORTED_TXN_SIZE, decodeAbortedTxn } from '../../src/segment/txn-index.js';

const open: Log[] = [];
const dirs: string[] = [];
function tmp(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-txn-'));
  dirs.push(root);
  return path.join(root, 'orders-0');
}
async function openLog(dir: string, options: Parameters<typeof Log.open>[1] = {}): Promise<Log> {
  const log = await Log.open(dir, { clock, ...options });
  open.push(log);
  return log;
}
async function closeLog(log: Log): Promise<void> {
  await log.close();
  open.splice(open.indexOf(log), 1);
}
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

let now = 1_700_000_000_000;
const clock = () => now;
const P = 4242;
const recs = (...values: string[]) => values.map((value) => ({ key: 'k', value }));
const values = (log: Log, isolation?: 'read_committed') => [...log.recordsSync(0, { isolation })].map((r) => r.value?.toString());
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SeglogError) return err.code;
    throw err;
  }
  return 'ok';
}
function txnIndexEntries(dir: string) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txnindex'))
    .sort()
    .flatMap((f) => {
      const buf = fs.readFileSync(path.join(dir, f));
      return Array.from({ length: buf.length / ABORTED_TXN_SIZE }, (_, i) => ({ file: f, ...decodeAbortedTxn(buf, i * ABORTED_TXN_SIZE) }));
    });
}

describe('idempotent producers', () => {
  it('a retry of one of the last five batches gets the original offsets and writes nothing', async () => {
    const log = await openLog(tmp());
    await log.append(recs('plain'));
    const results: AppendResult[] = [];
    let seq = 0;
    for (let i = 0; i < 6; i++) {
      results.push(await log.append(recs(`a${i}`, `b${i}`), { producer: { producerId: P, producerEpoch: 0, baseSequence: seq } }));
      seq += 2;
    }
    const end = log.logEndOffset;
    // Batches 1..5 are the last five: their retries are duplicates.
    for (let i = 1; i < 6; i++) {
      const again = await log.append(recs(`a${i}`, `b${i}`), { producer: { producerId: P, producerEpoch: 0, baseSequence: i * 2 } });
      expect(again).toMatchObject({ firstOffset: results[i].firstOffset, lastOffset: results[i].lastOffset, duplicate: true });
    }
    expect(log.logEndOffset).toBe(end);
    // The oldest fell out of the window: its retry is out of order, as is a gap.
    expect(await code(log.append(recs('a0', 'b0'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 0 } }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE);
    expect(await code(log.append(recs('x'), { producer: { producerId: P, producerEpoch: 0, baseSequence: seq + 1 } }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE);
    expect(log.logEndOffset).toBe(end);
    expect(await code(log.append(recs('next'), { producer: { producerId: P, producerEpoch: 0, baseSequence: seq } }))).toBe('ok');
  });

  it('a retry in the same group commit as its original is answered with the original offsets', async () => {
    const log = await openLog(tmp());
    const producer = { producerId: P, producerEpoch: 0, baseSequence: 0 };
    const [a, b] = await Promise.all([log.append(recs('once'), { producer }), log.append(recs('once'), { producer })]);
    expect(b).toMatchObject({ firstOffset: a.firstOffset, duplicate: true });
    expect(values(log)).toEqual(['once']);
  });

  it('a new epoch starts at sequence 0 and fences the old one', async () => {
    const log = await openLog(tmp());
    await log.append(recs('e0'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 0 } });
    expect(await code(log.append(recs('e1'), { producer: { producerId: P, producerEpoch: 1, baseSequence: 5 } }))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE);
    expect(await code(log.append(recs('e1'), { producer: { producerId: P, producerEpoch: 1, baseSequence: 0 } }))).toBe('ok');
    expect(await code(log.append(recs('zombie'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 1 } }))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(values(log)).toEqual(['e0', 'e1']);
  });

  it('refused items of a group leave the others written and the state consistent', async () => {
    const log = await openLog(tmp());
    const p = (baseSequence: number) => ({ producer: { producerId: P, producerEpoch: 0, baseSequence } });
    const outcomes = await Promise.allSettled([log.append(recs('0'), p(0)), log.append(recs('gap'), p(5)), log.append(recs('1'), p(1)), log.append(recs('plain'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(values(log)).toEqual(['0', '1', 'plain']);
    expect(await code(log.append(recs('2'), p(2)))).toBe('ok');
  });

  it('duplicates of the last batch are still detected after a clean close and after a crash', async () => {
    const dir = tmp();
    const log = await openLog(dir, { config: { segmentBytes: 400 } });
    let last: AppendResult | null = null;
    for (let i = 0; i < 12; i++) last = await log.append(recs(`v${i}`), { producer: { producerId: P, producerEpoch: 3, baseSequence: i } });
    expect(log.numberOfSegments).toBeGreaterThan(2);
    await closeLog(log);
    // Kafka's snapshot layout: one producer, the last batch (§7.2).
    const snaps = fs.readdirSync(dir).filter((f) => f.endsWith('.snapshot')).sort();
    expect(snaps.at(-1)).toBe(`${String(last!.lastOffset + 1).padStart(20, '0')}.snapshot`);
    const [entry] = decodeProducerSnapshot(fs.readFileSync(path.join(dir, snaps.at(-1)!)));
    expect(entry).toMatchObject({ producerId: P, producerEpoch: 3, lastSequence: 11, lastOffset: last!.lastOffset });

    const again = await openLog(dir, { config: { segmentBytes: 400 } });
    expect(await again.append(recs('v11'), { producer: { producerId: P, producerEpoch: 3, baseSequence: 11 } })).toMatchObject({ firstOffset: last!.firstOffset, duplicate: true });
    await closeLog(again);

    // A crash: no marker, no snapshots at all; the state is rebuilt from the batches.
    fs.rmSync(path.join(dir, '.kafka_cleanshutdown'));
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.snapshot')) fs.rmSync(path.join(dir, f));
    fs.rmSync(path.join(dir, 'recovery-point-offset-checkpoint'));
    const crashed = await openLog(dir, { config: { segmentBytes: 400 } });
    expect(crashed.loadReport.cleanShutdown).toBe(false);
    expect(crashed.producers()).toEqual([expect.objectContaining({ producerId: P, producerEpoch: 3, lastSequence: 11 })]);
    expect(await crashed.append(recs('v11'), { producer: { producerId: P, producerEpoch: 3, baseSequence: 11 } })).toMatchObject({ firstOffset: last!.firstOffset, duplicate: true });
    expect(await code(crashed.append(recs('v12'), { producer: { producerId: P, producerEpoch: 3, baseSequence: 12 } }))).toBe('ok');
  });

  it('truncation takes the producer state back with the data', async () => {
    const log = await openLog(tmp());
    for (let i = 0; i < 4; i++) await log.append(recs(`v${i}`), { producer: { producerId: P, producerEpoch: 0, baseSequence: i } });
    await log.truncateTo(2);
    expect(values(log)).toEqual(['v0', 'v1']);
    // Sequence 2 is expected again, and is new (not a duplicate).
    expect(await log.append(recs('v2 again'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 2 } })).toMatchObject({ firstOffset: 2 });
    expect((await log.append(recs('v2 again'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 2 } })).duplicate).toBe(true);
  });

  it('expired producers are forgotten by maintenance', async () => {
    const log = await openLog(tmp(), { producerIdExpirationMs: 60_000, producerIdExpirationCheckIntervalMs: 1000 });
    await log.append(recs('a'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 0 } });
    expect(log.producers()).toHaveLength(1);
    now += 61_000;
    await log.runMaintenance();
    expect(log.producers()).toEqual([]);
    now -= 61_000;
  });

  it('refuses producer fields out of range', async () => {
    const log = await openLog(tmp());
    for (const producer of [
      { producerId: -1, producerEpoch: 0, baseSequence: 0 },
      { producerId: P, producerEpoch: 40000, baseSequence: 0 },
      { producerId: P, producerEpoch: 0, baseSequence: -3 },
    ]) {
      expect(await code(log.append(recs('x'), { producer }))).toBe(ErrorCode.INVALID_ARGUMENT);
    }
  });
});

describe('transactions', () => {
  it('the last stable offset stops at the oldest open transaction; commit and abort move it', async () => {
    const dir = tmp();
    const log = await openLog(dir);
    const Q = 7;
    await log.append(recs('plain0'));
    const t1 = await log.append(recs('p-a', 'p-b'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 0, transactional: true } });
    const t2 = await log.append(recs('q-a'), { producer: { producerId: Q, producerEpoch: 0, baseSequence: 0, transactional: true } });
    await log.append(recs('plain1'));
    expect(log.lastStableOffset).toBe(t1.firstOffset);
    expect(log.firstUnstableOffset).toBe(t1.firstOffset);
    expect(values(log, 'read_committed')).toEqual(['plain0']);
    expect(values(log)).toEqual(['plain0', 'p-a', 'p-b', 'q-a', 'plain1']);

    // Non-transactional data while P's transaction is open is refused.
    expect(await code(log.append(recs('bad'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 2 } }))).toBe(ErrorCode.INVALID_TXN_STATE);

    const abort = await log.endTransaction(P, 0, false, 5);
    // Q's transaction is still open: the LSO moves only to it.
    expect(log.lastStableOffset).toBe(t2.firstOffset);
    expect(txnIndexEntries(dir)).toEqual([{ file: '00000000000000000000.txnindex', producerId: P, firstOffset: t1.firstOffset, lastOffset: abort.firstOffset, lastStableOffset: t2.firstOffset }]);
    await log.endTransaction(Q, 0, true, 5);
    expect(log.lastStableOffset).toBe(log.logEndOffset);
    expect(log.firstUnstableOffset).toBeNull();
    expect(values(log, 'read_committed')).toEqual(['plain0', 'q-a', 'plain1']);
    const viaAsync: string[] = [];
    for await (const r of log.records(0, { isolation: 'read_committed' })) viaAsync.push(r.value!.toString());
    expect(viaAsync).toEqual(['plain0', 'q-a', 'plain1']);
    const slice = log.read(0, { isolation: 'read_committed' });
    expect(slice.abortedTransactions).toEqual([{ producerId: P, firstOffset: t1.firstOffset, lastOffset: abort.firstOffset, lastStableOffset: t2.firstOffset }]);
    expect([...slice.records()].map((r) => r.value!.toString())).toEqual(['plain0', 'q-a', 'plain1']);
    expect(log.read(0).abortedTransactions).toBeNull();
    // A coordinator epoch going backwards is fenced.
    await log.append(recs('p2'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 2, transactional: true } });
    expect(await code(log.endTransaction(P, 0, true, 4))).toBe(ErrorCode.COORDINATOR_FENCED);
  });

  it('an abort in a later segment filters a transaction that began in an earlier one, across reopen and recovery', async () => {
    const dir = tmp();
    const config = { segmentBytes: 500 };
    const log = await openLog(dir, { config });
    for (let i = 0; i < 6; i++) {
      await log.append(recs(`t${i}`), { producer: { producerId: P, producerEpoch: 0, baseSequence: i, transactional: true } });
      await log.append(recs(`plain${i}`));
    }
    await log.endTransaction(P, 0, false, 0);
    expect(log.numberOfSegments).toBeGreaterThan(2);
    const committed = ['plain0', 'plain1', 'plain2', 'plain3', 'plain4', 'plain5'];
    expect(values(log, 'read_committed')).toEqual(committed);
    // Reading from the middle: the abort (in the last segment) still applies.
    const mid = log.segmentBaseOffsets()[1];
    expect([...log.recordsSync(mid, { isolation: 'read_committed' })].every((r) => r.value!.toString().startsWith('plain'))).toBe(true);
    const entries = txnIndexEntries(dir);
    expect(entries).toHaveLength(1);
    expect(entries[0].file).toBe(`${String(log.segmentBaseOffsets().at(-1)).padStart(20, '0')}.txnindex`);
    await closeLog(log);

    const again = await openLog(dir, { config });
    expect(values(again, 'read_committed')).toEqual(committed);
    await closeLog(again);

    // A crash with every segment to recover and the txnindex gone: recovery writes it back.
    fs.rmSync(path.join(dir, '.kafka_cleanshutdown'));
    fs.rmSync(path.join(dir, 'recovery-point-offset-checkpoint'));
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.txnindex') || f.endsWith('.snapshot')) fs.rmSync(path.join(dir, f));
    const recovered = await openLog(dir, { config });
    expect(recovered.loadReport.recoveredSegments).toBe(recovered.numberOfSegments);
    expect(txnIndexEntries(dir)).toEqual(entries);
    expect(values(recovered, 'read_committed')).toEqual(committed);
    expect(recovered.lastStableOffset).toBe(recovered.logEndOffset);
  });

  it('an open transaction survives a reopen: the LSO stays, and the commit later releases it', async () => {
    const dir = tmp();
    const log = await openLog(dir);
    await log.append(recs('before'));
    const t = await log.append(recs('in-txn'), { producer: { producerId: P, producerEpoch: 2, baseSequence: 0, transactional: true } });
    await closeLog(log);
    const again = await openLog(dir);
    expect(again.lastStableOffset).toBe(t.firstOffset);
    expect(values(again, 'read_committed')).toEqual(['before']);
    await again.endTransaction(P, 2, true, 0);
    expect(values(again, 'read_committed')).toEqual(['before', 'in-txn']);
  });

  it('retention deletes a segment’s snapshot with it', async () => {
    const dir = tmp();
    const log = await openLog(dir, { config: { segmentBytes: 250, retentionBytes: 300, fileDeleteDelayMs: 0 } });
    for (let i = 0; i < 20; i++) await log.append(recs(`v${i}`), { producer: { producerId: P, producerEpoch: 0, baseSequence: i } });
    const before = fs.readdirSync(dir).filter((f) => f.endsWith('.snapshot'));
    expect(before.length).toBeGreaterThan(2);
    await log.runMaintenance();
    await log.runMaintenance();
    const bases = new Set(log.segmentBaseOffsets());
    const left = fs.readdirSync(dir).filter((f) => f.includes('.snapshot'));
    for (const f of left) expect(bases.has(Number(f.slice(0, 20))) || Number(f.slice(0, 20)) >= log.logEndOffset - 1, f).toBe(true);
    expect(left.length).toBeLessThan(before.length);
    // The producer is still known after its segments are gone.
    expect((await log.append(recs('v19'), { producer: { producerId: P, producerEpoch: 0, baseSequence: 19 } })).duplicate).toBe(true);
  });
});
