/**
 * Argument handling shared by the `seglog` subcommands: the I/O the commands write to, the
 * usage error (exit code 2) and the checks every command makes on its flags.
 *
 * Exit codes of the CLI: 0 success, 1 a data error (a `SeglogError`, printed as
 * `seglog: CODE: message`, or corruption found by `verify`), 2 bad arguments ({@link UsageError}:
 * unknown flags, missing or conflicting flags, malformed numbers). Every command parses with
 * node:util `parseArgs` in strict mode, so an unknown flag is always a usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Output and input streams of the CLI; tests substitute collectors. */
export interface CliIo {
  /** Standard output. */
  stdout: (text: string) => void;
  /** Standard error. */
  stderr: (text: string) => void;
  /** Standard input (what `produce` reads); default: none (an empty input). */
  stdin?: AsyncIterable<Buffer | string>;
  /** Whether standard error is a terminal: progress bars are drawn only then. */
  stderrIsTTY?: boolean;
  /** Resolves once standard output can take more (back-pressure for long outputs). */
  drain?: () => Promise<void>;
  /** Aborted when the process is asked to stop (SIGINT / SIGTERM): `produce` and `consume` end cleanly (append / commit, close). */
  signal?: AbortSignal;
}

/** A mistake in the command line: the CLI prints it with the command's usage and exits with 2. */
export class UsageError extends Error {
  /** The subcommand whose usage applies (undefined: the general usage). */
  readonly command: string | undefined;

  /**
   * @param message - what is wrong, naming the flag
   * @param command - the subcommand, for its usage line
   */
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** The options table `parseArgs` takes. */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * `parseArgs` in strict mode with the positionals counted: unknown flags, a missing value and
 * too few or too many positionals are {@link UsageError}s of `command`.
 *
 * @param command - subcommand name, for messages
 * @param args - the arguments after the subcommand
 * @param options - the flags
 * @param positionals - names of the required positionals, then how many optional ones may follow
 */
export function parseCommandArgs<T extends OptionsConfig>(
  command: string,
  args: readonly string[],
  options: T,
  positionals: { required: readonly string[]; optional?: number },
): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>['values']; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(err.message, command);
    }
    throw err;
  }
  const { required, optional = 0 } = positionals;
  if (parsed.positionals.length < required.length) {
    throw new UsageError(`missing ${required.slice(parsed.positionals.length).join(' ')}`, command);
  }
  if (parsed.positionals.length > required.length + optional) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[required.length + optional])}`, command);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/**
 * Parses a flag's integer value; a {@link UsageError} unless it is a decimal integer in
 * [min, max] (safe-integer range by default).
 */
export function parseIntegerFlag(command: string, flag: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
    throw new UsageError(`--${flag} ${JSON.stringify(text)} is not ${range}`, command);
  }
  return n;
}

/** A {@link UsageError} when more than one of `flags` is set in `values`. */
export function exclusiveFlags(command: string, values: Record<string, unknown>, flags: readonly string[]): void {
  const set = flags.filter((f) => values[f] !== undefined && values[f] !== false);
  if (set.length > 1) throw new UsageError(`${set.map((f) => `--${f}`).join(' and ')} cannot be used together`, command);
}

/** The value of a required string flag, or a {@link UsageError} naming it. */
export function requiredFlag(command: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`, command);
  return value;
}

/**
 * Parses repeated `--config key=value` flags (Kafka's dotted names, as kafka-topics takes
 * them) into an object. The value is everything after the first `=` (so `cleanup.policy=compact,delete`
 * keeps its comma); a key given twice is a {@link UsageError}.
 */
export function parseConfigFlags(command: string, items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--config ${JSON.stringify(item)} is not key=value`, command);
    const key = item.slice(0, eq).trim();
    if (key in out) throw new UsageError(`--config ${key} is given twice`, command);
    out[key] = item.slice(eq + 1).trim();
  }
  return { ...out };
}
