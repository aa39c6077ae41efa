/**
 * `seglog dump`: prints the batches (and with deep iteration, the records) of `.log` files,
 * like Kafka's kafka-dump-log.
 *
 * `--json` prints the canonical dump (one JSON object per line; see the project's dump-format
 * reference): batch lines, then record lines for each batch's records, control records
 * included. Text mode prints Kafka's own line format. Invalid CRCs are reported in the
 * output, never thrown; records of such a batch are still decoded when they can be. Problems
 * that stop a file (corrupt framing, a partial batch at the end) go to stderr, so stdout stays
 * the canonical dump.
 */
import fs from 'node:fs';
import { SeglogError } from '../errors.js';
import { RecordBatch } from '../records/batch.js';
import { LegacyBatch } from '../records/legacy.js';
import type { LogRecord } from '../records/types.js';
import { BatchWalker } from '../records/walker.js';

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
    if (!dumpBuffer(buf, file, options, sink)) code = 1;
  }
  return code;
}
