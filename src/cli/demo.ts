/**
 * The demo job behind `npm start` / `seglog demo [DIR]`: the engine end to end on an embedded
 * default. It opens a partition log (`DIR/demo-0`, a temporary directory by default), appends
 * records in every codec with small segments so the log rolls, commits a transaction marker
 * through the pre-encoded path, flushes, closes cleanly, reopens, verifies every record and
 * CRC, answers a timestamp lookup, and prints what it did. The directory is a Kafka partition
 * directory: `seglog dump` (or Kafka's own kafka-dump-log) reads its segments.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert } from '../assert.js';
import { Log } from '../log/log.js';
import type { CompressionName } from '../records/compression/index.js';
import type { RecordInput } from '../records/types.js';

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const RECORDS_PER_BATCH = 1000;
const BATCHES_PER_CODEC = 4;
const START_TIME = 1_700_000_000_000;

function recordFor(seq: number): RecordInput {
  return {
    key: `user-${seq % 97}`,
    value: JSON.stringify({ seq, event: seq % 3 === 0 ? 'click' : 'view' }),
    headers: [['source', 'demo']],
    timestamp: START_TIME + seq,
  };
}

/** Runs the demo in `dir` (default: a new temporary directory) and reports through `print`. */
export async function runDemo(dir: string | undefined, print: (line: string) => void): Promise<void> {
  const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-'));
  const logDir = path.join(root, 'demo-0');
  fs.rmSync(logDir, { recursive: true, force: true });
  const config = { segmentBytes: 64 * 1024 };
  const started = performance.now();
  let log = await Log.open(logDir, { config });
  let seq = 0;
  for (const compression of CODECS) {
    const bytesBefore = log.size;
    const appends: Promise<unknown>[] = [];
    for (let b = 0; b < BATCHES_PER_CODEC; b++) {
      appends.push(log.append(Array.from({ length: RECORDS_PER_BATCH }, () => recordFor(seq++)), { compression }));
    }
    await Promise.all(appends); // group commit: the batches go down in one writev
    print(`appended ${BATCHES_PER_CODEC * RECORDS_PER_BATCH} records as ${compression}: ${log.size - bytesBefore} bytes on disk`);
  }
  await log.flush();
  const end = log.logEndOffset;
  await log.close();
  print(`closed cleanly at logEndOffset ${end} with ${fs.readdirSync(logDir).filter((f) => f.endsWith('.log')).length} segments`);

  log = await Log.open(logDir, { config });
  try {
    assert(log.loadReport.cleanShutdown && log.logEndOffset === end, 'a clean reopen finds every record');
    let verified = 0;
    for await (const r of log.records()) {
      const expected = recordFor(r.offset);
      assert(r.value?.toString() === expected.value && r.timestamp === expected.timestamp, 'records read back intact');
      verified++;
    }
    assert(verified === end, 'every offset read back');
    const target = START_TIME + Math.floor(end / 2);
    const found = log.offsetForTimestamp(target);
    assert(found?.offset === Math.floor(end / 2), 'offsetForTimestamp finds the record');
    const ms = performance.now() - started;
    print(`reopened and verified ${verified} records (every CRC checked on read) in ${ms.toFixed(0)} ms; offsetForTimestamp(${target}) = ${found.offset}`);
    print(`partition directory: ${logDir}`);
    print(`inspect a segment with: seglog dump --deep-iteration ${path.join(logDir, '00000000000000000000.log')}`);
  } finally {
    await log.close();
  }
}
