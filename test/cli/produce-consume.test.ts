/**
 * `seglog produce` → `seglog consume` end to end in separate processes: the three input
 * formats, the JSON round trip (headers, null key and value, explicit partition, UTF-8),
 * Kafka's key partitioning, `--offset`, `--max-messages`, a consumer group that resumes where
 * its previous run stopped, and the usage (exit 2) and data (exit 1) errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { buildBatchSync } from '../../src/records/index.js';
import { partitionForKey } from '../../src/store/partitioner.js';
import { EventStore } from '../../src/store/store.js';
import { jsonLines, lines, seglog, tempDir } from './helpers.js';

interface Out {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

describe('seglog produce and consume', () => {
  const root = tempDir('produce');
  const dir = path.join(root, 'data');

  beforeAll(async () => {
    for (const [topic, partitions] of [
      ['plain', 1],
      ['keyed', 4],
      ['json', 3],
      ['resume', 2],
    ] as const) {
      expect((await seglog(['topics', dir, '--create', '--topic', topic, '--partitions', String(partitions)])).code).toBe(0);
    }
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('plain lines: each line a value (CRLF and a last line without newline too), printed back in order', async () => {
    const p = await seglog(['produce', dir, '--topic', 'plain', '--compression', 'gzip'], { input: 'first\r\nsecond\n\nh\u00e9llo \u2713 \u65e5\u672c\nlast' });
    expect(p.code).toBe(0);
    expect(p.stdout).toBe('');
    expect(p.stderr).toMatch(/^produced 5 records to plain \(1 partition: 0: 5\) in /);
    const c = await seglog(['consume', dir, '--topic', 'plain']);
    expect(c.code).toBe(0);
    expect(c.stdout).toBe('first\nsecond\n\nh\u00e9llo \u2713 \u65e5\u672c\nlast\n');
    const json = jsonLines<Out>((await seglog(['consume', dir, '--topic', 'plain', '--json'])).stdout);
    expect(json.map((r) => [r.offset, r.key, r.value, r.headers, r.topic, r.partition])).toEqual([
      [0, null, 'first', {}, 'plain', 0],
      [1, null, 'second', {}, 'plain', 0],
      [2, null, '', {}, 'plain', 0],
      [3, null, 'h\u00e9llo \u2713 \u65e5\u672c', {}, 'plain', 0],
      [4, null, 'last', {}, 'plain', 0],
    ]);
    expect(Math.abs(json[0].timestamp - Date.now())).toBeLessThan(60_000);
  });

  it('--key-separator: keys split at the first separator, one partition per key (Kafka\'s murmur2)', async () => {
    const input = Array.from({ length: 40 }, (_, i) => `user-${i % 8}=>{"n":${i},"note":"a=>b"}`).join('\n');
    const p = await seglog(['produce', dir, '--topic', 'keyed', '--key-separator', '=>', '--compression', 'zstd'], { input });
    expect(p.code).toBe(0);
    expect(p.stderr).toMatch(/^produced 40 records to keyed \(\d partitions?: /);
    const out = jsonLines<Out>((await seglog(['consume', dir, '--topic', 'keyed', '--json'])).stdout);
    expect(out).toHaveLength(40);
    const partitionOf = new Map<string, number>();
    for (const r of out) {
      expect(r.value).toMatch(/^\{"n":\d+,"note":"a=>b"\}$/);
      expect(partitionOf.get(r.key!) ?? r.partition).toBe(r.partition);
      partitionOf.set(r.key!, r.partition);
    }
    // Within a key, order is kept.
    for (const key of partitionOf.keys()) {
      const ns = out.filter((r) => r.key === key).map((r) => JSON.parse(r.value!).n as number);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    // Kafka's partitioner for these keys: toPositive(murmur2(key)) % 4 (its own vectors are in test/store).
    for (const [key, partition] of partitionOf) expect(partition).toBe(partitionForKey(Buffer.from(key), 4));
    expect(new Set(partitionOf.values()).size).toBeGreaterThan(1);
  });

  it('--json round trip: headers, null key and value, explicit partition, timestamp; consume --json output feeds back', async () => {
    const input = [
      { key: 'k1', value: 'v1', headers: { trace: 'abc', empty: '' }, partition: 2 },
      { key: null, value: 'no key', headers: {}, partition: 0 },
      { key: 'tomb', value: null, partition: 1, timestamp: 1_600_000_000_000 },
      { value: 'only a value', partition: 1 },
      { key: '\u00fcml\u00e4ut', value: '\ud83d\ude80', headers: { 'h\u00e9': null }, partition: 2 },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n');
    const p = await seglog(['produce', dir, '--topic', 'json', '--json'], { input: `${input}\n\n` });
    expect(p.code).toBe(0);
    expect(p.stderr).toMatch(/^produced 5 records to json \(3 partitions: 0: 1, 1: 2, 2: 2\)/);
    const out = jsonLines<Out>((await seglog(['consume', dir, '--topic', 'json', '--json'])).stdout);
    const strip = (r: Out): unknown => ({ key: r.key, value: r.value, headers: r.headers, partition: r.partition });
    expect(out.map(strip)).toEqual([
      { key: null, value: 'no key', headers: {}, partition: 0 },
      { key: 'tomb', value: null, headers: {}, partition: 1 },
      { key: null, value: 'only a value', headers: {}, partition: 1 },
      { key: 'k1', value: 'v1', headers: { trace: 'abc', empty: '' }, partition: 2 },
      { key: '\u00fcml\u00e4ut', value: '\ud83d\ude80', headers: { 'h\u00e9': null }, partition: 2 },
    ]);
    expect(out[1].timestamp).toBe(1_600_000_000_000);
    expect(out[0].offset).toBe(0);
    expect(out[4].offset).toBe(1);
    // One partition only, and the printed lines feed produce --json again (topic and offset ignored).
    const p2 = await seglog(['consume', dir, '--topic', 'json', '--json', '--partition', '2']);
    expect(jsonLines<Out>(p2.stdout).map((r) => r.partition)).toEqual([2, 2]);
    const again = await seglog(['produce', dir, '--topic', 'json', '--json'], { input: p2.stdout });
    expect(again.stderr).toMatch(/^produced 2 records to json \(1 partition: 2: 2\)/);
    const p2b = jsonLines<Out>((await seglog(['consume', dir, '--topic', 'json', '--json', '--partition', '2'])).stdout);
    expect(p2b.slice(2).map(strip)).toEqual(p2b.slice(0, 2).map(strip));
    expect(p2b.slice(2).map((r) => r.timestamp)).toEqual(p2b.slice(0, 2).map((r) => r.timestamp));
  });

  it('--offset N with --partition, and --max-messages', async () => {
    const c = await seglog(['consume', dir, '--topic', 'plain', '--partition', '0', '--offset', '3']);
    expect(c.stdout).toBe('h\u00e9llo \u2713 \u65e5\u672c\nlast\n');
    const m = await seglog(['consume', dir, '--topic', 'plain', '--max-messages', '2', '--from-beginning']);
    expect(m.stdout).toBe('first\nsecond\n');
    const beyond = await seglog(['consume', dir, '--topic', 'plain', '--partition', '0', '--offset', '99']);
    expect(beyond).toMatchObject({ code: 0, stdout: '' });
  });

  it('--group resumes where the previous run stopped, and commits only what it printed', async () => {
    const input = Array.from({ length: 10 }, (_, i) => `v${i}`).join('\n');
    expect((await seglog(['produce', dir, '--topic', 'resume'], { input })).code).toBe(0);
    const seen: string[] = [];
    const first = await seglog(['consume', dir, '--topic', 'resume', '--group', 'g1', '--max-messages', '4']);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('consumed 4 records; group g1 committed\n');
    seen.push(...lines(first.stdout));
    const second = await seglog(['consume', dir, '--topic', 'resume', '--group', 'g1']);
    seen.push(...lines(second.stdout));
    expect(lines(second.stdout)).toHaveLength(6);
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
    const third = await seglog(['consume', dir, '--topic', 'resume', '--group', 'g1']);
    expect(third).toMatchObject({ code: 0, stdout: '', stderr: 'consumed 0 records; group g1 committed\n' });
    expect((await seglog(['produce', dir, '--topic', 'resume'], { input: 'new-1\nnew-2\n' })).code).toBe(0);
    const fourth = await seglog(['consume', dir, '--topic', 'resume', '--group', 'g1', '--json']);
    expect(jsonLines<Out>(fourth.stdout).map((r) => r.value)).toEqual(['new-1', 'new-2']);
    // Another group starts from the beginning; one partition of a group resumes on its own.
    expect(lines((await seglog(['consume', dir, '--topic', 'resume', '--group', 'g2'])).stdout)).toHaveLength(12);
    const partition = String(jsonLines<Out>(fourth.stdout)[0].partition);
    const p0 = await seglog(['consume', dir, '--topic', 'resume', '--group', 'g3', '--partition', partition, '--max-messages', '1', '--json']);
    const [one] = jsonLines<Out>(p0.stdout);
    const rest = jsonLines<Out>((await seglog(['consume', dir, '--topic', 'resume', '--group', 'g3', '--partition', partition, '--json'])).stdout);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest[0].offset).toBe(one.offset + 1);
  });

  it('stops when the last offsets hold no record to print (a transaction marker), and commits past them', async () => {
    const txnDir = path.join(root, 'txn');
    const log = await Log.open(path.join(txnDir, 'txn-0'));
    await log.append([{ value: 'plain' }]);
    await log.appendBatches(buildBatchSync([{ value: 'in-txn-1' }, { value: 'in-txn-2' }], { producerId: 7, producerEpoch: 0, baseSequence: 0, isTransactional: true }));
    await log.endTransaction(7, 0, true); // the COMMIT marker at offset 3, the log end at 4
    await log.close();
    const r = await seglog(['consume', txnDir, '--topic', 'txn', '--group', 'g'], { timeoutMs: 20_000 });
    expect(r).toMatchObject({ code: 0, stdout: 'plain\nin-txn-1\nin-txn-2\n' });
    const store = await EventStore.open(txnDir, { maintenanceIntervalMs: 0 });
    try {
      expect(store.committed('g', 'txn', 0)).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('a bad input line stops with exit code 1 after appending the lines before it', async () => {
    const bad = await seglog(['produce', dir, '--topic', 'plain', '--json'], { input: '{"value":"ok-1"}\n{"value":"ok-2"}\n{"value": 42}\n{"value":"never"}\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('produced 2 records to plain');
    expect(bad.stderr).toContain('seglog: INVALID_ARGUMENT: stdin line 3: "value" must be a string or null, got number');
    const sep = await seglog(['produce', dir, '--topic', 'plain', '--key-separator', ':'], { input: 'a:1\nno separator\n' });
    expect(sep.code).toBe(1);
    expect(sep.stderr).toContain('stdin line 2: no key separator ":"');
    const notJson = await seglog(['produce', dir, '--topic', 'plain', '--json'], { input: 'hello\n' });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/stdin line 1: not JSON/);
    const partition = await seglog(['produce', dir, '--topic', 'plain', '--json'], { input: '{"value":"x","partition":7}\n' });
    expect(partition.code).toBe(1);
    expect(partition.stderr).toBe('seglog: INVALID_ARGUMENT: stdin line 1: "partition" 7 is out of range: plain has partitions 0..0\n');
    expect(lines((await seglog(['consume', dir, '--topic', 'plain'])).stdout).slice(-3)).toEqual(['ok-1', 'ok-2', '1']);
  });

  it('data errors: unknown topic or partition, exit code 1', async () => {
    let r = await seglog(['produce', dir, '--topic', 'nope'], { input: 'x\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: UNKNOWN_TOPIC: topic "nope" does not exist \(create it with: seglog topics /);
    r = await seglog(['consume', dir, '--topic', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^seglog: UNKNOWN_TOPIC: /);
    r = await seglog(['consume', dir, '--topic', 'plain', '--partition', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('seglog: UNKNOWN_TOPIC: topic plain has no partition 5 (it has 1)\n');
  });

  it.each([
    ['produce without --topic', ['produce', 'DIR'], /--topic is required/],
    ['--json with --key-separator', ['produce', 'DIR', '--topic', 'plain', '--json', '--key-separator', ':'], /--key-separator and --json cannot be used together/],
    ['an unknown codec', ['produce', 'DIR', '--topic', 'plain', '--compression', 'brotli'], /--compression "brotli" is not one of none, gzip, snappy, lz4, zstd/],
    ['an unknown flag', ['produce', 'DIR', '--topic', 'plain', '--acks', 'all'], /Unknown option '--acks'/],
    ['consume without --topic', ['consume', 'DIR'], /--topic is required/],
    ['--from-beginning with --group', ['consume', 'DIR', '--topic', 'plain', '--from-beginning', '--group', 'g'], /--from-beginning and --group cannot be used together/],
    ['--offset with --group', ['consume', 'DIR', '--topic', 'plain', '--offset', '1', '--partition', '0', '--group', 'g'], /--offset and --group cannot be used together/],
    ['--offset without --partition', ['consume', 'DIR', '--topic', 'plain', '--offset', '1'], /--offset needs --partition/],
    ['--max-messages 0', ['consume', 'DIR', '--topic', 'plain', '--max-messages', '0'], /--max-messages "0" is not an integer ≥ 1/],
    ['a partition that is no number', ['consume', 'DIR', '--topic', 'plain', '--partition', 'first'], /--partition "first" is not an integer in \[0, 2147483647\]/],
    ['a negative partition (parsed as a flag)', ['consume', 'DIR', '--topic', 'plain', '--partition', '-1'], /--partition/],
  ])('usage error: %s (exit code 2)', async (_label, args, message) => {
    const r = await seglog(args.map((a) => (a === 'DIR' ? dir : a)));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`usage:\n  seglog ${args[0]} DIR`);
  });
});
