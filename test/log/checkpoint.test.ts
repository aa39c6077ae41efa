/**
 * Checkpoint files: Kafka's vectors byte for byte, the Kafka 2.7.1 broker's real checkpoints read
 * in place and compared with what Kafka's own classes printed, malformed files, and the atomic
 * writer under crashes (disk state after each phase, and a writer killed mid-loop).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import {
  formatCheckpoint,
  parseTopicPartitionKey,
  readLeaderEpochCheckpoint,
  readOffsetCheckpoint,
  readOffsetCheckpointEntries,
  writeFileAtomicSync,
  writeLeaderEpochCheckpoint,
  writeOffsetCheckpoint,
} from '../../src/log/checkpoint.js';
import { KAFKA_FIXTURES, REPO } from '../helpers/paths.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-checkpoint-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): SeglogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return err as SeglogError;
  }
  throw new Error('expected a SeglogError');
}

/** Writes raw text to a file in the temp dir and returns its path. */
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/**
 * The expected dump written by Kafka's OffsetCheckpointFile / LeaderEpochCheckpointFile:
 * "Dumping <root>/<relative path>" followed by that file's lines.
 */
function expectedDump(): Map<string, string[]> {
  const text = fs.readFileSync(path.join(KAFKA_FIXTURES, 'expected/indexes-checkpoints-snapshots.kafka-java.txt'), 'utf8');
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const m = /^Dumping [^/]+\/(.+)$/.exec(line);
    if (m) out.set(m[1], (current = []));
    else if (line !== '' && current) current.push(line);
  }
  return out;
}

describe('vectors (format notes §10.7), byte for byte', () => {
  const OFFSETS = '0\n2\norders 0 1234\nmy.topic_x-1 12 0\n';
  const EPOCHS = '0\n2\n0 0\n3 1200\n';

  it('offset checkpoint from a Map keyed "<topic>-<partition>" (split at the last dash)', () => {
    const p = path.join(dir, 'recovery-point-offset-checkpoint');
    writeOffsetCheckpoint(p, new Map([['orders-0', 1234], ['my.topic_x-1-12', 0]]));
    expect(fs.readFileSync(p, 'utf8')).toBe(OFFSETS);
    expect(readOffsetCheckpoint(p)).toEqual(new Map([['orders-0', 1234], ['my.topic_x-1-12', 0]]));
  });

  it('offset checkpoint from explicit entries', () => {
    const p = path.join(dir, 'cleaner-offset-checkpoint');
    writeOffsetCheckpoint(p, [
      { topic: 'orders', partition: 0, offset: 1234 },
      { topic: 'my.topic_x-1', partition: 12, offset: 0 },
    ]);
    expect(fs.readFileSync(p)).toEqual(Buffer.from(OFFSETS, 'utf8'));
    expect(readOffsetCheckpointEntries(p)).toEqual([
      { topic: 'orders', partition: 0, offset: 1234 },
      { topic: 'my.topic_x-1', partition: 12, offset: 0 },
    ]);
  });

  it('leader-epoch-checkpoint', () => {
    const p = path.join(dir, 'leader-epoch-checkpoint');
    writeLeaderEpochCheckpoint(p, [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 1200 },
    ]);
    expect(fs.readFileSync(p, 'utf8')).toBe(EPOCHS);
    expect(readLeaderEpochCheckpoint(p)).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 1200 },
    ]);
  });

  it('no entries', () => {
    expect(formatCheckpoint([])).toBe('0\n0\n');
    const p = path.join(dir, 'log-start-offset-checkpoint');
    writeOffsetCheckpoint(p, new Map());
    expect(fs.readFileSync(p, 'utf8')).toBe('0\n0\n');
    expect(readOffsetCheckpoint(p).size).toBe(0);
  });
});

describe('Kafka 2.7.1 broker checkpoints, read in place', () => {
  const expected = expectedDump();
  const OFFSET_FILES = ['recovery-point-offset-checkpoint', 'replication-offset-checkpoint', 'cleaner-offset-checkpoint', 'log-start-offset-checkpoint'];

  it.each(OFFSET_FILES)('%s matches what Kafka’s OffsetCheckpointFile read', (name) => {
    const map = readOffsetCheckpoint(path.join(KAFKA_FIXTURES, name));
    const ours = [...map].map(([tp, offset]) => `${tp} ${offset}`).sort();
    const theirs = expected.get(name)!;
    expect(theirs).toBeDefined();
    expect(ours).toEqual([...theirs].sort());
  });

  it('entry counts: 53 recovery points and high watermarks, 3 cleaner offsets, no start offsets', () => {
    expect(readOffsetCheckpoint(path.join(KAFKA_FIXTURES, 'recovery-point-offset-checkpoint')).size).toBe(53);
    expect(readOffsetCheckpoint(path.join(KAFKA_FIXTURES, 'replication-offset-checkpoint')).size).toBe(53);
    expect(readOffsetCheckpoint(path.join(KAFKA_FIXTURES, 'cleaner-offset-checkpoint'))).toEqual(
      new Map([['__consumer_offsets-28', 2], ['__consumer_offsets-17', 1], ['__consumer_offsets-39', 18]]),
    );
    expect(readOffsetCheckpoint(path.join(KAFKA_FIXTURES, 'log-start-offset-checkpoint')).size).toBe(0);
    const recovery = readOffsetCheckpoint(path.join(KAFKA_FIXTURES, 'recovery-point-offset-checkpoint'));
    expect(recovery.get('myTopic-0')).toBe(38);
    expect(recovery.get('test_topic_0603-0')).toBe(9);
  });

  it.each(OFFSET_FILES)('%s is rewritten byte-identical to the broker’s file', (name) => {
    const src = path.join(KAFKA_FIXTURES, name);
    const out = path.join(dir, name);
    writeOffsetCheckpoint(out, readOffsetCheckpointEntries(src));
    expect(fs.readFileSync(out)).toEqual(fs.readFileSync(src));
  });

  const partitionDirs = fs
    .readdirSync(KAFKA_FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(KAFKA_FIXTURES, e.name, 'leader-epoch-checkpoint')))
    .map((e) => e.name)
    .sort();

  it('every partition has a leader-epoch-checkpoint', () => {
    expect(partitionDirs).toHaveLength(8);
  });

  it.each(partitionDirs)('%s/leader-epoch-checkpoint matches Kafka and rewrites byte-identical', (partition) => {
    const src = path.join(KAFKA_FIXTURES, partition, 'leader-epoch-checkpoint');
    const entries = readLeaderEpochCheckpoint(src);
    expect(entries.map((e) => `epoch: ${e.epoch} startOffset: ${e.startOffset}`)).toEqual(expected.get(`${partition}/leader-epoch-checkpoint`));
    const out = path.join(dir, 'leader-epoch-checkpoint');
    writeLeaderEpochCheckpoint(out, entries);
    expect(fs.readFileSync(out)).toEqual(fs.readFileSync(src));
  });

  it('myTopic-0 starts epoch 0 at offset 38', () => {
    expect(readLeaderEpochCheckpoint(path.join(KAFKA_FIXTURES, 'myTopic-0/leader-epoch-checkpoint'))).toEqual([{ epoch: 0, startOffset: 38 }]);
  });
});

describe('reading what Kafka’s reader accepts', () => {
  it('a missing file, an empty file and a version-only file have no entries', () => {
    expect(readOffsetCheckpoint(path.join(dir, 'nope')).size).toBe(0);
    expect(readOffsetCheckpoint(file('empty', '')).size).toBe(0);
    expect(readLeaderEpochCheckpoint(file('v', '0\n'))).toEqual([]);
    expect(readLeaderEpochCheckpoint(file('v2', '0'))).toEqual([]);
  });

  it('CRLF and CR line ends, tabs and runs of spaces, trailing whitespace, a missing final newline', () => {
    expect(readOffsetCheckpoint(file('a', '0\r\n2\r\nt-x 0 5\r\nu\t1   6 \t\r\n'))).toEqual(new Map([['t-x-0', 5], ['u-1', 6]]));
    expect(readLeaderEpochCheckpoint(file('b', '0\r1\r7 70'))).toEqual([{ epoch: 7, startOffset: 70 }]);
    expect(readLeaderEpochCheckpoint(file('c', '+0\n1\n+7 -1\n'))).toEqual([{ epoch: 7, startOffset: -1 }]);
  });

  it('a partition listed twice keeps its last offset', () => {
    expect(readOffsetCheckpoint(file('d', '0\n2\nt 0 1\nt 0 2\n'))).toEqual(new Map([['t-0', 2]]));
  });
});

describe('malformed checkpoints are typed errors', () => {
  it('a version other than 0 is UNSUPPORTED_FORMAT', () => {
    const err = errorOf(() => readOffsetCheckpoint(file('v1', '1\n0\n')));
    expect(err.code).toBe(ErrorCode.UNSUPPORTED_FORMAT);
    expect(err.message).toContain('version 1');
    expect(err.file).toBe(path.join(dir, 'v1'));
  });

  it.each([
    ['bad version line', 'x\n0\n'],
    ['bad count line', '0\ntwo\n'],
    ['count too high', '0\n3\nt 0 1\nt 1 2\n'],
    ['count too low', '0\n1\nt 0 1\nt 1 2\n'],
    ['two fields', '0\n1\nt 0\n'],
    ['four fields', '0\n1\nt 0 1 2\n'],
    ['leading space (Java split keeps a leading empty field)', '0\n1\n t 0 1\n'],
    ['partition not a number', '0\n1\nt x 1\n'],
    ['partition beyond int32', '0\n1\nt 2147483648 1\n'],
    ['offset not a number', '0\n1\nt 0 1.5\n'],
    ['offset beyond int64', '0\n1\nt 0 9223372036854775808\n'],
    ['an empty entry line', '0\n1\n\n'],
  ])('%s → CORRUPT_CHECKPOINT naming the file', (_name, text) => {
    const p = file('bad', text);
    const err = errorOf(() => readOffsetCheckpoint(p));
    expect(err.code).toBe(ErrorCode.CORRUPT_CHECKPOINT);
    expect(err.message).toContain(p);
    expect(err.message).toContain('malformed checkpoint');
    expect(err.errno).toBeUndefined();
  });

  it('leader epoch lines: epoch beyond int32, three fields', () => {
    expect(errorOf(() => readLeaderEpochCheckpoint(file('e1', '0\n1\n2147483648 0\n'))).code).toBe(ErrorCode.CORRUPT_CHECKPOINT);
    expect(errorOf(() => readLeaderEpochCheckpoint(file('e2', '0\n1\n1 2 3\n'))).code).toBe(ErrorCode.CORRUPT_CHECKPOINT);
  });

  it('an offset that is an int64 but beyond 2^53 - 1 is VALUE_OUT_OF_RANGE', () => {
    expect(errorOf(() => readOffsetCheckpoint(file('big', '0\n1\nt 0 9007199254740992\n'))).code).toBe(ErrorCode.VALUE_OUT_OF_RANGE);
    expect(errorOf(() => readLeaderEpochCheckpoint(file('big2', '0\n1\n1 9223372036854775807\n'))).code).toBe(ErrorCode.VALUE_OUT_OF_RANGE);
    expect(readOffsetCheckpoint(file('max', '0\n1\nt 0 9007199254740991\n')).get('t-0')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a checkpoint path that is a directory is IO_ERROR with errno', () => {
    const err = errorOf(() => readOffsetCheckpoint(dir));
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(err.errno).toBe('EISDIR');
  });
});

describe('writing rejects what would not read back', () => {
  const p = () => path.join(dir, 'cp');
  it('bad keys, topics and partitions are INVALID_ARGUMENT', () => {
    for (const key of ['orders', '-0', 'orders-', 'orders-x', 'orders-+1', 'orders-2147483648']) {
      expect(errorOf(() => writeOffsetCheckpoint(p(), new Map([[key, 1]]))).code).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    expect(errorOf(() => writeOffsetCheckpoint(p(), [{ topic: 'a b', partition: 0, offset: 1 }])).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => writeOffsetCheckpoint(p(), [{ topic: '', partition: 0, offset: 1 }])).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => writeOffsetCheckpoint(p(), [{ topic: 't', partition: 1.5, offset: 1 }])).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => writeOffsetCheckpoint(p(), [{ topic: 't', partition: 0, offset: 0.5 }])).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => writeLeaderEpochCheckpoint(p(), [{ epoch: 2 ** 31, startOffset: 0 }])).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(fs.existsSync(p())).toBe(false);
    expect(parseTopicPartitionKey('a-b-c-7')).toEqual({ topic: 'a-b-c', partition: 7 });
  });

  it('offsets beyond 2^53 - 1 are VALUE_OUT_OF_RANGE', () => {
    expect(errorOf(() => writeOffsetCheckpoint(p(), new Map([['t-0', 2 ** 53]]))).code).toBe(ErrorCode.VALUE_OUT_OF_RANGE);
    expect(errorOf(() => writeLeaderEpochCheckpoint(p(), [{ epoch: 0, startOffset: 2 ** 60 }])).code).toBe(ErrorCode.VALUE_OUT_OF_RANGE);
  });
});

describe('atomic writer', () => {
  it('leaves no .tmp behind and replaces the previous content', () => {
    const p = path.join(dir, 'recovery-point-offset-checkpoint');
    writeOffsetCheckpoint(p, new Map([['a-0', 1]]));
    writeOffsetCheckpoint(p, new Map([['a-0', 2]]));
    expect(fs.readdirSync(dir)).toEqual(['recovery-point-offset-checkpoint']);
    expect(readOffsetCheckpoint(p).get('a-0')).toBe(2);
  });

  it('crash after each phase: the reader sees the old file or the new one, never the .tmp', () => {
    const p = path.join(dir, 'replication-offset-checkpoint');
    const old = formatCheckpoint(['t 0 100']);
    const next = formatCheckpoint(['t 0 200', 't 1 5']);
    writeFileAtomicSync(p, old);
    // Phase 1: crash while writing the .tmp (torn, unparsable content).
    fs.writeFileSync(`${p}.tmp`, next.slice(0, 7));
    expect(readOffsetCheckpoint(p)).toEqual(new Map([['t-0', 100]]));
    // Phase 2: crash after the .tmp was complete and fsynced, before the rename.
    fs.writeFileSync(`${p}.tmp`, next);
    expect(readOffsetCheckpoint(p)).toEqual(new Map([['t-0', 100]]));
    // Phase 3: crash after the rename: the new content.
    fs.renameSync(`${p}.tmp`, p);
    expect(readOffsetCheckpoint(p)).toEqual(new Map([['t-0', 200], ['t-1', 5]]));
    // Restart after phase 1 or 2 and write again: the stale .tmp is simply replaced.
    fs.writeFileSync(`${p}.tmp`, 'garbage that is longer than the next checkpoint\n'.repeat(10));
    writeOffsetCheckpoint(p, new Map([['t-0', 300]]));
    expect(fs.readFileSync(p, 'utf8')).toBe('0\n1\nt 0 300\n');
    expect(fs.existsSync(`${p}.tmp`)).toBe(false);
  });

  it('a failed rename keeps the old file and removes the .tmp', () => {
    // The target is a non-empty directory, so rename fails after the .tmp was written.
    const target = path.join(dir, 'target');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'x'), 'x');
    const err = errorOf(() => writeFileAtomicSync(target, 'data'));
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(err.errno).toMatch(/^(EISDIR|ENOTEMPTY|EEXIST)$/);
    expect(fs.existsSync(`${target}.tmp`)).toBe(false);
    expect(fs.readdirSync(target)).toEqual(['x']);
  });

  it('a missing directory is IO_ERROR ENOENT', () => {
    const err = errorOf(() => writeOffsetCheckpoint(path.join(dir, 'missing/cp'), new Map()));
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(err.errno).toBe('ENOENT');
  });

  it('a writer killed at a random point leaves a complete checkpoint', async () => {
    const p = path.join(dir, 'recovery-point-offset-checkpoint');
    const moduleUrl = new URL('../../src/log/checkpoint.ts', import.meta.url).href;
    // The child rewrites a 200-entry checkpoint in a loop with all offsets equal to the round.
    const script = `
      import { writeOffsetCheckpoint } from ${JSON.stringify(moduleUrl)};
      const file = ${JSON.stringify(p)};
      for (let round = 0; ; round++) {
        writeOffsetCheckpoint(file, Array.from({ length: 200 }, (_, i) => ({ topic: 'topic.with-dashes', partition: i, offset: round })));
        if (round === 0) process.stdout.write('ready\\n');
      }`;
    for (let trial = 0; trial < 3; trial++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
      await new Promise((r) => setTimeout(r, 20 + trial * 37));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const entries = readOffsetCheckpointEntries(p);
      expect(entries).toHaveLength(200);
      expect(new Set(entries.map((e) => e.offset)).size).toBe(1);
    }
  });
});
