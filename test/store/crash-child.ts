/**
 * The child process of the store's cross-process tests (run with `node --import tsx`; not a test
 * file). argv[2] is JSON of {@link ChildArgs}.
 *
 * Modes:
 * - `hold-manager`: opens the data directory with a LogManager, prints `READY`, and waits to
 *   be killed (the parent checks that its own open fails with LOCKED meanwhile).
 * - `work`: opens an EventStore, creates topic `events` (3 partitions) if needed, and loops:
 *   append 1–6 seeded records (keyed, null-keyed or with an explicit partition), then take as
 *   many from a consumer of group `g` (from earliest, manual commits), committing some of them
 *   after "processing" (`commit(record)`, printing `COMMIT <partition> <offset>` once it
 *   resolves: written, not yet fsynced), then `store.flush()` and print
 *   `COMMITTED {"0":n,"1":n,"2":n}` — the group's committed offsets, now durable. `APPENDED n`
 *   follows each append. The parent SIGKILLs it at some point and checks that nothing it saw
 *   committed is lost.
 *
 * stdout to a pipe is synchronous on Linux: a line printed is a line the parent reads even if
 * the kill comes right after.
 */
import { EventStore } from '../../src/store/store.js';
import { LogManager } from '../../src/manager/manager.js';
import { prng } from '../helpers/prng.js';
import { GROUP, PARTITIONS, TOPIC, type ChildArgs } from './crash-shared.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function work(args: ChildArgs): Promise<void> {
  const rng = prng(args.seed);
  const store = await EventStore.open(args.dir, { maintenanceIntervalMs: 0, offsetsTopicPartitions: 4, random: rng });
  if (!store.manager.hasTopic(TOPIC)) await store.createTopic(TOPIC, { partitions: PARTITIONS });
  const consumer = store.subscribe(TOPIC, { group: GROUP, from: 'earliest' });
  await consumer.ready();
  say('READY');
  let serial = 0;
  for (;;) {
    const n = 1 + Math.floor(rng() * 6);
    const records = Array.from({ length: n }, () => {
      const r = rng();
      const value = `v${args.seed}-${serial++}`;
      if (r < 0.5) return { key: `k${Math.floor(rng() * 50)}`, value };
      if (r < 0.8) return { value };
      return { partition: Math.floor(rng() * PARTITIONS), value };
    });
    await store.append(TOPIC, records);
    say(`APPENDED ${n}`);
    for (let i = 0; i < n; i++) {
      const next = await consumer.next();
      if (next.done) throw new Error('consumer ended');
      if (rng() < 0.4) {
        await consumer.commit(next.value);
        say(`COMMIT ${next.value.partition} ${next.value.offset + 1}`);
      }
    }
    await store.flush();
    const committed: Record<number, number | null> = {};
    for (let p = 0; p < PARTITIONS; p++) committed[p] = store.committed(GROUP, TOPIC, p);
    say(`COMMITTED ${JSON.stringify(committed)}`);
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as ChildArgs;
  if (args.mode === 'work') return work(args);
  await LogManager.open(args.dir, { maintenanceIntervalMs: 0 });
  say('READY');
  // Kept alive until the parent kills it.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  say(`ERROR ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(3);
});
