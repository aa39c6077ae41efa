/**
 * The peer benchmark's workload data (bench/peers/): batches cut from one pool of seeded
 * records, so every engine writes the same bytes in the same batches, without holding a million
 * distinct records in memory. Record i of a cell is pool record i mod POOL; the pool size is a
 * multiple of the batch size, so batch b is always the same pool slice.
 */
import type { Batch } from '../peers/engines/types.js';
import { makeRecords } from './data.js';

/** Distinct records in the pool (rounded up to a multiple of the batch size). */
const POOL_RECORDS = 1000;

/** The distinct batches of a cell (batch b of the cell is `pool[b % pool.length]`). */
export function buildPool(valueBytes: number, batchRecords: number): Batch[] {
  const size = Math.ceil(POOL_RECORDS / batchRecords) * batchRecords;
  const set = makeRecords(0x9ee2 + valueBytes, size, valueBytes);
  const batches: Batch[] = [];
  for (let at = 0; at < size; at += batchRecords) {
    const records = set.records.slice(at, at + batchRecords);
    const entries = records.map((r) => Buffer.concat([r.key as Buffer, r.value as Buffer]));
    batches.push({ records, entries, raw: Buffer.concat(entries) });
  }
  return batches;
}

