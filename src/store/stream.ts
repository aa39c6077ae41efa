/**
 * A Node `Readable` (object mode) over a {@link Consumer}: each `_read` pulls one record from the
 * consumer's iterator, so the stream's buffer (its highWaterMark, 16 records by default) plus the
 * consumer's own bounded buffer is all that is ever held — a paused or slow reader stops the
 * reads from the log (back-pressure). The stream ends when the consumer closes; destroying the
 * stream closes the consumer (with auto-commit, committing what was delivered).
 */
import { Readable } from 'node:stream';
import type { Consumer, StoreRecord } from './consumer.js';

/** The Readable of `EventStore.stream`, with its consumer (for commits and positions). */
export class ConsumerStream extends Readable {
  /** The consumer the stream reads. */
  readonly consumer: Consumer;
  private pulling = false;

  /**
   * @param consumer - the consumer to read
   * @param highWaterMark - records the stream buffers ahead of its reader (default 16)
   */
  constructor(consumer: Consumer, highWaterMark = 16) {
    super({ objectMode: true, highWaterMark });
    this.consumer = consumer;
  }

  /** @internal Pulls one record; Readable calls again while its buffer is below the mark. */
  override _read(): void {
    if (this.pulling) return;
    this.pulling = true;
    this.consumer.next().then(
      (r: IteratorResult<StoreRecord, undefined>) => {
        this.pulling = false;
        if (this.destroyed) return;
        this.push(r.done ? null : r.value);
      },
      (err: unknown) => {
        this.pulling = false;
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /** @internal Closes the consumer. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.consumer.close().then(
      () => callback(error),
      (err: unknown) => callback(error ?? (err instanceof Error ? err : new Error(String(err)))),
    );
  }
}
