/**
 * seglog: an embeddable storage engine for Node.js whose on-disk bytes are Apache Kafka's.
 *
 * This is the public surface; everything exported here is covered by semver. Internals for
 * tests and benchmarks are on the separate `seglog/internals` entry.
 *
 * @packageDocumentation
 */
export { ErrorCode, SeglogError, type SeglogErrorDetails } from './errors.js';
export {
  RecordBatch,
  type DecodeOptions,
  buildBatch,
  buildBatchSync,
  buildEmptyBatch,
  type BatchOptions,
  type EmptyBatchOptions,
  type CompressionName,
  CompressionId,
  ControlRecordType,
  type ControlRecordTypeName,
  type ControlRecordKey,
  type EndTransactionMarker,
  type MarkerOptions,
  parseControlRecordKey,
  parseEndTransactionMarker,
  buildEndTransactionMarker,
  crc32c,
  LegacyBatch,
  BatchWalker,
  walkBatches,
  type WalkedBatch,
  type BytesInput,
  type HeaderInput,
  type RecordInput,
  type RecordHeader,
  type LogRecord,
  type TimestampType,
} from './records/index.js';
export {
  Log,
  type LogOptions,
  type AppendOptions,
  type AppendResult,
  type ReadOptions,
  type TimestampOffset,
  type MaintenanceReport,
  type ProducerIdentity,
  type ProducerDescription,
  type LogCheckpoints,
  type CheckpointFileName,
  directoryCheckpoints,
  CLEAN_SHUTDOWN_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  CLEANER_OFFSET_CHECKPOINT_FILE,
} from './log/log.js';
export type { CleanOptions, CleanReport, CleanerOptions } from './cleaner/cleaner.js';
export { LogSlice } from './log/slice.js';
export type { IsolationLevel } from './log/transactions.js';
export type { AbortedTxn } from './segment/txn-index.js';
export { native, type NativeStatus } from './native/index.js';
export type { LoadReport } from './log/loader.js';
export {
  DEFAULT_LOG_CONFIG,
  UNBOUNDED_LONG,
  resolveLogConfig,
  toKafkaProperties,
  kafkaConfigName,
  type LogConfig,
  type CleanupPolicy,
  type MessageTimestampType,
  type BrokerCompressionType,
} from './log/config.js';
export type { EpochEntry } from './log/checkpoint.js';
export {
  LogManager,
  CONSUMER_OFFSETS_CONFIG,
  DEFAULT_MAINTENANCE_INTERVAL_MS,
  type LogManagerOptions,
  type CreateTopicOptions,
  type TopicDescription,
  type PartitionDescription,
  type ManagerMaintenanceReport,
  type PartitionMaintenanceReport,
  type RunMaintenanceOptions,
} from './manager/manager.js';
export {
  validateTopicName,
  isValidTopicName,
  isInternalTopic,
  parsePartitionDirName,
  MAX_TOPIC_NAME_LENGTH,
  MAX_PARTITIONS,
  CONSUMER_OFFSETS_TOPIC,
  INTERNAL_TOPICS,
} from './manager/names.js';
export { TOPICS_FILE } from './manager/topics-file.js';
export {
  EventStore,
  type EventStoreOptions,
  type StoreRecordInput,
  type StoreAppendResult,
  type StoreAppendOptions,
  type StoreProducer,
  type StoreReadOptions,
  type StreamOptions,
} from './store/store.js';
export {
  Consumer,
  DEFAULT_AUTO_COMMIT_INTERVAL_MS,
  DEFAULT_MAX_BUFFERED_RECORDS,
  type StoreRecord,
  type StartFrom,
  type SubscribeOptions,
} from './store/consumer.js';
export { ConsumerStream } from './store/stream.js';
export { type AssignmentStrategy, rangeAssign, roundRobinAssign } from './store/group.js';
export { murmur2, toPositive, javaAbs, javaStringHashCode, partitionForKey, DefaultPartitioner } from './store/partitioner.js';
export {
  offsetsPartitionFor,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  decodeOffsetCommitValue,
  DEFAULT_OFFSETS_TOPIC_PARTITIONS,
  type OffsetCommitKey,
  type OffsetCommitValue,
  type OffsetsTopicKey,
  type OffsetsLoadReport,
  type CommitEntry,
} from './store/offsets.js';
