/** The engine adapters by name. */
import { betterSqlite3 } from './better-sqlite3.js';
import { classicLevel } from './classic-level.js';
import { hypercore } from './hypercore.js';
import { lmdb } from './lmdb.js';
import { raw } from './raw.js';
import { seglog } from './seglog.js';
import type { EngineAdapter, EngineName } from './types.js';

/** Every adapter; each loads its peer package only when opened. */
export const ENGINES: Record<EngineName, EngineAdapter> = {
  raw,
  seglog,
  lmdb,
  'better-sqlite3': betterSqlite3,
  'classic-level': classicLevel,
  hypercore,
};

export * from './types.js';
