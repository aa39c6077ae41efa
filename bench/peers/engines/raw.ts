/**
 * The physical baseline: the same key ‖ value bytes written with `fs.writeSync` (one call per
 * batch) at the end of one file and read back with `fs.readSync`. Records have a fixed size, so
 * record i is at i × entryBytes: no index, no framing, no checksum — the floor any engine pays.
 * Durable mode: `write` + `fdatasync` per batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EngineAdapter, EngineHandle, OpenOptions } from './types.js';

/** Chunk size of the sequential scan (as seglog's default read size). */
const SCAN_CHUNK_BYTES = 1 << 20;

class RawHandle implements EngineHandle {
  private position: number;
  private readonly one: Buffer;

  constructor(
    private readonly fd: number,
    private readonly options: OpenOptions,
  ) {
    this.position = fs.fstatSync(fd).size;
    this.one = Buffer.allocUnsafe(options.entryBytes);
  }

  append(batch: { raw: Buffer }): void {
    const buf = batch.raw;
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, this.position + done);
    this.position += buf.length;
    if (this.options.durable) fs.fdatasyncSync(this.fd);
  }

  scan(): { records: number; bytes: number } {
    const size = this.options.entryBytes;
    // A whole number of records per chunk, so no record straddles two reads.
    const chunk = Buffer.allocUnsafe(Math.max(size, Math.floor(SCAN_CHUNK_BYTES / size) * size));
    let records = 0;
    let bytes = 0;
    for (let pos = 0; pos < this.position; ) {
      const n = fs.readSync(this.fd, chunk, 0, Math.min(chunk.length, this.position - pos), pos);
      if (n === 0) break;
      // Walk the records as a reader would (one view each), so the loop is not optimised away.
      for (let at = 0; at + size <= n; at += size) {
        bytes += chunk.subarray(at, at + size).length;
        records++;
      }
      pos += n;
    }
    return { records, bytes };
  }

  get(index: number): number {
    return fs.readSync(this.fd, this.one, 0, this.one.length, index * this.options.entryBytes);
  }

  close(): Promise<void> {
    fs.closeSync(this.fd);
    return Promise.resolve();
  }
}

/** The raw `fs.writeSync` / `fs.readSync` baseline. */
export const raw: EngineAdapter = {
  durability: (durable) => (durable ? 'write + fdatasync per batch' : 'write only (page cache)'),
  open(dir, options) {
    fs.mkdirSync(dir, { recursive: true });
    return Promise.resolve(new RawHandle(fs.openSync(path.join(dir, 'data.raw'), fs.constants.O_RDWR | fs.constants.O_CREAT), options));
  },
};
