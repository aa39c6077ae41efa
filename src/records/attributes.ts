/**
 * Batch attributes (int16, only the low byte used), as Kafka defines them:
 *
 * | bits | mask | meaning                                                       |
 * |------|------|---------------------------------------------------------------|
 * | 0–2  | 0x07 | codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd             |
 * | 3    | 0x08 | timestamp type: 0 CreateTime, 1 LogAppendTime                 |
 * | 4    | 0x10 | transactional                                                 |
 * | 5    | 0x20 | control batch                                                 |
 * | 6    | 0x40 | has delete horizon: baseTimestamp holds the delete horizon    |
 */

/** Codec id bits. */
export const COMPRESSION_CODEC_MASK = 0x07;
/** Timestamp type bit (set = LogAppendTime). */
export const TIMESTAMP_TYPE_MASK = 0x08;
/** Transactional bit. */
export const TRANSACTIONAL_FLAG_MASK = 0x10;
/** Control batch bit. */
export const CONTROL_FLAG_MASK = 0x20;
/** Delete-horizon bit (KIP-534). */
export const DELETE_HORIZON_FLAG_MASK = 0x40;

/** The decoded meaning of an attributes value. */
export interface BatchAttributes {
  /** Codec id 0..7 (5..7 are invalid). */
  compressionId: number;
  /** True for LogAppendTime. */
  logAppendTime: boolean;
  /** Transactional batch. */
  transactional: boolean;
  /** Control batch. */
  control: boolean;
  /** baseTimestamp holds the delete horizon. */
  hasDeleteHorizon: boolean;
}

/** Packs attributes into Kafka's int16 (high byte always 0). */
export function encodeAttributes(a: BatchAttributes): number {
  return (
    (a.compressionId & COMPRESSION_CODEC_MASK) |
    (a.logAppendTime ? TIMESTAMP_TYPE_MASK : 0) |
    (a.transactional ? TRANSACTIONAL_FLAG_MASK : 0) |
    (a.control ? CONTROL_FLAG_MASK : 0) |
    (a.hasDeleteHorizon ? DELETE_HORIZON_FLAG_MASK : 0)
  );
}

/** Unpacks Kafka's int16 attributes (only the low byte is meaningful). */
export function decodeAttributes(attributes: number): BatchAttributes {
  return {
    compressionId: attributes & COMPRESSION_CODEC_MASK,
    logAppendTime: (attributes & TIMESTAMP_TYPE_MASK) !== 0,
    transactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    control: (attributes & CONTROL_FLAG_MASK) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_FLAG_MASK) !== 0,
  };
}
