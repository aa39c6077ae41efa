/**
 * The addon loader: the only file that requires `native/build/Release/seglog_native.node`.
 *
 * The addon is optional at install time (`npm install` goes on if node-gyp cannot build it)
 * and at run time (`SEGLOG_NATIVE=0` forces the JavaScript paths). This module tries the load
 * once, at import, checks the addon against a known CRC before trusting it, and reports what
 * it found in {@link native}. It never throws: a failed load leaves `binding` null and the
 * reason in `native.error`.
 *
 * The `.node` file is found from the package root, two levels above this file: `src/native/`
 * under tsx or vitest and `dist/native/` when compiled both sit two levels down.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque pending wait from {@link NativeBinding.waitWritable}. */
export type WaitHandle = { readonly __brand: 'seglog.WaitHandle' };

/** The functions `native/binding.cc` exports (see the comment at its top). */
export interface NativeBinding {
  /** Continues a CRC-32C over `bytes[start, end)`; RangeError outside the buffer. */
  crc32c(crc: number, bytes: Uint8Array, start: number, end: number): number;
  /** The same through the portable table path, whatever the CPU offers. */
  crc32cSoftware(crc: number, bytes: Uint8Array, start: number, end: number): number;
  /** Which path `crc32c` uses: `sse4.2`, `armv8-crc` or `software`. */
  readonly crc32cImplementation: string;
  /** Does nothing: the cost of crossing into native code, for benchmarks. */
  noop(): void;
  /** Whether `sendfile` is implemented on this platform (Linux). */
  readonly sendfileSupported: boolean;
  /**
   * Sends up to `count` bytes of `inFd` at `position` to `outFd`; returns the bytes sent (0 at
   * the end of the file) or -1 when `outFd` would block. Throws an Error whose `code` is the
   * errno name for any other failure.
   */
  sendfile(outFd: number, inFd: number, position: number, count: number): number;
  /** Calls `callback` once when `fd` is writable (with an errno name if polling failed). */
  waitWritable(fd: number, callback: (error?: string) => void): WaitHandle;
  /** Ends a wait early; its callback is never called. */
  cancelWait(handle: WaitHandle): void;
}

/** Which of seglog's paths run native code in this process. */
export interface NativeStatus {
  /** Whether the addon was loaded. */
  readonly loaded: boolean;
  /** Whether `crc32c` uses the addon (hardware or its table path) for inputs above a few dozen bytes. */
  readonly crc32c: boolean;
  /** Whether `LogSlice.sendTo` uses sendfile(2); otherwise it reads and writes through a buffer. */
  readonly sendfile: boolean;
  /** The addon's CRC-32C path when loaded: `sse4.2`, `armv8-crc` or `software`. */
  readonly crc32cImplementation?: string;
  /** Why the addon is not loaded (missing build, `SEGLOG_NATIVE=0`, a failed self-check). */
  readonly error?: string;
}

/** Where node-gyp puts the addon, relative to the package root. */
const ADDON_RELATIVE_PATH = 'native/build/Release/seglog_native.node';

/** CRC-32C of the ASCII bytes "123456789": the standard check value. */
const CHECK_INPUT = '123456789';
const CHECK_VALUE = 0xe3069283;

function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

function load(): { binding: NativeBinding | null; status: NativeStatus } {
  const off = (error: string) => ({ binding: null, status: { loaded: false, crc32c: false, sendfile: false, error } });
  if (process.env.SEGLOG_NATIVE === '0') return off('disabled by SEGLOG_NATIVE=0');
  const file = path.join(packageRoot(), ADDON_RELATIVE_PATH);
  let binding: NativeBinding;
  try {
    binding = createRequire(import.meta.url)(file) as NativeBinding;
  } catch (err) {
    return off(`cannot load ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // A stale or foreign build must not checksum batches: check it on the standard vector first.
  const check = Buffer.from(CHECK_INPUT, 'latin1');
  try {
    if (binding.crc32c(0, check, 0, check.length) !== CHECK_VALUE || binding.crc32cSoftware(0, check, 0, check.length) !== CHECK_VALUE) {
      return off(`${file}: CRC-32C self-check failed`);
    }
  } catch (err) {
    return off(`${file}: CRC-32C self-check threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  const sendfile = binding.sendfileSupported === true && typeof binding.sendfile === 'function';
  return {
    binding,
    status: { loaded: true, crc32c: true, sendfile, crc32cImplementation: binding.crc32cImplementation },
  };
}

const loaded = load();

/** The loaded addon, or null when seglog runs on its JavaScript paths. */
export const binding: NativeBinding | null = loaded.binding;

/**
 * Which of seglog's paths run native code in this process: whether the optional C++ addon
 * (hardware CRC-32C, sendfile) was built at install and loaded, and if not, why. Decided once,
 * when seglog is imported; set `SEGLOG_NATIVE=0` in the environment to force the JavaScript
 * implementations. Every function works either way; only speed and CPU cost differ.
 *
 * @example
 * ```ts
 * import { native } from 'seglog';
 * if (!native.loaded) console.warn(`seglog runs without its addon: ${native.error}`);
 * ```
 */
export const native: NativeStatus = Object.freeze(loaded.status);

/**
 * The native `crc32c(crc, bytes, start, end)` continuation, or null. The records layer wraps
 * it (`src/records/crc32c.ts`) with its JavaScript implementation as the fallback.
 */
export const crc32cNative: NativeBinding['crc32c'] | null = binding === null ? null : binding.crc32c;
