/**
 * The main job behind `npm start` / `seglog demo [DIR] [--records N]`: the embedded event store
 * end to end on a default workload, with a printed summary.
 *
 * 1. Opens a data directory (a new temporary one, or DIR) and creates three topics:
 *    - `page-views`: 4 partitions, lz4, small segments and a `retention.bytes` bound, so that
 *      retention visibly deletes its oldest segments;
 *    - `user-profiles`: 2 partitions, zstd, `cleanup.policy=compact`, many updates of few keys
 *      and some tombstones, so that compaction visibly removes superseded records;
 *    - `audit-log`: 1 partition, zstd, records stamped over the last two hours and
 *      `retention.ms` of one hour, so that time retention deletes the older half.
 * 2. Appends N records (default 1,000,000: 80% page views, 15% profile updates, 5% audit
 *    entries) with Kafka's default partitioning, several appends in flight.
 * 3. A consumer group reads every record: two members share `page-views` (range assignment),
 *    one member reads each other topic; each commits what it read.
 * 4. Rolls the compacted topic's logs (the cleaner leaves the active segment alone, as Kafka's
 *    does) and runs one maintenance round (retention and compaction) over the directory.
 * 5. Closes the store cleanly, verifies every batch CRC and index read-only (as `seglog verify`),
 *    and prints the figures: throughput, sizes on disk, what retention and compaction removed.
 *
 * Segment and retention sizes scale with N, so a small N (the tests use `--records 20000`)
 * still rolls segments and still deletes and compacts something. The directory is a Kafka data
 * directory: `seglog stats`, `seglog verify` and `seglog dump` (or Kafka's tools) read it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert } from '../assert.js';
import type { ManagerMaintenanceReport } from '../manager/manager.js';
import type { CompressionName } from '../records/compression/index.js';
import type { Consumer } from '../store/consumer.js';
import { EventStore, type StoreRecordInput } from '../store/store.js';
import { parseCommandArgs, parseIntegerFlag, type CliIo } from './args.js';
import { ProgressBar, formatBytes, formatCount, formatDuration, formatTable } from './format.js';
import { findPartitions } from './scan.js';
import { partitionStats, type PartitionStats } from './stats.js';
import { verifyPartition } from './verify.js';

/** Records the demo writes by default: the issue's "a million records". */
export const DEFAULT_DEMO_RECORDS = 1_000_000;
/** Fewest records the demo accepts: below this the topics would not roll segments. */
export const MIN_DEMO_RECORDS = 1000;
/**
 * Records per append call at the default size (spread over the topic's partitions by key):
 * about 1000 per partition batch, some tens of KiB compressed. Smaller runs scale it down with
 * their segments, since a batch larger than segment.bytes is refused.
 */
const RECORDS_PER_APPEND = 4000;
/**
 * Appends in flight at once: compression of large batches runs in the thread pool, so a few
 * concurrent appends keep both cores of a small machine busy while the next batch is built.
 */
const APPENDS_IN_FLIGHT = 4;
const HOUR_MS = 60 * 60 * 1000;
/** The consumer group of the demo. */
export const DEMO_GROUP = 'demo-readers';

/** One topic of the demo and how its records are made. */
interface DemoTopic {
  name: string;
  partitions: number;
  compression: CompressionName;
  config: Record<string, string>;
  /** Share of the records. */
  share: number;
  /** Record number `i` of this topic (of `count`), at time `now`. */
  record: (i: number, count: number, now: number) => StoreRecordInput;
  /** What its config is for, in the summary. */
  note: string;
}

const PAGES = ['/', '/products', '/products/42', '/cart', '/checkout', '/search?q=kafka', '/account', '/blog/log-compaction'];
const REFERRERS = ['direct', 'search', 'newsletter', 'ads'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];

/** The topics, with sizes scaled to `records`. */
function demoTopics(records: number): DemoTopic[] {
  const scale = records / DEFAULT_DEMO_RECORDS;
  const bytes = (full: number, min: number): string => String(Math.max(min, Math.round(full * scale)));
  const pageSegment = bytes(1024 * 1024, 8 * 1024);
  const profileKeys = Math.max(50, Math.round(5000 * scale));
  return [
    {
      name: 'page-views',
      partitions: 4,
      compression: 'lz4',
      config: { 'segment.bytes': pageSegment, 'retention.bytes': String(3 * Number(pageSegment)) },
      share: 0.8,
      record: (i, _count, now) => {
        const user = `user-${(i * 7919) % 50_000}`;
        return {
          key: user,
          value: `{"user":"${user}","page":"${PAGES[i % PAGES.length]}","referrer":"${REFERRERS[i % REFERRERS.length]}","durationMs":${(i * 31) % 5000},"seq":${i}}`,
          headers: [['source', 'web']],
          timestamp: now,
        };
      },
      note: `retention.bytes=${formatBytes(3 * Number(pageSegment))} per partition`,
    },
    {
      name: 'user-profiles',
      partitions: 2,
      compression: 'zstd',
      config: { 'cleanup.policy': 'compact', 'segment.bytes': bytes(64 * 1024, 8 * 1024), 'min.cleanable.dirty.ratio': '0.1' },
      share: 0.15,
      record: (i, count, now) => {
        const id = i % profileKeys;
        // The last pass over the keys deletes every tenth profile (tombstones).
        const tombstone = i >= count - profileKeys && id % 10 === 0;
        return {
          key: `user-${id}`,
          value: tombstone ? null : `{"id":${id},"name":"User ${id}","plan":"${PLANS[(i >> 3) % PLANS.length]}","version":${Math.floor(i / profileKeys)}}`,
          timestamp: now,
        };
      },
      note: `compacted, ${formatCount(profileKeys)} keys`,
    },
    {
      name: 'audit-log',
      partitions: 1,
      compression: 'zstd',
      config: { 'segment.bytes': bytes(128 * 1024, 4 * 1024), 'retention.ms': String(HOUR_MS) },
      share: 0.05,
      // Stamped evenly over the last two hours (CreateTime), oldest first.
      record: (i, count, now) => ({ key: null, value: `{"actor":"admin-${i % 7}","action":"update","target":"user-${i % 997}","n":${i}}`, timestamp: now - 2 * HOUR_MS + Math.floor((i * 2 * HOUR_MS) / count) }),
      note: 'retention.ms=1h, records over the last 2 h',
    },
  ];
}

/** What the demo measured; also returned to callers (the tests). */
export interface DemoSummary {
  /** The data directory. */
  dir: string;
  /** Records appended. */
  produced: number;
  /** Records the consumer group read. */
  consumed: number;
  /** The maintenance round's report. */
  maintenance: ManagerMaintenanceReport;
  /** Per partition figures after maintenance (read from the files). */
  after: PartitionStats[];
  /** Whether `verify` found nothing wrong. */
  verified: boolean;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Data directory (default: a new temporary directory). Demo topics already in it are replaced. */
  dir?: string;
  /** Records to write (default {@link DEFAULT_DEMO_RECORDS}). */
  records?: number;
  /** Prints one line of the summary. */
  print: (line: string) => void;
  /** Progress bars go here (standard error) when `progress` is true. */
  stderr?: (text: string) => void;
  /** Whether to draw progress bars. */
  progress?: boolean;
}

/**
 * Bytes the files under `dir` occupy on disk (allocated blocks, as `du` counts): the active
 * segments' index files are preallocated to segment.index.bytes but sparse, so their length
 * would overstate the size tenfold.
 */
function diskBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? diskBytes(p) : fs.statSync(p).blocks * 512;
  }
  return total;
}

/** Runs the demo; resolves to its figures after printing them. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const records = options.records ?? DEFAULT_DEMO_RECORDS;
  assert(Number.isSafeInteger(records) && records >= MIN_DEMO_RECORDS, 'the caller checks the record count');
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-'));
  const print = options.print;
  const bar = (label: string, total: number): ProgressBar => new ProgressBar(options.stderr ?? (() => undefined), options.progress === true, label, total);
  const topics = demoTopics(records);
  const compacted = topics.find((t) => t.config['cleanup.policy'] === 'compact')!;
  const perAppend = Math.min(RECORDS_PER_APPEND, Math.max(100, Math.round((RECORDS_PER_APPEND * records) / DEFAULT_DEMO_RECORDS)));
  const started = performance.now();

  // The timer is off: the demo runs retention and compaction itself, after the group has read everything.
  const store = await EventStore.open(dir, { maintenanceIntervalMs: 0 });
  let produced = 0;
  let consumed = 0;
  let maintenance: ManagerMaintenanceReport;
  let produceMs: number;
  let consumeMs: number;
  let payloadBytes = 0;
  let sizeBeforeMaintenance = 0;
  try {
    for (const t of topics) {
      if (store.manager.hasTopic(t.name)) await store.deleteTopic(t.name);
      await store.createTopic(t.name, { partitions: t.partitions, config: t.config });
    }
    print(`seglog demo: ${formatCount(records)} records into ${dir}`);
    print(`topics: ${topics.map((t) => `${t.name} (${t.partitions} partition${t.partitions === 1 ? '' : 's'}, ${t.compression}, ${t.note})`).join('; ')}`);

    // ---- produce
    const produceBar = bar('produce', records);
    const t0 = performance.now();
    for (const [ti, t] of topics.entries()) {
      const count = ti === topics.length - 1 ? records - produced : Math.round(records * t.share);
      const now = Date.now();
      const inFlight = new Set<Promise<void>>();
      for (let from = 0; from < count; from += perAppend) {
        const batch: StoreRecordInput[] = [];
        for (let i = from; i < Math.min(count, from + perAppend); i++) {
          const r = t.record(i, count, now);
          payloadBytes += (typeof r.key === 'string' ? r.key.length : 0) + (typeof r.value === 'string' ? r.value.length : 0);
          batch.push(r);
        }
        const p: Promise<void> = store.append(t.name, batch, { compression: t.compression }).then(() => {
          produced += batch.length;
          produceBar.update(produced, t.name);
          inFlight.delete(p);
        });
        inFlight.add(p);
        if (inFlight.size >= APPENDS_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }
    produceMs = performance.now() - t0;
    produceBar.finish();
    sizeBeforeMaintenance = diskBytes(dir);
    print(
      `produced ${formatCount(produced)} records (${formatBytes(payloadBytes)} of keys and values) in ${formatDuration(produceMs)}: ` +
        `${formatCount(Math.round(produced / (produceMs / 1000)))} records/s, ${formatBytes(payloadBytes / (produceMs / 1000))}/s; ` +
        `${formatBytes(sizeBeforeMaintenance)} on disk`,
    );

    // ---- consume with a group: two members share page-views, one member per other topic
    const consumeBar = bar('consume', produced);
    const t1 = performance.now();
    const members: { topic: string; consumer: Consumer }[] = [];
    for (const t of topics) {
      const n = t.name === 'page-views' ? 2 : 1;
      for (let m = 0; m < n; m++) members.push({ topic: t.name, consumer: store.subscribe(t.name, { group: DEMO_GROUP, from: 'earliest' }) });
    }
    await Promise.all(members.map((m) => m.consumer.ready()));
    const assignments: string[] = [];
    await Promise.all(
      members.map(async ({ topic, consumer }) => {
        const parts = consumer.assignment();
        assignments.push(`${topic}[${parts.join(',')}]`);
        // Nothing is compacted or deleted yet, so every offset below the end holds one record.
        let left = parts.reduce((s, p) => s + store.manager.log(topic, p).highWatermark - consumer.position(p), 0);
        while (left > 0) {
          const next = await consumer.next();
          assert(next.done !== true, 'the consumer delivers every record that exists');
          left--;
          if (++consumed % 10_000 === 0) consumeBar.update(consumed, topic);
        }
        await consumer.commit(); // what it read, for every partition it has
      }),
    );
    consumeMs = performance.now() - t1;
    consumeBar.finish();
    for (const m of members) await m.consumer.close();
    assert(consumed === produced, 'the group read every record');
    print(
      `consumer group ${DEMO_GROUP} (${members.length} members: ${assignments.sort().join(' ')}) read ${formatCount(consumed)} records ` +
        `in ${formatDuration(consumeMs)}: ${formatCount(Math.round(consumed / (consumeMs / 1000)))} records/s, and committed its offsets`,
    );

    // ---- retention and compaction
    // The cleaner never touches the active segment; roll the compacted topic's logs (as
    // segment.ms would in time) so that the round compacts every record written so far.
    for (let p = 0; p < compacted.partitions; p++) await store.manager.log(compacted.name, p).roll();
    const maintainBar = bar('maintain', 0);
    const t2 = performance.now();
    maintenance = await store.manager.runMaintenance({ onProgress: (done, total, tp) => maintainBar.update(done, tp, total) });
    maintainBar.finish();
    assert(maintenance.errors === 0, 'maintenance succeeds on every log');
    print(`maintenance in ${formatDuration(performance.now() - t2)}: ${describeMaintenance(maintenance)}`);
    for (const t of topics) {
      const committed = Array.from({ length: t.partitions }, (_, p) => store.committed(DEMO_GROUP, t.name, p));
      const starts = store.describeTopic(t.name).partitionInfo.map((p) => p.logStartOffset);
      print(`  ${t.name}: group ${DEMO_GROUP} committed [${committed.join(', ')}]; log start offsets now [${starts.join(', ')}]`);
    }
  } finally {
    await store.close();
  }

  // ---- after: figures from the files, then a read-only verification
  const partitions = findPartitions(dir).filter((p) => topics.some((t) => t.name === p.topic));
  const after = partitions.map((p) => partitionStats(p));
  const rows = topics.map((t) => {
    const parts = after.filter((s) => s.topic === t.name);
    const sum = (f: (s: PartitionStats) => number): number => parts.reduce((a, s) => a + f(s), 0);
    const stored = sum((s) => s.storedRecordBytes);
    return [
      t.name,
      formatCount(sum((s) => s.records)),
      formatCount(sum((s) => s.segments)),
      formatBytes(sum((s) => s.bytes)),
      `${(stored > 0 ? sum((s) => s.uncompressedRecordBytes) / stored : 1).toFixed(2)}x`,
      parts.map((s) => `${s.startOffset}..${s.endOffset}`).join(' '),
    ];
  });
  print('after retention and compaction:');
  for (const line of formatTable(['TOPIC', 'RECORDS', 'SEGMENTS', 'SIZE', 'COMPRESSION', 'OFFSETS (per partition)'], rows, ['left', 'right', 'right', 'right', 'right', 'left']).split('\n')) print(`  ${line}`);
  const checked = partitions.map((p) => verifyPartition(p));
  const errors = checked.reduce((s, v) => s + v.errors, 0);
  print(
    `verify: ${checked.length} partitions, ${formatCount(checked.reduce((s, v) => s + v.segments, 0))} segments, ` +
      `${formatCount(checked.reduce((s, v) => s + v.batches, 0))} batches: ${errors === 0 ? 'every CRC and index OK' : `${errors} ERRORS`}`,
  );
  print(`data directory ${dir}: ${formatBytes(diskBytes(dir))} on disk (was ${formatBytes(sizeBeforeMaintenance)} before maintenance); total ${formatDuration(performance.now() - started)}`);
  print(`inspect it with: seglog stats ${dir} | seglog verify ${dir} | seglog consume ${dir} --topic user-profiles --json --max-messages 5`);
  return { dir, produced, consumed, maintenance, after, verified: errors === 0 };
}

function describeMaintenance(r: ManagerMaintenanceReport): string {
  const deleted = r.partitions.filter((p) => p.deletedSegments > 0).map((p) => `${p.topic}-${p.partition}: ${p.deletedSegments} (start ${p.logStartOffsetBefore} → ${p.logStartOffsetAfter})`);
  const cleaned = r.partitions
    .filter((p) => p.cleaned?.ran === true)
    .map((p) => `${p.topic}-${p.partition}: ${formatCount(p.cleaned!.recordsRemoved)} of ${formatCount(p.cleaned!.recordsRead)} records`);
  return (
    `retention deleted ${r.deletedSegments} segments (${deleted.join(', ') || 'none'}); ` +
    `compaction removed ${formatCount(r.recordsRemoved)} records (${cleaned.join(', ') || 'none'}); ` +
    `${formatBytes(r.sizeBefore)} → ${formatBytes(r.sizeAfter)}`
  );
}

/** `seglog demo [DIR] [--records N]`; resolves to the exit code (1 when verification failed). */
export async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('demo', args, { records: { type: 'string' } }, { required: [], optional: 1 });
  const records = values.records === undefined ? DEFAULT_DEMO_RECORDS : parseIntegerFlag('demo', 'records', values.records, MIN_DEMO_RECORDS, 100_000_000);
  const summary = await runDemo({ dir: positionals[0], records, print: (l) => io.stdout(`${l}\n`), stderr: io.stderr, progress: io.stderrIsTTY === true });
  return summary.verified ? 0 : 1;
}
