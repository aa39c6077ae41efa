/**
 * The crash test's child process (run by test/log/crash.test.ts with `node --import tsx`; not a
 * test file). It opens a Log in the given directory, continues from its log end, and appends
 * `recordFor(seed, offset)` records forever (until its time limit): 1–3 appends in flight at
 * once (group commit), each a single record or a batch of 2–6, via append() or a pre-encoded
 * appendBatches(), uncompressed or with any codec; every so often it flushes. The parent kills
 * it with SIGKILL at a random moment.
 *
 * Protocol (stdout lines; stdout to a pipe is synchronous on Linux, so a line written is a line
 * the parent will read even if the process is killed right after):
 *   OPENING                       about to call Log.open
 *   READY <logEnd> <loadReport>   opened; appends start at <logEnd>
 *   FLUSHED <offset>              flush() resolved: every offset below <offset> is durable
 *   DONE <logEnd>                 the time limit passed; closed cleanly
 * Exit code 3 with `ERROR <message>` when something the parent must hear about goes wrong.
 *
 * argv[2]: JSON of {@link ChildArgs}.
 */
import { Log } from '../../src/log/log.js';
import { buildBatchSync, type CompressionName, type RecordInput } from '../../src/records/index.js';
import { prng, recordFor } from './crash-shared.js';

/** What the parent passes. */
export interface ChildArgs {
  dir: string;
  /** Content seed: record contents are recordFor(seed, offset). */
  seed: number;
  /** Run number: seeds this run's batching choices. */
  run: number;
  segmentBytes: number;
  indexIntervalBytes: number;
  preallocate: boolean;
  /** Stop (and close cleanly) after this long. */
  maxMs: number;
}

const CODECS: CompressionName[] = ['none', 'none', 'none', 'gzip', 'snappy', 'lz4', 'zstd'];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function input(seed: number, offset: number): RecordInput {
  const r = recordFor(seed, offset);
  return { key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as ChildArgs;
  const rng = prng((args.seed * 7919 + args.run * 104_729) >>> 0);
  say('OPENING');
  const log = await Log.open(args.dir, {
    config: { segmentBytes: args.segmentBytes, indexIntervalBytes: args.indexIntervalBytes, preallocate: args.preallocate },
  });
  let next = log.logEndOffset;
  say(`READY ${next} ${JSON.stringify(log.loadReport)}`);
  const deadline = Date.now() + args.maxMs;
  while (Date.now() < deadline) {
    const inFlight = 1 + Math.floor(rng() * 3);
    const pending: { first: number; p: Promise<{ firstOffset: number; lastOffset: number }> }[] = [];
    for (let i = 0; i < inFlight; i++) {
      const n = rng() < 0.5 ? 1 : 2 + Math.floor(rng() * 5);
      const recs = Array.from({ length: n }, (_, j) => input(args.seed, next + j));
      const compression = CODECS[Math.floor(rng() * CODECS.length)];
      const p = rng() < 0.5 ? log.append(recs, { compression }) : log.appendBatches(buildBatchSync(recs, { compression }));
      pending.push({ first: next, p });
      next += n;
    }
    for (const { first, p } of pending) {
      const r = await p;
      if (r.firstOffset !== first) throw new Error(`append landed at ${r.firstOffset}, expected ${first}`);
    }
    if (rng() < 0.12) {
      const upTo = next;
      await log.flush();
      say(`FLUSHED ${upTo}`);
    }
    if (rng() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.floor(rng() * 3)));
  }
  await log.close();
  say(`DONE ${next}`);
}

main().catch((err: unknown) => {
  say(`ERROR ${(err as Error)?.stack ?? String(err)}`.replace(/\n/g, ' | '));
  process.exit(3);
});
