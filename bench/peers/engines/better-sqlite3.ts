/**
 * better-sqlite3 in WAL mode: an append-only table `(id INTEGER PRIMARY KEY, key BLOB, value
 * BLOB)`, one transaction of prepared INSERTs per batch (synchronous: better-sqlite3 has no
 * async API). Scan: `SELECT key, value ORDER BY id` iterated raw; random read: `SELECT key, value
 * WHERE id = ?`. Durable mode: `synchronous = FULL` (the WAL is fsynced at every commit);
 * otherwise `synchronous = OFF`.
 */
import path from 'node:path';
import { importPeer, type Batch, type EngineAdapter, type EngineHandle, type ScanResult } from './types.js';

/** The members of better-sqlite3 used here (the package ships no types). */
interface Statement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  raw(on?: boolean): Statement;
  iterate(...params: unknown[]): IterableIterator<unknown>;
}
interface Database {
  pragma(source: string): unknown;
  exec(source: string): unknown;
  prepare(source: string): Statement;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
  close(): unknown;
}
type DatabaseConstructor = new (file: string) => Database;

class SqliteHandle implements EngineHandle {
  private readonly insertBatch: (batch: Batch, firstIndex: number) => void;
  private readonly selectOne: Statement;
  private readonly selectAll: Statement;

  constructor(private readonly db: Database) {
    const insert = db.prepare('INSERT INTO records (id, key, value) VALUES (?, ?, ?)');
    this.insertBatch = db.transaction((batch: Batch, firstIndex: number) => {
      for (let i = 0; i < batch.records.length; i++) {
        const r = batch.records[i];
        insert.run(firstIndex + i, r.key, r.value);
      }
    });
    this.selectOne = db.prepare('SELECT key, value FROM records WHERE id = ?').raw(true);
    this.selectAll = db.prepare('SELECT key, value FROM records ORDER BY id').raw(true);
  }

  append(batch: Batch, firstIndex: number): void {
    this.insertBatch(batch, firstIndex);
  }

  scan(): ScanResult {
    let records = 0;
    let bytes = 0;
    for (const row of this.selectAll.iterate() as IterableIterator<[Buffer, Buffer]>) {
      records++;
      bytes += row[0].length + row[1].length;
    }
    return { records, bytes };
  }

  get(index: number): number {
    const row = this.selectOne.get(index) as [Buffer, Buffer] | undefined;
    return row === undefined ? 0 : row[0].length + row[1].length;
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

/** better-sqlite3 (WAL). */
export const betterSqlite3: EngineAdapter = {
  durability: (durable) => (durable ? 'WAL, synchronous=FULL: WAL fsync per commit' : 'WAL, synchronous=OFF: no fsync'),
  async open(dir, options) {
    const Database = (await importPeer('better-sqlite3')) as DatabaseConstructor;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    const db = new Database(path.join(dir, 'records.db'));
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durable ? 'FULL' : 'OFF'}`);
    db.exec('CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, key BLOB, value BLOB)');
    return new SqliteHandle(db);
  },
};
