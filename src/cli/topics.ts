/**
 * `seglog topics DIR --create|--list|--describe|--delete`: Kafka's kafka-topics on a data
 * directory, through the {@link EventStore} and its manager (so it takes the directory's lock:
 * it fails with LOCKED while another process has the directory open).
 *
 * - `--create --topic T [--partitions N] [--config key=value ...]`: Kafka's dotted config names
 *   (`segment.bytes=1048576`, `cleanup.policy=compact`), `--config` repeatable; prints
 *   `Created topic T.` as kafka-topics does.
 * - `--list [--exclude-internal]`: one topic name per line, sorted.
 * - `--describe [--topic T]`: per topic its partition count and config overrides, then per
 *   partition its offsets, segments and size (`--json`: one TopicDescription per line).
 * - `--delete --topic T`: deletes the topic, its partition directories and every consumer
 *   group's committed offsets for it (so a topic created again under that name starts clean);
 *   internal topics (`__consumer_offsets`) cannot be deleted.
 *
 * Illegal or unknown topic names are data errors (exit 1: INVALID_TOPIC, UNKNOWN_TOPIC,
 * TOPIC_EXISTS); a missing action, two actions or a flag that does not go with the action are
 * usage errors (exit 2).
 */
import type { TopicDescription } from '../manager/manager.js';
import { isInternalTopic } from '../manager/names.js';
import { EventStore } from '../store/store.js';
import { UsageError, exclusiveFlags, parseCommandArgs, parseConfigFlags, parseIntegerFlag, requiredFlag, type CliIo } from './args.js';
import { formatBytes } from './format.js';
import { requireDirectory } from './scan.js';

const OPTIONS = {
  create: { type: 'boolean' },
  list: { type: 'boolean' },
  describe: { type: 'boolean' },
  delete: { type: 'boolean' },
  topic: { type: 'string' },
  partitions: { type: 'string' },
  config: { type: 'string', multiple: true },
  'exclude-internal': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const ACTIONS = ['create', 'list', 'describe', 'delete'] as const;

function describeText(d: TopicDescription): string {
  const configs = Object.entries(d.config)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const lines = [`Topic: ${d.name}\tPartitionCount: ${d.partitions}\tConfigs: ${configs}`];
  for (const p of d.partitionInfo) {
    lines.push(
      `\tTopic: ${d.name}\tPartition: ${p.partition}\tLogStartOffset: ${p.logStartOffset}\tLogEndOffset: ${p.logEndOffset}` +
        `\tHighWatermark: ${p.highWatermark}\tSegments: ${p.segments}\tSize: ${formatBytes(p.size)}`,
    );
  }
  return lines.join('\n');
}

/** `seglog topics …`; resolves to the exit code. */
export async function topicsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('topics', args, OPTIONS, { required: ['DIR'] });
  const dir = positionals[0];
  exclusiveFlags('topics', values, ACTIONS);
  const action = ACTIONS.find((a) => values[a] === true);
  if (action === undefined) throw new UsageError('one of --create, --list, --describe, --delete is required', 'topics');
  const only = (flag: keyof typeof OPTIONS, allowed: readonly string[]): void => {
    if (values[flag] !== undefined && !allowed.includes(action)) throw new UsageError(`--${flag} does not go with --${action}`, 'topics');
  };
  only('partitions', ['create']);
  only('config', ['create']);
  only('topic', ['create', 'describe', 'delete']);
  only('exclude-internal', ['list']);
  only('json', ['list', 'describe']);
  const topic = action === 'create' || action === 'delete' ? requiredFlag('topics', 'topic', values.topic) : values.topic;
  const partitions = values.partitions === undefined ? 1 : parseIntegerFlag('topics', 'partitions', values.partitions, 1);
  const config = parseConfigFlags('topics', values.config ?? []);
  // Only --create may make a new data directory; the others name an existing one.
  if (action !== 'create') requireDirectory(dir);

  const store = await EventStore.open(dir, { maintenanceIntervalMs: 0 });
  try {
    switch (action) {
      case 'create':
        await store.createTopic(topic as string, { partitions, config });
        io.stdout(`Created topic ${topic}.\n`);
        return 0;
      case 'delete':
        await store.deleteTopic(topic as string);
        io.stdout(`Deleted topic ${topic}.\n`);
        return 0;
      case 'list': {
        const names = store
          .listTopics()
          .filter((t) => values['exclude-internal'] !== true || !isInternalTopic(t))
          .sort();
        if (values.json === true) io.stdout(`${JSON.stringify(names)}\n`);
        else for (const t of names) io.stdout(`${t}\n`);
        return 0;
      }
      case 'describe': {
        const names = topic === undefined ? store.listTopics().sort() : [topic];
        for (const name of names) {
          const d = store.describeTopic(name);
          io.stdout(values.json === true ? `${JSON.stringify(d)}\n` : `${describeText(d)}\n`);
        }
        return 0;
      }
    }
  } finally {
    await store.close();
  }
}
