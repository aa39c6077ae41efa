/**
 * lz4 (codec id 3): an LZ4 frame in the subset Kafka's Lz4BlockInputStream reads.
 *
 * | bytes | field                                                                  |
 * |------:|------------------------------------------------------------------------|
 * |     4 | magic `04 22 4D 18` (0x184D2204 little-endian)                         |
 * |     1 | FLG: version 01 (bits 6–7), block independence (bit 5) required,       |
 * |       |      block checksum (4), content size (3), content checksum (2),       |
 * |       |      bits 0–1 reserved and required 0 (so no dictionary id)            |
 * |     1 | BD: block max size code 4..7 (64 KiB, 256 KiB, 1 MiB, 4 MiB) in bits 4–6 |
 * |  0/8 | content size (LE), when FLG bit 3                                      |
 * |     1 | HC: (xxh32(FLG..end of descriptor, seed 0) >> 8) & 0xFF                |
 * |     … | blocks: uint32 LE size, high bit = stored uncompressed; data; then a    |
 * |       |         4-byte xxh32 of the data when FLG bit 4                          |
 * |     4 | end mark `00 00 00 00`, then a 4-byte content checksum when FLG bit 2   |
 *
 * The writer is lz4-napi's frame encoder, which emits independent blocks, no checksums and a
 * correct HC (Kafka accepts it; its block size grows to 4 MiB for inputs over 256 KiB).
 * lz4-napi's decoder does not check where a frame ends, so this module walks the frame first:
 * every size is checked against the bytes present and the block maximum, and a missing end
 * mark is an error. The walk also bounds the output (block maximum, 255× expansion); a frame
 * whose bound exceeds `maxBytes` is decompressed block by block and stopped at the limit, so
 * no allocation exceeds `maxBytes` by more than one block.
 *
 * Legacy magic-0 messages were written with Kafka's old, wrong HC (computed over the magic
 * too, KAFKA-3160); Kafka ignores the HC when reading them, and so does `legacyHeaderChecksum`.
 */
import lz4Lib from 'lz4-napi';
import { ASYNC_THRESHOLDS, type Codec } from './codec.js';

const THRESHOLDS = ASYNC_THRESHOLDS.lz4;
import { corruptCompression, tooLarge, wrapCodecError } from './errors.js';
import { xxh32 } from './xxh32.js';

const MAGIC = 0x184d2204;
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_1 = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x03;
const BD_RESERVED = 0x8f;
const STORED_BLOCK = 0x80000000;
/**
 * LZ4's worst-case expansion: a match length is extended by one byte per 255 output bytes,
 * so no compressed block yields more than ~255 bytes per input byte.
 */
const MAX_EXPANSION = 255;

/** What walking a frame found. */
interface FrameLayout {
  /** Bytes the frame occupies, from the magic to the end of the trailer. */
  frameLength: number;
  /** An upper bound of the decompressed size (exact for stored blocks, loose for small ones). */
  outputBound: number;
  /** The block-max-size code (BD bits 4–6). */
  sizeCode: number;
  /** [start, end) of each block's size word and data (checksums excluded). */
  blocks: [number, number][];
  /** Position of the header checksum byte, and the value it should hold. */
  headerChecksum: { position: number; expected: number };
}

/** Options for reading an LZ4 frame. */
export interface Lz4ReadOptions {
  /** Skip the header-checksum check (legacy magic-0 messages carry a wrong one). */
  legacyHeaderChecksum?: boolean;
}

/** Validates an LZ4 frame as Kafka's reader would and returns its extent and output bound. */
export function walkLz4Frame(input: Buffer, options: Lz4ReadOptions = {}): FrameLayout {
  if (input.length < 7) throw corruptCompression('lz4', 'truncated frame header');
  if (input.readUInt32LE(0) !== MAGIC) throw corruptCompression('lz4', 'bad frame magic');
  const flg = input[4];
  const bd = input[5];
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_1) throw corruptCompression('lz4', `unsupported frame version in FLG 0x${flg.toString(16)}`);
  if ((flg & FLG_RESERVED) !== 0) throw corruptCompression('lz4', 'FLG reserved bits (or a dictionary id) are set');
  if ((flg & FLG_BLOCK_INDEPENDENT) === 0) throw corruptCompression('lz4', 'dependent block stream is unsupported');
  if ((bd & BD_RESERVED) !== 0) throw corruptCompression('lz4', 'BD reserved bits are set');
  const sizeCode = (bd >> 4) & 0x07;
  if (sizeCode < 4) throw corruptCompression('lz4', `block size code ${sizeCode} is not 4..7`);
  const blockMax = 1 << (8 + 2 * sizeCode);
  let pos = 6;
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    if (input.length < pos + 9) throw corruptCompression('lz4', 'truncated content size');
    const hi = input.readUInt32LE(pos + 4);
    contentSize = hi < 0x200000 ? hi * 2 ** 32 + input.readUInt32LE(pos) : Number.MAX_SAFE_INTEGER;
    pos += 8;
  }
  const hc = input[pos];
  const headerChecksum = { position: pos, expected: (xxh32(input.subarray(4, pos)) >>> 8) & 0xff };
  if (!options.legacyHeaderChecksum && hc !== headerChecksum.expected) {
    throw corruptCompression('lz4', 'frame header checksum mismatch');
  }
  pos += 1;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  let outputBound = 0;
  const blocks: [number, number][] = [];
  for (;;) {
    if (input.length - pos < 4) throw corruptCompression('lz4', `frame ends at ${input.length} without an end mark`);
    const word = input.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const stored = (word & STORED_BLOCK) !== 0;
    const size = (word & ~STORED_BLOCK) >>> 0;
    if (size > blockMax) throw corruptCompression('lz4', `block of ${size} bytes exceeds the frame's maximum of ${blockMax}`);
    if (size > input.length - pos) throw corruptCompression('lz4', `block of ${size} bytes at ${pos - 4} is truncated`);
    if (blockChecksum) {
      if (input.length - pos - size < 4) throw corruptCompression('lz4', 'truncated block checksum');
      if (input.readUInt32LE(pos + size) !== xxh32(input.subarray(pos, pos + size))) {
        throw corruptCompression('lz4', `block checksum mismatch at ${pos - 4}`);
      }
    }
    outputBound += stored ? size : Math.min(blockMax, size * MAX_EXPANSION);
    blocks.push([pos - 4, pos + size]);
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    // Kafka skips the content checksum without verifying it; we only require it to be there.
    if (input.length - pos < 4) throw corruptCompression('lz4', 'truncated content checksum');
    pos += 4;
  }
  if (contentSize >= 0) outputBound = Math.min(outputBound, contentSize);
  return { frameLength: pos, outputBound, sizeCode, blocks, headerChecksum };
}

function checkSize(out: Buffer, bound: number): Buffer {
  if (out.length > bound) throw corruptCompression('lz4', `frame produced ${out.length} bytes, more than its blocks allow (${bound})`);
  return out;
}

/**
 * Decompresses a frame whose output bound is over `maxBytes` one block at a time (each block
 * re-framed on its own), so the output stops at `maxBytes` plus at most one block instead of
 * the loose bound. Real frames only come here when they are close to the limit anyway.
 */
function decompressBlockwise(input: Buffer, layout: FrameLayout, maxBytes: number): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, FLG_VERSION_1 | FLG_BLOCK_INDEPENDENT, layout.sizeCode << 4, 0]);
  header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff;
  const parts: Buffer[] = [];
  let total = 0;
  for (const [start, end] of layout.blocks) {
    const part = lz4Lib.decompressFrameSync(Buffer.concat([header, input.subarray(start, end), END_MARK]));
    total += part.length;
    if (total > maxBytes) throw tooLarge('lz4', `> ${maxBytes}`, maxBytes);
    parts.push(part);
  }
  return Buffer.concat(parts, total);
}

const END_MARK = Buffer.alloc(4);

/** Decompresses one LZ4 frame synchronously with explicit options (used by legacy messages). */
export function lz4DecompressSync(input: Buffer, maxBytes: number, options?: Lz4ReadOptions): Buffer {
  try {
    const layout = walkLz4Frame(input, options);
    if (layout.outputBound > maxBytes) return decompressBlockwise(input, layout, maxBytes);
    let frame = input.subarray(0, layout.frameLength);
    const hc = layout.headerChecksum;
    if (frame[hc.position] !== hc.expected) {
      // Only reachable with legacyHeaderChecksum: lz4-napi checks the byte too, so hand it a
      // copy carrying the correct one (the frame was already validated above).
      frame = Buffer.from(frame);
      frame[hc.position] = hc.expected;
    }
    return checkSize(lz4Lib.decompressFrameSync(frame), layout.outputBound);
  } catch (err) {
    throw wrapCodecError('lz4', err);
  }
}

/** The lz4 codec (LZ4 frame, independent blocks). lz4-napi has no level option. */
export const lz4: Codec = {
  name: 'lz4',
  id: 3,
  compressSync(input) {
    return lz4Lib.compressFrameSync(input);
  },
  async compress(input) {
    if (input.length < THRESHOLDS.compress) return this.compressSync(input);
    return lz4Lib.compressFrame(input);
  },
  decompressSync(input, maxBytes) {
    return lz4DecompressSync(input, maxBytes);
  },
  async decompress(input, maxBytes) {
    if (input.length < THRESHOLDS.decompress) return this.decompressSync(input, maxBytes);
    const layout = walkLz4Frame(input);
    if (layout.outputBound > maxBytes) return this.decompressSync(input, maxBytes);
    try {
      return checkSize(await lz4Lib.decompressFrame(input.subarray(0, layout.frameLength)), layout.outputBound);
    } catch (err) {
      throw wrapCodecError('lz4', err);
    }
  },
};
