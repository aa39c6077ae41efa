/**
 * Worker threads: the addon is context-aware and a worker that ends while one of its sends waits
 * for a full socket must not take the process down. Run in a child process, so a crash fails
 * this test instead of killing the test runner.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native/index.js';
import { REPO } from '../helpers/paths.js';

describe('worker threads', () => {
  it('workers that exit or are terminated with a writability wait pending leave the process healthy', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/native/fixtures/worker-exit.ts')], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`child exited with ${run.status} (signal ${run.signal}):\n${run.stdout}\n${run.stderr}`);
    expect(run.stdout).toContain(`done native.sendfile=${native.sendfile}`);
    const waits = [...run.stdout.matchAll(/worker waits=(\d+)/g)].map((m) => Number(m[1]));
    expect(waits).toHaveLength(4);
    // On the native path every worker was waiting on the full socket when it ended.
    if (native.sendfile) for (const w of waits) expect(w).toBeGreaterThan(0);
  });
});
