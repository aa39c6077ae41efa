/**
 * snappy (codec id 2) in the xerial snappy-java stream format that Kafka writes:
 *
 * | bytes | field                                           |
 * |------:|-------------------------------------------------|
 * |     8 | magic `82 53 4E 41 50 50 59 00`                 |
 * |     4 | version (int32 BE) = 1                          |
 * |     4 | compatible version (int32 BE) = 1               |
 * |   4+n | chunks: int32 BE length, then a raw snappy block |
 *
 * The writer compresses at most 32 KiB of input per chunk, as snappy-java does. The reader
 * accepts what Kafka's SnappyInputStream accepts: xerial framing (with a repeated header
 * treated as a concatenated stream), or, when the magic is absent, the whole input as one raw
 * snappy block. Google's framing format is not Kafka's and is not accepted.
 *
 * Every raw block starts with its uncompressed length as an unsigned varint; the reader sums
 * those against `maxBytes` before calling the decompressor, so nothing is allocated past the
 * bound.
 */
import snappyLib from 'snappy';
import { ASYNC_THRESHOLDS, type Codec } from './codec.js';

const THRESHOLDS = ASYNC_THRESHOLDS.snappy;
import { corruptCompression, tooLarge, wrapCodecError } from './errors.js';

const MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const HEADER_SIZE = MAGIC.length + 4 + 4;
/** snappy-java's DEFAULT_BLOCK_SIZE: input bytes per chunk. */
const CHUNK_INPUT_BYTES = 32 * 1024;

function isMagicAt(buf: Buffer, pos: number): boolean {
  return buf.length - pos >= MAGIC.length && buf.compare(MAGIC, 0, MAGIC.length, pos, pos + MAGIC.length) === 0;
}

/** The uncompressed length a raw snappy block declares (its leading unsigned varint32). */
function rawUncompressedLength(block: Buffer): number {
  let result = 0;
  for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
    if (i >= block.length) throw corruptCompression('snappy', 'truncated block length');
    const b = block[i];
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
  }
  throw corruptCompression('snappy', 'block length varint is longer than 5 bytes');
}

/** Splits a snappy stream into raw blocks, checking declared sizes against the bound. */
function rawBlocks(input: Buffer, maxBytes: number): { blocks: Buffer[]; total: number } {
  if (!isMagicAt(input, 0)) {
    const total = rawUncompressedLength(input);
    if (total > maxBytes) throw tooLarge('snappy', total, maxBytes);
    return { blocks: [input], total };
  }
  if (input.length < HEADER_SIZE) throw corruptCompression('snappy', 'truncated xerial header');
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = HEADER_SIZE;
  while (pos < input.length) {
    if (isMagicAt(input, pos)) {
      // A concatenated stream: skip its header and go on, as SnappyInputStream does.
      if (input.length - pos < HEADER_SIZE) throw corruptCompression('snappy', 'truncated xerial header');
      pos += HEADER_SIZE;
      continue;
    }
    if (input.length - pos < 4) throw corruptCompression('snappy', `truncated chunk length at ${pos}`);
    const chunkLength = input.readInt32BE(pos);
    pos += 4;
    if (chunkLength < 0 || chunkLength > input.length - pos) {
      throw corruptCompression('snappy', `chunk length ${chunkLength} at ${pos - 4} exceeds the ${input.length - pos} bytes left`);
    }
    const block = input.subarray(pos, pos + chunkLength);
    pos += chunkLength;
    total += rawUncompressedLength(block);
    if (total > maxBytes) throw tooLarge('snappy', `≥ ${total}`, maxBytes);
    blocks.push(block);
  }
  return { blocks, total };
}

function joinBlocks(parts: Buffer[], total: number): Buffer {
  const out = parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  if (out.length !== total) throw corruptCompression('snappy', `blocks produced ${out.length} bytes, declared ${total}`);
  return out;
}

/** Frames already-compressed raw chunks in the xerial stream format. */
function frame(chunks: Buffer[]): Buffer {
  let size = HEADER_SIZE;
  for (const c of chunks) size += 4 + c.length;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  out.writeInt32BE(1, 8);
  out.writeInt32BE(1, 12);
  let pos = HEADER_SIZE;
  for (const c of chunks) {
    out.writeInt32BE(c.length, pos);
    c.copy(out, pos + 4);
    pos += 4 + c.length;
  }
  return out;
}

function inputChunks(input: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < input.length; pos += CHUNK_INPUT_BYTES) {
    chunks.push(input.subarray(pos, Math.min(input.length, pos + CHUNK_INPUT_BYTES)));
  }
  return chunks;
}

/** The snappy codec (xerial framing). */
export const snappy: Codec = {
  name: 'snappy',
  id: 2,
  compressSync(input) {
    return frame(inputChunks(input).map((c) => snappyLib.compressSync(c)));
  },
  async compress(input) {
    if (input.length < THRESHOLDS.compress) return this.compressSync(input);
    return frame(await Promise.all(inputChunks(input).map((c) => snappyLib.compress(c))));
  },
  decompressSync(input, maxBytes) {
    const { blocks, total } = rawBlocks(input, maxBytes);
    try {
      return joinBlocks(
        blocks.map((b) => snappyLib.uncompressSync(b, { asBuffer: true }) as Buffer),
        total,
      );
    } catch (err) {
      throw wrapCodecError('snappy', err);
    }
  },
  async decompress(input, maxBytes) {
    if (input.length < THRESHOLDS.decompress) return this.decompressSync(input, maxBytes);
    const { blocks, total } = rawBlocks(input, maxBytes);
    try {
      const parts = await Promise.all(blocks.map((b) => snappyLib.uncompress(b, { asBuffer: true }) as Promise<Buffer>));
      return joinBlocks(parts, total);
    } catch (err) {
      throw wrapCodecError('snappy', err);
    }
  },
};
