/**
 * The cleaner crash test's child process (run by test/cleaner/crash.test.ts with
 * `node --import tsx`; not a test file). It opens a compacted Log, continues from its log end,
 * and until its time limit appends `keyedRecordFor(seed, offset)` records, flushing often and
 * cleaning (forced) every few appends, so that a SIGKILL from the parent lands in every phase of
 * a cleaning round sooner or later.
 *
 * Protocol (stdout lines):
 *   READY <logEnd>        opened; appends start at <logEnd>
 *   FLUSHED <offset>      every offset below <offset> is durable
 *   CLEANED <endOffset>   a round finished
 *   DONE <logEnd>         time limit reached; closed cleanly
 *
 * argv[2]: JSON of {@link CleanerChildArgs}.
 */
import { Log } from '../../src/log/log.js';
import type { CompressionName } from '../../src/records/index.js';
import { keyedRecordFor, prng } from './helpers.js';

/** What the parent passes. */
export interface CleanerChildArgs {
  dir: string;
  seed: number;
  run: number;
  segmentBytes: number;
  maxMs: number;
}

const CODECS: CompressionName[] = ['none', 'none', 'gzip', 'lz4', 'zstd', 'snappy'];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as CleanerChildArgs;
  const rng = prng((args.seed * 31 + args.run * 7919) >>> 0);
  const log = await Log.open(args.dir, { config: { cleanupPolicy: 'compact', segmentBytes: args.segmentBytes, fileDeleteDelayMs: 50, deleteRetentionMs: 86_400_000, minCleanableDirtyRatio: 0.01 } });
  let next = log.logEndOffset;
  say(`READY ${next}`);
  const deadline = Date.now() + args.maxMs;
  let appends = 0;
  while (Date.now() < deadline) {
    const n = 1 + Math.floor(rng() * 5);
    const records = Array.from({ length: n }, (_, i) => keyedRecordFor(args.seed, next + i));
    const r = await log.append(records, { compression: CODECS[Math.floor(rng() * CODECS.length)] });
    if (r.firstOffset !== next) throw new Error(`append landed at ${r.firstOffset}, expected ${next}`);
    next += n;
    appends++;
    if (appends % 7 === 0) {
      await log.flush();
      say(`FLUSHED ${next}`);
    }
    if (appends % 15 === 0) {
      // Not awaited at once: appends go on while the round runs, as in production.
      const round = log.clean({ force: true });
      for (let i = 0; i < 3; i++) {
        const m = 1 + Math.floor(rng() * 3);
        const more = Array.from({ length: m }, (_, j) => keyedRecordFor(args.seed, next + j));
        await log.append(more);
        next += m;
      }
      const report = await round;
      say(`CLEANED ${report.endOffset}`);
    }
  }
  await log.close();
  say(`DONE ${next}`);
}

main().catch((err: unknown) => {
  say(`ERROR ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(3);
});
