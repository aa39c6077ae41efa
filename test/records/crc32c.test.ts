import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, crc32cJs, crc32cUpdate } from '../../src/records/crc32c.js';

/** Bit-at-a-time CRC-32C straight from the definition: the oracle for the sliced tables. */
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the check value CRC32C("123456789") = 0xE3069283 (§10.1)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cJs(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is 0 for no bytes', () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('matches the bit-at-a-time definition for every length 0..300 and offset', () => {
    const data = Buffer.from(Array.from({ length: 320 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let len = 0; len <= 300; len++) {
      for (const start of [0, 1, 3, 7]) {
        expect(crc32c(data, start, start + len)).toBe(reference(data.subarray(start, start + len)));
      }
    }
  });

  it('can be computed in pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (bytes, cut) => {
        const at = bytes.length === 0 ? 0 : cut % bytes.length;
        const whole = crc32c(bytes);
        expect(crc32cUpdate(crc32cUpdate(0, bytes, 0, at), bytes, at)).toBe(whole);
        expect(whole).toBe(reference(bytes));
      }),
      { seed: 4, numRuns: 300 },
    );
  });
});
