/**
 * The root checkpoint files of a data directory and its clean-shutdown marker, shared by every
 * log in it (Kafka's LogManager keeps them per log dir, §3.1):
 *
 * - `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`,
 *   `cleaner-offset-checkpoint`: Kafka's offset checkpoint text, one `<topic> <partition>
 *   <offset>` line per log (src/log/checkpoint.ts);
 * - `.kafka_cleanshutdown`: present only after a clean shutdown of the whole directory.
 *
 * Each log sees its own entries through a {@link LogCheckpoints} (what `Log.open` takes). A
 * write replaces the whole file atomically with every log's current entry, so the file on disk
 * always lists every log (Kafka's `checkpointLogRecoveryOffsets` does the same, on a timer).
 *
 * Invariants: the in-memory maps hold exactly what the last successful write of each file put
 * on disk, except for files marked dirty (a failed write, entries pruned at open, or writes
 * deferred during close), which the next write or {@link RootCheckpoints.flush} rewrites. A
 * write that changes nothing is skipped: the file already holds it durably. Writers never
 * interleave: writes are synchronous and JavaScript runs one at a time.
 *
 * The marker is consumed (deleted, directory fsynced) when the manager opens, before any log is
 * loaded, so a crash while loading counts as unclean; it is written after every log has closed
 * and the checkpoint files are durable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ioError } from '../errors.js';
import { fsyncDirectory, readOffsetCheckpoint, writeFileAtomicSync, writeOffsetCheckpoint } from '../log/checkpoint.js';
import {
  CLEANER_OFFSET_CHECKPOINT_FILE,
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  type CheckpointFileName,
  type LogCheckpoints,
} from '../log/log.js';

/** The three offset checkpoint files the manager keeps at the root. */
export const ROOT_CHECKPOINT_FILES: readonly CheckpointFileName[] = [RECOVERY_POINT_CHECKPOINT_FILE, LOG_START_OFFSET_CHECKPOINT_FILE, CLEANER_OFFSET_CHECKPOINT_FILE];

/** The marker's content: Kafka ≥ 3.7's JSON (readers only test its existence). */
const CLEAN_SHUTDOWN_CONTENT = JSON.stringify({ version: 0, brokerEpoch: -1 });

/** The root checkpoint files of one data directory. */
export class RootCheckpoints {
  /** The data directory. */
  readonly dir: string;
  /** Whether `.kafka_cleanshutdown` was present when the directory was opened. */
  readonly hadCleanShutdown: boolean;
  /** Files whose content on disk is unreadable, as found at open (their entries read as none). */
  readonly unreadable: CheckpointFileName[] = [];
  private readonly maps = new Map<CheckpointFileName, Map<string, number>>();
  private readonly dirty = new Set<CheckpointFileName>();
  private deferred = false;

  private constructor(dir: string, hadCleanShutdown: boolean) {
    this.dir = dir;
    this.hadCleanShutdown = hadCleanShutdown;
  }

  /**
   * Reads the three files and consumes the marker. An unreadable recovery-point or log-start
   * file counts as empty, as Kafka's LogManager does after a warning (recovery from 0 is slower
   * but correct); so does an unreadable cleaner checkpoint (the next round re-cleans).
   */
  static load(dir: string): RootCheckpoints {
    const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
    let clean: boolean;
    try {
      clean = fs.existsSync(marker);
      if (clean) {
        fs.unlinkSync(marker);
        fsyncDirectory(dir);
      }
    } catch (err) {
      throw ioError(err, marker);
    }
    const root = new RootCheckpoints(dir, clean);
    for (const file of ROOT_CHECKPOINT_FILES) {
      let map: Map<string, number>;
      try {
        map = readOffsetCheckpoint(path.join(dir, file));
      } catch {
        map = new Map();
        root.unreadable.push(file);
        root.dirty.add(file);
      }
      root.maps.set(file, map);
    }
    return root;
  }

  /** The entry of `key` (`<topic>-<partition>`) in `file`. */
  get(file: CheckpointFileName, key: string): number | undefined {
    return this.map(file).get(key);
  }

  /** Every key with an entry in any of the files. */
  keys(): Set<string> {
    const out = new Set<string>();
    for (const map of this.maps.values()) for (const k of map.keys()) out.add(k);
    return out;
  }

  /**
   * Sets (or with undefined removes) `key`'s entry in `file` and rewrites the file, durably,
   * unless nothing changed or writes are deferred.
   */
  set(file: CheckpointFileName, key: string, value: number | undefined): void {
    const map = this.map(file);
    if (map.get(key) === value && (value !== undefined || !map.has(key)) && !this.dirty.has(file)) return;
    if (value === undefined) map.delete(key);
    else map.set(key, value);
    this.dirty.add(file);
    if (!this.deferred) this.writeFile(file);
  }

  /** Drops the entries of `keys` from every file and rewrites the files that changed. */
  remove(keys: Iterable<string>): void {
    for (const key of keys) {
      for (const file of ROOT_CHECKPOINT_FILES) if (this.map(file).delete(key)) this.dirty.add(file);
    }
    if (!this.deferred) this.flush();
  }

  /** Keeps only the entries of `keys` (in memory: the files are rewritten by the next write). */
  retain(keys: ReadonlySet<string>): void {
    for (const file of ROOT_CHECKPOINT_FILES) {
      const map = this.map(file);
      for (const key of [...map.keys()]) {
        if (!keys.has(key)) {
          map.delete(key);
          this.dirty.add(file);
        }
      }
    }
  }

  /**
   * From now on writes only update memory; {@link flush} writes them. Used while closing every
   * log, so each file is written once instead of once per log: the marker comes after the
   * flush, so a crash before it is an unclean shutdown and the older (lower) offsets on disk are
   * what recovery starts from — safe.
   */
  defer(): void {
    this.deferred = true;
  }

  /** Writes every file with pending changes and ends deferral. */
  flush(): void {
    this.deferred = false;
    for (const file of ROOT_CHECKPOINT_FILES) if (this.dirty.has(file)) this.writeFile(file);
  }

  /** Writes the clean-shutdown marker (the last step of a clean close). */
  markCleanShutdown(): void {
    writeFileAtomicSync(path.join(this.dir, CLEAN_SHUTDOWN_FILE), CLEAN_SHUTDOWN_CONTENT);
  }

  /**
   * The view one log has: its entries keyed `key`, and the directory's clean-shutdown state.
   *
   * @param key - the log's `<topic>-<partition>`
   * @param cleanShutdown - what `takeCleanShutdown` answers: the directory's marker for logs
   *   loaded at open; false for a log created later (it has nothing to recover)
   */
  forLog(key: string, cleanShutdown: boolean): LogCheckpoints {
    return {
      read: (file) => this.get(file, key),
      write: (file, value) => this.set(file, key, value),
      takeCleanShutdown: () => cleanShutdown,
      // The manager writes the root marker once every log has closed.
      markCleanShutdown: () => undefined,
    };
  }

  private map(file: CheckpointFileName): Map<string, number> {
    let map = this.maps.get(file);
    if (map === undefined) {
      map = new Map();
      this.maps.set(file, map);
    }
    return map;
  }

  private writeFile(file: CheckpointFileName): void {
    // Sorted by topic, then partition number: the same content for the same state.
    const entries = [...this.map(file)]
      .map(([key, offset]) => {
        const dash = key.lastIndexOf('-');
        return { topic: key.slice(0, dash), partition: Number(key.slice(dash + 1)), offset };
      })
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    writeOffsetCheckpoint(path.join(this.dir, file), entries);
    this.dirty.delete(file);
  }
}
