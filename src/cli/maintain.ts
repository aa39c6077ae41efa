/**
 * `seglog maintain DIR [--topic T] [--json]`: one maintenance round now, what the background
 * runner of an open data directory does on its timer: each log's time-based flush, retention
 * (`retention.ms`, `retention.bytes`: whole segments deleted) and, for compacted topics, a
 * cleaning round when the log is cleanable (`min.cleanable.dirty.ratio`,
 * `max.compaction.lag.ms`). Opens the directory with the {@link LogManager} (LOCKED while
 * another process has it open), shows a progress bar per log on a terminal, and reports what
 * was deleted and compacted. Segments retention deletes are renamed `.deleted` and removed when
 * the directory closes at the end of the command.
 *
 * Exit code 1 when the round failed for any log (each failure is printed).
 */
import { SeglogError } from '../errors.js';
import { LogManager, type ManagerMaintenanceReport, type PartitionMaintenanceReport } from '../manager/manager.js';
import { parseCommandArgs, type CliIo } from './args.js';
import { ProgressBar, formatBytes, formatCount, formatDuration, formatTable } from './format.js';
import { requireDirectory } from './scan.js';

function describeError(err: unknown): string {
  if (err instanceof SeglogError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function compactionText(p: PartitionMaintenanceReport): string {
  const c = p.cleaned;
  if (c === null) return '-';
  if (!c.ran) return `not run (${c.reason ?? 'not cleanable'})`;
  return `${formatCount(c.recordsRemoved)} records removed, ${c.segmentsCleaned} → ${c.segmentsWritten} segments${c.aborted ? ' (aborted)' : ''}`;
}

/** The JSON form of a report: errors as `CODE: message` strings (they do not serialize otherwise). */
function reportJson(report: ManagerMaintenanceReport): unknown {
  return { ...report, partitions: report.partitions.map((p) => (p.error === undefined ? p : { ...p, error: describeError(p.error) })) };
}

/** `seglog maintain …`; resolves to the exit code. */
export async function maintainCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('maintain', args, { topic: { type: 'string' }, json: { type: 'boolean' } }, { required: ['DIR'] });
  const dir = positionals[0];
  requireDirectory(dir);
  const started = performance.now();
  const manager = await LogManager.open(dir, { maintenanceIntervalMs: 0 });
  let report: ManagerMaintenanceReport;
  try {
    const bar = new ProgressBar(io.stderr, io.stderrIsTTY === true && values.json !== true, 'maintain', 0);
    report = await manager.runMaintenance({ topic: values.topic, onProgress: (done, total, tp) => bar.update(done, tp, total) });
    bar.finish();
  } finally {
    await manager.close(); // removes the `.deleted` files of this round
  }
  const ms = performance.now() - started;
  if (values.json === true) {
    io.stdout(`${JSON.stringify(reportJson(report))}\n`);
    return report.errors > 0 ? 1 : 0;
  }
  const rows = report.partitions.map((p) => [
    `${p.topic}-${p.partition}`,
    formatBytes(p.sizeBefore),
    formatBytes(p.sizeAfter),
    p.logStartOffsetBefore === p.logStartOffsetAfter ? String(p.logStartOffsetAfter) : `${p.logStartOffsetBefore} → ${p.logStartOffsetAfter}`,
    formatCount(p.deletedSegments),
    p.error === undefined ? compactionText(p) : `FAILED: ${describeError(p.error)}`,
  ]);
  io.stdout(`${formatTable(['PARTITION', 'BEFORE', 'AFTER', 'LOG START', 'SEGMENTS DELETED', 'COMPACTION'], rows, ['left', 'right', 'right', 'right', 'right', 'left'])}\n`);
  io.stdout(
    `\nretention deleted ${formatCount(report.deletedSegments)} segment${report.deletedSegments === 1 ? '' : 's'}; ` +
      `compaction ran on ${formatCount(report.logsCleaned)} log${report.logsCleaned === 1 ? '' : 's'} and removed ${formatCount(report.recordsRemoved)} records; ` +
      `${formatBytes(report.sizeBefore)} → ${formatBytes(report.sizeAfter)} in ${formatDuration(ms)}` +
      (report.errors > 0 ? `; ${report.errors} log${report.errors === 1 ? '' : 's'} FAILED` : '') +
      '\n',
  );
  return report.errors > 0 ? 1 : 0;
}
