/**
 * Topic names (Kafka's Topic.validate) and partition directory names: every name a path could
 * escape with is refused, and parsing follows Kafka's last-dash rule.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import {
  deleteDirName,
  isDeleteDirName,
  isValidTopicName,
  parsePartitionDirName,
  partitionDirName,
  topicsCollide,
  validateTopicName,
} from '../../src/manager/names.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return (err as SeglogError).code;
  }
  return 'none';
}

describe('validateTopicName', () => {
  it('accepts Kafka-legal names up to 249 characters', () => {
    for (const name of ['orders', 'my.topic_x-1', '__consumer_offsets', 'a', '...', 'A-Z.0_9', 'x'.repeat(249), '__proto__', 'constructor']) {
      expect(codeOf(() => validateTopicName(name))).toBe('none');
    }
  });

  it('refuses empty, ".", "..", 250 characters, and any character outside [a-zA-Z0-9._-]', () => {
    const bad: unknown[] = ['', '.', '..', 'x'.repeat(250), '../x', 'a/b', 'a\\b', '/abs', 'a b', 'a\0b', 'ü', 'a:b', 'a*', '..%2f', null, 7, undefined];
    for (const name of bad) expect(codeOf(() => validateTopicName(name)), String(name)).toBe(ErrorCode.INVALID_TOPIC);
  });

  it('leaves every legal name a direct child of the data directory', () => {
    const root = path.resolve('/data');
    for (const name of ['...', '.x', 'x.', '-', '_', '.-.']) {
      expect(isValidTopicName(name)).toBe(true);
      expect(path.dirname(path.resolve(root, partitionDirName(name, 0)))).toBe(root);
    }
  });

  it('detects the . versus _ collision Kafka refuses', () => {
    expect(topicsCollide('a.b', 'a_b')).toBe(true);
    expect(topicsCollide('a.b', 'a.b')).toBe(false);
    expect(topicsCollide('a.b', 'a-b')).toBe(false);
  });
});

describe('partition directory names', () => {
  it('splits at the last dash, as Kafka does', () => {
    expect(parsePartitionDirName('orders-0')).toEqual({ topic: 'orders', partition: 0 });
    expect(parsePartitionDirName('my-topic-12')).toEqual({ topic: 'my-topic', partition: 12 });
    expect(parsePartitionDirName('__consumer_offsets-49')).toEqual({ topic: '__consumer_offsets', partition: 49 });
  });

  it('rejects what is not a live partition directory', () => {
    for (const name of ['expected', 'orders', '-0', 'orders-', 'orders-x', 'orders-01', 'orders-+1', 'a/b-0', 'orders-2147483648', 'orders-0.abcdef-delete', 'orders-0.abc-future', '..-0']) {
      expect(parsePartitionDirName(name), name).toBeNull();
    }
  });

  it("names a deleted partition Kafka's way, within 255 characters", () => {
    const uuid = '0f6c6c1e-8a4b-4c8e-9d1f-2a3b4c5d6e7f';
    expect(deleteDirName('orders', 3, uuid)).toBe('orders-3.0f6c6c1e8a4b4c8e9d1f2a3b4c5d6e7f-delete');
    const long = deleteDirName('t'.repeat(249), 9999, uuid);
    expect(long.length).toBe(255);
    expect(isDeleteDirName(long)).toBe(true);
    expect(isDeleteDirName('orders-3')).toBe(false);
    expect(parsePartitionDirName(long)).toBeNull();
  });
});
