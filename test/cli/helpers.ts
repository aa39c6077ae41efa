/**
 * Runs the `seglog` command as a child process, the way a user does: `node --import tsx
 * src/cli/main.ts …` from the repository root (no build needed), with stdin, exit code, stdout
 * and stderr. Shared by the end-to-end CLI tests.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/paths.js';

/** What one run of the command gave. */
export interface CliRun {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs `seglog args…`, feeding `input` on stdin (closed at once when absent). */
export function seglog(args: readonly string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), ...args], {
      cwd: REPO,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a command that exits before reading everything
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh temporary directory for one test file. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `seglog-cli-${prefix}-`));
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

/** Every line parsed as JSON. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return lines(text).map((l) => JSON.parse(l) as T);
}

/** Path → content of every file under `dir`, for "nothing was changed" checks. */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), `${fs.statSync(p).mtimeMs}:${fs.readFileSync(p).toString('base64')}`);
    }
  };
  walk(dir);
  return out;
}
