/** Paths the tests share: the reference material sits beside the repository as ../shared. */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root. */
export const REPO = path.resolve(import.meta.dirname, '../..');
/** The shared reference folder (fixtures, format notes), beside the repository. */
export const SHARED = path.resolve(REPO, '../shared');
/** Kafka 2.7.1 broker fixtures. */
export const KAFKA_FIXTURES = path.join(SHARED, 'fixtures/kafka-2.7.1');

/** Parses a hex string with any whitespace or `|` separators. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
}

/** Every `.log` file under a directory, recursively, sorted. */
export function logFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...logFiles(p));
    else if (e.name.endsWith('.log')) out.push(p);
  }
  return out.sort();
}
