/**
 * Native addon: serving a log file over loopback TCP with sendfile(2) (`LogSlice.sendTo` on the
 * native path) against the read + write fallback (pooled 256 KiB buffer, `socket.write`), in the
 * same run.
 *
 * Setup: a segment-sized file of seeded bytes (1 GiB by default, 64 MiB in quick mode; it is
 * read once first, so every run serves it from the page cache, as a broker serves recent data).
 * A child process is the consumer: it accepts a connection, reads and discards `fileBytes`,
 * then answers one byte. The sender sends the file as consecutive slices of `sliceBytes` (1 MiB,
 * Kafka's default max.partition.fetch.bytes, and the whole file as one slice), awaiting each
 * `sendTo` like a broker answering fetches one after the other, and stops the clock at the
 * consumer's answer. The consumer lives in another process so `process.cpuUsage()` of this one
 * counts the sending side only.
 *
 * Runs alternate between the modes (`runs` each), so a change in machine load hits both.
 * Figures per mode, medians over runs: MB/s (10^6 bytes per second, end to end), sender CPU
 * ms per run (user + system, and each; from `process.cpuUsage()`), sender CPU seconds per GB
 * sent, and `×read+write` = the
 * row's CPU per GB / the fallback's CPU per GB (lower is cheaper). `loop busy µs` is the main
 * thread's busy time per run from event-loop utilisation; `sink CPU ms` is the consumer process's
 * CPU per run. On loopback the kernel's receive processing (softirq) mostly runs in the sender's
 * system time, and the copy out of the socket in the consumer's.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LogSlice } from '../../src/log/slice.js';
import { native, sendFile, sendStats } from '../../src/native/index.js';
import { LogFile } from '../../src/segment/log-file.js';
import { median, sizeLabel, type BenchRow, type BenchRunOptions, type TimingStats } from '../lib/harness.js';

/** The parameter matrix of this suite. */
export interface SendfileMatrix {
  /** Size of the served file in bytes (default mode; quick mode uses `quickFileBytes`). */
  fileBytes: number;
  /** File size in quick mode. */
  quickFileBytes: number;
  /** Bytes per `sendTo` call; 0 means the whole file as one slice. */
  sliceBytes: number[];
  /** Timed runs per mode and slice size (quick mode: 2). */
  runs: number;
}

/** The declared matrix. */
export const matrix: SendfileMatrix = { fileBytes: 1 << 30, quickFileBytes: 64 << 20, sliceBytes: [1 << 20, 0], runs: 5 };

const SUITE = 'native/sendfile';

/**
 * The consumer: reads `total` bytes per connection, discards them, and answers with the CPU time
 * it spent (a JSON line), so the receiving side's cost is reported too.
 */
const SINK = `
const net = require('node:net');
const total = Number(process.argv[1]);
const server = net.createServer((s) => {
  let got = 0;
  const cpu0 = process.cpuUsage();
  s.on('data', (c) => {
    got += c.length;
    if (got === total) s.write(JSON.stringify(process.cpuUsage(cpu0)) + '\\n');
    else if (got > total) { console.error('sink: got ' + got + ' of ' + total); process.exit(1); }
  });
  s.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

interface Sink {
  port: number;
  child: ChildProcessWithoutNullStreams;
}

async function startSink(total: number): Promise<Sink> {
  const child = spawn(process.execPath, ['-e', SINK, String(total)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return { port, child };
}

/** Writes the file in 8 MiB chunks of seeded bytes (not compressible, not zero pages). */
function writeFile(file: string, bytes: number): void {
  const chunk = Buffer.allocUnsafe(8 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
  const fd = fs.openSync(file, 'w');
  try {
    for (let at = 0; at < bytes; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
  } finally {
    fs.closeSync(fd);
  }
}

interface RunResult {
  ms: number;
  userS: number;
  systemS: number;
  busyMs: number;
  /** The consumer's CPU seconds (user + system) for the run. */
  sinkS: number;
}

type Mode = 'sendfile' | 'read+write';

/** One timed transfer of the whole file to the sink. */
async function transfer(mode: Mode, log: LogFile, port: number, fileBytes: number, sliceBytes: number): Promise<RunResult> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const answered = new Promise<{ user: number; system: number }>((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      if (text.endsWith('\n')) resolve(JSON.parse(text) as { user: number; system: number });
    });
    socket.once('error', reject);
  });
  const step = sliceBytes === 0 ? fileBytes : sliceBytes;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let at = 0; at < fileBytes; at += step) {
    const size = Math.min(step, fileBytes - at);
    const sent = mode === 'sendfile' ? await new LogSlice(log, at, size, 0).sendTo(socket) : await sendFile(socket, log, at, size, { forceFallback: true });
    if (sent !== size) throw new Error(`${mode}: sent ${sent} of ${size}`);
  }
  const sinkCpu = await answered;
  const ms = performance.now() - t0;
  const busyMs = performance.eventLoopUtilization(elu0).active;
  const cpu = process.cpuUsage(cpu0);
  socket.destroy();
  return { ms, userS: cpu.user / 1e6, systemS: cpu.system / 1e6, busyMs, sinkS: (sinkCpu.user + sinkCpu.system) / 1e6 };
}

/** Timing statistics over whole runs (one call per sample). */
function runStats(results: readonly RunResult[]): TimingStats {
  const ns = results.map((r) => r.ms * 1e6).sort((a, b) => a - b);
  const mean = ns.reduce((a, b) => a + b, 0) / ns.length;
  const sd = Math.sqrt(ns.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ns.length - 1));
  const at = (q: number) => ns[Math.min(ns.length - 1, Math.floor(q * ns.length))];
  return {
    samples: ns.length,
    callsPerSample: 1,
    p50Ns: median(ns),
    p75Ns: at(0.75),
    p99Ns: ns[ns.length - 1],
    meanNs: mean,
    minNs: ns[0],
    rmePct: ns.length < 2 ? 0 : ((1.96 * sd) / Math.sqrt(ns.length) / mean) * 100,
    loopBusyNs: median(results.map((r) => r.busyMs * 1e6)),
  };
}

/** Runs the suite over the (possibly overridden) matrix and returns its rows. */
export async function run(options: BenchRunOptions<SendfileMatrix> = {}): Promise<BenchRow[]> {
  const m = { ...matrix, ...(options.matrix ?? {}) };
  const quick = options.quick === true;
  const fileBytes = quick ? m.quickFileBytes : m.fileBytes;
  const runs = quick ? Math.min(2, m.runs) : m.runs;
  const log = options.log ?? (() => {});
  const modes: Mode[] = native.sendfile ? ['read+write', 'sendfile'] : ['read+write'];
  if (!native.sendfile) log(`  ${SUITE}: sendfile not available (${native.error ?? 'not Linux'}): fallback rows only`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-bench-sendfile-'));
  const file = path.join(dir, '00000000000000000000.log');
  const rows: BenchRow[] = [];
  const sink = await startSink(fileBytes);
  try {
    log(`  ${SUITE}: writing ${sizeLabel(fileBytes)}`);
    writeFile(file, fileBytes);
    const logFile = LogFile.open(file);
    try {
      logFile.read(0, 1); // open the fd before timing
      for (const sliceBytes of m.sliceBytes) {
        const sliceLabel = sliceBytes === 0 ? 'one slice' : `${sizeLabel(sliceBytes)} slices`;
        const results = new Map<Mode, RunResult[]>(modes.map((mode) => [mode, []]));
        // One untimed warm-up run per mode: page cache, JIT, socket buffer autotuning.
        for (const mode of modes) await transfer(mode, logFile, sink.port, fileBytes, sliceBytes);
        const calls0 = { ...sendStats };
        for (let i = 0; i < runs; i++) {
          for (const mode of modes) {
            log(`  ${SUITE}: ${mode}, ${sliceLabel}, run ${i + 1}/${runs}`);
            results.get(mode)?.push(await transfer(mode, logFile, sink.port, fileBytes, sliceBytes));
          }
        }
        const waitsPerRun = (sendStats.writableWaits - calls0.writableWaits) / runs;
        const cpuPerGb = (r: RunResult[]) => median(r.map((x) => x.userS + x.systemS)) / (fileBytes / 1e9);
        const baseCpu = cpuPerGb(results.get('read+write') ?? []);
        for (const mode of modes) {
          const r = results.get(mode) ?? [];
          const stats = runStats(r);
          const cpuS = median(r.map((x) => x.userS + x.systemS));
          rows.push({
            suite: SUITE,
            section: `${sizeLabel(fileBytes)} over loopback, ${sliceLabel}`,
            name: `${mode} ${sliceLabel}`,
            params: { mode, fileBytes, sliceBytes },
            stats,
            metrics: {
              'MB/s': fileBytes / 1e6 / (stats.p50Ns / 1e9),
              'CPU ms': cpuS * 1e3,
              'user ms': median(r.map((x) => x.userS)) * 1e3,
              'sys ms': median(r.map((x) => x.systemS)) * 1e3,
              'CPU s/GB': cpuPerGb(r),
              // A tiny smoke-run file can round the baseline's CPU to 0: no ratio then.
              ...(baseCpu > 0 ? { '×read+write': cpuPerGb(r) / baseCpu } : {}),
              'loop busy ms': stats.loopBusyNs / 1e6,
              'sink CPU ms': median(r.map((x) => x.sinkS)) * 1e3,
              ...(mode === 'sendfile' ? { 'waits/run': waitsPerRun } : {}),
            },
            baseline: `read+write ${sliceLabel}`,
          });
        }
      }
    } finally {
      logFile.close();
    }
  } finally {
    sink.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
