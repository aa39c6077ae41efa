/**
 * `sendFile`: hands a byte range of a file to a socket (or any fd) — Kafka's
 * `FileRecords.writeTo`, the zero-copy way a broker serves fetches from the page cache.
 *
 * Native path (Linux, addon loaded): sendfile(2) from the file to the socket's fd, in the
 * kernel. libuv owns the socket and made it non-blocking, so a full socket buffer shows up as a
 * short count or EAGAIN, never as a blocked event loop. How the wait on EAGAIN works, and why:
 *
 * - A zero-length `socket.write(…, cb)` does not wait for room in the socket buffer: its
 *   callback runs as soon as libuv's write queue is empty, which it already is. Looping on it
 *   spins.
 * - Falling back to `socket.write` of a chunk and waiting for 'drain' would be correct but
 *   copies through user space exactly when the reader is slow, and on a fast loopback reader
 *   that is most of the time.
 * - So the addon polls writability itself: `waitWritable` registers a dup() of the socket's fd
 *   with libuv (uv_poll_t, level-triggered epoll). libuv refuses a second watcher on the fd
 *   number it already watches; the dup is another number for the same socket, which epoll
 *   registers separately. The wait ends at the first writable event, the dup is closed, and
 *   sendfile goes on. If the socket closes meanwhile, its 'close' event cancels the wait (the
 *   dup would otherwise keep the connection open until the poll fired).
 *
 * Ordering with the socket's own writes: bytes queued by `socket.write` must reach the kernel
 * before the sendfile bytes, so the native path first waits until the socket's write queue is
 * empty (a zero-length write's callback runs after every earlier write completed — here that
 * is exactly the property needed). A corked socket or a TLS socket has no usable fd ordering,
 * so it takes the fallback path, which goes through `socket.write` and keeps its order. Calls
 * on one socket are queued behind each other; do not `socket.write` while a send is pending.
 *
 * Fallback path (no addon, SEGLOG_NATIVE=0, not Linux, TLS, corked): read a chunk into a
 * pooled 256 KiB buffer and `socket.write` it, waiting for the write's callback before reusing
 * the buffer (so at most one chunk is queued: back-pressure without 'drain' bookkeeping).
 *
 * A raw fd target: sendfile (or pread + write) in a loop until done; on EAGAIN the native path
 * polls the fd as above and the fallback retries after a short backoff. A raw fd should be
 * non-blocking or a regular file, or the event loop blocks while the target is full.
 *
 * The input fd is asked of the source before every call and never kept across an await: if
 * the log closes meanwhile, `descriptor()` throws LOG_CLOSED instead of the send reading from
 * a reused fd number. The result is the number of bytes sent: `length`, or fewer if the file
 * ends first (it was truncated under the reader).
 */
import fs from 'node:fs';
import type net from 'node:net';
import { setImmediate as turnLoop, setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SeglogError } from '../errors.js';
import { binding, type NativeBinding, type WaitHandle } from './addon.js';

/** Where a send reads from: an fd, or an owner asked for its fd before each call (a LogFile). */
export type SendSource = number | { descriptor(): number; readonly file?: string };

/**
 * Bytes asked of one sendfile call. A call to a socket stops at the socket buffer's free space
 * anyway (a few MiB at most on loopback); to a regular file it copies all of it, so the cap
 * bounds how long one call holds the event loop (~1 ms per 8 MiB from the page cache).
 */
const SENDFILE_CALL_BYTES = 8 << 20;

/**
 * Bytes sent without a wait before the loop yields with setImmediate, so one send to a fast
 * reader does not starve other connections. 32 MiB is ~5–10 ms of loopback sendfile here.
 */
const YIELD_EVERY_BYTES = 32 << 20;

/**
 * Fallback chunk: large enough that the per-chunk read + write overhead (~10 µs) is small
 * against the copy (~40 µs at 6 GB/s), small enough to stay in L2 between read and write.
 */
export const FALLBACK_CHUNK_BYTES = 256 * 1024;

/** Chunk buffers kept for reuse: 4 × 256 KiB = 1 MiB at most held while idle. */
const POOL_MAX_BUFFERS = 4;

/** Backoff bounds for a raw non-blocking fd that returns EAGAIN on the fallback path, ms. */
const FALLBACK_BACKOFF_MIN_MS = 1;
const FALLBACK_BACKOFF_MAX_MS = 50;

/** How a send is carried out: native sendfile or the read + write fallback. */
export interface SendFileOptions {
  /** Use the read + write path even when sendfile is available (tests, benchmarks). */
  forceFallback?: boolean;
}

/**
 * Counters of what sends did in this process, for tests and benchmarks (which path ran, how
 * often back-pressure made a send wait). Plain increments: they cost nothing measurable.
 */
export const sendStats = {
  /** sendfile(2) calls made. */
  sendfileCalls: 0,
  /** Times sendfile found the target full and waited for it to become writable. */
  writableWaits: 0,
  /** Chunks read and written by the fallback path. */
  fallbackChunks: 0,
};

const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafe(FALLBACK_CHUNK_BYTES);
}

function returnBuffer(buf: Buffer): void {
  if (pool.length < POOL_MAX_BUFFERS) pool.push(buf);
}

/** Sends queued per socket, so two sends to one socket never interleave their bytes. */
const queues = new WeakMap<net.Socket, Promise<unknown>>();

/**
 * Sends `length` bytes of the source file starting at `position` to `target` (a connected
 * `net.Socket` or a raw fd) and resolves with the bytes sent — `length`, or fewer if the file
 * ends first. Uses sendfile(2) when the addon is loaded (see {@link native}), else reads and
 * writes through a pooled buffer. Rejects with `SeglogError` IO_ERROR (errno name in `errno`)
 * when the socket is closed or the write fails, and LOG_CLOSED if the source closes.
 *
 * Concurrency: sends to one socket run one after the other in call order; the caller must not
 * `socket.write` until the returned promise settles.
 */
export function sendFile(target: net.Socket | number, source: SendSource, position: number, length: number, options: SendFileOptions = {}): Promise<number> {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
    return Promise.reject(new SeglogError(ErrorCode.INVALID_ARGUMENT, `sendFile: position ${position} and length ${length} must be non-negative integers`));
  }
  const native = options.forceFallback === true || binding === null || !binding.sendfileSupported ? null : binding;
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0) return Promise.reject(new SeglogError(ErrorCode.INVALID_ARGUMENT, `sendFile: ${target} is not a file descriptor`));
    return native === null ? copyToFd(target, source, position, length) : sendfileToFd(native, target, source, position, length);
  }
  const previous = queues.get(target) ?? Promise.resolve();
  const run = previous.then(
    () => sendToSocket(native, target, source, position, length),
    () => sendToSocket(native, target, source, position, length),
  );
  const tail = run.catch(() => undefined);
  queues.set(target, tail);
  void tail.then(() => {
    if (queues.get(target) === tail) queues.delete(target);
  });
  return run;
}

function fdOf(source: SendSource): number {
  return typeof source === 'number' ? source : source.descriptor();
}

function fileOf(source: SendSource): string | undefined {
  return typeof source === 'number' ? undefined : source.file;
}

/** IO_ERROR for a failed send: the errno name from the syscall, or EPIPE for a closed stream. */
function sendError(err: unknown, source: SendSource, what: string): SeglogError {
  if (err instanceof SeglogError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  // Node reports writes on a destroyed or ended stream with ERR_STREAM_* codes: for a caller
  // they are a closed pipe.
  const errno = typeof code !== 'string' ? undefined : code.startsWith('ERR_STREAM_') ? 'EPIPE' : code;
  const file = fileOf(source);
  const msg = err instanceof Error ? err.message : String(err);
  return new SeglogError(ErrorCode.IO_ERROR, `${what}${file === undefined ? '' : ` from ${file}`}: ${msg}`, { file, errno, cause: err });
}

function closedError(source: SendSource): SeglogError {
  const file = fileOf(source);
  return new SeglogError(ErrorCode.IO_ERROR, `send${file === undefined ? '' : ` from ${file}`}: the socket is closed`, { file, errno: 'EPIPE' });
}

/** The socket's OS fd when the native path may write to it directly, else undefined. */
function socketFd(socket: net.Socket): number | undefined {
  if ((socket as { encrypted?: boolean }).encrypted === true) return undefined; // TLS: bytes must go through the TLS layer
  if (socket.writableCorked > 0) return undefined; // corked writes must stay ahead of ours
  return liveFd(socket);
}

/** The fd of the socket's open handle (Linux `_handle.fd`); undefined once it is closed. */
function liveFd(socket: net.Socket): number | undefined {
  if (socket.destroyed) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** Waits until the socket is connected and every byte it queued has reached the kernel. */
async function settle(socket: net.Socket, source: SendSource): Promise<void> {
  if (socket.connecting) {
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        socket.off('connect', onConnect);
        reject(closedError(source));
      };
      socket.once('connect', onConnect);
      socket.once('close', onClose);
    });
  }
  if (socket.destroyed || !socket.writable) throw closedError(source);
  while (socket.writableLength > 0 && socket.writableCorked === 0) {
    await writeChunk(socket, EMPTY, source);
  }
}

const EMPTY = Buffer.alloc(0);

/** `socket.write(chunk)`, resolved when the chunk has been handed to the kernel. */
function writeChunk(socket: net.Socket, chunk: Buffer, source: SendSource): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(closedError(source));
      return;
    }
    socket.write(chunk, (err) => (err ? reject(sendError(err, source, 'write')) : resolve()));
  });
}

async function sendToSocket(native: NativeBinding | null, socket: net.Socket, source: SendSource, position: number, length: number): Promise<number> {
  if (length === 0) return 0;
  await settle(socket, source);
  if (native === null || socketFd(socket) === undefined) return copyToSocket(socket, source, position, length);
  const pressure = new BackPressure();
  let sent = 0;
  let sinceYield = 0;
  while (sent < length) {
    // Re-read the fd every call: a destroyed socket's fd number may already belong to
    // something else, and sending to it would write file bytes into a stranger's file.
    const fd = liveFd(socket);
    if (fd === undefined) throw closedError(source);
    const n = sendfileOnce(native, fd, source, position + sent, length - sent, 'sendfile to socket');
    if (n < 0) {
      await pressure.wait(native, fd, source, socket);
      sinceYield = 0;
      continue;
    }
    pressure.reset();
    if (n === 0) break; // the file ends before the range does
    sent += n;
    sinceYield += n;
    refreshTimeout(socket);
    if (sinceYield >= YIELD_EVERY_BYTES && sent < length) {
      sinceYield = 0;
      await turnLoop();
    }
  }
  return sent;
}

function sendfileOnce(native: NativeBinding, outFd: number, source: SendSource, position: number, remaining: number, what: string): number {
  sendStats.sendfileCalls++;
  try {
    return native.sendfile(outFd, fdOf(source), position, Math.min(remaining, SENDFILE_CALL_BYTES));
  } catch (err) {
    throw sendError(err, source, what);
  }
}

/** Bytes sent by sendfile bypass the socket, so its idle timer (setTimeout) is refreshed here. */
function refreshTimeout(socket: net.Socket): void {
  const refresh = (socket as unknown as { _unrefTimer?: () => void })._unrefTimer;
  if (typeof refresh === 'function') refresh.call(socket);
}

/**
 * Resolves when `fd` can take more bytes, or has an error pending; rejects if the socket closes
 * first. libuv reports a pending socket error (POLLERR, e.g. after a reset) as EBADF, which
 * names nothing useful: the wait resolves with that name and the caller's next sendfile reports
 * the real errno (ECONNRESET, EPIPE). Only if that sendfile finds the fd full again does the
 * caller fail with the poll's error (see {@link BackPressure}), so a broken fd cannot spin.
 */
function waitWritable(native: NativeBinding, fd: number, source: SendSource, socket?: net.Socket): Promise<string | undefined> {
  sendStats.writableWaits++;
  return new Promise((resolve, reject) => {
    let handle: WaitHandle | undefined;
    const onClose = () => {
      if (handle !== undefined) native.cancelWait(handle);
      reject(closedError(source));
    };
    try {
      handle = native.waitWritable(fd, (error) => {
        socket?.off('close', onClose);
        resolve(error);
      });
    } catch (err) {
      reject(sendError(err, source, 'waiting for the socket'));
      return;
    }
    socket?.once('close', onClose);
  });
}

/** One send's waits for writability: fails if a poll error is followed by a full fd again. */
class BackPressure {
  private pollError: string | undefined;

  async wait(native: NativeBinding, fd: number, source: SendSource, socket?: net.Socket): Promise<void> {
    if (this.pollError !== undefined) {
      const err = Object.assign(new Error(`poll reported ${this.pollError} and the fd is still full`), { code: this.pollError });
      throw sendError(err, source, 'waiting for the socket');
    }
    this.pollError = await waitWritable(native, fd, source, socket);
  }

  /** Bytes went through: earlier poll errors are moot. */
  reset(): void {
    this.pollError = undefined;
  }
}

async function copyToSocket(socket: net.Socket, source: SendSource, position: number, length: number): Promise<number> {
  const buf = takeBuffer();
  let sent = 0;
  while (sent < length) {
    const n = readChunk(source, buf, position + sent, Math.min(buf.length, length - sent));
    if (n === 0) break;
    sendStats.fallbackChunks++;
    // The write keeps a reference to `buf` until its callback: wait for it before refilling.
    // After a failed write the buffer is not pooled again, in case libuv still holds it.
    await writeChunk(socket, buf.subarray(0, n), source);
    sent += n;
  }
  returnBuffer(buf);
  return sent;
}

/**
 * One positional read. Synchronous: from the page cache it costs ~40 µs per 256 KiB, far less
 * than a thread-pool round trip, and LogFile reads the same way.
 */
function readChunk(source: SendSource, buf: Buffer, position: number, length: number): number {
  try {
    return fs.readSync(fdOf(source), buf, 0, length, position);
  } catch (err) {
    throw sendError(err, source, 'read');
  }
}

async function sendfileToFd(native: NativeBinding, outFd: number, source: SendSource, position: number, length: number): Promise<number> {
  const pressure = new BackPressure();
  let sent = 0;
  let sinceYield = 0;
  while (sent < length) {
    const n = sendfileOnce(native, outFd, source, position + sent, length - sent, `sendfile to fd ${outFd}`);
    if (n < 0) {
      await pressure.wait(native, outFd, source);
      continue;
    }
    pressure.reset();
    if (n === 0) break;
    sent += n;
    sinceYield += n;
    if (sinceYield >= YIELD_EVERY_BYTES && sent < length) {
      sinceYield = 0;
      await turnLoop();
    }
  }
  return sent;
}

async function copyToFd(outFd: number, source: SendSource, position: number, length: number): Promise<number> {
  const buf = takeBuffer();
  let sent = 0;
  let backoffMs = FALLBACK_BACKOFF_MIN_MS;
  try {
    while (sent < length) {
      const n = readChunk(source, buf, position + sent, Math.min(buf.length, length - sent));
      if (n === 0) break;
      sendStats.fallbackChunks++;
      let done = 0;
      while (done < n) {
        try {
          done += fs.writeSync(outFd, buf, done, n - done);
          backoffMs = FALLBACK_BACKOFF_MIN_MS;
        } catch (err) {
          // No poll without the addon: a full non-blocking fd is retried after a backoff.
          if ((err as { code?: unknown }).code !== 'EAGAIN') throw sendError(err, source, `write to fd ${outFd}`);
          await sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, FALLBACK_BACKOFF_MAX_MS);
        }
      }
      sent += n;
    }
  } finally {
    returnBuffer(buf);
  }
  return sent;
}
