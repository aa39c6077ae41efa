/**
 * `seglog verify DIR`: checks every partition of a data directory (or one partition directory)
 * the way Kafka's `kafka-dump-log --verify-index-only --index-sanity-check` and recovery would,
 * without changing anything (see scan.ts for the read-only rules).
 *
 * Per segment:
 * - `.log`: every batch's CRC-32C; offsets strictly increasing across batches, not below the
 *   segment's base offset and below the next segment's; what follows the last whole batch (a
 *   partial batch or a zero tail is a warning, bytes that are no batch an error). `--deep`
 *   also decodes every record (decompressing) and compares the count with the header.
 * - `.index`: Kafka's sanity check (length a multiple of 8, offsets increasing, positions not
 *   decreasing), then every entry (O, P) must point at a batch boundary: a batch starts at P and
 *   its last offset is O (format notes §4.1).
 * - `.timeindex`: the sanity check (length a multiple of 12, timestamps increasing, offsets not
 *   decreasing), then every entry (T, O) must name an offset held by a batch of the segment, and
 *   T must be the largest batch timestamp up to and including that batch (§4.2).
 * - `.txnindex` (when present): whole 34-byte entries of version 0, lastOffset at or above the
 *   base offset (Kafka's sanity check), strictly increasing, within the segment, and
 *   firstOffset ≤ lastOffset (§4.3).
 *
 * A missing `.index` or `.timeindex` for a non-empty segment is a warning (a log rebuilds them
 * when it opens). Errors make the exit code 1; warnings do not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeglogError } from '../errors.js';
import type { LegacyBatch } from '../records/legacy.js';
import type { RecordBatch } from '../records/batch.js';
import type { WalkedBatch } from '../records/walker.js';
import { MAX_INDEX_SIZE } from '../segment/index-file.js';
import { OffsetIndex } from '../segment/offset-index.js';
import { TimeIndex } from '../segment/time-index.js';
import { ABORTED_TXN_SIZE, decodeAbortedTxn, type AbortedTxn } from '../segment/txn-index.js';
import { parseCommandArgs, type CliIo } from './args.js';
import { ProgressBar, formatBytes, formatCount, formatDuration, formatTable } from './format.js';
import { findPartitions, listSegments, readSegmentBatches, requireDirectory, type PartitionDir, type SegmentFiles, type SegmentScanEnd } from './scan.js';

/** One finding of {@link verifyPartition}. */
export interface VerifyProblem {
  /** `error` (corruption: exit code 1) or `warning` (what a live or crashed log legitimately shows). */
  severity: 'error' | 'warning';
  /** The file concerned. */
  file: string;
  /** What is wrong, with positions and offsets. */
  message: string;
}

/** The verification of one partition directory. */
export interface PartitionVerification {
  /** Directory name, `<topic>-<partition>`. */
  name: string;
  /** Path of the directory. */
  dir: string;
  /** Segments checked. */
  segments: number;
  /** Batches read. */
  batches: number;
  /** Records counted from the batch headers. */
  records: number;
  /** Bytes of `.log` files read. */
  bytes: number;
  /** Number of errors. */
  errors: number;
  /** Number of warnings. */
  warnings: number;
  /** The findings, errors first in file order (at most {@link MAX_PROBLEMS_PER_FILE} per file, then a count). */
  problems: VerifyProblem[];
}

/** Options of {@link verifyPartition}. */
export interface VerifyOptions {
  /** Decode every record (decompressing), not only the CRCs. */
  deep?: boolean;
  /** Called with the `.log` bytes read since the last call. */
  onBytes?: (bytes: number) => void;
}

/** Findings listed per file before the rest are only counted: a wrecked file must not flood the output. */
export const MAX_PROBLEMS_PER_FILE = 10;

/** Collects findings with a per-file cap. */
class Findings {
  readonly problems: VerifyProblem[] = [];
  errors = 0;
  warnings = 0;
  private readonly perFile = new Map<string, number>();

  add(severity: 'error' | 'warning', file: string, message: string): void {
    if (severity === 'error') this.errors++;
    else this.warnings++;
    const n = (this.perFile.get(file) ?? 0) + 1;
    this.perFile.set(file, n);
    if (n <= MAX_PROBLEMS_PER_FILE) this.problems.push({ severity, file, message });
  }

  /** Adds "… and N more" lines for files over the cap. */
  close(): void {
    for (const [file, n] of this.perFile) {
      if (n > MAX_PROBLEMS_PER_FILE) this.problems.push({ severity: 'warning', file, message: `… and ${n - MAX_PROBLEMS_PER_FILE} more findings in this file` });
    }
  }
}

/** An index loaded read-only, or the reason it could not be (sanity check failures included). */
function loadIndex<T extends OffsetIndex | TimeIndex>(make: () => T, file: string, findings: Findings): T | null {
  try {
    const index = make();
    index.sanityCheck();
    return index;
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    findings.add('error', file, err.message.startsWith(file) ? err.message.slice(file.length + 2) : err.message);
    return null;
  }
}

/** Checks one segment; returns its batch and record counts and its last offset (−1 when empty). */
function verifySegment(seg: SegmentFiles, nextBase: number | null, options: VerifyOptions, findings: Findings): { batches: number; records: number; bytes: number; lastOffset: number } {
  const indexOptions = { maxIndexSize: MAX_INDEX_SIZE, writable: false };
  const oi = seg.index === null ? null : loadIndex(() => new OffsetIndex(seg.index as string, seg.baseOffset, indexOptions), seg.index, findings);
  const ti = seg.timeIndex === null ? null : loadIndex(() => new TimeIndex(seg.timeIndex as string, seg.baseOffset, indexOptions), seg.timeIndex, findings);
  const oCount = oi?.entries ?? 0;
  const tCount = ti?.entries ?? 0;
  let o = 0;
  let t = 0;
  let batches = 0;
  let records = 0;
  let prevLast = -1;
  let runningMaxTs = -1;
  const log = seg.log;
  const walk = readSegmentBatches(log, options.onBytes);
  let step: IteratorResult<WalkedBatch, SegmentScanEnd>;
  try {
    for (step = walk.next(); !step.done; step = walk.next()) {
      const { position, batch } = step.value;
      batches++;
      let first: number;
      let last: number;
      let maxTs: number;
      try {
        if (batch.magic >= 2) {
          const b = batch as RecordBatch;
          first = b.baseOffset;
          last = b.lastOffset;
          maxTs = b.maxTimestamp;
          records += b.count;
          if (b.lastOffsetDelta < 0) findings.add('error', log, `batch at position ${position}: negative lastOffsetDelta ${b.lastOffsetDelta}`);
        } else {
          const b = batch as LegacyBatch;
          last = b.offset;
          first = Math.max(prevLast + 1, seg.baseOffset);
          maxTs = b.magic === 1 ? b.timestamp : -1;
          records += 1;
        }
      } catch (err) {
        if (!(err instanceof SeglogError)) throw err;
        findings.add('error', log, `batch at position ${position}: ${err.message}`);
        continue;
      }
      const where = `batch at position ${position} (offsets ${first}..${last})`;
      if (!batch.isValid()) findings.add('error', log, `${where}: CRC mismatch: stored ${batch.crc}, computed ${batch.computeCrc()}`);
      else if (options.deep === true) deepCheck(batch, where, log, findings);
      if (last < seg.baseOffset) findings.add('error', log, `${where}: below the segment's base offset ${seg.baseOffset}`);
      if (nextBase !== null && last >= nextBase) findings.add('error', log, `${where}: reaches the next segment's base offset ${nextBase}`);
      if (batch.magic >= 2 && first <= prevLast) findings.add('error', log, `${where}: offsets do not increase (the previous batch ended at ${prevLast})`);
      prevLast = Math.max(prevLast, last);
      runningMaxTs = Math.max(runningMaxTs, maxTs);
      // Merge with the offset index: entries are sorted by position (the sanity check passed).
      for (; oi !== null && o < oCount; o++) {
        const e = oi.entry(o);
        if (e.position > position) break;
        if (e.position < position) findings.add('error', seg.index as string, `entry ${o} (offset ${e.offset}, position ${e.position}) is not at a batch boundary`);
        else if (e.offset !== last) findings.add('error', seg.index as string, `entry ${o} (offset ${e.offset}, position ${e.position}): the batch there has last offset ${last}`);
      }
      // Merge with the time index: entries are sorted by offset.
      for (; ti !== null && t < tCount; t++) {
        const e = ti.entry(t);
        if (e.offset > last) break;
        if (e.offset < first) findings.add('error', seg.timeIndex as string, `entry ${t} (timestamp ${e.timestamp}, offset ${e.offset}): no batch holds offset ${e.offset}`);
        else if (e.timestamp !== runningMaxTs) {
          findings.add('error', seg.timeIndex as string, `entry ${t} (timestamp ${e.timestamp}, offset ${e.offset}): the largest timestamp up to that batch is ${runningMaxTs}`);
        }
      }
    }
  } catch (err) {
    if (err instanceof SeglogError && err.errno === 'ENOENT') {
      findings.add('warning', log, 'disappeared while being read (deleted by retention or the cleaner of a running process?)');
      return { batches, records, bytes: 0, lastOffset: prevLast };
    }
    throw err;
  }
  const end = step.value;
  if (end.tail === 'garbage') findings.add('error', log, `no batch at position ${end.validBytes}: ${end.error?.message ?? 'unreadable bytes'} (${end.fileBytes - end.validBytes} bytes to the end)`);
  else if (end.tail === 'partial' && nextBase === null) findings.add('warning', log, `${end.fileBytes - end.validBytes} bytes of a partial batch at the end (an append in flight, or a torn write that recovery cuts)`);
  else if (end.tail === 'partial') findings.add('error', log, `${end.fileBytes - end.validBytes} bytes of a partial batch at the end of a segment that is not the last one`);
  else if (end.tail === 'zeros' && nextBase !== null) findings.add('warning', log, `${end.fileBytes - end.validBytes} zero bytes after the last batch (an untrimmed preallocated segment)`);
  for (; oi !== null && o < oCount; o++) {
    const e = oi.entry(o);
    findings.add('error', seg.index as string, `entry ${o} (offset ${e.offset}, position ${e.position}) points past the last batch (valid bytes ${end.validBytes})`);
  }
  for (; ti !== null && t < tCount; t++) {
    const e = ti.entry(t);
    findings.add('error', seg.timeIndex as string, `entry ${t} (timestamp ${e.timestamp}, offset ${e.offset}) is past the last offset ${prevLast} of the segment`);
  }
  const missing = [seg.index === null ? '.index' : null, seg.timeIndex === null ? '.timeindex' : null].filter((f) => f !== null);
  if (batches > 0 && missing.length > 0) findings.add('warning', log, `no ${missing.join(' or ')} file (a log rebuilds it when it opens)`);
  if (seg.txnIndex !== null) verifyTxnIndex(seg.txnIndex, seg.baseOffset, prevLast, findings);
  return { batches, records, bytes: end.fileBytes, lastOffset: prevLast };
}

function deepCheck(batch: RecordBatch | LegacyBatch, where: string, file: string, findings: Findings): void {
  try {
    let n = 0;
    for (const _ of batch.records()) n++;
    if (batch.magic >= 2 && n !== (batch as RecordBatch).count) findings.add('error', file, `${where}: ${n} records decoded, the header says ${(batch as RecordBatch).count}`);
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    findings.add('error', file, `${where}: records do not decode: ${err.code}: ${err.message}`);
  }
}

/**
 * The `.txnindex` checks (format notes §4.3): each whole entry decoded with the segment layer's
 * {@link decodeAbortedTxn} (Kafka's version check, int64 range), then Kafka's sanity check
 * (lastOffset at or above the base offset) and the invariants the writer keeps.
 */
function verifyTxnIndex(file: string, baseOffset: number, segmentLastOffset: number, findings: Findings): void {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    findings.add('warning', file, `cannot be read: ${(err as Error).message}`);
    return;
  }
  if (buf.length % ABORTED_TXN_SIZE !== 0) {
    findings.add('warning', file, `${buf.length % ABORTED_TXN_SIZE} trailing bytes after the last whole ${ABORTED_TXN_SIZE}-byte entry (Kafka ignores them)`);
  }
  let prevLast = -1;
  for (let i = 0; (i + 1) * ABORTED_TXN_SIZE <= buf.length; i++) {
    let t: AbortedTxn;
    try {
      t = decodeAbortedTxn(buf, i * ABORTED_TXN_SIZE, file);
    } catch (err) {
      if (!(err instanceof SeglogError)) throw err;
      findings.add('error', file, `entry ${i}: ${err.message.startsWith(file) ? err.message.slice(file.length + 2) : err.message}`);
      continue;
    }
    const what = `entry ${i} (producer ${t.producerId}, offsets ${t.firstOffset}..${t.lastOffset})`;
    if (t.lastOffset < baseOffset) findings.add('error', file, `${what}: lastOffset below the base offset ${baseOffset}`);
    if (t.firstOffset > t.lastOffset) findings.add('error', file, `${what}: firstOffset above lastOffset`);
    if (t.lastOffset <= prevLast) findings.add('error', file, `${what}: lastOffset not above the previous entry's ${prevLast}`);
    if (segmentLastOffset >= 0 && t.lastOffset > segmentLastOffset) findings.add('error', file, `${what}: lastOffset past the segment's last offset ${segmentLastOffset}`);
    prevLast = Math.max(prevLast, t.lastOffset);
  }
}

/** Verifies one partition directory (read-only). */
export function verifyPartition(p: PartitionDir, options: VerifyOptions = {}): PartitionVerification {
  const findings = new Findings();
  const { segments, pendingSwapFiles } = listSegments(p.dir);
  let batches = 0;
  let records = 0;
  let bytes = 0;
  for (let i = 0; i < segments.length; i++) {
    const r = verifySegment(segments[i], segments[i + 1]?.baseOffset ?? null, options, findings);
    batches += r.batches;
    records += r.records;
    bytes += r.bytes;
  }
  for (const f of pendingSwapFiles) findings.add('warning', f, 'a cleaner swap file: a swap in progress, or one a crash interrupted (completed when the log opens)');
  if (segments.length === 0) findings.add('warning', p.dir, 'no segments');
  findings.close();
  findings.problems.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return { name: p.name, dir: p.dir, segments: segments.length, batches, records, bytes, errors: findings.errors, warnings: findings.warnings, problems: findings.problems };
}

function statusOf(v: PartitionVerification): string {
  const firstError = v.problems.find((p) => p.severity === 'error');
  if (firstError !== undefined) return `CORRUPT (${v.errors}): ${path.relative(v.dir, firstError.file) || '.'}`;
  return v.warnings > 0 ? `ok (${v.warnings} warning${v.warnings === 1 ? '' : 's'})` : 'ok';
}

/** `seglog verify [--json] [--deep] DIR`; resolves to the exit code (1 when anything is corrupt). */
export async function verifyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('verify', args, { json: { type: 'boolean' }, deep: { type: 'boolean' } }, { required: ['DIR'] });
  const dir = positionals[0];
  requireDirectory(dir);
  const started = performance.now();
  const partitions = findPartitions(dir);
  let total = 0;
  for (const p of partitions) for (const s of listSegments(p.dir).segments) total += s.logBytes;
  const bar = new ProgressBar(io.stderr, io.stderrIsTTY === true && values.json !== true, 'verify', total);
  let done = 0;
  const results: PartitionVerification[] = [];
  for (const p of partitions) {
    results.push(verifyPartition(p, { deep: values.deep, onBytes: (n) => bar.update((done += n), p.name, Math.max(total, done)) }));
    await new Promise<void>((resolve) => setImmediate(resolve)); // let a terminal redraw and signals through
  }
  bar.finish();
  const errors = results.reduce((s, r) => s + r.errors, 0);
  if (values.json === true) {
    for (const r of results) io.stdout(`${JSON.stringify(r)}\n`);
    return errors > 0 ? 1 : 0;
  }
  const rows = results.map((r) => [r.name, formatCount(r.segments), formatCount(r.batches), formatCount(r.records), formatBytes(r.bytes), statusOf(r)]);
  io.stdout(`${formatTable(['PARTITION', 'SEGMENTS', 'BATCHES', 'RECORDS', 'SIZE', 'STATUS'], rows, ['left', 'right', 'right', 'right', 'right', 'left'])}\n`);
  const problems = results.flatMap((r) => r.problems);
  if (problems.length > 0) {
    io.stdout('\n');
    for (const p of problems) io.stdout(`${p.severity === 'error' ? 'ERROR' : 'warning'} ${p.file}: ${p.message}\n`);
  }
  const bytes = results.reduce((s, r) => s + r.bytes, 0);
  const corrupt = results.filter((r) => r.errors > 0).length;
  const ms = performance.now() - started;
  io.stdout(
    `\n${formatCount(results.length)} partitions, ${formatCount(results.reduce((s, r) => s + r.segments, 0))} segments, ` +
      `${formatBytes(bytes)} verified in ${formatDuration(ms)}: ` +
      (errors === 0 ? 'OK' : `CORRUPT (${errors} errors in ${corrupt} partition${corrupt === 1 ? '' : 's'})`) +
      '\n',
  );
  return errors > 0 ? 1 : 0;
}
