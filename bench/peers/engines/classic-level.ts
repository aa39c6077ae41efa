/**
 * classic-level (LevelDB): one `await db.batch(puts, { sync })` per batch, key = the record
 * index as 8 big-endian bytes (so LevelDB's order is index order), value = key ‖ value. Scan:
 * an iterator read 1000 entries at a time (`nextv`); random read: `getSync(key)`.
 * Durable mode: `sync: true` (LevelDB fsyncs its log before the batch resolves); otherwise
 * `sync: false` (written to the log, no fsync).
 */
import type { ClassicLevel } from 'classic-level';
import type { Batch, EngineAdapter, EngineHandle, ScanResult } from './types.js';

/** Entries per `nextv` call of the scan. */
const SCAN_STEP = 1000;

/** The 8-byte big-endian key of record `index`. */
function keyOf(index: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(BigInt(index));
  return key;
}

class LevelHandle implements EngineHandle {
  constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly sync: boolean,
  ) {}

  append(batch: Batch, firstIndex: number): Promise<unknown> {
    const ops = batch.entries.map((value, i) => ({ type: 'put' as const, key: keyOf(firstIndex + i), value }));
    return this.db.batch(ops, { sync: this.sync });
  }

  async scan(): Promise<ScanResult> {
    let records = 0;
    let bytes = 0;
    const it = this.db.iterator();
    try {
      for (;;) {
        const entries = await it.nextv(SCAN_STEP);
        if (entries.length === 0) break;
        for (const [, value] of entries) {
          records++;
          bytes += value.length;
        }
      }
    } finally {
      await it.close();
    }
    return { records, bytes };
  }

  get(index: number): number {
    return this.db.getSync(keyOf(index))?.length ?? 0;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** classic-level. */
export const classicLevel: EngineAdapter = {
  durability: (durable) => (durable ? 'batch sync: true: log fsync per batch' : 'batch sync: false: no fsync'),
  async open(dir, options) {
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return new LevelHandle(db, options.durable);
  },
};
