/**
 * One engine in its own process: `node --import tsx bench/peers/engine-child.ts <engine>
 * <workload json>` (see `matrix.ts` for the workload). For each cell, in a fresh directory:
 *
 * 0. warm-up (untimed): `warmupRecords` of every cell shape into a scratch directory;
 * 1. append every record, one commit per batch, each awaited before the next — or, for seglog's
 *    pipelined variants, up to `inFlight` outstanding (timed as a whole);
 * 2. close (untimed), bytes on disk (st_blocks × 512 of every file in the directory);
 * 3. reads (page-cache cells): reopen until record 0 is read back (timed), scan every record
 *    in index order (timed, count and bytes checked), `randomReads` seeded random reads by
 *    index, each timed on its own after a warmup (p50/p99; the length read is checked);
 * 4. close and remove the directory.
 *
 * Prints one line `RESULT <json>` (an array of `CellResult`) on stdout. Data comes from
 * `bench/lib/data.ts`: a pool of seeded records, cycled, so every engine writes the same bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildPool } from '../lib/peers-data.js';
import { seededRng } from '../lib/data.js';
import { quantile } from '../lib/runs.js';
import { ENGINE_NAMES, ENGINES, type EngineAdapter, type EngineHandle, type EngineName, type OpenOptions } from './engines/index.js';
import type { CellResult, CellSpec, Workload } from './matrix.js';

/** Key bytes of every record (bench/lib/data.ts: `user-0000000`-style keys). */
const KEY_BYTES = 12;

function now(): number {
  return Number(process.hrtime.bigint());
}

function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Allocated bytes of every file under `dir` (what `du` counts; sparse files count as used). */
function diskBytes(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = fs.statSync(path.join(dir, name));
    if (st.isFile()) total += st.blocks * 512;
  }
  return total;
}

/**
 * Appends every batch of the cell; returns the wall time. With `inFlight` > 1 up to that many
 * appends are outstanding (a sliding window, awaited oldest first), and the time ends when the
 * last one is acknowledged.
 */
async function appendAll(h: EngineHandle, cell: CellSpec, inFlight: number): Promise<number> {
  const pool = buildPool(cell.valueBytes, cell.batch);
  const batches = cell.records / cell.batch;
  const window: Promise<unknown>[] = [];
  const t0 = now();
  for (let b = 0; b < batches; b++) {
    const r = h.append(pool[b % pool.length], b * cell.batch);
    if (r === undefined) continue;
    if (inFlight <= 1) {
      await r;
      continue;
    }
    window.push(r);
    if (window.length >= inFlight) await window.shift();
  }
  await Promise.all(window);
  return now() - t0;
}

/** Reopen, scan and random reads of a written cell. */
async function readPhases(engine: EngineAdapter, dir: string, options: OpenOptions, cell: CellSpec, randomReads: number): Promise<Pick<CellResult, 'reopenNs' | 'scanNs' | 'randomP50Ns' | 'randomP99Ns'>> {
  const entryBytes = options.entryBytes;
  collect();
  const t0 = now();
  const h = await engine.open(dir, options);
  const first = await h.get(0);
  const reopenNs = now() - t0;
  if (first !== entryBytes) throw new Error(`reopen: record 0 has ${first} bytes, expected ${entryBytes}`);
  try {
    collect();
    const t1 = now();
    const scanned = await h.scan();
    const scanNs = now() - t1;
    if (scanned.records !== cell.records || scanned.bytes !== cell.records * entryBytes) {
      throw new Error(`scan: ${scanned.records} records / ${scanned.bytes} B, expected ${cell.records} / ${cell.records * entryBytes}`);
    }
    const rng = seededRng(0x5eed + cell.batch);
    const indices = Array.from({ length: randomReads + Math.min(1000, randomReads) }, () => Math.floor(rng() * cell.records));
    const warmup = indices.length - randomReads;
    const times: number[] = [];
    collect();
    for (let i = 0; i < indices.length; i++) {
      const t = now();
      const r = h.get(indices[i]);
      const n = typeof r === 'number' ? r : await r;
      const dt = now() - t;
      if (n !== entryBytes) throw new Error(`get(${indices[i]}): ${n} bytes, expected ${entryBytes}`);
      if (i >= warmup) times.push(dt);
    }
    times.sort((a, b) => a - b);
    return { reopenNs, scanNs, randomP50Ns: quantile(times, 0.5), randomP99Ns: quantile(times, 0.99) };
  } finally {
    await h.close();
  }
}

/**
 * Untimed warm-up: the first cells of a child would otherwise pay for JIT compilation, codec
 * module loading and thread-pool start-up that later cells do not. Appends `records` of every
 * page-cache cell shape into a scratch directory, then removes it.
 */
async function warmUp(name: EngineName, engine: EngineAdapter, parent: string, workload: Workload): Promise<void> {
  if (workload.warmupRecords <= 0) return;
  const shapes = new Map(workload.cells.filter((c) => !c.durable).map((c) => [`${c.valueBytes}/${c.batch}`, c]));
  for (const cell of shapes.values()) {
    const records = Math.max(cell.batch, Math.floor(Math.min(cell.records, workload.warmupRecords) / cell.batch) * cell.batch);
    const dir = fs.mkdtempSync(path.join(parent, `${name}-warmup-`));
    try {
      const h = await engine.open(dir, { durable: false, compression: workload.compression, entryBytes: KEY_BYTES + cell.valueBytes });
      try {
        await appendAll(h, { ...cell, records }, workload.inFlight);
      } finally {
        await h.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Runs one cell in a fresh directory under `parent`. */
async function runCell(name: EngineName, engine: EngineAdapter, parent: string, workload: Workload, cell: CellSpec): Promise<CellResult> {
  const dir = fs.mkdtempSync(path.join(parent, `${name}-`));
  const entryBytes = KEY_BYTES + cell.valueBytes;
  const options: OpenOptions = { durable: cell.durable, compression: workload.compression, entryBytes };
  try {
    const h = await engine.open(dir, options);
    collect();
    let appendNs: number;
    try {
      appendNs = await appendAll(h, cell, workload.inFlight);
    } finally {
      await h.close();
    }
    const result: CellResult = { cell, durability: engine.durability(cell.durable), appendNs, recordBytes: cell.records * entryBytes, diskBytes: diskBytes(dir) };
    if (cell.reads) Object.assign(result, await readPhases(engine, dir, options, cell, workload.randomReads));
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const [name, json] = argv;
  if (!(ENGINE_NAMES as readonly string[]).includes(name) || json === undefined) {
    throw new Error(`usage: engine-child.ts <${ENGINE_NAMES.join('|')}> <workload json>`);
  }
  const workload = JSON.parse(json) as Workload;
  const engine = ENGINES[name as EngineName];
  fs.mkdirSync(workload.dir, { recursive: true });
  const results: CellResult[] = [];
  await warmUp(name as EngineName, engine, workload.dir, workload);
  for (const cell of workload.cells) results.push(await runCell(name as EngineName, engine, workload.dir, workload, cell));
  process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
