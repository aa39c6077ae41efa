#!/usr/bin/env node
/**
 * The `seglog` command. Subcommands:
 *
 * - `seglog dump [--json] [--deep-iteration] [--print-data-log] FILE...`: Kafka's kafka-dump-log
 *   for `.log` files; `--json` prints the canonical dump.
 * - `seglog demo [DIR]`: the main job on an embedded default (what `npm start` runs): writes a
 *   segment file of batches in every codec, reads it back, verifies every record, and prints
 *   what it did.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SeglogError } from '../errors.js';
import { runDemo } from './demo.js';
import { dumpFiles } from './dump.js';

const USAGE = `usage:
  seglog dump [--json] [--deep-iteration] [--print-data-log] FILE...
  seglog demo [DIR]
  seglog --help | --version`;

/** Output streams for {@link main}; tests substitute collectors. */
export interface CliIo {
  /** Standard output. */
  stdout: (text: string) => void;
  /** Standard error. */
  stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'dump': {
        const { values, positionals } = parseArgs({
          args: [...rest],
          allowPositionals: true,
          options: {
            json: { type: 'boolean' },
            'deep-iteration': { type: 'boolean' },
            'print-data-log': { type: 'boolean' },
            files: { type: 'string', multiple: true },
          },
        });
        const files = [...(values.files ?? []).flatMap((f) => f.split(',')), ...positionals];
        if (files.length === 0) {
          io.stderr(`seglog dump: no files given\n${USAGE}\n`);
          return 2;
        }
        return dumpFiles(
          files,
          { json: values.json, deepIteration: values['deep-iteration'], printDataLog: values['print-data-log'] },
          { out: (l) => io.stdout(`${l}\n`), err: (l) => io.stderr(`${l}\n`) },
        );
      }
      case 'demo': {
        const { positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: {} });
        await runDemo(positionals[0], (l) => io.stdout(`${l}\n`));
        return 0;
      }
      case '--version':
      case '-v': {
        const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
        io.stdout(`${pkg.version}\n`);
        return 0;
      }
      case undefined:
      case '--help':
      case '-h':
        io.stdout(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        io.stderr(`seglog: unknown command '${command}'\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof SeglogError) {
      io.stderr(`seglog: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`seglog: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

function isEntryPoint(): boolean {
  if (process.argv[1] === undefined) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`seglog: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
