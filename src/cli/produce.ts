/**
 * `seglog produce DIR --topic T [--compression C] [--key-separator S | --json]`: Kafka's
 * kafka-console-producer. Reads standard input line by line (UTF-8; `\n` or `\r\n`) and appends
 * the records to an existing topic through the {@link EventStore}, so keyed records land on the
 * partition Kafka's Java client would choose and records without a key spread across partitions.
 *
 * Line formats:
 * - default: the whole line is the value (an empty line is an empty value), no key;
 * - `--key-separator S`: key and value split at the first S; a line without S is an error;
 * - `--json`: `{"key": string|null, "value": string|null, "headers": {name: string|null},
 *   "partition": n, "timestamp": ms}`, every field optional (a missing key or value is null;
 *   `topic` and `offset`, which `consume --json` prints, are ignored, so its output can be fed
 *   back). Blank lines are skipped.
 *
 * Lines are batched: one append per {@link BATCH_MAX_RECORDS} records or
 * {@link appendBudget} estimated bytes, whichever comes first, and at the end of input. A bad line stops the command with exit code 1 after appending the lines before it;
 * the summary on standard error (records, per-partition counts) is printed either way.
 */
import { StringDecoder } from 'node:string_decoder';
import { ErrorCode, SeglogError } from '../errors.js';
import type { CompressionName } from '../records/compression/index.js';
import { EventStore, type StoreRecordInput } from '../store/store.js';
import { UsageError, exclusiveFlags, parseCommandArgs, requiredFlag, type CliIo } from './args.js';
import { formatCount, formatDuration } from './format.js';

/**
 * Most records per append: large enough that per-append costs (a writev, the partition split)
 * are spread over many records, small enough that a batch of short lines stays well under
 * Kafka's 1 MiB max.message.bytes once encoded.
 */
export const BATCH_MAX_RECORDS = 2000;
/**
 * Most encoded bytes per append (estimated: keys, values, headers and a per-record overhead):
 * half of Kafka's default max.message.bytes. A topic whose max.message.bytes or segment.bytes is
 * smaller lowers it (see {@link appendBudget}), since a batch larger than either is refused.
 */
export const BATCH_MAX_BYTES = 512 * 1024;
/**
 * A record's bytes beyond its key, value and headers: the worst case of its varints (length 5,
 * attributes 1, timestamp delta 10, offset delta 5, key and value lengths 5 each, header
 * count 5), so that the estimate never falls below the encoded size of an uncompressed batch.
 */
const RECORD_OVERHEAD_BYTES = 36;
/** A batch's header (61 bytes), rounded up. */
const BATCH_OVERHEAD_BYTES = 64;

/** The byte budget of one append to a topic with these limits. */
export function appendBudget(config: { maxMessageBytes: number; segmentBytes: number }): number {
  return Math.min(BATCH_MAX_BYTES, config.maxMessageBytes - BATCH_OVERHEAD_BYTES, config.segmentBytes - BATCH_OVERHEAD_BYTES);
}

const byteLength = (s: string | null | undefined): number => (s == null ? 0 : Buffer.byteLength(s));

/** Estimated encoded size of a record built from text. */
function estimateBytes(r: StoreRecordInput): number {
  let n = RECORD_OVERHEAD_BYTES + byteLength(r.key as string | null | undefined) + byteLength(r.value as string | null);
  if (Array.isArray(r.headers)) for (const [name, v] of r.headers as [string, string | null][]) n += 10 + byteLength(name) + byteLength(v);
  return n;
}

const CODECS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * The lines of a byte stream, decoded as UTF-8, without their `\n` / `\r\n`. Ends early,
 * without the partial line, when `signal` aborts (Ctrl-C while reading a terminal).
 */
export async function* readLines(input: AsyncIterable<Buffer | string> | undefined, signal?: AbortSignal): AsyncGenerator<string, void, undefined> {
  if (input === undefined) return;
  const decoder = new StringDecoder('utf8');
  const chunks = input[Symbol.asyncIterator]();
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal?.aborted === true) resolve('aborted');
    signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  let pending = '';
  for (;;) {
    const next = chunks.next();
    const step = await Promise.race([next, aborted]);
    if (step === 'aborted') {
      next.catch(() => undefined); // the read left pending fails as the input closes
      // A stream is destroyed so that the process can exit now; the iterator's return() would
      // wait for the writer of a pipe to close its end.
      const stream = input as { destroy?: () => void };
      if (typeof stream.destroy === 'function') stream.destroy();
      else void chunks.return?.()?.catch(() => undefined);
      return;
    }
    if (step.done === true) break;
    const chunk = step.value;
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl = pending.indexOf('\n');
    let from = 0;
    while (nl >= 0) {
      const line = pending.slice(from, nl);
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
      from = nl + 1;
      nl = pending.indexOf('\n', from);
    }
    pending = pending.slice(from);
  }
  pending += decoder.end();
  if (pending.length > 0) yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
}

function lineError(lineNo: number, message: string): SeglogError {
  return new SeglogError(ErrorCode.INVALID_ARGUMENT, `stdin line ${lineNo}: ${message}`);
}

/** Parses one `--json` line into a record. */
export function parseJsonLine(line: string, lineNo: number): StoreRecordInput {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw lineError(lineNo, `not JSON (${(err as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw lineError(lineNo, 'not a JSON object');
  const o = obj as Record<string, unknown>;
  const str = (field: string): string | null => {
    const v = o[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw lineError(lineNo, `"${field}" must be a string or null, got ${typeof v}`);
    return v;
  };
  const record: StoreRecordInput = { key: str('key'), value: str('value') };
  if (o.headers !== undefined && o.headers !== null) {
    if (typeof o.headers !== 'object' || Array.isArray(o.headers)) throw lineError(lineNo, '"headers" must be an object of name: string');
    const headers: [string, string | null][] = [];
    for (const [name, v] of Object.entries(o.headers as Record<string, unknown>)) {
      if (v !== null && typeof v !== 'string') throw lineError(lineNo, `header "${name}" must be a string or null`);
      headers.push([name, v]);
    }
    record.headers = headers;
  }
  if (o.partition !== undefined && o.partition !== null) {
    if (!Number.isSafeInteger(o.partition) || (o.partition as number) < 0) throw lineError(lineNo, `"partition" must be a non-negative integer, got ${JSON.stringify(o.partition)}`);
    record.partition = o.partition as number;
  }
  if (o.timestamp !== undefined && o.timestamp !== null) {
    if (!Number.isSafeInteger(o.timestamp) || (o.timestamp as number) < 0) throw lineError(lineNo, `"timestamp" must be a non-negative integer (epoch ms), got ${JSON.stringify(o.timestamp)}`);
    record.timestamp = o.timestamp as number;
  }
  return record;
}

/** `seglog produce …`; resolves to the exit code. */
export async function produceCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'produce',
    args,
    { topic: { type: 'string' }, compression: { type: 'string' }, 'key-separator': { type: 'string' }, json: { type: 'boolean' } },
    { required: ['DIR'] },
  );
  const topic = requiredFlag('produce', 'topic', values.topic);
  exclusiveFlags('produce', values, ['key-separator', 'json']);
  const compression = (values.compression ?? 'none') as CompressionName;
  if (!CODECS.includes(compression)) throw new UsageError(`--compression ${JSON.stringify(values.compression)} is not one of ${CODECS.join(', ')}`, 'produce');
  const separator = values['key-separator'];
  if (separator === '') throw new UsageError('--key-separator cannot be empty', 'produce');
  const json = values.json === true;

  const store = await EventStore.open(positionals[0], { maintenanceIntervalMs: 0 });
  const started = performance.now();
  const perPartition = new Map<number, number>();
  let produced = 0;
  let pending: StoreRecordInput[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    const results = await store.append(topic, batch, { compression });
    for (const r of results) {
      const n = r.lastOffset - r.firstOffset + 1;
      perPartition.set(r.partition, (perPartition.get(r.partition) ?? 0) + n);
      produced += n;
    }
  };
  const summary = (): void => {
    const parts = [...perPartition.entries()].sort((a, b) => a[0] - b[0]).map(([p, n]) => `${p}: ${formatCount(n)}`);
    io.stderr(
      `produced ${formatCount(produced)} records to ${topic} (${parts.length} partition${parts.length === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}) ` +
        `in ${formatDuration(performance.now() - started)}\n`,
    );
  };
  try {
    if (!store.manager.hasTopic(topic)) {
      throw new SeglogError(ErrorCode.UNKNOWN_TOPIC, `topic ${JSON.stringify(topic)} does not exist (create it with: seglog topics ${positionals[0]} --create --topic ${topic})`);
    }
    const budget = appendBudget(store.manager.topicConfig(topic));
    const partitions = store.manager.partitionCount(topic);
    let lineNo = 0;
    for await (const line of readLines(io.stdin, io.signal)) {
      lineNo++;
      let record: StoreRecordInput;
      if (json) {
        if (line.trim() === '') continue;
        record = parseJsonLine(line, lineNo);
        if (record.partition !== undefined && record.partition >= partitions) {
          throw lineError(lineNo, `"partition" ${record.partition} is out of range: ${topic} has partitions 0..${partitions - 1}`);
        }
      } else if (separator !== undefined) {
        const at = line.indexOf(separator);
        if (at < 0) throw lineError(lineNo, `no key separator ${JSON.stringify(separator)}`);
        record = { key: line.slice(0, at), value: line.slice(at + separator.length) };
      } else {
        record = { value: line };
      }
      // Compressed batches are smaller than the estimate; it only has to keep batches under the limits.
      const size = estimateBytes(record);
      if (pending.length > 0 && (pending.length >= BATCH_MAX_RECORDS || pendingBytes + size > budget)) await flush();
      pending.push(record);
      pendingBytes += size;
    }
    await flush();
  } catch (err) {
    // Lines before a bad one are appended, as kafka-console-producer has sent them by then.
    if (err instanceof SeglogError && err.code === ErrorCode.INVALID_ARGUMENT && err.message.startsWith('stdin line')) await flush();
    if (produced > 0) summary();
    throw err;
  } finally {
    await store.close();
  }
  summary();
  return 0;
}
