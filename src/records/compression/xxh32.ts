/**
 * xxHash32, from xxhash-wasm (the project's xxhash dependency). Instantiated once at module
 * load (top-level await) so callers get a synchronous function.
 */
import xxhash from 'xxhash-wasm';

const hasher = await xxhash();

/** xxHash32 of `bytes` with `seed` (default 0), as an unsigned 32-bit number. */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  return hasher.h32Raw(bytes, seed) >>> 0;
}
