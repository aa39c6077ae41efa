/**
 * TransactionIndex (`.txnindex`): the §10.7 vector byte for byte, lazy creation, append order,
 * Kafka's one-byte version quirk, torn tails, truncation, sanity checks, file lifecycle, and a
 * seeded model test of append/truncateTo/collectAbortedTxns across close and reload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import {
  ABORTED_TXN_SIZE,
  TransactionIndex,
  collectAbortedTransactions,
  encodeAbortedTxn,
  type AbortedTxn,
} from '../../src/segment/txn-index.js';
import { hex } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-txn-index-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const txnPath = (base: number) => path.join(dir, `${String(base).padStart(20, '0')}.txnindex`);
const txn = (producerId: number, firstOffset: number, lastOffset: number, lastStableOffset: number): AbortedTxn => ({ producerId, firstOffset, lastOffset, lastStableOffset });

function expectCode(fn: () => unknown, code: string): SeglogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    expect((err as SeglogError).code).toBe(code);
    return err as SeglogError;
  }
  throw new Error(`expected a ${code} error`);
}

const VECTOR = hex('00 00 | 00 00 00 00 00 00 10 92 | 00 00 00 00 00 00 00 96 | 00 00 00 00 00 00 00 a0 | 00 00 00 00 00 00 00 a1');

describe('§10.7 vector', () => {
  it('writes AbortedTxn(pid 4242, first 150, last 160, LSO 161) as 34 bytes, creating the file lazily', () => {
    const file = txnPath(100);
    const idx = new TransactionIndex(file, 100);
    expect(idx.entries).toBe(0);
    expect(idx.allAbortedTxns()).toEqual([]);
    idx.sanityCheck();
    expect(fs.existsSync(file)).toBe(false); // reads never create it
    idx.append(txn(4242, 150, 160, 161));
    expect(VECTOR.length).toBe(ABORTED_TXN_SIZE);
    expect(Buffer.compare(fs.readFileSync(file), VECTOR)).toBe(0);
    expect(Buffer.compare(encodeAbortedTxn(txn(4242, 150, 160, 161)), VECTOR)).toBe(0);
    idx.close();
    const again = new TransactionIndex(file, 100);
    expect(again.allAbortedTxns()).toEqual([txn(4242, 150, 160, 161)]);
    expect(again.lastOffset).toBe(160);
  });
});

describe('append', () => {
  it('requires strictly increasing lastOffset, also after a reopen', () => {
    const file = txnPath(0);
    const idx = new TransactionIndex(file, 0);
    idx.append(txn(1, 0, 5, 6));
    expectCode(() => idx.append(txn(2, 1, 5, 6)), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(txn(2, 1, 4, 6)), ErrorCode.INVALID_ARGUMENT);
    idx.append(txn(2, 1, 9, 10));
    idx.close();
    const again = new TransactionIndex(file, 0);
    expectCode(() => again.append(txn(3, 1, 9, 10)), ErrorCode.INVALID_ARGUMENT);
    again.append(txn(3, 1, 10, 11));
    expect(again.allAbortedTxns().map((t) => t.lastOffset)).toEqual([5, 9, 10]);
    expect(fs.statSync(file).size).toBe(3 * ABORTED_TXN_SIZE);
  });

  it('refuses a lastOffset below the base offset and values that are not safe integers', () => {
    const idx = new TransactionIndex(txnPath(100), 100);
    expectCode(() => idx.append(txn(1, 90, 99, 100)), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(txn(1, 90.5, 120, 121)), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => idx.append(txn(2 ** 53, 90, 120, 121)), ErrorCode.INVALID_ARGUMENT);
    expect(fs.existsSync(txnPath(100))).toBe(false);
    // A transaction may start in an earlier segment.
    idx.append(txn(1, 90, 100, 101));
    expect(idx.entries).toBe(1);
  });

  it('cuts a torn tail before appending so the next entries stay aligned', () => {
    const file = txnPath(0);
    fs.writeFileSync(file, Buffer.concat([encodeAbortedTxn(txn(1, 0, 3, 4)), Buffer.alloc(10, 0xab)]));
    const idx = new TransactionIndex(file, 0);
    expect(idx.entries).toBe(1); // only whole entries are read
    idx.append(txn(2, 4, 8, 9));
    expect(fs.statSync(file).size).toBe(2 * ABORTED_TXN_SIZE);
    idx.close();
    expect(new TransactionIndex(file, 0).allAbortedTxns()).toEqual([txn(1, 0, 3, 4), txn(2, 4, 8, 9)]);
  });

  it('survives close between appends (the descriptor is reopened)', () => {
    const file = txnPath(0);
    const idx = new TransactionIndex(file, 0);
    idx.append(txn(1, 0, 3, 4));
    idx.flush();
    idx.close();
    idx.append(txn(1, 5, 7, 8));
    expect(idx.allAbortedTxns().length).toBe(2);
    expect(fs.statSync(file).size).toBe(68);
  });
});

describe("Kafka's version quirk and bad files", () => {
  function fileWith(...entries: Buffer[]): string {
    const file = txnPath(10);
    fs.writeFileSync(file, Buffer.concat(entries));
    return file;
  }

  it('reads the version as the int16 high byte: 00 01 and ff 00 pass, 01 00 is refused', () => {
    const e = encodeAbortedTxn(txn(7, 10, 12, 13));
    const low = Buffer.from(e);
    low[1] = 1;
    const negative = Buffer.from(e);
    negative[0] = 0xff;
    expect(new TransactionIndex(fileWith(low), 10).allAbortedTxns()).toEqual([txn(7, 10, 12, 13)]);
    expect(new TransactionIndex(fileWith(negative), 10).allAbortedTxns()).toEqual([txn(7, 10, 12, 13)]);
    const high = Buffer.from(e);
    high[0] = 1;
    const idx = new TransactionIndex(fileWith(e, high), 10);
    const err = expectCode(() => idx.sanityCheck(), ErrorCode.CORRUPT_INDEX);
    expect(err.position).toBe(ABORTED_TXN_SIZE);
    expectCode(() => idx.collectAbortedTxns(0, 100), ErrorCode.CORRUPT_INDEX);
  });

  it('sanityCheck refuses a lastOffset below the base offset', () => {
    const idx = new TransactionIndex(fileWith(encodeAbortedTxn(txn(1, 0, 11, 12)), encodeAbortedTxn(txn(1, 0, 9, 12))), 10);
    expect(idx.entries).toBe(2); // loading does not check the order, like Kafka
    expectCode(() => idx.sanityCheck(), ErrorCode.CORRUPT_INDEX);
  });

  it('an int64 beyond 2^53 is CORRUPT_INDEX', () => {
    const e = encodeAbortedTxn(txn(1, 10, 12, 13));
    e.writeBigInt64BE(2n ** 60n, 2);
    expectCode(() => new TransactionIndex(fileWith(e), 10).entries, ErrorCode.CORRUPT_INDEX);
  });
});

describe('collectAbortedTxns', () => {
  const entries = [txn(1, 0, 10, 11), txn(2, 5, 20, 6), txn(3, 12, 30, 31), txn(4, 35, 40, 41)];
  function index(): TransactionIndex {
    const idx = new TransactionIndex(txnPath(0), 0);
    for (const e of entries) idx.append(e);
    return idx;
  }

  it('collects entries with lastOffset ≥ fetchOffset and firstOffset < upperBound', () => {
    const idx = index();
    expect(idx.collectAbortedTxns(11, 15)).toEqual({ txns: [txn(2, 5, 20, 6), txn(3, 12, 30, 31)], isComplete: true });
    expect(idx.collectAbortedTxns(0, 5)).toEqual({ txns: [txn(1, 0, 10, 11)], isComplete: true });
    expect(idx.collectAbortedTxns(41, 50)).toEqual({ txns: [], isComplete: false });
  });

  it('stops (complete) at the first entry whose lastStableOffset ≥ upperBound, collecting it if it overlaps', () => {
    const idx = index();
    // Entry 1 has LSO 11 ≥ 11: the scan stops there; later entries are not looked at.
    expect(idx.collectAbortedTxns(0, 11)).toEqual({ txns: [txn(1, 0, 10, 11)], isComplete: true });
    expect(idx.collectAbortedTxns(0, 100)).toEqual({ txns: entries, isComplete: false });
  });

  it('collectAbortedTransactions walks the indexes until one is complete', () => {
    const a = new TransactionIndex(path.join(dir, 'a.txnindex'), 0);
    a.append(txn(1, 0, 10, 11));
    const b = new TransactionIndex(path.join(dir, 'b.txnindex'), 20);
    b.append(txn(2, 15, 25, 60));
    const c = new TransactionIndex(path.join(dir, 'c.txnindex'), 50);
    c.append(txn(3, 40, 55, 56));
    expect(collectAbortedTransactions([a, b, c], 5, 50)).toEqual([txn(1, 0, 10, 11), txn(2, 15, 25, 60)]);
    expect(collectAbortedTransactions([a, b, c], 5, 100)).toEqual([txn(1, 0, 10, 11), txn(2, 15, 25, 60), txn(3, 40, 55, 56)]);
  });
});

describe('truncation and lifecycle', () => {
  it('truncateTo drops the first entry with lastOffset ≥ offset and all after it', () => {
    const file = txnPath(0);
    const idx = new TransactionIndex(file, 0);
    for (const e of [txn(1, 0, 5, 6), txn(2, 1, 9, 10), txn(3, 2, 14, 15)]) idx.append(e);
    idx.truncateTo(20);
    expect(idx.entries).toBe(3);
    idx.truncateTo(9);
    expect(idx.allAbortedTxns()).toEqual([txn(1, 0, 5, 6)]);
    expect(fs.statSync(file).size).toBe(ABORTED_TXN_SIZE);
    idx.append(txn(4, 6, 7, 8)); // the last offset after truncation is 5
    idx.truncateTo(0);
    expect(idx.entries).toBe(0);
    expect(fs.statSync(file).size).toBe(0);
  });

  it('reset empties the file but keeps it', () => {
    const file = txnPath(0);
    const idx = new TransactionIndex(file, 0);
    idx.reset();
    expect(fs.existsSync(file)).toBe(false);
    idx.append(txn(1, 0, 5, 6));
    idx.reset();
    expect(fs.statSync(file).size).toBe(0);
    idx.append(txn(1, 0, 2, 3)); // lower than before the reset: allowed
    expect(idx.allAbortedTxns()).toEqual([txn(1, 0, 2, 3)]);
  });

  it('renames (an uncreated file only changes its name) and deletes', () => {
    const idx = new TransactionIndex(txnPath(0), 0);
    const deleted = `${txnPath(0)}.deleted`;
    idx.renameTo(deleted);
    expect(idx.file).toBe(deleted);
    expect(fs.existsSync(deleted)).toBe(false);
    idx.append(txn(1, 0, 5, 6));
    expect(fs.existsSync(deleted)).toBe(true);
    const swap = path.join(dir, 'x.txnindex.swap');
    idx.renameTo(swap);
    idx.append(txn(1, 7, 8, 9)); // the open descriptor follows the rename
    expect(new TransactionIndex(swap, 0).entries).toBe(2);
    idx.updateParentDir(path.join(dir, 'elsewhere'));
    expect(idx.file).toBe(path.join(dir, 'elsewhere', 'x.txnindex.swap'));
    idx.updateParentDir(dir);
    expect(idx.deleteIfExists()).toBe(true);
    expect(idx.deleteIfExists()).toBe(false);
    expect(idx.entries).toBe(0);
  });

  it('refuses a negative base offset', () => {
    expectCode(() => new TransactionIndex(txnPath(0), -1), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('seeded model test', () => {
  it('append / truncateTo / collect / reopen agree with an array model', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = prng(seed);
      const base = Math.floor(rnd() * 1000);
      const file = txnPath(base);
      fs.rmSync(file, { force: true });
      let idx = new TransactionIndex(file, base);
      const model: AbortedTxn[] = [];
      for (let step = 0; step < 60; step++) {
        const r = rnd();
        if (r < 0.55) {
          const prev = model.length === 0 ? base - 1 : model[model.length - 1].lastOffset;
          const last = prev + 1 + Math.floor(rnd() * 5);
          const t = txn(Math.floor(rnd() * 4), Math.max(0, last - Math.floor(rnd() * 30)), last, last + 1 - Math.floor(rnd() * 3));
          idx.append(t);
          model.push(t);
        } else if (r < 0.65) {
          const to = base + Math.floor(rnd() * (model.length * 4 + 5));
          idx.truncateTo(to);
          const cut = model.findIndex((t) => t.lastOffset >= to);
          if (cut >= 0) model.length = cut;
        } else if (r < 0.75) {
          idx.close();
          idx = new TransactionIndex(file, base);
        } else {
          const fetch = base + Math.floor(rnd() * (model.length * 4 + 5)) - 10;
          const upper = fetch + Math.floor(rnd() * 30);
          const txns: AbortedTxn[] = [];
          let isComplete = false;
          for (const t of model) {
            if (t.lastOffset >= fetch && t.firstOffset < upper) txns.push(t);
            if (t.lastStableOffset >= upper) {
              isComplete = true;
              break;
            }
          }
          expect(idx.collectAbortedTxns(fetch, upper)).toEqual({ txns, isComplete });
        }
        expect(idx.entries).toBe(model.length);
      }
      expect(idx.allAbortedTxns()).toEqual(model);
      idx.sanityCheck();
      idx.close();
      expect(fs.existsSync(file) ? fs.statSync(file).size : 0).toBe(model.length * ABORTED_TXN_SIZE);
    }
  });
});
