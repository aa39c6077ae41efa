/**
 * lmdb-js: one `await db.transaction(() => puts)` per batch (lmdb-js commits asynchronous
 * transactions on its write thread), key = the record index (`uint32`), value = key ‖ value
 * (binary encoding, no compression). Scan: `getRange()`; random read: `getBinary(i)` (sync).
 * Durable mode: `noSync: false, overlappingSync: false` — the commit (with its msync/fsync)
 * completes before the transaction's promise resolves; otherwise `noSync: true`.
 */
import type { RootDatabase } from 'lmdb';
import type { Batch, EngineAdapter, EngineHandle, ScanResult } from './types.js';

class LmdbHandle implements EngineHandle {
  constructor(private readonly db: RootDatabase<Buffer, number>) {}

  append(batch: Batch, firstIndex: number): Promise<unknown> {
    return this.db.transaction(() => {
      for (let i = 0; i < batch.entries.length; i++) void this.db.put(firstIndex + i, batch.entries[i]);
    });
  }

  scan(): ScanResult {
    let records = 0;
    let bytes = 0;
    for (const { value } of this.db.getRange()) {
      records++;
      bytes += value.length;
    }
    return { records, bytes };
  }

  get(index: number): number {
    return this.db.getBinary(index)?.length ?? 0;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** lmdb-js. */
export const lmdb: EngineAdapter = {
  durability: (durable) => (durable ? 'noSync false, overlappingSync false: sync commit per transaction' : 'noSync true: no fsync'),
  async open(dir, options) {
    const { open } = await import('lmdb');
    const db = open<Buffer, number>({
      path: dir,
      keyEncoding: 'uint32',
      encoding: 'binary',
      compression: false,
      noSync: !options.durable,
      overlappingSync: false,
    });
    return new LmdbHandle(db);
  },
};
