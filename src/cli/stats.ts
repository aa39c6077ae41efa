/**
 * `seglog stats DIR`: per topic and partition, what is on disk: segments, bytes, the offset
 * range, the record and batch counts, the time range and the compression ratio. Read-only, like
 * `verify` (see scan.ts): it works on a Kafka data directory and while another process writes.
 *
 * Where the figures come from:
 * - offsets, counts and timestamps from the batch headers (never decompressed for them);
 * - the log start offset is the first segment's base offset, raised by a `log-start-offset-
 *   checkpoint` entry for the partition (in the data directory, as Kafka and the manager keep
 *   it, or in the partition directory, as a standalone log does) when there is one;
 * - the compression ratio is the records region's bytes decompressed over its stored bytes,
 *   summed over every batch. Uncompressed batches count their stored size on both sides, so
 *   a log with no compression shows 1.00. Batches are decompressed to measure (Kafka's headers
 *   do not carry the uncompressed size); legacy (magic 0/1) messages count as stored.
 * The time range is the smallest first-record timestamp (`baseTimestamp`, unless the cleaner
 * replaced it with a delete horizon) to the largest `maxTimestamp`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeglogError } from '../errors.js';
import { LOG_START_OFFSET_CHECKPOINT_FILE } from '../log/log.js';
import { readOffsetCheckpoint } from '../log/checkpoint.js';
import type { RecordBatch } from '../records/batch.js';
import type { LegacyBatch } from '../records/legacy.js';
import { parseCommandArgs, type CliIo } from './args.js';
import { ProgressBar, formatBytes, formatCount, formatDuration, formatTable, formatTimestamp } from './format.js';
import { findPartitions, listSegments, readSegmentBatches, requireDirectory, type PartitionDir } from './scan.js';

/** The figures of one partition. */
export interface PartitionStats {
  /** Topic name. */
  topic: string;
  /** Partition number. */
  partition: number;
  /** Path of the partition directory. */
  dir: string;
  /** Number of segments. */
  segments: number;
  /** Bytes of the `.log` files. */
  bytes: number;
  /** Bytes of the `.index`, `.timeindex` and `.txnindex` files. */
  indexBytes: number;
  /** First offset of the log (see the file header). */
  startOffset: number;
  /** The offset the next record would get: last batch's last offset + 1 (the last segment's base offset when empty). */
  endOffset: number;
  /** Records, from the batch headers (a compacted log has fewer than endOffset − startOffset). */
  records: number;
  /** Batches. */
  batches: number;
  /** Smallest first-record timestamp, or null without timestamps. */
  firstTimestamp: number | null;
  /** Largest timestamp, or null without timestamps. */
  lastTimestamp: number | null;
  /** Batches per codec (`none`, `gzip`, `snappy`, `lz4`, `zstd`, `legacy`). */
  codecs: Record<string, number>;
  /** Stored bytes of the records regions. */
  storedRecordBytes: number;
  /** The same, decompressed. */
  uncompressedRecordBytes: number;
  /** uncompressedRecordBytes / storedRecordBytes (1 when there is nothing). */
  compressionRatio: number;
  /** Problems met on the way (a damaged file stops that file's figures; `seglog verify` says more). */
  notes: string[];
}

/** The log-start-offset checkpoint entry for a partition, if one of the two places has it. */
function checkpointedStart(p: PartitionDir): number | undefined {
  for (const file of [path.join(path.dirname(path.resolve(p.dir)), LOG_START_OFFSET_CHECKPOINT_FILE), path.join(p.dir, LOG_START_OFFSET_CHECKPOINT_FILE)]) {
    try {
      const v = readOffsetCheckpoint(file).get(p.name);
      if (v !== undefined) return v;
    } catch {
      // An unreadable checkpoint only loses the refinement; the segments still say where the log starts.
    }
  }
  return undefined;
}

/** Adds one batch's figures to `s`. */
function addBatch(s: PartitionStats, batch: RecordBatch | LegacyBatch): { last: number } {
  s.batches++;
  if (batch.magic < 2) {
    const b = batch as LegacyBatch;
    s.records++;
    s.codecs.legacy = (s.codecs.legacy ?? 0) + 1;
    s.storedRecordBytes += b.sizeInBytes;
    s.uncompressedRecordBytes += b.sizeInBytes;
    if (b.magic === 1 && b.timestamp >= 0) {
      s.firstTimestamp = Math.min(s.firstTimestamp ?? b.timestamp, b.timestamp);
      s.lastTimestamp = Math.max(s.lastTimestamp ?? b.timestamp, b.timestamp);
    }
    return { last: b.offset };
  }
  const b = batch as RecordBatch;
  s.records += b.count;
  const codec = b.compression;
  s.codecs[codec] = (s.codecs[codec] ?? 0) + 1;
  const stored = b.payload.length;
  s.storedRecordBytes += stored;
  s.uncompressedRecordBytes += codec === 'none' ? stored : b.uncompressedPayload().length;
  const first = b.hasDeleteHorizon ? -1 : b.baseTimestamp;
  if (first >= 0) s.firstTimestamp = Math.min(s.firstTimestamp ?? first, first);
  if (b.maxTimestamp >= 0) s.lastTimestamp = Math.max(s.lastTimestamp ?? b.maxTimestamp, b.maxTimestamp);
  return { last: b.lastOffset };
}

/** The figures of one partition directory (read-only). */
export function partitionStats(p: PartitionDir, onBytes?: (bytes: number) => void): PartitionStats {
  const { segments } = listSegments(p.dir);
  const s: PartitionStats = {
    topic: p.topic,
    partition: p.partition,
    dir: p.dir,
    segments: segments.length,
    bytes: 0,
    indexBytes: 0,
    startOffset: 0,
    endOffset: 0,
    records: 0,
    batches: 0,
    firstTimestamp: null,
    lastTimestamp: null,
    codecs: {},
    storedRecordBytes: 0,
    uncompressedRecordBytes: 0,
    compressionRatio: 1,
    notes: [],
  };
  let end = segments.length > 0 ? segments[segments.length - 1].baseOffset : 0;
  for (const seg of segments) {
    for (const f of [seg.index, seg.timeIndex, seg.txnIndex]) if (f !== null) s.indexBytes += fileSize(f);
    const walk = readSegmentBatches(seg.log, onBytes);
    try {
      let step = walk.next();
      while (!step.done) {
        try {
          end = Math.max(end, addBatch(s, step.value.batch).last + 1);
        } catch (err) {
          if (!(err instanceof SeglogError)) throw err;
          s.notes.push(`${seg.log}: batch at position ${step.value.position}: ${err.code}: ${err.message}`);
        }
        step = walk.next();
      }
      s.bytes += step.value.fileBytes;
      if (step.value.tail === 'garbage') s.notes.push(`${seg.log}: unreadable from position ${step.value.validBytes} (run seglog verify)`);
    } catch (err) {
      if (!(err instanceof SeglogError) || err.errno !== 'ENOENT') throw err;
      s.notes.push(`${seg.log}: deleted while being read`);
    }
  }
  const base = segments.length > 0 ? segments[0].baseOffset : 0;
  s.startOffset = Math.min(Math.max(base, checkpointedStart(p) ?? base), end);
  s.endOffset = end;
  s.compressionRatio = s.storedRecordBytes > 0 ? s.uncompressedRecordBytes / s.storedRecordBytes : 1;
  return s;
}

/** A file's length, 0 when it went away since the listing. */
function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function codecsText(codecs: Record<string, number>): string {
  const names = Object.keys(codecs);
  return names.length === 0 ? '-' : names.sort().join(',');
}

/** `seglog stats [--json] DIR`; resolves to the exit code. */
export async function statsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('stats', args, { json: { type: 'boolean' }, topic: { type: 'string' } }, { required: ['DIR'] });
  const dir = positionals[0];
  requireDirectory(dir);
  const started = performance.now();
  const partitions = findPartitions(dir).filter((p) => values.topic === undefined || p.topic === values.topic);
  let total = 0;
  for (const p of partitions) for (const seg of listSegments(p.dir).segments) total += seg.logBytes;
  const bar = new ProgressBar(io.stderr, io.stderrIsTTY === true && values.json !== true, 'stats', total);
  let done = 0;
  const results: PartitionStats[] = [];
  for (const p of partitions) {
    results.push(partitionStats(p, (n) => bar.update((done += n), p.name, Math.max(total, done))));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  bar.finish();
  for (const r of results) for (const n of r.notes) io.stderr(`seglog stats: ${n}\n`);
  if (values.json === true) {
    for (const r of results) io.stdout(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const row = (name: string, r: Omit<PartitionStats, 'topic' | 'partition' | 'dir' | 'notes'>, offsets: boolean): string[] => [
    name,
    formatCount(r.segments),
    formatBytes(r.bytes),
    offsets ? String(r.startOffset) : '',
    offsets ? String(r.endOffset) : '',
    formatCount(r.records),
    formatCount(r.batches),
    formatTimestamp(r.firstTimestamp),
    formatTimestamp(r.lastTimestamp),
    codecsText(r.codecs),
    `${r.compressionRatio.toFixed(2)}x`,
  ];
  const rows: string[][] = [];
  const byTopic = new Map<string, PartitionStats[]>();
  for (const r of results) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
  for (const [topic, parts] of byTopic) {
    for (const r of parts) rows.push(row(`${r.topic}-${r.partition}`, r, true));
    if (parts.length > 1) rows.push(row(`${topic} (total)`, sum(parts), false));
  }
  io.stdout(
    `${formatTable(['PARTITION', 'SEGMENTS', 'SIZE', 'START', 'END', 'RECORDS', 'BATCHES', 'FIRST TIMESTAMP', 'LAST TIMESTAMP', 'CODECS', 'RATIO'], rows, [
      'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'left', 'left', 'right',
    ])}\n`,
  );
  const all = sum(results);
  io.stdout(
    `\n${formatCount(byTopic.size)} topics, ${formatCount(results.length)} partitions, ${formatCount(all.records)} records in ${formatBytes(all.bytes)} ` +
      `(records ${formatBytes(all.uncompressedRecordBytes)} uncompressed, ${all.compressionRatio.toFixed(2)}x); read in ${formatDuration(performance.now() - started)}\n`,
  );
  return 0;
}

/** Totals over partitions (offsets are not summed). */
function sum(parts: readonly PartitionStats[]): Omit<PartitionStats, 'topic' | 'partition' | 'dir' | 'notes'> {
  const codecs: Record<string, number> = {};
  let first: number | null = null;
  let last: number | null = null;
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.codecs)) codecs[k] = (codecs[k] ?? 0) + v;
    if (p.firstTimestamp !== null) first = Math.min(first ?? p.firstTimestamp, p.firstTimestamp);
    if (p.lastTimestamp !== null) last = Math.max(last ?? p.lastTimestamp, p.lastTimestamp);
  }
  const add = (k: 'segments' | 'bytes' | 'indexBytes' | 'records' | 'batches' | 'storedRecordBytes' | 'uncompressedRecordBytes'): number => parts.reduce((s, p) => s + p[k], 0);
  const stored = add('storedRecordBytes');
  const uncompressed = add('uncompressedRecordBytes');
  return {
    segments: add('segments'),
    bytes: add('bytes'),
    indexBytes: add('indexBytes'),
    startOffset: 0,
    endOffset: 0,
    records: add('records'),
    batches: add('batches'),
    firstTimestamp: first,
    lastTimestamp: last,
    codecs,
    storedRecordBytes: stored,
    uncompressedRecordBytes: uncompressed,
    compressionRatio: stored > 0 ? uncompressed / stored : 1,
  };
}
