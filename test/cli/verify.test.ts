/**
 * `seglog verify` end to end: a clean data directory passes (exit 0), each kind of damage is
 * found and named (exit 1), what a live or crashed log legitimately shows is only a warning,
 * and the command changes nothing, also while another process... here, this test process, has
 * the partition open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { KAFKA_FIXTURES } from '../helpers/paths.js';
import { jsonLines, seglog, snapshotTree, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000;

/** A partition with several segments, an index entry per batch, and gzip + lz4 batches. */
async function writePartition(dir: string, batches: number): Promise<void> {
  const log = await Log.open(dir, { config: { segmentBytes: 8 * 1024, indexIntervalBytes: 0 }, clock: () => T0 + 10_000 });
  for (let b = 0; b < batches; b++) {
    const records = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `value-${b}-${i}-${'x'.repeat(40)}`, timestamp: T0 + b * 20 + i }));
    await log.append(records, { compression: b % 2 === 0 ? 'gzip' : 'lz4' });
  }
  await log.close();
}

/** Copies a directory tree (the damage tests each work on their own copy). */
function copyDir(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function segmentFiles(dir: string, ext: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => path.join(dir, f));
}

describe('seglog verify', () => {
  const root = tempDir('verify');
  const clean = path.join(root, 'clean');

  beforeAll(async () => {
    await writePartition(path.join(clean, 'events-0'), 40);
    await writePartition(path.join(clean, 'events-1'), 25);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('passes a clean data directory with exit code 0 and a summary table', async () => {
    const before = snapshotTree(clean);
    const r = await seglog(['verify', clean]);
    expect(r.stderr).toBe(''); // not a terminal: no progress bar
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PARTITION\s+SEGMENTS\s+BATCHES\s+RECORDS\s+SIZE\s+STATUS/);
    expect(r.stdout).toMatch(/events-0\s+\d+\s+40\s+800\s+.*ok/);
    expect(r.stdout).toMatch(/events-1\s+\d+\s+25\s+500\s+.*ok/);
    expect(r.stdout).toMatch(/2 partitions, \d+ segments, .* verified in .*: OK/);
    expect(snapshotTree(clean)).toEqual(before); // read-only
  });

  it('--json prints one object per partition', async () => {
    const r = await seglog(['verify', '--json', '--deep', clean]);
    expect(r.code).toBe(0);
    const objs = jsonLines(r.stdout);
    expect(objs.map((o) => [o.name, o.batches, o.records, o.errors])).toEqual([
      ['events-0', 40, 800, 0],
      ['events-1', 25, 500, 0],
    ]);
    expect((objs[0].segments as number) > 1).toBe(true);
  });

  it('takes a single partition directory, and works while a log has it open', async () => {
    const dir = copyDir(path.join(clean, 'events-1'), path.join(root, 'open', 'events-1'));
    const log = await Log.open(dir); // holds the partition's lock; verify takes none
    try {
      await log.append([{ value: 'one more' }]);
      const r = await seglog(['verify', dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/events-1\s+\d+\s+26\s+501/);
    } finally {
      await log.close();
    }
  });

  it('finds a flipped byte in a .log: exit code 1, the partition CORRUPT and the file named', async () => {
    const dir = copyDir(clean, path.join(root, 'flipped'));
    const file = segmentFiles(path.join(dir, 'events-0'), '.log')[1];
    const buf = fs.readFileSync(file);
    buf[200] ^= 0x55;
    fs.writeFileSync(file, buf);
    const r = await seglog(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`events-0\\s+.*CORRUPT \\(\\d+\\): ${path.basename(file)}`));
    expect(r.stdout).toMatch(/events-1\s+.*ok/);
    expect(r.stdout).toContain(`ERROR ${file}: batch at position`);
    expect(r.stdout).toContain('CRC mismatch');
    expect(r.stdout).toMatch(/CORRUPT \(\d+ errors in 1 partition\)/);
  });

  it('finds an offset index entry that does not point at a batch boundary', async () => {
    const dir = copyDir(clean, path.join(root, 'bad-index'));
    const file = segmentFiles(path.join(dir, 'events-1'), '.index')[0];
    const buf = fs.readFileSync(file);
    expect(buf.length).toBeGreaterThanOrEqual(16);
    buf.writeInt32BE(buf.readInt32BE(12) + 3, 12); // entry 1's position, moved into the batch
    fs.writeFileSync(file, buf);
    const r = await seglog(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`events-1\\s+.*CORRUPT \\(\\d+\\): ${path.basename(file).replace('.', '\\.')}`));
    expect(r.stdout).toContain(`ERROR ${file}: entry 1 (offset`);
    expect(r.stdout).toContain('is not at a batch boundary');
  });

  it('finds an offset index that fails the sanity check (offsets out of order)', async () => {
    const dir = copyDir(clean, path.join(root, 'unordered-index'));
    const file = segmentFiles(path.join(dir, 'events-0'), '.index')[0];
    const buf = fs.readFileSync(file);
    const e1 = Buffer.from(buf.subarray(8, 16));
    buf.copy(buf, 8, 16, 24);
    e1.copy(buf, 16);
    fs.writeFileSync(file, buf);
    const r = await seglog(['verify', '--json', dir]);
    expect(r.code).toBe(1);
    const [p0] = jsonLines<{ problems: { severity: string; file: string; message: string }[] }>(r.stdout);
    expect(p0.problems[0]).toMatchObject({ severity: 'error', file });
    expect(p0.problems[0].message).toMatch(/entry 2 has offset \d+, not above entry 1's/);
  });

  it('finds a time index entry whose timestamp is not the batch maximum, and a truncated time index', async () => {
    const dir = copyDir(clean, path.join(root, 'bad-timeindex'));
    const [first, second] = segmentFiles(path.join(dir, 'events-0'), '.timeindex');
    const buf = fs.readFileSync(first);
    buf.writeBigInt64BE(buf.readBigInt64BE(12) + 1n, 12); // entry 1's timestamp, still increasing
    fs.writeFileSync(first, buf);
    fs.truncateSync(second, fs.statSync(second).size - 5);
    const r = await seglog(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ERROR ${first}: entry 1 (timestamp`);
    expect(r.stdout).toContain('the largest timestamp up to that batch is');
    expect(r.stdout).toContain(`ERROR ${second}: length`);
  });

  it('finds garbage after the last batch, but only warns about a partial batch or a zero tail', async () => {
    const dir = copyDir(clean, path.join(root, 'tails'));
    const logs0 = segmentFiles(path.join(dir, 'events-0'), '.log');
    const logs1 = segmentFiles(path.join(dir, 'events-1'), '.log');
    const last1 = logs1[logs1.length - 1];
    const whole = fs.readFileSync(last1);
    fs.appendFileSync(last1, whole.subarray(0, 40)); // half a batch: an append in flight
    fs.appendFileSync(logs0[logs0.length - 1], Buffer.alloc(4096)); // preallocated
    let r = await seglog(['verify', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`warning ${last1}: 40 bytes of a partial batch at the end`);
    fs.appendFileSync(logs0[0], Buffer.from('not a batch at all, not a batch at all'));
    r = await seglog(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ERROR ${logs0[0]}: no batch at position`);
  });

  it('checks a .txnindex when there is one', async () => {
    const dir = copyDir(clean, path.join(root, 'txn'));
    const log = segmentFiles(path.join(dir, 'events-0'), '.log')[1];
    const base = Number(path.basename(log).slice(0, 20));
    const entry = (version: number, first: number, last: number): Buffer => {
      const b = Buffer.alloc(34);
      b.writeInt16BE(version, 0);
      b.writeBigInt64BE(7n, 2);
      b.writeBigInt64BE(BigInt(first), 10);
      b.writeBigInt64BE(BigInt(last), 18);
      b.writeBigInt64BE(BigInt(last + 1), 26);
      return b;
    };
    const txn = log.replace(/\.log$/, '.txnindex');
    fs.writeFileSync(txn, Buffer.concat([entry(0, base, base + 1), entry(0, base, base - 1 > 0 ? base - 1 : 0), entry(256, base, base + 3)]));
    const r = await seglog(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ERROR ${txn}: entry 1`);
    expect(r.stdout).toContain(`ERROR ${txn}: entry 2: entry at byte 68 has version 1, only 0 is known`);
  });

  it("passes Kafka 2.7.1's own data directory (read-only), with warnings for its missing active indexes", async () => {
    const r = await seglog(['verify', KAFKA_FIXTURES]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/__consumer_offsets-39\s+2\s+4\s+5\s+509 B\s+ok/);
    expect(r.stdout).toMatch(/8 partitions, 11 segments, .*: OK/);
  });

  it('usage and data errors', async () => {
    expect((await seglog(['verify'])).code).toBe(2);
    expect((await seglog(['verify', clean, '--bogus'])).code).toBe(2);
    expect((await seglog(['verify', clean, 'extra'])).code).toBe(2);
    const missing = await seglog(['verify', path.join(root, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^seglog: IO_ERROR: .*ENOENT/);
  });
});
