/**
 * seglog: `Log.append(records, { compression })` per batch, awaited (one group commit each).
 * Scan: `log.recordsSync()` (CRC checked, decoded). Random read: `log.read(i, { maxBytes: 1 })`
 * and the record at offset i of the first batch (the whole batch is read and its CRC checked,
 * as a Kafka fetch would). Durable mode: `flushMessages: 1`, an fdatasync per group commit
 * before the append resolves; otherwise Kafka's default (no fsync by the log).
 */
import { Log } from '../../../src/log/log.js';
import type { Batch, EngineAdapter, EngineHandle, OpenOptions, ScanResult } from './types.js';

class SeglogHandle implements EngineHandle {
  constructor(
    private readonly log: Log,
    private readonly options: OpenOptions,
  ) {}

  append(batch: Batch): Promise<unknown> {
    return this.log.append(batch.records, { compression: this.options.compression });
  }

  scan(): ScanResult {
    let records = 0;
    let bytes = 0;
    for (const r of this.log.recordsSync()) {
      records++;
      bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    }
    return { records, bytes };
  }

  get(index: number): number {
    for (const r of this.log.read(index, { maxBytes: 1 }).records()) {
      if (r.offset === index) return (r.key?.length ?? 0) + (r.value?.length ?? 0);
    }
    return 0;
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/** seglog's `Log`. */
export const seglog: EngineAdapter = {
  durability: (durable) => (durable ? 'flushMessages 1: fdatasync per group commit before append resolves' : 'flush.messages unbounded (Kafka default): write(2), no fsync'),
  async open(dir, options) {
    const config = options.durable ? { flushMessages: 1 } : {};
    return new SeglogHandle(await Log.open(dir, { config }), options);
  },
};
