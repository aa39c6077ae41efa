/**
 * `seglog dump` against the real Kafka 2.7.1 fixtures: `--json` must print exactly the objects
 * of Kafka's own dump (expected/*.jsonl), and the text mode Kafka's kafka-dump-log lines.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildBatchSync } from '../../src/records/index.js';
import { KAFKA_FIXTURES, REPO, SHARED, logFiles } from '../helpers/paths.js';

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

  it('runs the demo', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-test-'));
    const r = spawnSync(process.execPath, [bin, 'demo', dir], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('reopened and verified 20000 records');
    expect(fs.statSync(path.join(dir, 'demo-0', '00000000000000000000.log')).size).toBeGreaterThan(0);
    // The demo's segments dump like any Kafka segment.
    const out = execFileSync(bin, ['dump', '--json', path.join(dir, 'demo-0', '00000000000000000000.log')], { encoding: 'utf8' });
    expect(JSON.parse(lines(out)[0])).toMatchObject({ t: 'batch', baseOffset: 0, crcValid: true });
  });
});
