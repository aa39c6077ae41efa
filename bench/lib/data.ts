/**
 * Seeded test data for the benchmarks: record values that compress like real event payloads.
 *
 * Each value is JSON-ish text: a random 16-hex-digit id, a user number, an event type, a
 * timestamp, then a message of words drawn from a small vocabulary, padded or cut to the exact
 * size asked for. The ids and numbers do not compress; the field names and words do, so gzip
 * reaches roughly 2–4× on 1 KiB values, as on real JSON logs, rather than the 100× of
 * repeated bytes or the 1× of random ones. The same seed gives the same bytes on every run.
 */
import type { RecordInput } from '../../src/records/index.js';

/** A seeded pseudo-random source returning floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: a small, fast 32-bit PRNG; plenty for test data, not for anything else. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the', 'order', 'was', 'shipped', 'to', 'customer', 'after', 'payment', 'cleared', 'and',
  'inventory', 'updated', 'for', 'warehouse', 'east', 'west', 'north', 'south', 'item', 'sku',
  'quantity', 'price', 'discount', 'applied', 'session', 'started', 'from', 'mobile', 'web',
  'checkout', 'cart', 'retry', 'timeout', 'latency', 'ms', 'region', 'eu', 'us', 'ap', 'status',
  'ok', 'pending', 'failed', 'refund', 'issued', 'user', 'clicked', 'banner', 'viewed', 'page',
];
const EVENT_TYPES = ['page_view', 'add_to_cart', 'checkout', 'payment', 'shipment', 'refund', 'login', 'search'];

/** A random integer in [0, n). */
function below(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** `digits` random hex digits. */
function hex(rng: Rng, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += '0123456789abcdef'[below(rng, 16)];
  return s;
}

/** One JSON-ish value of exactly `size` bytes (ASCII, so characters are bytes). */
export function jsonishValue(rng: Rng, size: number): Buffer {
  const head =
    `{"id":"${hex(rng, 16)}","user":${below(rng, 1_000_000)},` +
    `"type":"${EVENT_TYPES[below(rng, EVENT_TYPES.length)]}","ts":${1_700_000_000_000 + below(rng, 1e9)},"msg":"`;
  const tail = '"}';
  const room = size - head.length - tail.length;
  if (room < 0) return Buffer.from((head + tail).slice(0, size), 'latin1');
  let msg = '';
  while (msg.length < room) msg += (msg.length === 0 ? '' : ' ') + WORDS[below(rng, WORDS.length)];
  return Buffer.from(head + msg.slice(0, room) + tail, 'latin1');
}

/** Records of one benchmark batch, and the bytes they carry. */
export interface RecordSet {
  /** The records, each with a 12-byte key, a JSON-ish value and a timestamp. */
  records: RecordInput[];
  /** Every key and value, in order: what a baseline copy gathers. */
  parts: Buffer[];
  /** Total key + value bytes: the "record bytes" that MB/s figures count. */
  recordBytes: number;
}

/** `count` records with values of `valueBytes` bytes, from `seed`. */
export function makeRecords(seed: number, count: number, valueBytes: number): RecordSet {
  const rng = seededRng(seed);
  const records: RecordInput[] = [];
  const parts: Buffer[] = [];
  let recordBytes = 0;
  for (let i = 0; i < count; i++) {
    const key = Buffer.from(`user-${String(below(rng, 10_000_000)).padStart(7, '0')}`, 'latin1');
    const value = jsonishValue(rng, valueBytes);
    records.push({ key, value, timestamp: 1_700_000_000_000 + i });
    parts.push(key, value);
    recordBytes += key.length + value.length;
  }
  return { records, parts, recordBytes };
}

/**
 * A records-region-like stream of exactly `size` bytes: JSON-ish values of 100–1000 bytes,
 * newline-separated, from `seed`.
 */
export function jsonishStream(seed: number, size: number): Buffer {
  const rng = seededRng(seed);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  while (pos < size) {
    const value = jsonishValue(rng, 100 + below(rng, 900));
    pos += value.copy(out, pos);
    if (pos < size) out[pos++] = 0x0a;
  }
  return out;
}
