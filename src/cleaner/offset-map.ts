/**
 * `OffsetMap`: key → latest offset, the log cleaner's dedupe table (Kafka's SkimpyOffsetMap).
 *
 * Layout: open addressing in one flat `Uint32Array`, 6 words (24 bytes) per slot, the same
 * entry size as Kafka's (a 16-byte MD5 + an 8-byte offset):
 *
 * | words | content |
 * |---|---|
 * | 0..3 | 128-bit key hash: xxh64(key, seed A) ‖ xxh64(key, seed B), big-endian words |
 * | 4 | offset + 1, low 32 bits (0 in both offset words = empty slot) |
 * | 5 | offset + 1, high bits (offsets are < 2^53) |
 *
 * Keys are never stored: two keys are "the same" when their 128-bit hashes are equal, exactly
 * as Kafka compares MD5s. A collision would make the cleaner drop the latest record of one key
 * because of a later record of another, so the hash must be wide: with n keys the chance of any
 * collision is about n² / 2^(bits+1). At 64 bits and 10 million keys that is ~3·10⁻⁶ per
 * cleaning, which over years of cleanings of many logs is not negligible; at 128 bits it is
 * ~10⁻²⁵. xxh64 is not a cryptographic hash, so two seeds are not a proof of 128 independent
 * bits, but for keys that are not chosen by an attacker to collide, two seeded xxh64 runs
 * behave as independent 64-bit hashes; they cost ~2 × 100 ns per key (xxhash-wasm, measured
 * in ../shared/reference/dependencies.md), far below MD5.
 *
 * Probing follows SkimpyOffsetMap: attempt i reads the 32-bit big-endian window at byte
 * min(i, 12) of the hash and adds max(0, i − 12), modulo the slot count. The first 13 attempts
 * therefore use different bits of the hash (like double hashing), then it degrades to linear
 * probing, which always terminates because the table is never full.
 *
 * Memory: Kafka allocates the whole dedupe buffer (128 MiB) up front. An embedded engine may
 * hold many logs and cleans small ones often, so this table starts small and grows by
 * doubling, never past `maxBytes` — counting the old and the new table together while
 * rehashing, so the bound holds at every moment: it doubles while the table is under a tenth
 * of the bound, then jumps once to the rest (≥ 90 % of `maxBytes`). "Full" (Kafka's `map.size >= slots × loadFactor` at the
 * bound) is {@link OffsetMap.isFull}: the cleaner then stops adding and cleans up to
 * {@link OffsetMap.latestOffset} (Kafka's endOffset rule).
 *
 * Invariants: size ≤ floor(slots × loadFactor) ≤ slots − 1 (an empty slot always exists);
 * slots × 24 ≤ maxBytes.
 */
import xxhash from 'xxhash-wasm';
import { assert } from '../assert.js';
import { invalidArgument } from '../errors.js';

const hasher = await xxhash();

/** Bytes per slot: a 128-bit hash and an int64 offset (Kafka's 16-byte MD5 + 8). */
export const OFFSET_MAP_BYTES_PER_ENTRY = 24;
/** Kafka's log.cleaner.dedupe.buffer.size default: 128 MiB. */
export const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024;
/** Kafka's log.cleaner.io.buffer.load.factor default. */
export const DEFAULT_DEDUPE_LOAD_FACTOR = 0.9;

const WORDS_PER_SLOT = OFFSET_MAP_BYTES_PER_ENTRY / 4;
/** First table: 4096 slots (96 KiB), enough for small logs without any rehash. */
const INITIAL_SLOTS = 4096;
/** Two fixed, different seeds; the values only have to differ (and never change: no persistence). */
const SEED_A = 0x5eb1_06c1_ea4e_5eedn;
const SEED_B = 0x9e37_79b9_7f4a_7c15n;
const TWO_POW_32 = 4294967296;

/** How to size an offset map. */
export interface OffsetMapOptions {
  /** Upper bound of the table's memory in bytes (log.cleaner.dedupe.buffer.size); default 128 MiB. */
  maxBytes?: number;
  /** Maximum fill of the slots (log.cleaner.io.buffer.load.factor); default 0.9. */
  loadFactor?: number;
}

/** A bounded key-hash → offset table. Not thread-safe; one per cleaning. */
export class OffsetMap {
  /** The memory bound in bytes. */
  readonly maxBytes: number;
  /** The fill bound of the slots. */
  readonly loadFactor: number;
  /** Most slots the bound allows (maxBytes / 24). */
  readonly maxSlots: number;
  /** Slots of the largest table the growth policy reaches. */
  private readonly finalSlotCount: number;
  private table: Uint32Array;
  private slotCount: number;
  private entries = 0;
  private lastOffset = -1;
  /** Scratch: the current key's hash as 4 big-endian words. */
  private readonly hash = new Uint32Array(4);
  private readonly hashView = new DataView(new ArrayBuffer(16));
  /** Lookups and the probes they took (Kafka reports the ratio as "collision rate"). */
  private lookups = 0;
  private probes = 0;

  /** @param options - memory bound and load factor */
  constructor(options: OffsetMapOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_DEDUPE_BUFFER_BYTES;
    const loadFactor = options.loadFactor ?? DEFAULT_DEDUPE_LOAD_FACTOR;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < OFFSET_MAP_BYTES_PER_ENTRY * 2) {
      throw invalidArgument(`dedupe buffer size must be an integer of at least ${OFFSET_MAP_BYTES_PER_ENTRY * 2} bytes, got ${maxBytes}`);
    }
    if (!(loadFactor > 0 && loadFactor < 1)) throw invalidArgument(`dedupe buffer load factor must be in (0, 1), got ${loadFactor}`);
    this.maxBytes = maxBytes;
    this.loadFactor = loadFactor;
    this.maxSlots = Math.floor(maxBytes / OFFSET_MAP_BYTES_PER_ENTRY);
    this.slotCount = this.initialSlots();
    this.finalSlotCount = this.finalSlots();
    assert(this.finalSlotCount * OFFSET_MAP_BYTES_PER_ENTRY <= maxBytes, 'the table stays within the dedupe buffer');
    if (Math.floor(this.finalSlotCount * loadFactor) < 1) {
      // Kafka's assertion: a map that cannot hold one key never lets cleaning progress.
      throw invalidArgument(`a dedupe buffer of ${maxBytes} bytes at load factor ${loadFactor} cannot hold a single key`);
    }
    this.table = new Uint32Array(this.slotCount * WORDS_PER_SLOT);
  }

  /** Keys stored. */
  get size(): number {
    return this.entries;
  }

  /** Current number of slots. */
  get slots(): number {
    return this.slotCount;
  }

  /** Bytes held by the table now (≤ maxBytes). */
  get memoryBytes(): number {
    return this.table.byteLength;
  }

  /**
   * Most keys the map will ever take: the load factor of the largest table the bound allows
   * (Kafka's maxDesiredMapSize). Reaching it means {@link isFull}.
   */
  get maxEntries(): number {
    return Math.floor(this.finalSlotCount * this.loadFactor);
  }

  /** True when no further key may be added. */
  get isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  /** Share of the largest table in use (Kafka's bufferUtilization). */
  get utilization(): number {
    return this.entries / this.finalSlotCount;
  }

  /** Average probes per lookup so far (1 = no collisions). */
  get probesPerLookup(): number {
    return this.lookups === 0 ? 1 : this.probes / this.lookups;
  }

  /** The last offset whose batch was fully added (−1 before any). Records past it are kept by the cleaner. */
  get latestOffset(): number {
    return this.lastOffset;
  }

  /** Sets {@link latestOffset} (Kafka's updateLatestOffset: a plain set, not a max). */
  updateLatestOffset(offset: number): void {
    this.lastOffset = offset;
  }

  /**
   * Records that `key`'s latest offset is `offset` (a later put for the same key wins).
   * Returns false, changing nothing, when the key is new and the map is full.
   */
  put(key: Uint8Array, offset: number): boolean {
    assert(Number.isSafeInteger(offset) && offset >= 0, 'offsets are non-negative safe integers');
    this.hashKey(key);
    let slot = this.findSlot();
    let at = slot * WORDS_PER_SLOT;
    const isNew = this.table[at + 4] === 0 && this.table[at + 5] === 0;
    if (isNew) {
      if (this.entries >= this.maxEntries) return false;
      if (this.entries + 1 > Math.floor(this.slotCount * this.loadFactor)) {
        this.grow();
        slot = this.findSlot();
        at = slot * WORDS_PER_SLOT;
      }
      this.table.set(this.hash, at);
      this.entries++;
    }
    const stored = offset + 1;
    this.table[at + 4] = stored % TWO_POW_32;
    this.table[at + 5] = Math.floor(stored / TWO_POW_32);
    return true;
  }

  /** The latest offset recorded for `key`, or −1. */
  get(key: Uint8Array): number {
    this.hashKey(key);
    const at = this.findSlot() * WORDS_PER_SLOT;
    const lo = this.table[at + 4];
    const hi = this.table[at + 5];
    return lo === 0 && hi === 0 ? -1 : hi * TWO_POW_32 + lo - 1;
  }

  /** Empties the map (keeps the current table). */
  clear(): void {
    this.table.fill(0);
    this.entries = 0;
    this.lastOffset = -1;
  }

  /** The largest table the growth policy reaches (see the file comment). */
  private finalSlots(): number {
    let s = this.initialSlots();
    for (;;) {
      const next = this.nextSlots(s);
      if (next <= s) return s;
      s = next;
    }
  }

  /** The first table: 4096 slots, or a tenth of the bound when that is smaller. */
  private initialSlots(): number {
    return Math.min(INITIAL_SLOTS, Math.max(1, Math.floor(this.maxSlots / 10)));
  }

  /**
   * Doubling while the doubled table is at most a tenth of the bound; then one jump to
   * everything the bound leaves beside the old table (≥ 90 % of maxSlots), so the old and the
   * new table together never exceed maxSlots.
   */
  private nextSlots(current: number): number {
    if (current * 2 <= this.maxSlots / 10) return current * 2;
    return Math.max(current, this.maxSlots - current);
  }

  private grow(): void {
    const next = this.nextSlots(this.slotCount);
    assert(next > this.slotCount, 'grow is only called below maxEntries, which the final table can hold');
    const old = this.table;
    const oldSlots = this.slotCount;
    this.table = new Uint32Array(next * WORDS_PER_SLOT);
    this.slotCount = next;
    const saved = this.hash.slice();
    for (let s = 0; s < oldSlots; s++) {
      const at = s * WORDS_PER_SLOT;
      if (old[at + 4] === 0 && old[at + 5] === 0) continue;
      this.hash.set(old.subarray(at, at + 4));
      const dest = this.findSlot() * WORDS_PER_SLOT;
      this.table.set(old.subarray(at, at + WORDS_PER_SLOT), dest);
    }
    this.hash.set(saved);
  }

  /** Hashes `key` into {@link hash}: two seeded xxh64, as big-endian words. */
  private hashKey(key: Uint8Array): void {
    const v = this.hashView;
    v.setBigUint64(0, hasher.h64Raw(key, SEED_A));
    v.setBigUint64(8, hasher.h64Raw(key, SEED_B));
    const h = this.hash;
    h[0] = v.getUint32(0);
    h[1] = v.getUint32(4);
    h[2] = v.getUint32(8);
    h[3] = v.getUint32(12);
  }

  /** The slot holding the current hash, or the empty slot where it would go. */
  private findSlot(): number {
    const t = this.table;
    const h = this.hash;
    const n = this.slotCount;
    this.lookups++;
    for (let attempt = 0; ; attempt++) {
      this.probes++;
      const slot = probe(h, attempt, n);
      const at = slot * WORDS_PER_SLOT;
      if (t[at + 4] === 0 && t[at + 5] === 0) return slot;
      if (t[at] === h[0] && t[at + 1] === h[1] && t[at + 2] === h[2] && t[at + 3] === h[3]) return slot;
    }
  }
}

/** SkimpyOffsetMap's probe: the int32 window at byte min(i, 12) of the hash, plus max(0, i − 12). */
function probe(h: Uint32Array, attempt: number, slots: number): number {
  const byte = Math.min(attempt, 12);
  const word = byte >>> 2;
  const shift = (byte & 3) * 8;
  const window = shift === 0 ? h[word] : ((h[word] << shift) | (h[word + 1] >>> (32 - shift))) >>> 0;
  // As Kafka: abs of the signed int, then modulo (here without int overflow: plain numbers).
  const signed = window | 0;
  return (Math.abs(signed) + Math.max(0, attempt - 12)) % slots;
}
