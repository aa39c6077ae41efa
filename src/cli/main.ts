#!/usr/bin/env node
/**
 * The `seglog` command, modelled on Kafka's console tools. Subcommands:
 *
 * - `seglog topics DIR --create|--list|--describe|--delete [--topic T] [--partitions N]
 *   [--config key=value ...] [--exclude-internal] [--json]`: kafka-topics on a data directory
 *   (topics.ts).
 * - `seglog produce DIR --topic T [--compression C] [--key-separator S | --json]`: reads stdin
 *   lines and appends them, like kafka-console-producer (produce.ts).
 * - `seglog consume DIR --topic T [--partition P] [--from-beginning | --offset N | --group G]
 *   [--max-messages N] [--json]`: prints records, like kafka-console-consumer, and exits once
 *   it has printed what existed when it started (consume.ts).
 * - `seglog verify [--deep] [--json] DIR`: CRC of every batch and sanity of every index,
 *   read-only; exit code 1 on corruption (verify.ts).
 * - `seglog stats [--topic T] [--json] DIR`: per partition segments, bytes, offsets, time range
 *   and compression ratio, read-only (stats.ts).
 * - `seglog maintain DIR [--topic T] [--json]`: retention and compaction now, with the report
 *   of what was deleted and compacted (maintain.ts).
 * - `seglog dump [--json] [--deep-iteration] [--print-data-log] FILE...`: Kafka's kafka-dump-log
 *   for `.log` files; `--json` prints the canonical dump (dump.ts).
 * - `seglog demo [DIR] [--records N]`: the main job on an embedded default (what `npm start`
 *   runs): topics, a million compressed records, a consumer group, retention and compaction,
 *   and a summary (demo.ts).
 *
 * Exit codes: 0 success; 1 a data error (`seglog: CODE: message` for a SeglogError) or
 * corruption found by verify; 2 bad arguments (unknown flags, missing or conflicting flags).
 */
import { once } from 'node:events';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SeglogError } from '../errors.js';
import { UsageError, type CliIo } from './args.js';

export type { CliIo } from './args.js';

const USAGE = `usage:
  seglog topics DIR --create --topic T [--partitions N] [--config key=value ...]
  seglog topics DIR --list [--exclude-internal] | --describe [--topic T] | --delete --topic T   [--json]
  seglog produce DIR --topic T [--compression none|gzip|snappy|lz4|zstd] [--key-separator S | --json]
  seglog consume DIR --topic T [--partition P] [--from-beginning | --offset N | --group G] [--max-messages N] [--json]
  seglog verify [--deep] [--json] DIR
  seglog stats [--topic T] [--json] DIR
  seglog maintain DIR [--topic T] [--json]
  seglog dump [--json] [--deep-iteration] [--print-data-log] FILE...
  seglog demo [DIR] [--records N]
  seglog --help | --version

DIR is a data directory (one subdirectory <topic>-<partition> per partition); verify and stats
also take a single partition directory, and only read it (safe while another process has it open).
produce reads stdin lines: a value per line, "key<S>value" with --key-separator, or with --json
{"key": string|null, "value": string|null, "headers": {name: string}, "partition": n}.
consume prints the values (--json: topic, partition, offset, timestamp, key, value, headers) from
the beginning (or --offset N of --partition P) and exits once it has printed what existed when it
started. --group G starts at the group's committed offsets (the beginning where it has none) and
commits what it printed. topics, produce, consume and maintain lock DIR while they run.
Exit codes: 0 ok, 1 data error or corruption, 2 bad arguments.`;

/** The usage lines of one subcommand (all of them when it has none). */
function usageOf(command: string | undefined): string {
  if (command === undefined) return USAGE;
  const lines = USAGE.split('\n').filter((l) => l.startsWith(`  seglog ${command} `));
  return lines.length === 0 ? USAGE : `usage:\n${lines.join('\n')}`;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  // A getter: only produce touches standard input, so the other commands never open it.
  get stdin() {
    return process.stdin;
  },
  stderrIsTTY: process.stderr.isTTY === true,
  drain: async () => {
    if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
  },
};

/**
 * Commands that stop gracefully on SIGINT / SIGTERM through {@link CliIo.signal}: produce
 * appends what it has read, consume commits what it printed, both close the directory cleanly.
 * The others keep the default (they are short, read-only, or crash-safe by design: maintain's
 * retention and compaction recover from a kill at any step).
 */
const GRACEFUL_COMMANDS = new Set(['produce', 'consume']);

type Command = (args: readonly string[], io: CliIo) => Promise<number>;

/**
 * The subcommands, each loaded on first use: `verify` and `stats` then never load the manager,
 * the store or the codecs' native modules, and a command starts in about the time Node does.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  topics: async () => (await import('./topics.js')).topicsCommand,
  produce: async () => (await import('./produce.js')).produceCommand,
  consume: async () => (await import('./consume.js')).consumeCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  stats: async () => (await import('./stats.js')).statsCommand,
  maintain: async () => (await import('./maintain.js')).maintainCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  dump: async () => dumpCommand,
};

/** `seglog dump`: the argument handling of dump.ts (which another module owns) stays here. */
async function dumpCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { dumpFiles } = await import('./dump.js');
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      'deep-iteration': { type: 'boolean' },
      'print-data-log': { type: 'boolean' },
      files: { type: 'string', multiple: true },
    },
  });
  const files = [...(values.files ?? []).flatMap((f) => f.split(',')), ...positionals];
  if (files.length === 0) throw new UsageError('no files given', 'dump');
  return dumpFiles(
    files,
    { json: values.json, deepIteration: values['deep-iteration'], printDataLog: values['print-data-log'] },
    { out: (l) => io.stdout(`${l}\n`), err: (l) => io.stderr(`${l}\n`) },
  );
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command !== undefined && Object.hasOwn(COMMANDS, command)) {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout(`${usageOf(command)}\n`);
        return 0;
      }
      const run = await COMMANDS[command]();
      return await run(rest, io);
    }
    switch (command) {
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
    if (err instanceof UsageError) {
      io.stderr(`seglog${err.command === undefined ? '' : ` ${err.command}`}: ${err.message}\n${usageOf(err.command)}\n`);
      return 2;
    }
    if (err instanceof SeglogError) {
      io.stderr(`seglog: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`seglog${command === undefined ? '' : ` ${command}`}: ${err.message}\n${usageOf(command)}\n`);
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
  // `seglog consume … | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // produce and consume stop gracefully on the first Ctrl-C; a second one leaves at once.
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  if (GRACEFUL_COMMANDS.has(process.argv[2] ?? '')) process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  main(process.argv.slice(2), { ...processIo, signal: stop.signal }).then(
    (code) => {
      process.exitCode = code;
      process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
    },
    (err: unknown) => {
      process.stderr.write(`seglog: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
