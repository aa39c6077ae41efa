/**
 * The exclusive lock on a log directory: `<dir>/.lock`, as Kafka keeps one per log dir.
 *
 * On-disk: `.lock` is an empty file. It exists while the directory is open and is deleted at
 * release (Kafka deletes it at shutdown; a leftover one after a crash is harmless, the lock is
 * on the open file, not on the file's existence).
 *
 * Mechanism: `flock(LOCK_EX | LOCK_NB)` through fs-ext on an fd kept open until release.
 * Non-blocking because a blocking flock would park a libuv thread-pool thread (and a sync one
 * the whole process). flock locks belong to the open file description, so a second open of
 * the same directory fails both from another process and from this one (verified on Linux by
 * test/log/lock.test.ts). An in-process registry of held directories (keyed by real path, on a
 * global symbol so two installed copies of seglog share it) is checked as well, because where
 * flock is emulated with POSIX record locks (NFS on Linux) locks are per process and a second
 * open in the same process would otherwise succeed.
 *
 * Invariants: while a DirectoryLock is held, `<dir>/.lock` is the inode its fd has locked.
 * Acquire re-checks this after locking: a holder deletes `.lock` before unlocking, so a
 * process that opened the old inode just before that and then got its lock would hold a lock
 * nobody else can see; it notices the path now names another inode (or none) and retries.
 *
 * Caveat — Kafka compatibility: Kafka locks `.lock` with `FileChannel.tryLock()`, a POSIX
 * `fcntl` record lock on Linux, and on Linux flock and fcntl locks do not see each other. So
 * this lock keeps seglog processes apart, but does NOT stop a Kafka broker from opening a
 * directory seglog has open, or the reverse (format notes §3.6, §12: UNVERIFIED in practice).
 * fs-ext's async `fcntl(fd, 'setlk', F_WRLCK)` builds a whole-file `struct flock` and could add
 * a Java-visible lock; its `fcntlSync` passes an int instead of a struct and cannot. Even then
 * POSIX locks are per process and are dropped when any fd of that file in the process closes.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ErrorCode, SeglogError, ioError } from '../errors.js';

/** Name of the lock file in a log directory (Kafka's `LogManager.LockFileName`). */
export const LOCK_FILE = '.lock';

/** The part of fs-ext (CommonJS, no types package) this module uses. */
interface FsExt {
  /** flock(2); throws an Error with `code` 'EAGAIN' / 'EWOULDBLOCK' when LOCK_NB finds it held. */
  flockSync(fd: number, flags: 'ex' | 'exnb' | 'sh' | 'shnb' | 'un'): void;
}

let fsExt: FsExt | undefined;

/** Loads the fs-ext addon on first use, so importing seglog never fails on a broken addon build. */
function loadFsExt(): FsExt {
  if (fsExt === undefined) {
    try {
      fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;
    } catch (err) {
      throw new SeglogError(ErrorCode.IO_ERROR, `cannot load the fs-ext native addon needed to lock directories: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return fsExt;
}

const HELD_KEY = Symbol.for('seglog.heldDirectoryLocks');

/** Real paths of the directories this process holds, shared by every copy of seglog loaded. */
function heldDirectories(): Set<string> {
  const g = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  return (g[HELD_KEY] ??= new Set<string>());
}

/** How often acquire retries when `.lock` was replaced under it (only a racing release does that). */
const MAX_ACQUIRE_ATTEMPTS = 10;

function locked(dir: string, cause?: unknown): SeglogError {
  return new SeglogError(ErrorCode.LOCKED, `${dir} is locked by another process or another open in this process`, {
    file: path.join(dir, LOCK_FILE),
    cause,
  });
}

function isWouldBlock(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/** An exclusive lock on a log directory, held until {@link DirectoryLock.release}. */
export class DirectoryLock {
  /** The directory as given to {@link DirectoryLock.acquire}. */
  readonly dir: string;
  /** The lock file, `<dir>/.lock`. */
  readonly file: string;
  readonly #realDir: string;
  #fd: number | undefined;

  private constructor(dir: string, realDir: string, fd: number) {
    this.dir = dir;
    this.file = path.join(dir, LOCK_FILE);
    this.#realDir = realDir;
    this.#fd = fd;
  }

  /**
   * Opens (creating) `<dir>/.lock` and takes an exclusive, non-blocking flock on it.
   *
   * @param dir - an existing directory
   * @throws SeglogError LOCKED when another process or another open in this process holds it;
   *   IO_ERROR when the directory does not exist or the file system fails
   */
  static acquire(dir: string): DirectoryLock {
    let realDir: string;
    try {
      realDir = fs.realpathSync(dir);
    } catch (err) {
      throw ioError(err, dir);
    }
    const held = heldDirectories();
    if (held.has(realDir)) throw locked(dir);
    const flock = loadFsExt();
    const file = path.join(realDir, LOCK_FILE);
    for (let attempt = 0; attempt < MAX_ACQUIRE_ATTEMPTS; attempt++) {
      const fd = openLockFile(file);
      try {
        flock.flockSync(fd, 'exnb');
      } catch (err) {
        fs.closeSync(fd);
        if (isWouldBlock(err)) throw locked(dir, err);
        throw ioError(err, file);
      }
      let same: boolean;
      try {
        same = sameInode(fd, file);
      } catch (err) {
        fs.closeSync(fd);
        throw ioError(err, file);
      }
      if (same) {
        held.add(realDir);
        return new DirectoryLock(dir, realDir, fd);
      }
      // We locked an inode a releasing holder had already unlinked; closing drops that lock.
      fs.closeSync(fd);
    }
    throw locked(dir);
  }

  /** True until {@link release}. */
  get held(): boolean {
    return this.#fd !== undefined;
  }

  /**
   * Deletes `.lock`, then unlocks and closes it (delete first, so that a process that opened
   * the old file meanwhile sees it was replaced). Idempotent.
   *
   * @throws SeglogError IO_ERROR when the file system fails; the lock is released regardless
   */
  release(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    heldDirectories().delete(this.#realDir);
    let failure: unknown;
    try {
      fs.rmSync(path.join(this.#realDir, LOCK_FILE), { force: true });
    } catch (err) {
      failure = err;
    }
    try {
      loadFsExt().flockSync(fd, 'un');
    } catch (err) {
      failure ??= err;
    }
    // Closing alone releases a flock; the explicit unlock above just makes the order obvious.
    try {
      fs.closeSync(fd);
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw ioError(failure, this.file);
  }
}

function openLockFile(file: string): number {
  try {
    // 'a' creates without truncating: the file is empty anyway, but another holder's is not ours to touch.
    return fs.openSync(file, 'a', 0o644);
  } catch (err) {
    throw ioError(err, file);
  }
}

/** Whether `file` still names the inode `fd` is open on (false when it is gone). */
function sameInode(fd: number, file: string): boolean {
  const mine = fs.fstatSync(fd);
  const now = fs.statSync(file, { throwIfNoEntry: false });
  return now !== undefined && mine.ino === now.ino && mine.dev === now.dev;
}
