/**
 * `seglog dump`: prints the batches (and with deep iteration, the records) of `.log` files,
 * like Kafka's kafka-dump-log, and the entries of producer-state `.snapshot` files and
 * aborted-transaction `.txnindex` files. The file kind is chosen by the last suffix, as Kafka's
 * tool does; anything that is not `.snapshot` or `.txnindex` is read as a `.log`.
 *
 * `--json` prints the canonical dump (one JSON object per line; see the project's dump-format
 * reference): batch lines, then record lines for each batch's records, control records
 * included. Text mode prints Kafka's own line format. Invalid CRCs are reported in the
 * output, never thrown; records of such a batch are still decoded when they can be. Problems
 * that stop a file (corrupt framing, a partial batch at the end) go to stderr, so stdout stays
 * the canonical dump.
 *
 * `.snapshot` files. Text: one line per producer after the `Dumping` line, exactly as in the
 * Kafka dump of the 2.7.1 fixture (expected/indexes-checkpoints-snapshots.kafka-java.txt, made
 * with Kafka's ProducerStateManager.readSnapshot; kafka-dump-log itself prints the batch metadata
 * in a longer form) —
 * `producerId: 4001 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty
 * lastTimestamp: 1670068129797 firstSeq: 9 lastSeq: 11 lastDataOffset: 11` (one line; an open
 * transaction prints `OptionalLong[<offset>]`; a producer without batch metadata prints −1 for
 * the last three, which are ProducerStateEntry's firstSeq/lastSeq/lastDataOffset). An empty
 * snapshot prints nothing after `Dumping`. A corrupt snapshot (bad CRC, version, length) prints
 * its reason on stderr and fails the file, as Kafka prints its CorruptSnapshotException.
 * JSON (the dump-format reference defines no snapshot line, so this shape is seglog's), one
 * object per producer in file order:
 *
 *     {"t":"producer","producerId":4001,"producerEpoch":0,"coordinatorEpoch":-1,
 *      "currentTxnFirstOffset":null,"lastTimestamp":1670068129797,
 *      "firstSeq":9,"lastSeq":11,"lastDataOffset":11,"offsetDelta":2}
 *
 * with `currentTxnFirstOffset` a number when a transaction is open, and −1, −1, −1, 0 for the
 * last four when the producer has no batch metadata.
 *
 * `.txnindex` files. Text: Kafka's DumpLogSegments line per entry,
 * `version: 0 producerId: 4242 firstOffset: 150 lastOffset: 160 lastStableOffset: 161`, where
 * version is the byte Kafka reads (the high byte of the int16). JSON, one object per entry:
 *
 *     {"t":"aborted-txn","version":0,"producerId":4242,"firstOffset":150,"lastOffset":160,
 *      "lastStableOffset":161}
 *
 * A torn entry at the end is reported on stderr (not an error, like a partial batch); an entry
 * Kafka would refuse (version byte > 0) or an int64 beyond 2^53 stops the file with an error.
 */
import fs from 'node:fs';
import { SeglogError } from '../errors.js';
import { decodeProducerSnapshot, type ProducerSnapshotEntry } from '../log/producer-snapshot.js';
import { fromSnapshotEntry } from '../log/producer-state.js';
import { RecordBatch } from '../records/batch.js';
import { LegacyBatch } from '../records/legacy.js';
import type { LogRecord } from '../records/types.js';
import { BatchWalker } from '../records/walker.js';
import { ABORTED_TXN_SIZE, abortedTxnVersion, decodeAbortedTxn, type AbortedTxn } from '../segment/txn-index.js';

/** Options of the dump command. */
export interface DumpOptions {
  /** Canonical JSON lines (implies deep iteration). */
  json?: boolean;
  /** Print record lines too. */
  deepIteration?: boolean;
  /** Text mode: print keys and values (implies deep iteration). */
  printDataLog?: boolean;
}

/** Where dump output goes; tests pass collectors, the CLI passes stdout/stderr writers. */
export interface DumpSink {
  /** A line of dump output. */
  out(line: string): void;
  /** A diagnostic line. */
  err(line: string): void;
}

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));

/** The canonical JSON object of a v2 batch line. */
export function batchJson(b: RecordBatch): Record<string, unknown> {
  return {
    t: 'batch',
    baseOffset: b.baseOffset,
    lastOffset: b.lastOffset,
    count: b.count,
    partitionLeaderEpoch: b.partitionLeaderEpoch,
    magic: b.magic,
    crc: b.crc,
    crcValid: b.isValid(),
    codec: b.compression,
    timestampType: b.timestampType,
    transactional: b.isTransactional,
    control: b.isControl,
    firstTimestamp: b.baseTimestamp,
    maxTimestamp: b.maxTimestamp,
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.baseSequence,
  };
}

/** The canonical JSON object of a record line. */
export function recordJson(r: LogRecord): Record<string, unknown> {
  return {
    t: 'record',
    offset: r.offset,
    timestamp: r.timestamp,
    key: hex(r.key),
    value: hex(r.value),
    headers: r.headers.map(([k, v]) => [k, hex(v)]),
  };
}

function batchText(b: RecordBatch, position: number): string {
  const horizon = b.deleteHorizonMs;
  return (
    `baseOffset: ${b.baseOffset} lastOffset: ${b.lastOffset} count: ${b.count} ` +
    `baseSequence: ${b.baseSequence} lastSequence: ${b.lastSequence} producerId: ${b.producerId} ` +
    `producerEpoch: ${b.producerEpoch} partitionLeaderEpoch: ${b.partitionLeaderEpoch} ` +
    `isTransactional: ${b.isTransactional} isControl: ${b.isControl} ` +
    `deleteHorizonMs: ${horizon === null ? 'OptionalLong.empty' : `OptionalLong[${horizon}]`} ` +
    `position: ${position} ${b.timestampType}: ${b.maxTimestamp} size: ${b.sizeInBytes} magic: ${b.magic} ` +
    `compresscodec: ${b.compression} crc: ${b.crc} isvalid: ${b.isValid()}`
  );
}

function recordText(b: RecordBatch, r: LogRecord, printData: boolean): string {
  const seq = b.baseSequence === -1 ? -1 : (b.baseSequence + (r.offset - b.baseOffset)) % 0x80000000;
  let line =
    `| offset: ${r.offset} ${b.timestampType}: ${r.timestamp} keySize: ${r.key?.length ?? -1} ` +
    `valueSize: ${r.value?.length ?? -1} sequence: ${seq} headers: [${r.headers.map(([k]) => k).join(', ')}]`;
  if (printData) {
    line += ` key: ${r.key === null ? 'null' : `h:${r.key.toString('hex')}`}`;
    line += ` payload: ${r.value === null ? 'null' : `h:${r.value.toString('hex')}`}`;
  }
  return line;
}

/**
 * Dumps one file's bytes. Returns false when a batch could not be dumped or corruption stopped
 * the walk, true otherwise (a partial batch at the end is reported but is not an error, as in Kafka).
 */
export function dumpBuffer(buf: Buffer, file: string, options: DumpOptions, sink: DumpSink): boolean {
  const json = options.json === true;
  const deep = json || options.deepIteration === true || options.printDataLog === true;
  const walker = new BatchWalker(buf, { file });
  if (!json) sink.out(`Dumping ${file}`);
  let ok = true;
  try {
    for (const { position, batch } of walker) {
      // Framing is intact from here: a bad field or record spoils this batch only.
      try {
        dumpBatch(position, batch, json, deep, options.printDataLog === true, sink);
      } catch (err) {
        if (!(err instanceof SeglogError)) throw err;
        sink.err(`${file}: batch at position ${position}: ${err.code}: ${err.message}`);
        ok = false;
      }
    }
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    sink.err(`${file}: stopped at position ${walker.position}: ${err.code}: ${err.message}`);
    return false;
  }
  if (walker.remainingBytes > 0) {
    sink.err(`${file}: found ${walker.remainingBytes} invalid bytes at the end (a partial batch) after position ${walker.position}`);
  }
  return ok;
}

function dumpBatch(position: number, batch: RecordBatch | LegacyBatch, json: boolean, deep: boolean, printData: boolean, sink: DumpSink): void {
  if (batch instanceof LegacyBatch) {
    if (json) sink.out(JSON.stringify({ t: 'legacy-batch', magic: batch.magic }));
    else sink.out(`position: ${position} magic: ${batch.magic} size: ${batch.sizeInBytes} (legacy message not decoded)`);
    return;
  }
  sink.out(json ? JSON.stringify(batchJson(batch)) : batchText(batch, position));
  if (!deep) return;
  for (const r of batch.records()) {
    sink.out(json ? JSON.stringify(recordJson(r)) : recordText(batch, r, printData));
  }
}

/**
 * Dumps a producer-state `.snapshot` file's bytes (format in the header of this file). Returns
 * false when the snapshot is corrupt or holds a value seglog cannot represent.
 */
export function dumpProducerSnapshot(buf: Buffer, file: string, options: DumpOptions, sink: DumpSink): boolean {
  const json = options.json === true;
  if (!json) sink.out(`Dumping ${file}`);
  let raw: ProducerSnapshotEntry[];
  try {
    raw = decodeProducerSnapshot(buf);
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    sink.err(`${file}: ${err.code}: ${err.message}`);
    return false;
  }
  for (const r of raw) {
    const e = fromSnapshotEntry(r);
    if (json) {
      sink.out(
        JSON.stringify({
          t: 'producer',
          producerId: e.producerId,
          producerEpoch: e.producerEpoch,
          coordinatorEpoch: e.coordinatorEpoch,
          currentTxnFirstOffset: e.currentTxnFirstOffset,
          lastTimestamp: e.lastTimestamp,
          firstSeq: e.firstSeq,
          lastSeq: e.lastSeq,
          lastDataOffset: e.lastDataOffset,
          offsetDelta: e.lastOffsetDelta,
        }),
      );
    } else {
      const txn = e.currentTxnFirstOffset === null ? 'OptionalLong.empty' : `OptionalLong[${e.currentTxnFirstOffset}]`;
      sink.out(
        `producerId: ${e.producerId} producerEpoch: ${e.producerEpoch} coordinatorEpoch: ${e.coordinatorEpoch} ` +
          `currentTxnFirstOffset: ${txn} lastTimestamp: ${e.lastTimestamp} ` +
          `firstSeq: ${e.firstSeq} lastSeq: ${e.lastSeq} lastDataOffset: ${e.lastDataOffset}`,
      );
    }
  }
  return true;
}

/**
 * Dumps an aborted-transaction `.txnindex` file's bytes (format in the header of this file).
 * Returns false when an entry cannot be read; the entries before it are printed.
 */
export function dumpTxnIndex(buf: Buffer, file: string, options: DumpOptions, sink: DumpSink): boolean {
  const json = options.json === true;
  if (!json) sink.out(`Dumping ${file}`);
  const whole = Math.floor(buf.length / ABORTED_TXN_SIZE);
  for (let i = 0; i < whole; i++) {
    const at = i * ABORTED_TXN_SIZE;
    let t: AbortedTxn;
    try {
      t = decodeAbortedTxn(buf, at);
    } catch (err) {
      if (!(err instanceof SeglogError)) throw err;
      sink.err(`${file}: stopped at position ${at}: ${err.code}: ${err.message}`);
      return false;
    }
    const version = abortedTxnVersion(buf, at);
    sink.out(
      json
        ? JSON.stringify({ t: 'aborted-txn', version, producerId: t.producerId, firstOffset: t.firstOffset, lastOffset: t.lastOffset, lastStableOffset: t.lastStableOffset })
        : `version: ${version} producerId: ${t.producerId} firstOffset: ${t.firstOffset} lastOffset: ${t.lastOffset} lastStableOffset: ${t.lastStableOffset}`,
    );
  }
  const tail = buf.length - whole * ABORTED_TXN_SIZE;
  if (tail > 0) sink.err(`${file}: found ${tail} invalid bytes at the end (a partial entry) after position ${whole * ABORTED_TXN_SIZE}`);
  return true;
}

/** Which dumper a file goes to, by its last suffix. */
function dumperFor(file: string): typeof dumpBuffer {
  if (file.endsWith('.snapshot')) return dumpProducerSnapshot;
  if (file.endsWith('.txnindex')) return dumpTxnIndex;
  return dumpBuffer;
}

/** Dumps each file in turn; returns the process exit code (0 ok, 1 when any file failed). */
export function dumpFiles(files: readonly string[], options: DumpOptions, sink: DumpSink): number {
  let code = 0;
  for (const file of files) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      sink.err(`${file}: ${(err as Error).message}`);
      code = 1;
      continue;
    }
    if (!dumperFor(file)(buf, file, options, sink)) code = 1;
  }
  return code;
}
