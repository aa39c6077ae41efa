/**
 * DirectoryLock: exclusive in this process and across processes (a child Node process holding
 * a raw flock on `.lock`), released by release() or by the holder's death.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, SeglogError } from '../../src/errors.js';
import { DirectoryLock, LOCK_FILE } from '../../src/log/lock.js';
import { REPO } from '../helpers/paths.js';

const fsExt = createRequire(path.join(REPO, 'package.json'))('fs-ext') as { flockSync(fd: number, flags: string): void };

let dir: string;
const held: DirectoryLock[] = [];
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-lock-'));
});
afterEach(() => {
  for (const l of held.splice(0)) l.release();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function acquire(d = dir): DirectoryLock {
  const l = DirectoryLock.acquire(d);
  held.push(l);
  return l;
}

function errorOf(fn: () => unknown): SeglogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return err as SeglogError;
  }
  throw new Error('expected a SeglogError');
}

/**
 * Starts a child Node process running an inline ESM script with `fsExt` (fs-ext, loaded with
 * createRequire from this repository) and `lockFile` in scope; resolves with its first line of
 * output.
 */
async function child(body: string): Promise<{ proc: ChildProcess; firstLine: string }> {
  const script = `
    import { createRequire } from 'node:module';
    import fs from 'node:fs';
    const fsExt = createRequire(${JSON.stringify(path.join(REPO, 'package.json'))})('fs-ext');
    const lockFile = ${JSON.stringify(path.join(dir, LOCK_FILE))};
    ${body}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    proc.once('exit', (code) => reject(new Error(`child exited with ${code} before printing`)));
  });
  return { proc, firstLine };
}

async function killAndWait(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

describe('in one process', () => {
  it('acquire creates .lock and holds it; release deletes it; release is idempotent', () => {
    const l = acquire();
    expect(l.held).toBe(true);
    expect(l.file).toBe(path.join(dir, LOCK_FILE));
    expect(fs.statSync(l.file).size).toBe(0);
    l.release();
    expect(l.held).toBe(false);
    expect(fs.existsSync(l.file)).toBe(false);
    l.release();
  });

  it('a second acquire of the same directory fails with LOCKED, also through another path', () => {
    acquire();
    const err = errorOf(() => acquire());
    expect(err.code).toBe(ErrorCode.LOCKED);
    expect(err.message).toBe(`${dir} is locked by another process or another open in this process`);
    const link = path.join(os.tmpdir(), `seglog-lock-link-${process.pid}`);
    fs.symlinkSync(dir, link);
    try {
      expect(errorOf(() => acquire(link)).code).toBe(ErrorCode.LOCKED);
      expect(errorOf(() => acquire(`${dir}/./`)).code).toBe(ErrorCode.LOCKED);
    } finally {
      fs.unlinkSync(link);
    }
  });

  it('flock itself conflicts between two fds of one process on this platform', () => {
    // The assumption lock.ts relies on (besides its in-process registry): flock locks belong to
    // the open file description, not the process.
    const file = path.join(dir, LOCK_FILE);
    const a = fs.openSync(file, 'a');
    const b = fs.openSync(file, 'a');
    try {
      fsExt.flockSync(a, 'exnb');
      expect(() => fsExt.flockSync(b, 'exnb')).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      fsExt.flockSync(a, 'un');
      fsExt.flockSync(b, 'exnb');
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
    }
  });

  it('without the in-process registry, the flock alone still refuses a second open', () => {
    const first = acquire();
    const registry = (globalThis as unknown as Record<symbol, Set<string>>)[Symbol.for('seglog.heldDirectoryLocks')];
    const saved = [...registry];
    registry.clear();
    try {
      const err = errorOf(() => acquire());
      expect(err.code).toBe(ErrorCode.LOCKED);
      expect((err.cause as { code?: string }).code).toBe('EAGAIN');
    } finally {
      for (const p of saved) registry.add(p);
    }
    expect(first.held).toBe(true);
  });

  it('can be acquired again after release, and a leftover .lock from a crash is no obstacle', () => {
    acquire().release();
    fs.writeFileSync(path.join(dir, LOCK_FILE), '');
    const l = acquire();
    expect(l.held).toBe(true);
  });

  it('different directories do not conflict', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-lock-other-'));
    try {
      acquire();
      acquire(other);
    } finally {
      for (const l of held.splice(0)) l.release();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('a missing directory is IO_ERROR ENOENT', () => {
    const err = errorOf(() => acquire(path.join(dir, 'missing')));
    expect(err.code).toBe(ErrorCode.IO_ERROR);
    expect(err.errno).toBe('ENOENT');
  });
});

describe('across processes', () => {
  it('LOCKED while a child holds the flock; acquirable once the child is killed', async () => {
    const { proc, firstLine } = await child(`
      const fd = fs.openSync(lockFile, 'a');
      fsExt.flockSync(fd, 'exnb');
      console.log('locked');
      setInterval(() => {}, 1000);`);
    expect(firstLine).toBe('locked');
    const err = errorOf(() => acquire());
    expect(err.code).toBe(ErrorCode.LOCKED);
    expect(err.file).toBe(path.join(dir, LOCK_FILE));
    await killAndWait(proc);
    // The kernel drops a dead process's flocks; the .lock file it left behind does not matter.
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    expect(acquire().held).toBe(true);
  });

  it('a child cannot flock while this process holds the DirectoryLock, and can after release', async () => {
    const l = acquire();
    const body = `
      const fd = fs.openSync(lockFile, 'a');
      try { fsExt.flockSync(fd, 'exnb'); console.log('acquired'); } catch (e) { console.log(e.code); }
      process.exit(0);`;
    expect((await child(body)).firstLine).toBe('EAGAIN');
    l.release();
    expect((await child(body)).firstLine).toBe('acquired');
  });
});
