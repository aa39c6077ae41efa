/**
 * The adapter shape every engine of the peer benchmark implements (one file per engine in this
 * folder), and the workload data they all write: the same records, in the same batches.
 *
 * An adapter opens a store in a directory it owns; the child process (`../engine-child.ts`)
 * drives it: appends every batch awaiting each commit, closes, reopens, scans, reads at random.
 * Every record is addressed by its index (0, 1, 2, …): seglog's offset, sqlite's rowid, an
 * lmdb / LevelDB key, a hypercore block index, a position in the raw file.
 */
import type { RecordInput } from '../../../src/records/index.js';

/** The peers, by the names used on the command line and in the results. */
export const ENGINE_NAMES = ['raw', 'seglog', 'lmdb', 'better-sqlite3', 'classic-level', 'hypercore'] as const;
/** One engine. */
export type EngineName = (typeof ENGINE_NAMES)[number];
/** seglog's codecs measured here (Kafka's names). */
export type SeglogCompression = 'none' | 'lz4' | 'zstd';

/** One batch of the workload, in every form an engine might take it. */
export interface Batch {
  /** As seglog's `append` takes them (12-byte key, value, fixed timestamp). */
  records: RecordInput[];
  /** key ‖ value of each record: what the key-value engines store under the record's index. */
  entries: Buffer[];
  /** Every entry back to back: what the raw baseline writes with one `write` call. */
  raw: Buffer;
}

/** How an engine is opened. */
export interface OpenOptions {
  /** Durable commits (each engine's own setting, see {@link EngineAdapter.durability}). */
  durable: boolean;
  /** seglog only: the codec of each append. */
  compression: SeglogCompression;
  /** Bytes of one entry (key ‖ value); the raw baseline needs it to find record i. */
  entryBytes: number;
}

/** An open store. */
export interface EngineHandle {
  /** Appends one batch as one commit; resolves (or returns) once the engine says it is committed. */
  append(batch: Batch, firstIndex: number): Promise<unknown> | void;
  /** Reads every record in index order; returns how many and their key + value bytes. */
  scan(): Promise<ScanResult> | ScanResult;
  /** Reads record `index`; returns its key + value bytes (a check that it was found). */
  get(index: number): Promise<number> | number;
  /** Closes the store (flushing whatever the engine flushes on close). */
  close(): Promise<void>;
}

/** What a scan saw. */
export interface ScanResult {
  records: number;
  bytes: number;
}

/** One engine. */
export interface EngineAdapter {
  /** The store's durability setting in each mode, in the engine's own terms, for the tables. */
  durability(durable: boolean): string;
  /** Opens (or creates) the store in `dir`, ready to append or read. */
  open(dir: string, options: OpenOptions): Promise<EngineHandle>;
}

/**
 * Imports a peer through a computed specifier: better-sqlite3 and hypercore ship no types, and a
 * literal `import()` of an untyped package fails strict type-checking; each adapter declares the
 * few members it uses instead.
 */
export async function importPeer(name: string): Promise<unknown> {
  const mod = (await import(name)) as { default?: unknown };
  return mod.default ?? mod;
}
