/**
 * Helpers the storage suites (bench/log/) share: what the CRC-32C path is (the read and
 * validation figures depend on it), and filling a log with seeded records.
 */
import { native } from '../../src/index.js';
import type { Log } from '../../src/log/log.js';
import type { RecordInput } from '../../src/records/index.js';
import { makeRecords } from './data.js';
import { sizeLabel } from './harness.js';

/** The CRC-32C implementation in use: the addon's path (`sse4.2`, …) or `js`. */
export function crcImplementation(): string {
  return native.crc32c ? (native.crc32cImplementation ?? 'native') : 'js';
}

/** A size as a short label: exact when round (1 MiB), else approximate (~16.4 MiB, ~148 KiB). */
export function approxSize(bytes: number): string {
  const exact = sizeLabel(bytes);
  if (!exact.endsWith(' B')) return exact;
  if (bytes >= 1 << 20) return `~${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `~${(bytes / 2 ** 10).toFixed(0)} KiB`;
  return exact;
}

/** First record timestamp of {@link fillLog}'s logs; record `o` has timestamp `FILL_T0 + o`. */
export const FILL_T0 = 1_700_000_000_000;

/**
 * Appends batches of `batchRecords` records (`valueBytes`-byte values, 12-byte keys, from
 * `seed`) until the log holds at least `bytes` bytes or `segments` segments (whichever is
 * given), `window` appends in flight at a time. Record timestamps are `FILL_T0 + offset`
 * (strictly increasing, one per millisecond), so a timestamp maps to exactly one offset.
 */
export async function fillLog(log: Log, target: { bytes?: number; segments?: number }, batchRecords: number, valueBytes: number, seed: number, window = 64): Promise<void> {
  const set = makeRecords(seed, batchRecords, valueBytes);
  const done = () => (target.bytes !== undefined && log.size >= target.bytes) || (target.segments !== undefined && log.numberOfSegments >= target.segments);
  while (!done()) {
    // One batch at a time when counting segments: overshooting would add a segment.
    const inFlight = target.segments !== undefined ? 1 : window;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < inFlight; i++) {
      const base = log.logEndOffset + i * batchRecords;
      const records: RecordInput[] = set.records.map((r, j) => ({ key: r.key, value: r.value, timestamp: FILL_T0 + base + j }));
      pending.push(log.append(records));
    }
    await Promise.all(pending);
  }
}
