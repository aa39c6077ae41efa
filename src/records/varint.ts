/**
 * Zigzag varints and varlongs as Kafka's ByteUtils encodes them (protobuf style: zigzag, then
 * base-128 groups, least significant first, 0x80 meaning "more bytes follow").
 *
 * - varint: at most 5 bytes. As in Java, a fifth byte with the continuation bit set is an
 *   error, and bits above 32 in the fifth byte are silently dropped.
 * - varlong: at most 10 bytes; a tenth byte with the continuation bit set is an error.
 *
 * The public API speaks JavaScript numbers, so decoded varlongs must fit in ±(2^53 − 1);
 * a larger one is a typed VALUE_OUT_OF_RANGE error, never a silent rounding. Bigint variants
 * exist for the full int64 range (tests, diagnostics).
 */
import { ErrorCode, SeglogError, corrupt } from '../errors.js';

const TWO_POW_32 = 2 ** 32;
/**
 * Below this magnitude the zigzag of a number (2|v| or 2|v| − 1) stays under 2^53 and is exact
 * in a double; at or above it the encoders take the bigint path.
 */
const ZIGZAG_EXACT_LIMIT = 2 ** 52;

/**
 * A cursor over a byte range, used by every decoder. Reads never go past `end`; a read that
 * would is a CORRUPT_RECORD error naming the position.
 */
export class ByteReader {
  /** The bytes being read. */
  readonly buf: Buffer;
  /** Next position to read. */
  pos: number;
  /** One past the last readable position. */
  readonly end: number;

  /**
   * @param buf - the bytes
   * @param pos - first position to read
   * @param end - one past the last readable byte (defaults to the buffer's length)
   */
  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Bytes left between the cursor and the end. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Reads one signed byte. */
  readInt8(): number {
    if (this.pos >= this.end) throw corrupt('truncated: expected 1 more byte', this.pos);
    const b = this.buf[this.pos++];
    return (b << 24) >> 24;
  }

  /** Reads a zigzag varint (int32). */
  readVarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let raw = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end) throw corrupt('truncated varint', pos);
      const b = buf[pos++];
      if (shift === 28) {
        if (b & 0x80) throw corrupt('varint is longer than 5 bytes', pos - 1);
        raw |= b << 28; // bits above 32 are dropped, as Kafka does
        break;
      }
      raw |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    this.pos = pos;
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Reads a zigzag varlong that must fit in a JavaScript number exactly. */
  readVarlong(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    // Fast path: up to 7 groups (49 bits) accumulate exactly in a double.
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= end) throw corrupt('truncated varlong', pos);
      const b = buf[pos++];
      raw += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        this.pos = pos;
        // zigzag: even → n/2, odd → −(n+1)/2; exact for raw < 2^53
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
      scale *= 128;
    }
    const big = this.readVarlongBigInt();
    return toSafeNumber(big, 'varlong', this.pos);
  }

  /** Reads a zigzag varlong over the full int64 range. */
  readVarlongBigInt(): bigint {
    // The fast path in readVarlong leaves this.pos at the start of the varlong when it gives up.
    let pos = this.pos;
    const buf = this.buf;
    const end = this.end;
    let raw = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= end) throw corrupt('truncated varlong', pos);
      const b = buf[pos++];
      if (shift === 63n) {
        if (b & 0x80) throw corrupt('varlong is longer than 10 bytes', pos - 1);
        raw |= BigInt(b & 1) << 63n; // Java keeps only the low bit of the tenth byte
        break;
      }
      raw |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    this.pos = pos;
    return (raw >> 1n) ^ -(raw & 1n);
  }

  /** Returns a view of the next `length` bytes (no copy) and advances past them. */
  readBytes(length: number): Buffer {
    if (length > this.end - this.pos) {
      throw corrupt(`truncated: need ${length} bytes, ${this.end - this.pos} left`, this.pos);
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

/**
 * Reads a varlong that starts at `pos` with the bigint path only. Exposed for tests and for
 * callers that need the full int64 range.
 */
export function decodeVarlongBigInt(buf: Buffer, pos = 0): { value: bigint; next: number } {
  const r = new ByteReader(buf, pos);
  const value = r.readVarlongBigInt();
  return { value, next: r.pos };
}

/** Converts an int64 bigint to a number, or throws VALUE_OUT_OF_RANGE if it is not exact. */
export function toSafeNumber(v: bigint, what: string, position?: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new SeglogError(
      ErrorCode.VALUE_OUT_OF_RANGE,
      `${what} ${v} does not fit a JavaScript number exactly (|v| must be ≤ 2^53 − 1)`,
      { position },
    );
  }
  return Number(v);
}

/** Bytes needed to encode `value` (an int32) as a zigzag varint. */
export function sizeOfVarint(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (v >= 0x80) {
    v >>>= 7;
    bytes++;
  }
  return bytes;
}

/** Bytes needed to encode `value` (a safe integer) as a zigzag varlong. */
export function sizeOfVarlong(value: number): number {
  if (value >= ZIGZAG_EXACT_LIMIT || value <= -ZIGZAG_EXACT_LIMIT) {
    return 8; // 2^53 ≤ zigzag < 2^54 for every safe integer here: 8 groups of 7 bits
  }
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

/** Writes `value` (an int32) as a zigzag varint at `pos`; returns the next position. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes `value` (a safe integer) as a zigzag varlong at `pos`; returns the next position. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return writeVarint(buf, pos, value);
  if (value >= ZIGZAG_EXACT_LIMIT || value <= -ZIGZAG_EXACT_LIMIT) return writeVarlongBigInt(buf, pos, BigInt(value));
  // |value| < 2^52, so the zigzag value is below 2^53 and every step below is exact.
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Writes an int64 bigint as a zigzag varlong at `pos`; returns the next position. */
export function writeVarlongBigInt(buf: Buffer, pos: number, value: bigint): number {
  let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/**
 * Reads a big-endian int64 at `pos` as a number, or throws VALUE_OUT_OF_RANGE when it is not
 * exactly representable. Used for offsets, timestamps and producer ids in batch headers.
 */
export function readInt64(buf: Buffer, pos: number, what = 'int64'): number {
  const hi = buf.readInt32BE(pos);
  const lo = buf.readUInt32BE(pos + 4);
  // |hi| < 2^21 keeps hi·2^32 + lo inside ±2^53.
  if (hi >= -0x200000 && hi < 0x200000) {
    const v = hi * TWO_POW_32 + lo;
    if (Number.isSafeInteger(v)) return v;
  }
  return toSafeNumber(buf.readBigInt64BE(pos), what, pos);
}

/** Writes a safe integer as a big-endian int64 at `pos`. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const lo = value % TWO_POW_32;
  const hi = (value - lo) / TWO_POW_32;
  if (lo < 0) {
    // Two's complement across the halves for negative values.
    buf.writeInt32BE(hi - 1, pos);
    buf.writeUInt32BE(lo + TWO_POW_32, pos + 4);
  } else {
    buf.writeInt32BE(hi, pos);
    buf.writeUInt32BE(lo, pos + 4);
  }
}
