/**
 * Packaging checks that would otherwise only fail in CI's `npm ci`: every dependency edge in
 * the lockfile has an entry (npm ci refuses a lockfile with a missing one; see bench/README.md
 * on msgpackr-extract), and the package surface is what the README promises.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/paths.js';

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Where npm would resolve `name` from the package at `from` (node_modules lookup, walking up). */
function resolves(packages: Record<string, LockEntry>, from: string, name: string): boolean {
  let dir = from;
  for (;;) {
    if (packages[`${dir === '' ? '' : `${dir}/`}node_modules/${name}`] !== undefined) return true;
    if (dir === '') return false;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

describe('package', () => {
  it('the lockfile has an entry for every dependency edge (what npm ci checks)', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const missing: string[] = [];
    for (const [at, entry] of Object.entries(lock.packages)) {
      const edges = { ...entry.dependencies, ...entry.optionalDependencies, ...(at === '' ? entry.devDependencies : {}) };
      for (const name of Object.keys(edges)) if (!resolves(lock.packages, at, name)) missing.push(`${at || '(root)'} → ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('declares the bin, the exports map and the scripts the README names', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      exports: Record<string, unknown>;
      scripts: Record<string, string>;
      type: string;
    };
    expect(pkg.type).toBe('module');
    expect(pkg.bin.seglog).toBe('dist/cli/main.js');
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './internals']));
    for (const s of ['test', 'start', 'bench', 'docs', 'build']) expect(pkg.scripts[s]).toBeTruthy();
  });
});
