/**
 * The demo job behind `npm start` / `seglog demo`: the records layer end to end on an embedded
 * default. It writes a Kafka segment file (`00000000000000000000.log`) holding batches in every
 * codec plus a transaction marker, walks it back, checks every CRC and every record against
 * what was written, and prints a summary. The file is a valid Kafka `.log` segment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert } from '../assert.js';
import { RecordBatch } from '../records/batch.js';
import { buildBatch } from '../records/builder.js';
import type { CompressionName } from '../records/compression/index.js';
import { buildEndTransactionMarker } from '../records/control.js';
import type { RecordInput } from '../records/types.js';
import { BatchWalker } from '../records/walker.js';

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const RECORDS_PER_BATCH = 1000;
const START_TIME = 1_700_000_000_000;

function recordsFor(batchIndex: number): RecordInput[] {
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
    key: `user-${(batchIndex * 7919 + i) % 97}`,
    value: JSON.stringify({ seq: batchIndex * RECORDS_PER_BATCH + i, event: i % 3 === 0 ? 'click' : 'view' }),
    headers: [['source', 'demo']] as const,
    timestamp: START_TIME + batchIndex * RECORDS_PER_BATCH + i,
  }));
}

/** Runs the demo in `dir` (default: a new temporary directory) and reports through `print`. */
export async function runDemo(dir: string | undefined, print: (line: string) => void): Promise<void> {
  const target = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-'));
  fs.mkdirSync(target, { recursive: true });
  const file = path.join(target, '00000000000000000000.log');
  const batches: Buffer[] = [];
  let nextOffset = 0;
  const started = performance.now();
  for (const [i, compression] of CODECS.entries()) {
    const batch = await buildBatch(recordsFor(i), { compression, baseOffset: nextOffset, partitionLeaderEpoch: 0 });
    batches.push(batch);
    print(`wrote ${RECORDS_PER_BATCH} records at offsets ${nextOffset}..${nextOffset + RECORDS_PER_BATCH - 1} as one ${compression} batch of ${batch.length} bytes`);
    nextOffset += RECORDS_PER_BATCH;
  }
  batches.push(
    buildEndTransactionMarker({ type: 'COMMIT', producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: nextOffset, partitionLeaderEpoch: 0, timestamp: START_TIME }),
  );
  fs.writeFileSync(file, Buffer.concat(batches));

  let records = 0;
  let batchCount = 0;
  for (const { batch } of new BatchWalker(fs.readFileSync(file), { file })) {
    assert(batch instanceof RecordBatch, 'the demo writes v2 batches only');
    batch.ensureValid();
    const index = batchCount++;
    if (batch.isControl) continue;
    const expected = recordsFor(index);
    for (const [i, r] of [...(await batch.recordsAsync())].entries()) {
      assert(r.offset === index * RECORDS_PER_BATCH + i, 'offsets read back in order');
      assert(r.value?.toString() === expected[i].value, 'values read back intact');
      records++;
    }
  }
  const ms = performance.now() - started;
  print(`read back ${batchCount} batches (${records} records, 1 COMMIT marker); every CRC and record verified in ${ms.toFixed(1)} ms`);
  print(`segment file: ${file} (${fs.statSync(file).size} bytes); inspect it with: seglog dump --deep-iteration ${file}`);
}
