/**
 * gzip (codec id 1): an RFC 1952 stream over the records region. Kafka writes it with
 * java.util.zip.GZIPOutputStream and reads with GZIPInputStream, which accepts any valid gzip
 * stream (header flags, concatenated members); Node's zlib output and input match that.
 *
 * Levels 1..9, or -1 / undefined for zlib's default (6), as Kafka's compression.gzip.level.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { invalidArgument } from '../../errors.js';
import { ASYNC_THRESHOLDS, type Codec } from './codec.js';

const THRESHOLDS = ASYNC_THRESHOLDS.gzip;
import { tooLarge, wrapCodecError } from './errors.js';

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

function options(level: number | undefined): zlib.ZlibOptions {
  if (level === undefined || level === -1) return {};
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw invalidArgument(`gzip level must be 1..9 or -1, got ${level}`);
  }
  return { level };
}

/**
 * zlib's default 16 KiB chunkSize makes an async gunzip pay one thread-pool round trip per
 * 16 KiB of output (measured 1.6–11× slower than sync). A chunk near the expected output size
 * (record data gzips ~4×) makes it one or two trips, and the sync call faster too.
 */
function gunzipOptions(input: Buffer, maxBytes: number): zlib.ZlibOptions {
  const bound = Math.max(1, maxBytes);
  return { maxOutputLength: bound, chunkSize: Math.max(64, Math.min(bound, Math.max(64 * 1024, input.length * 4), 16 * 1024 * 1024)) };
}

function rethrow(err: unknown, maxBytes: number): never {
  if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', `> ${maxBytes}`, maxBytes);
  throw wrapCodecError('gzip', err);
}

/** The gzip codec. */
export const gzip: Codec = {
  name: 'gzip',
  id: 1,
  compressSync(input, level) {
    return zlib.gzipSync(input, options(level));
  },
  async compress(input, level) {
    if (input.length < THRESHOLDS.compress) return this.compressSync(input, level);
    return gzipAsync(input, options(level));
  },
  decompressSync(input, maxBytes) {
    try {
      return zlib.gunzipSync(input, gunzipOptions(input, maxBytes));
    } catch (err) {
      rethrow(err, maxBytes);
    }
  },
  async decompress(input, maxBytes) {
    if (input.length < THRESHOLDS.decompress) return this.decompressSync(input, maxBytes);
    try {
      return await gunzipAsync(input, gunzipOptions(input, maxBytes));
    } catch (err) {
      rethrow(err, maxBytes);
    }
  },
};
