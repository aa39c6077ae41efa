/**
 * A child Node process running a TypeScript file through tsx, with its stdout lines collected
 * (shared by the manager's and the store's cross-process tests; not a test file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers/paths.js';

/** tsx's ESM loader, resolved from the repository (a dev dependency). */
const TSX = pathToFileURL(createRequire(path.join(REPO, 'package.json')).resolve('tsx')).href;

/** A running child and the lines it printed. */
export class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private waiters: (() => void)[] = [];

  /**
   * @param script - path of the .ts file to run
   * @param args - JSON-encoded as argv[2]
   */
  constructor(script: string, args: unknown) {
    this.proc = spawn(process.execPath, ['--import', TSX, script, JSON.stringify(args)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Resolves with the `count`-th line matching (1-based), or throws when the child exits first.
   * No time limit of its own: the test's timeout bounds it.
   */
  async waitFor(match: (line: string) => boolean, count = 1): Promise<string> {
    for (;;) {
      const hits = this.lines.filter(match);
      if (hits.length >= count) return hits[count - 1];
      if (!this.running) throw new Error(`child exited before line ${count} matched; stderr:\n${this.stderr}\nstdout:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** SIGKILLs the child (no cleanup runs in it) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.exited;
  }
}
