/**
 * zstd (codec id 4): standard zstd frames (RFC 8878) over the records region. Kafka writes
 * one frame with zstd-jni's streaming encoder (no checksum, no content size) and reads any
 * standard frame, so frames with a content size written here are fine for Kafka.
 *
 * Library: zstd-napi (compiled from its vendored zstd at install; sync calls; honours the
 * level). @mongodb-js/zstd, the first candidate, only offers thread-pool calls that cost
 * 50–130 µs each and its installable version ignores the level; see the README's dependency
 * table for the numbers.
 *
 * Decompression is streamed into bounded output chunks, so a frame that claims or produces
 * more than `maxBytes` is stopped before it is allocated. The async variants run the same
 * streaming loop in steps of at most {@link STEP_BYTES} and yield to the event loop between
 * steps, so a large batch blocks the loop for about a millisecond at a time.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import zstdBinding from 'zstd-napi/binding.js';
import { invalidArgument } from '../../errors.js';
import { ASYNC_THRESHOLDS, type Codec } from './codec.js';

const THRESHOLDS = ASYNC_THRESHOLDS.zstd;
import { corruptCompression, tooLarge, wrapCodecError } from './errors.js';

// The binding is CommonJS whose exports Node cannot list statically: take the whole object.
const binding = zstdBinding as unknown as typeof ZstdBinding;

/** Kafka's default compression.zstd.level. */
const DEFAULT_LEVEL = 3;
/** Input (compress) or output (decompress) bytes per step between yields on the async paths. */
const STEP_BYTES = 256 * 1024;
/** Largest output chunk the streaming decoder allocates at once. */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/** Contexts for the sync paths; a stepped async call borrows its own, as others run between its steps. */
let sharedCctx: ZstdBinding.CCtx | undefined;
let sharedDctx: ZstdBinding.DCtx | undefined;
/**
 * Idle contexts for stepped calls: making one per call cost 15–18% at 256 KiB–1 MiB. Bounded,
 * so a burst of concurrent large batches does not keep its contexts (and their windows) forever.
 */
const idleCctx: ZstdBinding.CCtx[] = [];
const idleDctx: ZstdBinding.DCtx[] = [];
const MAX_IDLE_CONTEXTS = 4;

async function withContext<C, T>(idle: C[], make: () => C, use: (ctx: C) => Promise<T>): Promise<T> {
  const ctx = idle.pop() ?? make();
  try {
    return await use(ctx);
  } finally {
    if (idle.length < MAX_IDLE_CONTEXTS) idle.push(ctx);
  }
}

function checkLevel(level: number | undefined): number {
  if (level === undefined) return DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < -131072 || level > 22) {
    throw invalidArgument(`zstd level must be -131072..22, got ${level}`);
  }
  return level;
}

/**
 * Compression as a generator: each `yield` marks a point where the async path may return to
 * the event loop. Done in one step, the frame carries the content size.
 */
function* compressSteps(ctx: ZstdBinding.CCtx, input: Buffer, level: number, step: number): Generator<void, Buffer> {
  ctx.reset(binding.ResetDirective.sessionAndParameters);
  ctx.setParameter(binding.CParameter.compressionLevel, level);
  if (input.length <= step) {
    const out = Buffer.allocUnsafe(binding.compressBound(input.length));
    return out.subarray(0, ctx.compress2(out, input));
  }
  ctx.setPledgedSrcSize(input.length);
  const parts: Buffer[] = [];
  let total = 0;
  for (let pos = 0; pos < input.length; ) {
    const src = input.subarray(pos, Math.min(input.length, pos + step));
    const last = pos + src.length === input.length;
    let srcPos = 0;
    for (;;) {
      const dst = Buffer.allocUnsafe(binding.compressBound(src.length - srcPos) + 64);
      const [remaining, produced, consumed] = ctx.compressStream2(
        dst,
        src.subarray(srcPos),
        last ? binding.EndDirective.end : binding.EndDirective.continue,
      );
      srcPos += consumed;
      if (produced > 0) {
        parts.push(dst.subarray(0, produced));
        total += produced;
      }
      if (srcPos === src.length && (!last || remaining === 0)) break;
    }
    pos += src.length;
    if (!last) yield;
  }
  return Buffer.concat(parts, total);
}

/** Decompression as a generator, bounded by `maxBytes`; yields after each `step` of output. */
function* decompressSteps(ctx: ZstdBinding.DCtx, input: Buffer, maxBytes: number, step: number): Generator<void, Buffer> {
  ctx.reset(binding.ResetDirective.sessionOnly);
  const declared = input.length >= 4 ? binding.getFrameContentSize(input) : null;
  if (declared !== null && declared > maxBytes) throw tooLarge('zstd', declared, maxBytes);
  const parts: Buffer[] = [];
  let total = 0;
  let srcPos = 0;
  let lastReturn = 1;
  let sinceYield = 0;
  let chunk = Math.min(MAX_CHUNK_BYTES, Math.max(64 * 1024, declared ?? input.length * 4));
  for (;;) {
    const room = maxBytes - total;
    // With no room left, a 1-byte probe tells whether the frame has more to give.
    const dst = Buffer.allocUnsafe(room > 0 ? Math.min(chunk, room) : 1);
    const [ret, produced, consumed] = ctx.decompressStream(dst, input.subarray(srcPos));
    // A call that moves nothing only probes; its hint says nothing about the finished frame.
    if (produced === 0 && consumed === 0) break;
    srcPos += consumed;
    lastReturn = ret;
    if (produced > 0) {
      if (room <= 0) throw tooLarge('zstd', `> ${maxBytes}`, maxBytes);
      parts.push(dst.subarray(0, produced));
      total += produced;
      sinceYield += produced;
    }
    const outputFull = produced === dst.length;
    if (srcPos >= input.length && !outputFull) break;
    chunk = Math.min(MAX_CHUNK_BYTES, chunk * 2);
    if (sinceYield >= step) {
      sinceYield = 0;
      yield;
    }
  }
  if (lastReturn !== 0) throw corruptCompression('zstd', 'truncated frame');
  if (srcPos < input.length) throw corruptCompression('zstd', `${input.length - srcPos} bytes after the last frame`);
  if (parts.length === 1) return parts[0];
  return Buffer.concat(parts, total);
}

function runSync<T>(gen: Generator<void, T>): T {
  try {
    for (;;) {
      const r = gen.next();
      if (r.done) return r.value;
    }
  } catch (err) {
    throw wrapCodecError('zstd', err);
  }
}

async function runAsync<T>(gen: Generator<void, T>): Promise<T> {
  try {
    for (;;) {
      const r = gen.next();
      if (r.done) return r.value;
      await yieldToLoop();
    }
  } catch (err) {
    throw wrapCodecError('zstd', err);
  }
}

/** The zstd codec. */
export const zstd: Codec = {
  name: 'zstd',
  id: 4,
  compressSync(input, level) {
    sharedCctx ??= new binding.CCtx();
    return runSync(compressSteps(sharedCctx, input, checkLevel(level), Number.MAX_SAFE_INTEGER));
  },
  async compress(input, level) {
    if (input.length < THRESHOLDS.compress) return this.compressSync(input, level);
    const l = checkLevel(level);
    return withContext(idleCctx, () => new binding.CCtx(), (ctx) => runAsync(compressSteps(ctx, input, l, STEP_BYTES)));
  },
  decompressSync(input, maxBytes) {
    sharedDctx ??= new binding.DCtx();
    return runSync(decompressSteps(sharedDctx, input, maxBytes, Number.MAX_SAFE_INTEGER));
  },
  async decompress(input, maxBytes) {
    if (input.length < THRESHOLDS.decompress) return this.decompressSync(input, maxBytes);
    return withContext(idleDctx, () => new binding.DCtx(), (ctx) => runAsync(decompressSteps(ctx, input, maxBytes, STEP_BYTES)));
  },
};
