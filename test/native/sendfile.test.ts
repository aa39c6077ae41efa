/**
 * Serving slices to sockets: `LogSlice.sendTo` (sendfile(2) when the addon is loaded) and the
 * read + write fallback, over real loopback TCP. Every case checks that the bytes received are
 * exactly the file range, including under back-pressure from a paused or slow reader, with
 * bytes already queued on the socket, to raw fds, and when the socket or the log closes
 * mid-send (a typed error, never a crash).
 *
 * fallback.test.ts runs this file again with SEGLOG_NATIVE=0, where `sendTo` itself falls back.
 */
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { LogSlice } from '../../src/log/slice.js';
import { native, sendFile, sendStats } from '../../src/native/index.js';
import { LogFile } from '../../src/segment/log-file.js';
import { isPending, loopbackPair, receive, type LoopbackPair } from './loopback.js';

/** More than loopback's socket buffers hold (a few MiB with autotuning), so sends must wait. */
const BACKPRESSURE_BYTES = 24 << 20;
const FILE_BYTES = BACKPRESSURE_BYTES + (3 << 20) + 12_344; // a multiple of 4, filled 4 bytes at a time

let dir: string;
let file: string;
let content: Buffer;
let logFile: LogFile;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-sendfile-'));
  file = path.join(dir, '00000000000000000000.log');
  content = Buffer.allocUnsafe(FILE_BYTES);
  // Position-dependent bytes, so a chunk sent twice or out of order cannot compare equal.
  for (let i = 0; i < FILE_BYTES; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i);
  fs.writeFileSync(file, content);
  logFile = LogFile.open(file);
});

afterAll(() => {
  logFile?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const pairs: LoopbackPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

async function pair(): Promise<LoopbackPair> {
  const p = await loopbackPair();
  pairs.push(p);
  return p;
}

/** What one mode sends with: the slice's own method, or the primitive forced onto the fallback. */
interface Mode {
  name: string;
  /** Whether this mode uses sendfile(2). */
  sendfile: boolean;
  send(target: net.Socket | number, range: Range): Promise<number>;
}

/** A byte range of a log file. */
interface Range {
  source: LogFile;
  position: number;
  size: number;
}

const modes: Mode[] = [
  {
    name: `slice.sendTo (${native.sendfile ? 'sendfile' : 'fallback: addon not loaded'})`,
    sendfile: native.sendfile,
    send: (t, r) => new LogSlice(r.source, r.position, r.size, 0).sendTo(t),
  },
  { name: 'read + write fallback', sendfile: false, send: (t, r) => sendFile(t, r.source, r.position, r.size, { forceFallback: true }) },
];

function slice(position: number, size: number, source: LogFile = logFile): Range {
  return { source, position, size };
}

async function rejection(promise: Promise<unknown>): Promise<SeglogError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return err as SeglogError;
  }
  throw new Error('expected the send to fail');
}

describe.each(modes)('$name', (mode) => {
  it('sends slices at odd offsets and sizes, queued in call order on one socket', async () => {
    const { client, server } = await pair();
    const ranges: [number, number][] = [
      [0, 1],
      [1, 7],
      [4095, 4097],
      [12_345, 65_537],
      [3, (1 << 20) + 3],
      [777, 3_000_001],
      [FILE_BYTES - 5, 5],
    ];
    const expected = Buffer.concat(ranges.map(([p, n]) => content.subarray(p, p + n)));
    const before = { ...sendStats };
    const received = receive(server, expected.length);
    // Not awaited one by one: the per-socket queue must keep them in order.
    const sent = await Promise.all(ranges.map(([p, n]) => mode.send(client, slice(p, n))));
    expect(sent).toEqual(ranges.map(([, n]) => n));
    expect((await received).equals(expected)).toBe(true);
    if (mode.sendfile) expect(sendStats.sendfileCalls).toBeGreaterThan(before.sendfileCalls);
    else expect(sendStats.fallbackChunks).toBeGreaterThan(before.fallbackChunks);
  });

  it('waits on a paused reader (partial writes, back-pressure) and finishes when it reads slowly', async () => {
    const { client, server } = await pair();
    const [p, n] = [13, BACKPRESSURE_BYTES];
    const waitsBefore = sendStats.writableWaits;
    const sending = mode.send(client, slice(p, n));
    await new Promise((r) => setTimeout(r, 150));
    expect(await isPending(sending)).toBe(true);
    if (mode.sendfile) expect(sendStats.writableWaits).toBeGreaterThan(waitsBefore);
    // Read the first part in small sips with pauses, then the rest as fast as possible.
    const data = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      let sips = 0;
      server.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        got += chunk.length;
        if (got >= n) resolve(Buffer.concat(chunks));
        else if (++sips < 40) {
          server.pause();
          setTimeout(() => server.resume(), 2);
        }
      });
      server.once('close', () => reject(new Error('closed')));
      server.resume();
    });
    expect(await sending).toBe(n);
    expect(data.length).toBe(n);
    expect(data.equals(content.subarray(p, p + n))).toBe(true);
  });

  it('keeps bytes the socket had already queued ahead of the slice', async () => {
    const { client, server } = await pair();
    // More than the kernel takes while the reader is paused, so part of it waits in the
    // socket's own write queue when the send starts.
    const header = Buffer.alloc(BACKPRESSURE_BYTES, 0xab);
    const [p, n] = [99, 5 << 20];
    client.write(header);
    expect(client.writableLength).toBeGreaterThan(0);
    const received = receive(server, header.length + n, { startAfter: new Promise((r) => setTimeout(r, 50)) });
    expect(await mode.send(client, slice(p, n))).toBe(n);
    const data = await received;
    expect(data.subarray(0, header.length).equals(header)).toBe(true);
    expect(data.subarray(header.length).equals(content.subarray(p, p + n))).toBe(true);
  });

  it('a corked socket keeps its corked bytes first (read + write path) and sends after uncork', async () => {
    const { client, server } = await pair();
    const header = Buffer.from('corked header');
    const [p, n] = [7, 600_001];
    client.cork();
    client.write(header);
    const received = receive(server, header.length + n);
    const sending = mode.send(client, slice(p, n));
    setTimeout(() => client.uncork(), 20);
    expect(await sending).toBe(n);
    const data = await received;
    expect(data.subarray(0, header.length).equals(header)).toBe(true);
    expect(data.subarray(header.length).equals(content.subarray(p, p + n))).toBe(true);
  });

  it('sends to a raw fd: a regular file', async () => {
    const out = path.join(dir, `out-${mode.sendfile ? 'native' : 'fallback'}.bin`);
    const fd = fs.openSync(out, 'w');
    try {
      expect(await mode.send(fd, slice(5, 3_000_003))).toBe(3_000_003);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(out).equals(content.subarray(5, 3_000_008))).toBe(true);
  });

  it('sends to a raw fd: a non-blocking socket fd with a paused reader (EAGAIN handling)', async () => {
    const { client, server } = await pair();
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const [p, n] = [1, 12 << 20];
    const received = receive(server, n, { startAfter: new Promise((r) => setTimeout(r, 100)) });
    expect(await mode.send(fd, slice(p, n))).toBe(n);
    expect((await received).equals(content.subarray(p, p + n))).toBe(true);
  });

  it('a slice past the end of the file sends what there is', async () => {
    const { client, server } = await pair();
    const received = receive(server, 100);
    expect(await mode.send(client, slice(FILE_BYTES - 100, 1000))).toBe(100);
    expect((await received).equals(content.subarray(FILE_BYTES - 100))).toBe(true);
  });

  it('a socket destroyed before the send: IO_ERROR EPIPE', async () => {
    const { client } = await pair();
    client.destroy();
    const err = await rejection(mode.send(client, slice(0, 1000)));
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(err.errno).toBe('EPIPE');
    expect(err.file).toBe(file);
  });

  it('the socket destroyed while the send waits on a full buffer: IO_ERROR, no crash', async () => {
    const { client } = await pair();
    const sending = mode.send(client, slice(0, BACKPRESSURE_BYTES));
    await new Promise((r) => setTimeout(r, 100));
    expect(await isPending(sending)).toBe(true);
    client.destroy();
    const err = await rejection(sending);
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(err.errno).toBe('EPIPE');
  });

  it('the peer resets the connection mid-send: IO_ERROR with the errno name, no crash', async () => {
    const { client, server } = await pair();
    const sending = mode.send(client, slice(0, BACKPRESSURE_BYTES));
    await new Promise((r) => setTimeout(r, 100));
    // Destroying with unread bytes makes the kernel answer with RST.
    server.destroy();
    const err = await rejection(sending);
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(['EPIPE', 'ECONNRESET']).toContain(err.errno);
  });

  it('the log closes mid-send: LOG_CLOSED, never bytes from a reused fd', async () => {
    const { client } = await pair();
    const own = LogFile.open(file);
    const sending = mode.send(client, slice(0, BACKPRESSURE_BYTES, own));
    await new Promise((r) => setTimeout(r, 100));
    expect(await isPending(sending)).toBe(true);
    own.close();
    // Make room, so the send goes on and asks the closed file for its descriptor.
    await new Promise((r) => setTimeout(r, 10));
    pairs[pairs.length - 1].server.resume();
    const err = await rejection(sending);
    expect(err.code).toBe(ErrorCode.LOG_CLOSED);
  });

  it('an empty slice sends nothing', async () => {
    const { client } = await pair();
    expect(await mode.send(client, slice(10, 0))).toBe(0);
    expect(await LogSlice.empty(0).sendTo(client)).toBe(0);
  });
});

describe('sendFile argument checks', () => {
  it('rejects negative or fractional positions and fds with INVALID_ARGUMENT', async () => {
    expect((await rejection(sendFile(1, logFile, -1, 10))).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((await rejection(sendFile(1, logFile, 0.5, 10))).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect((await rejection(sendFile(-3, logFile, 0, 10))).code).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});
