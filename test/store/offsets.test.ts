/**
 * Committed offsets in Kafka's `__consumer_offsets` format: the bytes seglog writes equal what
 * a Kafka 2.7.1 broker wrote for the same commit, every value version decodes, and an
 * EventStore opened on a copy of the broker's data directory loads the broker's commits (last
 * record per key wins, tombstones delete).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import {
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  offsetsPartitionFor,
} from '../../src/store/offsets.js';
import { EventStore } from '../../src/store/store.js';
import { KAFKA_FIXTURES, hex } from '../helpers/paths.js';

/** Offset 16 of the fixture's __consumer_offsets-39 (expected/…-39_…0.log.kafka-java.txt). */
const KAFKA_KEY = hex('00010016636f6e736f6c652d636f6e73756d65722d3635303730000f746573745f746f7069635f3036303300000000');
const KAFKA_VALUE = hex('00030000000000000009ffffffff0000000001888260a41b');
/** Offset 17 there: a group-metadata key (version 2). */
const KAFKA_GROUP_KEY = hex('00020016636f6e736f6c652d636f6e73756d65722d3635303730');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function copyFixture(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-offsets-')), 'kafka-logs');
  dirs.push(path.dirname(dir));
  fs.cpSync(KAFKA_FIXTURES, dir, { recursive: true });
  const chmod = (p: string) => {
    const isDir = fs.statSync(p).isDirectory();
    fs.chmodSync(p, isDir ? 0o755 : 0o644);
    if (isDir) for (const e of fs.readdirSync(p)) chmod(path.join(p, e));
  };
  chmod(dir);
  return dir;
}

describe('record format', () => {
  it("encodes a commit byte for byte as Kafka 2.7.1 did (key v1, value v3)", () => {
    expect(encodeOffsetCommitKey({ group: 'console-consumer-65070', topic: 'test_topic_0603', partition: 0 })).toEqual(KAFKA_KEY);
    expect(encodeOffsetCommitValue({ offset: 9, commitTimestamp: 0x1888260a41b })).toEqual(KAFKA_VALUE);
  });

  it("decodes Kafka's key and value", () => {
    expect(decodeOffsetsTopicKey(KAFKA_KEY)).toEqual({ type: 'offset-commit', version: 1, group: 'console-consumer-65070', topic: 'test_topic_0603', partition: 0 });
    expect(decodeOffsetsTopicKey(KAFKA_GROUP_KEY)).toEqual({ type: 'group-metadata', version: 2, group: 'console-consumer-65070' });
    expect(decodeOffsetCommitValue(KAFKA_VALUE)).toEqual({ offset: 9, leaderEpoch: -1, metadata: '', commitTimestamp: 1685814551579, expireTimestamp: -1 });
  });

  it('decodes every value version 0..4 and round-trips non-ASCII strings', () => {
    const v0 = hex('0000 000000000000002a 0002 6869 0000000000000064');
    expect(decodeOffsetCommitValue(v0)).toEqual({ offset: 42, leaderEpoch: -1, metadata: 'hi', commitTimestamp: 100, expireTimestamp: -1 });
    const v1 = hex('0001 000000000000002a 0000 0000000000000064 00000000000000c8');
    expect(decodeOffsetCommitValue(v1)).toEqual({ offset: 42, leaderEpoch: -1, metadata: '', commitTimestamp: 100, expireTimestamp: 200 });
    const v2 = hex('0002 000000000000002a 0000 0000000000000064');
    expect(decodeOffsetCommitValue(v2).offset).toBe(42);
    // v4: flexible: compact string (length + 1 as uvarint), then tagged fields (one, skipped).
    const v4 = hex('0004 000000000000002a 00000007 03 6869 0000000000000064 01 05 02 aabb');
    expect(decodeOffsetCommitValue(v4)).toEqual({ offset: 42, leaderEpoch: 7, metadata: 'hi', commitTimestamp: 100, expireTimestamp: -1 });
    expect(() => decodeOffsetCommitValue(hex('0005 00'))).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_FORMAT }));
    expect(() => decodeOffsetCommitValue(hex('0003 0000'))).toThrow(expect.objectContaining({ code: ErrorCode.CORRUPT_RECORD }));
    expect(decodeOffsetsTopicKey(hex('0009 1234'))).toEqual({ type: 'other', version: 9 });
    const key = { group: 'grüppe', topic: 't.ü-1', partition: 2147483647 };
    expect(decodeOffsetsTopicKey(encodeOffsetCommitKey(key))).toEqual({ type: 'offset-commit', version: 1, ...key });
    const value = decodeOffsetCommitValue(encodeOffsetCommitValue({ offset: 2 ** 53 - 1, commitTimestamp: 5, metadata: 'µ' }));
    expect(value).toEqual({ offset: 2 ** 53 - 1, leaderEpoch: -1, metadata: 'µ', commitTimestamp: 5, expireTimestamp: -1 });
  });
});

describe("a Kafka broker's __consumer_offsets", () => {
  it('loads the commits: the one commit in the fixture was later deleted by a tombstone', async () => {
    const store = await EventStore.open(copyFixture(), { maintenanceIntervalMs: 0 });
    try {
      expect(store.offsetsLoadReport).toEqual({ records: 16, commits: 0, skipped: 0 });
      expect(store.committed('console-consumer-65070', 'test_topic_0603', 0)).toBeNull();
    } finally {
      await store.close();
    }
  });

  it("loads the broker's commit when the tombstone is not there, and commits next to it in Kafka's format", async () => {
    const dir = copyFixture();
    // Without the last segment (offsets 18–19, the tombstones), offset 16 is the live commit.
    for (const f of fs.readdirSync(path.join(dir, '__consumer_offsets-39'))) {
      if (f.startsWith('00000000000000000018.')) fs.rmSync(path.join(dir, '__consumer_offsets-39', f));
    }
    const store = await EventStore.open(dir, { maintenanceIntervalMs: 0, clock: () => 1_700_000_000_000 });
    try {
      expect(store.offsetsLoadReport).toMatchObject({ commits: 1, skipped: 0 });
      expect(store.committed('console-consumer-65070', 'test_topic_0603', 0)).toBe(9);
      expect(store.listGroups()).toEqual(['console-consumer-65070']);

      // A consumer of that group resumes at the broker's commit (clamped into the log's range:
      // test_topic_0603-0 starts at 9, so 9 it is).
      const consumer = store.subscribe('test_topic_0603', { group: 'console-consumer-65070' });
      expect(consumer.position(0)).toBe(9);
      await consumer.close();

      // A new commit goes to the group's partition of the broker's 50, as Kafka's coordinator would put it.
      await store.commit('console-consumer-65070', [{ topic: 'test_topic_0603', partition: 0, offset: 10 }]);
      const p = offsetsPartitionFor('console-consumer-65070', 50);
      expect(p).toBe(39);
      const log = store.manager.log('__consumer_offsets', p);
      const last = [...log.recordsSync()].at(-1)!;
      expect(last.key).toEqual(KAFKA_KEY);
      expect(decodeOffsetCommitValue(last.value!)).toEqual({ offset: 10, leaderEpoch: -1, metadata: '', commitTimestamp: 1_700_000_000_000, expireTimestamp: -1 });
    } finally {
      await store.close();
    }
    const again = await EventStore.open(dir, { maintenanceIntervalMs: 0 });
    try {
      expect(again.committed('console-consumer-65070', 'test_topic_0603', 0)).toBe(10);
    } finally {
      await again.close();
    }
  });
});
