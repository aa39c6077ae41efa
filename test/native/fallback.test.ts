/**
 * The fallback contract: with SEGLOG_NATIVE=0 seglog loads no addon and every path works in
 * JavaScript. Checked in child processes, because the addon is loaded once per process:
 *
 * - a plain Node process importing the public entry reports `native.loaded === false` and still
 *   computes CRCs and serves a slice over loopback through the read + write path;
 * - the CRC parity suite, the sendfile suite and the whole records suite run again under
 *   vitest with SEGLOG_NATIVE=0, so CI runs them both ways.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/index.js';
import { REPO } from '../helpers/paths.js';

/** The suites that must pass on the JavaScript paths too. */
const FALLBACK_SUITES = ['test/records', 'test/native/crc.test.ts', 'test/native/sendfile.test.ts'];

/** Runs a TypeScript snippet (ESM, top-level await) in a child Node with tsx and `env`. */
function runScript(source: string, env: Record<string, string | undefined>) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const PROBE = `
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native, crc32c, LogSlice } from './src/index.ts';
import { LogFile } from './src/segment/log-file.ts';
import { sendStats } from './src/native/index.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fallback-'));
const file = path.join(dir, '00000000000000000000.log');
const bytes = Buffer.alloc(1 << 20);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
fs.writeFileSync(file, bytes);
const log = LogFile.open(file);
const server = net.createServer();
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const received = new Promise((resolve) => server.once('connection', (s) => {
  const chunks = [];
  s.on('data', (c) => chunks.push(c));
  s.on('end', () => resolve(Buffer.concat(chunks)));
}));
const client = net.connect(server.address().port, '127.0.0.1');
await new Promise((r) => client.once('connect', r));
const sent = await new LogSlice(log, 3, bytes.length - 10, 0).sendTo(client);
client.end();
const got = await received;
server.close();
log.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  native,
  check: crc32c(Buffer.from('123456789')),
  large: crc32c(bytes, 21),
  sent,
  equal: got.equals(bytes.subarray(3, bytes.length - 7)),
  stats: sendStats,
}));
`;

interface ProbeResult {
  native: { loaded: boolean; crc32c: boolean; sendfile: boolean; error?: string };
  check: number;
  large: number;
  sent: number;
  equal: boolean;
  stats: { sendfileCalls: number; writableWaits: number; fallbackChunks: number };
}

function probe(env: Record<string, string | undefined>): ProbeResult {
  const run = runScript(PROBE, env);
  if (run.status !== 0) throw new Error(`probe exited with ${run.status}:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as ProbeResult;
}

describe('SEGLOG_NATIVE=0 forces the JavaScript paths', () => {
  it('a child process with SEGLOG_NATIVE=0 reports native.loaded false and still works', () => {
    const off = probe({ SEGLOG_NATIVE: '0' });
    expect(off.native).toEqual({ loaded: false, crc32c: false, sendfile: false, error: 'disabled by SEGLOG_NATIVE=0' });
    expect(off.check).toBe(0xe3069283);
    expect(off.sent).toBe((1 << 20) - 10);
    expect(off.equal).toBe(true);
    expect(off.stats.sendfileCalls).toBe(0);
    expect(off.stats.fallbackChunks).toBeGreaterThan(0);

    // The same probe without the switch uses the addon when it is built, with the same results.
    const on = probe({ SEGLOG_NATIVE: undefined });
    expect(on.native.loaded).toBe(native.loaded || process.env.SEGLOG_NATIVE === '0');
    expect(on.check).toBe(off.check);
    expect(on.large).toBe(off.large);
    expect(on.equal).toBe(true);
    if (on.native.sendfile) {
      expect(on.stats.sendfileCalls).toBeGreaterThan(0);
      expect(on.stats.fallbackChunks).toBe(0);
    }
  });

  // Already on the JavaScript paths (the whole suite run with SEGLOG_NATIVE=0): nothing to add.
  it.skipIf(process.env.SEGLOG_NATIVE === '0')(`the parity suites pass again with SEGLOG_NATIVE=0 (${FALLBACK_SUITES.join(', ')})`, () => {
    const vitest = path.join(REPO, 'node_modules/vitest/vitest.mjs');
    expect(fs.existsSync(vitest)).toBe(true);
    const run = spawnSync(process.execPath, [vitest, 'run', ...FALLBACK_SUITES], {
      cwd: REPO,
      env: { ...process.env, SEGLOG_NATIVE: '0', NO_COLOR: '1', FORCE_COLOR: '0' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    const summary = /Tests\s+(?:(\d+) failed \| )?(\d+) passed/.exec(output);
    if (run.status !== 0 || summary === null) throw new Error(`vitest with SEGLOG_NATIVE=0 failed (exit ${run.status}):\n${output.slice(-4000)}`);
    expect(summary[1]).toBeUndefined();
    expect(Number(summary[2])).toBeGreaterThan(100);
  }, 150_000);
});
