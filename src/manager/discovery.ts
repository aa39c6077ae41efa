/**
 * Which topics a data directory holds, read from its partition directories: what a Kafka log
 * dir (which has no seglog topics file) is made of, plus directories copied into a seglog one.
 *
 * Rules (Kafka's LogManager.loadLogs, format notes §3.2): every directory whose name parses as
 * `<topic>-<partition>` (split at the last `-`) is a partition log; `…-delete` directories are
 * partitions whose deletion did not finish and are removed; `-future` / `-stray` directories,
 * `__cluster_metadata` and anything else are left alone. A discovered `__consumer_offsets` is
 * compacted, as the broker creates it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { fsyncDirectory } from '../log/checkpoint.js';
import { RECOVERY_POINT_CHECKPOINT_FILE } from '../log/log.js';
import { CLUSTER_METADATA_TOPIC, CONSUMER_OFFSETS_TOPIC, MAX_PARTITIONS, isDeleteDirName, parsePartitionDirName } from './names.js';
import type { RootCheckpoints } from './root-checkpoints.js';
import type { TopicRecord } from './topics-file.js';

/**
 * The overrides `__consumer_offsets` gets when seglog creates it or finds it in a Kafka data
 * directory: compacted with 100 MiB segments, Kafka's offsets.topic.* broker defaults.
 */
export const CONSUMER_OFFSETS_CONFIG: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'segment.bytes': String(100 * 1024 * 1024),
});

/**
 * The topics of a data directory: those of the topics file, plus every `<topic>-<partition>`
 * directory's topic not in it (a Kafka log dir, or a directory copied in). Removes the
 * directories of unfinished deletions on the way. A discovered topic has partitions up to the
 * highest one found in a directory name or in the recovery-point checkpoint (Kafka's broker
 * lists all of a topic's partitions there, also those whose directory it lost); a listed topic
 * grows to cover a partition directory beyond its count rather than ignore data.
 */
export function discoverTopics(dir: string, listed: ReadonlyMap<string, TopicRecord>, deleting: ReadonlySet<string>, root: RootCheckpoints): Map<string, TopicRecord> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw ioError(err, dir);
  }
  const highest = new Map<string, number>();
  let removed = false;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const full = path.join(dir, e.name);
    const parsed = parsePartitionDirName(e.name);
    if (isDeleteDirName(e.name) || (parsed !== null && deleting.has(parsed.topic) && !listed.has(parsed.topic))) {
      try {
        fs.rmSync(full, { recursive: true, force: true });
      } catch (err) {
        throw ioError(err, full);
      }
      removed = true;
      continue;
    }
    if (parsed === null || parsed.topic === CLUSTER_METADATA_TOPIC) continue;
    highest.set(parsed.topic, Math.max(highest.get(parsed.topic) ?? -1, parsed.partition));
  }
  if (removed) fsyncDirectory(dir);
  const out = new Map<string, TopicRecord>();
  for (const [name, record] of listed) out.set(name, { partitions: record.partitions, config: record.config });
  for (const [topic, max] of highest) {
    const known = out.get(topic);
    if (known !== undefined) {
      if (max + 1 > known.partitions) out.set(topic, { ...known, partitions: max + 1 });
      continue;
    }
    let top = max;
    for (const key of root.keys()) {
      const p = parsePartitionDirName(key);
      if (p !== null && p.topic === topic && root.get(RECOVERY_POINT_CHECKPOINT_FILE, key) !== undefined) top = Math.max(top, p.partition);
    }
    if (top + 1 > MAX_PARTITIONS) throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `topic ${topic} in ${dir} has partition ${top}, more than seglog's ${MAX_PARTITIONS}`);
    const config: Record<string, string> = topic === CONSUMER_OFFSETS_TOPIC ? { ...CONSUMER_OFFSETS_CONFIG } : {};
    out.set(topic, { partitions: top + 1, config });
  }
  return out;
}
