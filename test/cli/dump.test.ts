/**
 * `seglog dump` against the real Kafka 2.7.1 fixtures: `--json` must print exactly the objects
 * of Kafka's own dump (expected/*.jsonl), and the text mode Kafka's kafka-dump-log lines; the
 * fixture's `.snapshot` files must print the lines of Kafka's dump in
 * expected/indexes-checkpoints-snapshots.kafka-java.txt, and `.txnindex` files DumpLogSegments'
 * lines (and seglog's JSON shape for both).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { encodeProducerSnapshot, listSnapshotFiles } from '../../src/log/producer-snapshot.js';
import { buildBatchSync } from '../../src/records/index.js';
import { encodeAbortedTxn } from '../../src/segment/txn-index.js';
import { KAFKA_FIXTURES, REPO, SHARED, hex, logFiles } from '../helpers/paths.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

function expectedFile(log: string, ext: string): string {
  return path.join(KAFKA_FIXTURES, 'expected', `${path.basename(path.dirname(log))}_${path.basename(log)}.kafka-java.${ext}`);
}

const KAFKA_LOGS = logFiles(KAFKA_FIXTURES);

describe('seglog dump --json on Kafka fixtures', () => {
  it('finds the fixtures', () => {
    expect(KAFKA_LOGS.length).toBeGreaterThanOrEqual(11);
  });

  it.each(KAFKA_LOGS.map((f) => [path.relative(KAFKA_FIXTURES, f), f]))('%s prints Kafka\'s objects', async (_, file) => {
    const { code, out, err } = await run(['dump', '--json', file]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const actual = lines(out).map((l) => JSON.parse(l));
    const exp = expectedFile(file, 'jsonl');
    if (fs.existsSync(exp)) {
      expect(actual).toEqual(lines(fs.readFileSync(exp, 'utf8')).map((l) => JSON.parse(l)));
    } else {
      expect(fs.statSync(file).size).toBe(0); // only the empty segments have no Kafka dump
      expect(actual).toEqual([]);
    }
  });
});

describe('seglog dump text mode', () => {
  it.each(KAFKA_LOGS.filter((f) => fs.existsSync(expectedFile(f, 'txt'))).map((f) => [path.relative(KAFKA_FIXTURES, f), f]))(
    '%s matches kafka-dump-log --print-data-log line for line',
    async (_, file) => {
      const { code, out } = await run(['dump', '--print-data-log', file]);
      expect(code).toBe(0);
      const [, ...body] = lines(out);
      const [, ...kafka] = lines(fs.readFileSync(expectedFile(file, 'txt'), 'utf8'));
      expect(body).toEqual(kafka);
    },
  );

  it('without --deep-iteration prints batch lines only', async () => {
    const file = KAFKA_LOGS.find((f) => f.includes('__consumer_offsets-8'))!;
    const { out } = await run(['dump', file]);
    expect(lines(out).filter((l) => l.startsWith('|'))).toEqual([]);
    expect(lines(out).filter((l) => l.startsWith('baseOffset:')).length).toBe(3);
    const deep = await run(['dump', '--deep-iteration', file]);
    expect(lines(deep.out).filter((l) => l.startsWith('|')).length).toBe(3);
    expect(deep.out).not.toContain('payload:');
  });
});

describe('seglog dump on damaged and legacy files', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-dump-'));

  it('reports an invalid CRC as crcValid:false and still prints the records', async () => {
    const buf = buildBatchSync([{ key: 'k', value: 'value' }], { now: 1 });
    buf[buf.length - 2] ^= 0xff; // inside the value
    const file = path.join(tmp, 'bad-crc.log');
    fs.writeFileSync(file, buf);
    const { code, out } = await run(['dump', '--json', file]);
    expect(code).toBe(0);
    const [batch, record] = lines(out).map((l) => JSON.parse(l));
    expect(batch.crcValid).toBe(false);
    expect(record.t).toBe('record');
  });

  it('reports a partial last batch on stderr, like Kafka\'s "invalid bytes at the end"', async () => {
    const a = buildBatchSync([{ value: 'a' }], { now: 1 });
    const file = path.join(tmp, 'partial.log');
    fs.writeFileSync(file, Buffer.concat([a, a.subarray(0, 30)]));
    const { code, out, err } = await run(['dump', '--json', file]);
    expect(code).toBe(0);
    expect(lines(out).length).toBe(2);
    expect(err).toContain('30 invalid bytes');
  });

  it('stops at garbage with a typed error and exit code 1', async () => {
    const a = buildBatchSync([{ value: 'a' }], { now: 1 });
    const file = path.join(tmp, 'garbage.log');
    fs.writeFileSync(file, Buffer.concat([a, Buffer.alloc(64)]));
    const { code, out, err } = await run(['dump', '--json', file]);
    expect(code).toBe(1);
    expect(lines(out).length).toBe(2);
    expect(err).toContain('CORRUPT_RECORD');
  });

  it('names legacy (magic 0) messages without decoding them', async () => {
    const file = path.join(SHARED, 'fixtures/kafkalite-legacy/tests/test-data/fs-data/hamlet-gzip-0/00000000000000000000.log');
    const { code, out } = await run(['dump', '--json', file]);
    expect(code).toBe(0);
    const objs = lines(out).map((l) => JSON.parse(l));
    expect(objs.length).toBe(22);
    expect(new Set(objs.map((o) => JSON.stringify(o)))).toEqual(new Set(['{"t":"legacy-batch","magic":0}']));
  });

  it('a missing file is exit code 1 with the reason', async () => {
    const { code, err } = await run(['dump', path.join(tmp, 'nope.log')]);
    expect(code).toBe(1);
    expect(err).toContain('ENOENT');
  });

  it('usage errors are exit code 2', async () => {
    expect((await run(['dump'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['dump', '--bogus', 'x'])).code).toBe(2);
  });
});

describe('the installed seglog command', () => {
  const bin = path.join(REPO, 'dist/cli/main.js');

  it('is built (npm test builds it first) and executable', () => {
    expect(fs.existsSync(bin), 'dist/cli/main.js is missing: run `npm run build`').toBe(true);
    expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
  });

  it('dumps a fixture as a child process', () => {
    const file = KAFKA_LOGS.find((f) => f.includes('__consumer_offsets-39') && f.endsWith('18.log'))!;
    const out = execFileSync(bin, ['dump', '--json', file], { encoding: 'utf8' });
    expect(lines(out).map((l) => JSON.parse(l))).toEqual(lines(fs.readFileSync(expectedFile(file, 'jsonl'), 'utf8')).map((l) => JSON.parse(l)));
  });

  it('runs the demo, whose segments dump like any Kafka segment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-test-'));
    try {
      const r = spawnSync(process.execPath, [bin, 'demo', dir, '--records', '20000'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('every CRC and index OK');
      // Retention removes the first segments of the other topics; the compacted one keeps its base.
      const seg = path.join(dir, 'user-profiles-0', '00000000000000000000.log');
      const out = execFileSync(bin, ['dump', '--json', seg], { encoding: 'utf8' });
      // Compaction kept original offsets: the first batch left need not be at the base.
      expect(JSON.parse(lines(out)[0])).toMatchObject({ t: 'batch', crcValid: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Kafka's dump of the fixture's indexes, checkpoints and snapshots, by `<partition>/<file>`. */
function kafkaSections(): Map<string, string[]> {
  const text = fs.readFileSync(path.join(KAFKA_FIXTURES, 'expected', 'indexes-checkpoints-snapshots.kafka-java.txt'), 'utf8');
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of lines(text)) {
    const m = /^Dumping kafka-2\.7\.1-DonaldY\/(.*)$/.exec(line);
    if (m !== null) sections.set(m[1], (current = []));
    else current?.push(line);
  }
  return sections;
}

describe('seglog dump on .snapshot files', () => {
  const sections = kafkaSections();
  const snapshots = fs
    .readdirSync(KAFKA_FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => listSnapshotFiles(path.join(KAFKA_FIXTURES, d.name)).map((s) => path.relative(KAFKA_FIXTURES, s.file)));

  it('finds every snapshot of the fixture in Kafka\'s dump', () => {
    expect(snapshots.length).toBe(9);
    for (const s of snapshots) expect(sections.has(s), s).toBe(true);
  });

  it.each(snapshots.map((s) => [s]))('%s prints Kafka\'s lines', async (rel) => {
    const file = path.join(KAFKA_FIXTURES, rel);
    const { code, out, err } = await run(['dump', file]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const [first, ...body] = lines(out);
    expect(first).toBe(`Dumping ${file}`);
    expect(body).toEqual(sections.get(rel));
    expect(body.length).toBe(rel.startsWith('myTopic-0') ? 3 : 0);
  });

  it('--json prints one object per producer', async () => {
    const { code, out } = await run(['dump', '--json', path.join(KAFKA_FIXTURES, 'myTopic-0', '00000000000000000038.snapshot')]);
    expect(code).toBe(0);
    expect(lines(out).map((l) => JSON.parse(l))).toEqual([
      { t: 'producer', producerId: 4001, producerEpoch: 0, coordinatorEpoch: -1, currentTxnFirstOffset: null, lastTimestamp: 1670068129797, firstSeq: 9, lastSeq: 11, lastDataOffset: 11, offsetDelta: 2 },
      { t: 'producer', producerId: 4002, producerEpoch: 0, coordinatorEpoch: -1, currentTxnFirstOffset: null, lastTimestamp: 1670068739452, firstSeq: 0, lastSeq: 11, lastDataOffset: 23, offsetDelta: 11 },
      { t: 'producer', producerId: 4003, producerEpoch: 0, coordinatorEpoch: -1, currentTxnFirstOffset: null, lastTimestamp: 1670071262224, firstSeq: 0, lastSeq: 13, lastDataOffset: 37, offsetDelta: 13 },
    ]);
    const empty = await run(['dump', '--json', path.join(KAFKA_FIXTURES, 'test_topic-0', '00000000000000000012.snapshot')]);
    expect(empty.out).toBe('');
  });

  it('prints an open transaction and a producer without batches as Kafka\'s entry does', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-dump-snap-'));
    const file = path.join(tmp, '00000000000000000100.snapshot');
    fs.writeFileSync(
      file,
      encodeProducerSnapshot([
        { producerId: 7, producerEpoch: 2, lastSequence: 4, lastOffset: 90, offsetDelta: 1, timestamp: 5, coordinatorEpoch: 3, currentTxnFirstOffset: 89 },
        { producerId: 8, producerEpoch: 1, lastSequence: -1, lastOffset: -1, offsetDelta: 0, timestamp: 6, coordinatorEpoch: 0, currentTxnFirstOffset: -1 },
      ]),
    );
    const { out } = await run(['dump', file]);
    expect(lines(out).slice(1)).toEqual([
      'producerId: 7 producerEpoch: 2 coordinatorEpoch: 3 currentTxnFirstOffset: OptionalLong[89] lastTimestamp: 5 firstSeq: 3 lastSeq: 4 lastDataOffset: 90',
      'producerId: 8 producerEpoch: 1 coordinatorEpoch: 0 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 6 firstSeq: -1 lastSeq: -1 lastDataOffset: -1',
    ]);
    const json = await run(['dump', '--json', file]);
    expect(JSON.parse(lines(json.out)[0])).toMatchObject({ currentTxnFirstOffset: 89, firstSeq: 3 });
    expect(JSON.parse(lines(json.out)[1])).toMatchObject({ currentTxnFirstOffset: null, firstSeq: -1, lastSeq: -1, lastDataOffset: -1, offsetDelta: 0 });
  });

  it('a corrupt snapshot is reported on stderr with exit code 1', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-dump-snap-'));
    const file = path.join(tmp, '00000000000000000038.snapshot');
    const bytes = fs.readFileSync(path.join(KAFKA_FIXTURES, 'myTopic-0', '00000000000000000038.snapshot'));
    bytes[20] ^= 1;
    fs.writeFileSync(file, bytes);
    const { code, out, err } = await run(['dump', file]);
    expect(code).toBe(1);
    expect(lines(out)).toEqual([`Dumping ${file}`]);
    expect(err).toContain('CORRUPT_SNAPSHOT');
    expect(err).toContain('CRC');
  });
});

describe('seglog dump on .txnindex files', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-dump-txn-'));
  const VECTOR = hex('00 00 | 00 00 00 00 00 00 10 92 | 00 00 00 00 00 00 00 96 | 00 00 00 00 00 00 00 a0 | 00 00 00 00 00 00 00 a1');

  it('prints DumpLogSegments\' line per entry, and JSON objects with --json', async () => {
    const file = path.join(tmp, '00000000000000000100.txnindex');
    fs.writeFileSync(file, Buffer.concat([VECTOR, encodeAbortedTxn({ producerId: 5, firstOffset: 161, lastOffset: 170, lastStableOffset: 171 })]));
    const { code, out, err } = await run(['dump', file]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(lines(out)).toEqual([
      `Dumping ${file}`,
      'version: 0 producerId: 4242 firstOffset: 150 lastOffset: 160 lastStableOffset: 161',
      'version: 0 producerId: 5 firstOffset: 161 lastOffset: 170 lastStableOffset: 171',
    ]);
    const json = await run(['dump', '--json', file]);
    expect(lines(json.out).map((l) => JSON.parse(l))).toEqual([
      { t: 'aborted-txn', version: 0, producerId: 4242, firstOffset: 150, lastOffset: 160, lastStableOffset: 161 },
      { t: 'aborted-txn', version: 0, producerId: 5, firstOffset: 161, lastOffset: 170, lastStableOffset: 171 },
    ]);
  });

  it('reports a torn last entry on stderr without failing, and an empty file prints nothing', async () => {
    const file = path.join(tmp, '00000000000000000200.txnindex');
    fs.writeFileSync(file, Buffer.concat([VECTOR, VECTOR.subarray(0, 9)]));
    const { code, out, err } = await run(['dump', '--json', file]);
    expect(code).toBe(0);
    expect(lines(out).length).toBe(1);
    expect(err).toContain('9 invalid bytes');
    const empty = path.join(tmp, '00000000000000000300.txnindex');
    fs.writeFileSync(empty, '');
    expect((await run(['dump', '--json', empty])).out).toBe('');
  });

  it('stops at an entry Kafka would refuse (version byte > 0) with exit code 1', async () => {
    const bad = Buffer.from(VECTOR);
    bad[0] = 1;
    const file = path.join(tmp, '00000000000000000400.txnindex');
    fs.writeFileSync(file, Buffer.concat([VECTOR, bad]));
    const { code, out, err } = await run(['dump', file]);
    expect(code).toBe(1);
    expect(lines(out).length).toBe(2);
    expect(err).toContain('CORRUPT_INDEX');
  });
});
