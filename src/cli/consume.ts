/**
 * `seglog consume DIR --topic T [--partition P] [--from-beginning | --offset N | --group G]
 * [--max-messages N] [--json]`: Kafka's kafka-console-consumer on a data directory, through an
 * {@link EventStore} consumer.
 *
 * - Where it starts: the beginning of each partition by default (`--from-beginning` says so
 *   explicitly, for Kafka habits); `--offset N` in the one `--partition`; with `--group G`, the
 *   group's committed offsets, and the beginning for partitions the group has none for.
 * - When it stops: after `--max-messages` records, or once it has printed every record that
 *   existed when it started (the high watermark of each partition at start), whichever comes
 *   first, so scripts can read a topic and go on; Ctrl-C stops it too (committing with
 *   `--group`). There is no `--follow`: the command holds the data directory's lock while it
 *   runs, so no other process could append for it to wait for (an embedding service tails with
 *   `EventStore.subscribe`, which waits for appends without polling).
 * - Output: each value on its own line, decoded as UTF-8 (`null` for a null value), like the
 *   Kafka tool; `--json` prints one object per record: `topic`, `partition`, `offset`,
 *   `timestamp`, `key`, `value` (UTF-8 strings or null) and `headers` (name → string or null;
 *   a name repeated in one record keeps its last value). Output is written in chunks and waits
 *   for a slow reader (back-pressure).
 * - With `--group` it commits what it printed: after each chunk of output (at most once per
 *   {@link COMMIT_INTERVAL_MS}) and at the end, so the next run with the same group starts
 *   after the last record printed. Without a group nothing is written to the data directory
 *   (but the directory is opened with the manager, so it fails with LOCKED while another
 *   process has it open).
 */
import { ErrorCode, SeglogError } from '../errors.js';
import type { RecordHeader } from '../records/types.js';
import type { StartFrom, StoreRecord } from '../store/consumer.js';
import { EventStore } from '../store/store.js';
import { UsageError, exclusiveFlags, parseCommandArgs, parseIntegerFlag, requiredFlag, type CliIo } from './args.js';
import { formatCount } from './format.js';
import { requireDirectory } from './scan.js';

/** Bytes of output gathered before one write to standard output. */
const OUTPUT_CHUNK_CHARS = 64 * 1024;
/** Least time between two group commits while printing (the last one is always made). */
export const COMMIT_INTERVAL_MS = 1000;
/**
 * How often the command checks whether every partition's position has passed its end while a
 * read waits. Only the rare case needs it where the last offsets below the end hold no record to
 * deliver (transaction markers, records compaction removed): the consumer moves past them and
 * then waits for appends that cannot come; the check sees that and stops. (Checking per record
 * instead, with a timer and a race each, took 5.9 s against 1.9 s to print a million records.)
 */
const CAUGHT_UP_CHECK_MS = 50;

function text(b: Buffer | null): string | null {
  return b === null ? null : b.toString('utf8');
}

function headersObject(headers: readonly RecordHeader[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, value] of headers) out[name] = text(value);
  return out;
}

/** One record as `consume --json` prints it (what `produce --json` reads back). */
export function recordJson(r: StoreRecord): string {
  return JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: text(r.key), value: text(r.value), headers: headersObject(r.headers) });
}

/** `seglog consume …`; resolves to the exit code. */
export async function consumeCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'consume',
    args,
    {
      topic: { type: 'string' },
      partition: { type: 'string' },
      'from-beginning': { type: 'boolean' },
      offset: { type: 'string' },
      group: { type: 'string' },
      'max-messages': { type: 'string' },
      json: { type: 'boolean' },
    },
    { required: ['DIR'] },
  );
  const topic = requiredFlag('consume', 'topic', values.topic);
  exclusiveFlags('consume', values, ['from-beginning', 'offset', 'group']);
  const partition = values.partition === undefined ? undefined : parseIntegerFlag('consume', 'partition', values.partition, 0, 0x7fffffff);
  const offset = values.offset === undefined ? undefined : parseIntegerFlag('consume', 'offset', values.offset, 0);
  if (offset !== undefined && partition === undefined) throw new UsageError('--offset needs --partition', 'consume');
  if (values.group === '') throw new UsageError('--group cannot be empty', 'consume');
  const maxMessages = values['max-messages'] === undefined ? Infinity : parseIntegerFlag('consume', 'max-messages', values['max-messages'], 1);
  const json = values.json === true;
  requireDirectory(positionals[0]);

  const store = await EventStore.open(positionals[0], { maintenanceIntervalMs: 0 });
  try {
    const count = store.manager.partitionCount(topic);
    if (partition !== undefined && partition >= count) {
      throw new SeglogError(ErrorCode.UNKNOWN_TOPIC, `topic ${topic} has no partition ${partition} (it has ${count})`);
    }
    const partitions = partition === undefined ? Array.from({ length: count }, (_, p) => p) : [partition];
    const from: StartFrom = offset === undefined ? 'earliest' : { offset };
    const ends = new Map(partitions.map((p) => [p, store.manager.log(topic, p).highWatermark]));
    const consumer = store.subscribe(topic, { group: values.group, from, partitions });
    const caughtUp = (): boolean => partitions.every((p) => consumer.position(p) >= (ends.get(p) as number));
    let printed = 0;
    let out = '';
    let lastCommit = performance.now();
    const flush = async (final: boolean): Promise<void> => {
      if (out.length > 0) {
        io.stdout(out);
        out = '';
        await io.drain?.();
      }
      if (values.group !== undefined && (final || performance.now() - lastCommit >= COMMIT_INTERVAL_MS)) {
        await consumer.commit();
        lastCommit = performance.now();
      }
    };
    // Ctrl-C, or the check that finds every position past its end while a read waits (see
    // CAUGHT_UP_CHECK_MS), stops the command: it writes what was printed, commits it, and closes
    // the consumer, which ends the pending read. The interval runs only while the loop waits, and
    // keeps the process alive: a read waiting for appends holds no handle of its own.
    let stopping: Promise<void> | null = null;
    const stopNow = (): void => {
      stopping ??= flush(true).finally(() => consumer.close());
    };
    io.signal?.addEventListener('abort', stopNow, { once: true });
    const watch = setInterval(() => {
      if (caughtUp()) stopNow();
    }, CAUGHT_UP_CHECK_MS);
    try {
      await consumer.ready();
      while (printed < maxMessages && stopping === null && io.signal?.aborted !== true) {
        if (caughtUp()) break;
        const next = await consumer.next();
        // A record delivered after the stop's commit was taken is not printed: the commit covers what was.
        if (next.done === true || stopping !== null) break;
        out += `${json ? recordJson(next.value) : String(text(next.value.value))}\n`;
        printed++;
        if (out.length >= OUTPUT_CHUNK_CHARS) await flush(false);
      }
      await (stopping ?? flush(true));
    } finally {
      clearInterval(watch);
      io.signal?.removeEventListener('abort', stopNow);
      await consumer.close();
    }
    if (values.group !== undefined) io.stderr(`consumed ${formatCount(printed)} records; group ${values.group} committed\n`);
    return 0;
  } finally {
    await store.close();
  }
}
