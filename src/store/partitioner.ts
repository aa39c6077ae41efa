/**
 * Kafka's default partitioning, bit for bit as the Java client does it (format notes §9.1):
 *
 * - a record with an explicit partition goes there;
 * - a keyed record goes to `toPositive(murmur2(keyBytes)) % numPartitions` (Java's
 *   `BuiltInPartitioner.partitionForKey`), the key bytes being the serialized key (UTF-8 for a
 *   string, as `StringSerializer`);
 * - a record without a key goes to the topic's current "sticky" partition; the sticky partition
 *   moves on after every batch (KIP-480). Here a batch is one `append` call, and the next
 *   partition is the next one round-robin from a random start, so null-key records spread evenly
 *   and each append call still writes one batch per partition.
 *
 * Also Java's `String.hashCode` and `Utils.abs`, which Kafka's group coordinator uses to place a
 * consumer group in a partition of `__consumer_offsets`.
 *
 * All arithmetic is Java's 32-bit wrapping int arithmetic: `Math.imul` and `| 0`.
 */
import { invalidArgument } from '../errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed 0x9747b28c over the bytes, as a signed
 * int32. Vectors: kafka-log-format.md §10.3 (e.g. `"21"` → −973932308, `""` → 275646681).
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    // Little-endian, bytes unsigned (Java masks each with 0xff).
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The tail: Java's switch falls through from case 3 to case 1.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`: −1 → 2147483647). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Kafka's `Utils.abs`: `Math.abs` except that Integer.MIN_VALUE (whose abs overflows) gives 0. */
export function javaAbs(n: number): number {
  n |= 0;
  return n === -0x80000000 ? 0 : Math.abs(n);
}

/** Java's `String.hashCode`: `s[0]·31^(n−1) + … + s[n−1]` over UTF-16 code units, int32 wrapping. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The partition of a keyed record: `toPositive(murmur2(keyBytes)) % numPartitions`. */
export function partitionForKey(keyBytes: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(keyBytes)) % numPartitions;
}

/** Key bytes as the Java client serializes them: UTF-8 for a string, the bytes as given otherwise. */
export function keyBytes(key: Buffer | Uint8Array | string): Uint8Array {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/**
 * The default partitioner of one store: stateless for keyed records, sticky per topic for
 * records without a key.
 */
export class DefaultPartitioner {
  private readonly random: () => number;
  /** The sticky partition index per topic (taken modulo the partition count when used). */
  private readonly sticky = new Map<string, number>();

  /** @param random - source in [0, 1) for each topic's first sticky partition (default Math.random) */
  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  /**
   * The sticky partition for this batch of `topic`'s null-key records; the next call (the next
   * batch) gets the next partition.
   */
  nextStickyPartition(topic: string, numPartitions: number): number {
    let current = this.sticky.get(topic);
    if (current === undefined) current = Math.floor(this.random() * numPartitions);
    const partition = current % numPartitions;
    this.sticky.set(topic, (partition + 1) % numPartitions);
    return partition;
  }

  /**
   * The partition of one record. `stickyPartition` is the batch's partition for null keys.
   *
   * @throws SeglogError INVALID_ARGUMENT when an explicit partition is not in [0, numPartitions)
   */
  partition(record: { key?: Buffer | Uint8Array | string | null; partition?: number }, numPartitions: number, stickyPartition: () => number): number {
    const explicit = record.partition;
    if (explicit !== undefined && explicit !== null) {
      if (!Number.isInteger(explicit) || explicit < 0 || explicit >= numPartitions) {
        throw invalidArgument(`partition ${String(explicit)} is out of range: the topic has partitions 0..${numPartitions - 1}`);
      }
      return explicit;
    }
    const key = record.key;
    if (key === undefined || key === null) return stickyPartition();
    return partitionForKey(keyBytes(key), numPartitions);
  }
}
