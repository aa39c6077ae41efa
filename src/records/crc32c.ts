/**
 * CRC-32C (Castagnoli): polynomial 0x1EDC6F41, reflected 0x82F63B78, initial and final XOR
 * 0xFFFFFFFF. Kafka's v2 batches carry it over bytes [21, end).
 *
 * This is the JavaScript implementation, slicing-by-8: eight 256-entry tables let the loop
 * consume eight bytes per iteration. The native addon (when built) replaces it behind the
 * same `crc32c` function; this one stays as the fallback and the parity oracle.
 */

const POLY = 0x82f63b78;

/** tables[k][b]: the CRC of byte b followed by k zero bytes. */
const TABLES: Int32Array[] = buildTables();

function buildTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1];
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(t);
  }
  return tables;
}

/**
 * Continues a CRC-32C over `bytes[start, end)`. Pass the previous result as `crc` to checksum
 * data in pieces; start with 0.
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc;
  let i = start;
  // Byte at a time until the remaining length is a multiple of 8.
  const head = Math.min(end, start + ((end - start) & 7));
  for (; i < head; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  for (; i < end; i += 8) {
    const lo = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
  }
  return ~c >>> 0;
}

/** CRC-32C of `bytes[start, end)` as an unsigned 32-bit number (JavaScript implementation). */
export function crc32cJs(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cUpdate(0, bytes, start, end);
}

/**
 * CRC-32C of `bytes[start, end)` as an unsigned 32-bit number, computed by the fastest
 * implementation available.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cUpdate(0, bytes, start, end);
}
