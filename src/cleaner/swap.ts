/**
 * The crash-safe swap of one cleaned group (Kafka's LocalLog.replaceSegments), run in the log's
 * writer turn:
 *
 * 1. every output `.cleaned` → `.swap`, outputs in descending offset order, each `.log` first;
 * 2. fsync the directory (so no original can be renamed away before its replacement is durable);
 * 3. the log's segment list switches to the outputs (readers from now on see them);
 * 4. every source segment → `.deleted`, removed after file.delete.delay.ms (a reader holding a
 *    slice of it keeps valid bytes until then);
 * 5. every output `.swap` → its final name, `.log` first;
 * 6. fsync the directory.
 *
 * What a crash leaves, and what the loader (loader.ts) makes of it:
 * - during 1 (some `.cleaned` left): swaps at or above the lowest `.cleaned` are deleted, and so
 *   are the `.cleaned` files — the originals stay (pre-clean);
 * - after 1, during 4 or 5 (only `.swap` files, originals live or `.deleted`): `.deleted` files
 *   go, every ordinary segment whose base lies in [lowest swap base, highest swap next offset) is
 *   deleted, the swaps are renamed (post-clean). The outputs' offsets cover those of all the
 *   sources because the last batch of the group is always kept (filter.ts);
 * - after 5: nothing to do.
 *
 * An I/O error during 1 is rolled back (the outputs are deleted under whatever names they
 * have); after 3 the log already reads the outputs, and the loader completes the rest at the
 * next open.
 */
import fs from 'node:fs';
import { assert } from '../assert.js';
import { fsyncDirectory } from '../log/checkpoint.js';
import { CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX } from '../log/loader.js';
import type { LogSegment } from '../segment/segment.js';
import type { CleanerHost, CleanerStep } from './types.js';

/** Wraps an error thrown by the test hook: the disk must stay exactly as a crash there leaves it. */
export class SimulatedCrash extends Error {
  /** @param original - what the hook threw */
  constructor(readonly original: unknown) {
    super('simulated crash');
  }
}

/**
 * Replaces `sources` (consecutive segments of the log, never the active one) by `outputs`.
 * Returns false, having changed nothing, when the sources are no longer the log's. Must run in
 * the log's writer turn. `step` is the test hook (it may throw a {@link SimulatedCrash}).
 */
export function swapSegments(host: CleanerHost, sources: readonly LogSegment[], outputs: readonly LogSegment[], step: (s: CleanerStep, file?: string) => void): boolean {
  const current = host.snapshot().segments;
  const at = current.indexOf(sources[0]);
  const stillOurs = at >= 0 && at + sources.length < current.length && sources.every((s, k) => current[at + k] === s);
  if (!stillOurs) return false;
  assert(outputs.length > 0 && outputs[0].baseOffset === sources[0].baseOffset, "the first output starts at the group's first base");

  try {
    const descending = [...outputs].sort((a, b) => b.baseOffset - a.baseOffset);
    for (const out of descending) renameSegmentFiles(out, CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX, (file) => step('cleaned-to-swap', file));
    fsyncDirectory(host.dir);
  } catch (err) {
    if (!(err instanceof SimulatedCrash)) for (const out of outputs) out.deleteFiles();
    throw err;
  }
  step('swap-durable');
  host.setSegments([...current.slice(0, at), ...outputs, ...current.slice(at + sources.length)]);
  for (const src of sources) {
    host.retireSegment(src);
    step('old-to-deleted', src.log.file);
  }
  for (const out of outputs) renameSegmentFiles(out, SWAP_FILE_SUFFIX, '', (file) => step('swap-to-final', file));
  fsyncDirectory(host.dir);
  step('swapped');
  host.deleteDueFiles();
  return true;
}

/** Renames a segment's `.log`, `.index`, `.timeindex` and `.txnindex` (when it has one) from one suffix to another, `.log` first (Kafka's order). */
function renameSegmentFiles(seg: LogSegment, from: string, to: string, onFile: (file: string) => void): void {
  for (const f of [seg.log, seg.offsetIndex, seg.timeIndex, seg.txnIndex]) {
    assert(f.file.endsWith(from), `${f.file} ends with ${from}`);
    const target = f.file.slice(0, f.file.length - from.length) + to;
    // A transaction index exists only once it has an entry; without a file only its name moves.
    const exists = f !== seg.txnIndex || fs.existsSync(f.file);
    f.renameTo(target);
    if (exists) onFile(target);
  }
}
