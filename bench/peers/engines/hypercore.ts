/**
 * hypercore 11.37.1: one `await core.append(entries)` per batch (each block = key ‖ value; a
 * hypercore has no keys, a block is addressed by its index), which also hashes the blocks into
 * its Merkle tree and signs the new root. Scan: `createReadStream()`; random read:
 * `await core.get(i)`.
 *
 * Durability: hypercore has no sync setting. Its storage (hypercore-storage on rocksdb-native)
 * writes each append as one RocksDB write batch with RocksDB's default write options as far as
 * the 11.37.1 sources show (no `sync` option is exposed): the batch goes to RocksDB's WAL
 * without an fsync. The same behaviour is measured in both modes and labelled so.
 */
import { importPeer, type Batch, type EngineAdapter, type EngineHandle, type ScanResult } from './types.js';

/** The members of hypercore used here (the package ships no types). */
interface Hypercore {
  ready(): Promise<void>;
  append(blocks: Buffer[]): Promise<unknown>;
  get(index: number): Promise<Buffer | null>;
  createReadStream(options?: { start?: number; end?: number }): AsyncIterable<Buffer>;
  close(): Promise<void>;
  readonly length: number;
}
type HypercoreConstructor = new (storage: string) => Hypercore;

class HypercoreHandle implements EngineHandle {
  constructor(private readonly core: Hypercore) {}

  append(batch: Batch): Promise<unknown> {
    return this.core.append(batch.entries);
  }

  async scan(): Promise<ScanResult> {
    let records = 0;
    let bytes = 0;
    for await (const block of this.core.createReadStream({ start: 0, end: this.core.length })) {
      records++;
      bytes += block.length;
    }
    return { records, bytes };
  }

  async get(index: number): Promise<number> {
    return (await this.core.get(index))?.length ?? 0;
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

/** hypercore. */
export const hypercore: EngineAdapter = {
  durability: () => 'no sync option: RocksDB write batch per append, WAL not fsynced (same in both modes)',
  async open(dir) {
    const Hypercore = (await importPeer('hypercore')) as HypercoreConstructor;
    const core = new Hypercore(dir);
    await core.ready();
    return new HypercoreHandle(core);
  },
};
