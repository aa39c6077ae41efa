/**
 * The records layer: bytes ↔ batches. Varints, CRC-32C, RecordBatch v2 views and builders,
 * control records, compression codecs, legacy message recognition and the batch walker.
 * It knows nothing of files or of offsets in a log.
 */
export * from './attributes.js';
export { RecordBatch, type DecodeOptions } from './batch.js';
export { buildBatch, buildBatchSync, buildEmptyBatch, type BatchOptions, type EmptyBatchOptions } from './builder.js';
export * from './compression/index.js';
export * from './control.js';
export { crc32c, crc32cJs, crc32cUpdate } from './crc32c.js';
export { LegacyBatch } from './legacy.js';
export { iterateRecords, readRecord, type RecordContext } from './record.js';
export * from './types.js';
export * from './varint.js';
export { BatchWalker, walkBatches, type WalkedBatch } from './walker.js';
