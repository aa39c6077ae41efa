/**
 * Control records: the records of control batches (attribute bit 5), which consumers never
 * see. Kafka's layout:
 *
 * - key (≥ 4 bytes): version int16 (0; negative is rejected, a higher one is read as 0),
 *   type int16 (0 ABORT, 1 COMMIT, 2..6 KRaft types, anything else UNKNOWN and ignored).
 * - value of ABORT/COMMIT (≥ 6 bytes): version int16 (0), coordinatorEpoch int32.
 *
 * Transaction markers are written uncompressed, with exactly one record, CreateTime,
 * transactional + control attributes (0x0030), baseSequence −1 and a real producer id/epoch.
 */
import { ErrorCode, SeglogError } from '../errors.js';
import { buildBatchSync } from './builder.js';

/** Kafka's control record types by id. */
export const ControlRecordType = {
  /** Transaction aborted. */
  ABORT: 0,
  /** Transaction committed. */
  COMMIT: 1,
  /** KRaft leader change. */
  LEADER_CHANGE: 2,
  /** KRaft snapshot header. */
  SNAPSHOT_HEADER: 3,
  /** KRaft snapshot footer. */
  SNAPSHOT_FOOTER: 4,
  /** KRaft version record. */
  KRAFT_VERSION: 5,
  /** KRaft voters record. */
  KRAFT_VOTERS: 6,
} as const;

/** A control type name; UNKNOWN for ids Kafka does not define (they must be ignored). */
export type ControlRecordTypeName = keyof typeof ControlRecordType | 'UNKNOWN';

const NAMES = new Map<number, ControlRecordTypeName>(
  Object.entries(ControlRecordType).map(([k, v]) => [v, k as ControlRecordTypeName]),
);

/** A parsed control record key. */
export interface ControlRecordKey {
  /** Key version (0 today). */
  version: number;
  /** Type id as stored. */
  typeId: number;
  /** Type name, UNKNOWN for an id Kafka does not define. */
  type: ControlRecordTypeName;
}

/** A parsed end-transaction marker value (ABORT / COMMIT). */
export interface EndTransactionMarker {
  /** Value version (0 today). */
  version: number;
  /** The transaction coordinator's epoch. */
  coordinatorEpoch: number;
}

function bad(message: string): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_RECORD, message);
}

/** Parses a control record's key. Throws CORRUPT_RECORD if it is short or has a negative version. */
export function parseControlRecordKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < 4) throw bad(`control record key needs 4 bytes, has ${key?.length ?? 'none'}`);
  const version = key.readInt16BE(0);
  if (version < 0) throw bad(`control record key version ${version} is negative`);
  const typeId = key.readInt16BE(2);
  return { version, typeId, type: NAMES.get(typeId) ?? 'UNKNOWN' };
}

/** Parses an ABORT/COMMIT marker's value. Throws CORRUPT_RECORD if short or negative version. */
export function parseEndTransactionMarker(value: Buffer | null): EndTransactionMarker {
  if (value === null || value.length < 6) {
    throw bad(`end transaction marker needs 6 bytes, has ${value?.length ?? 'none'}`);
  }
  const version = value.readInt16BE(0);
  if (version < 0) throw bad(`end transaction marker version ${version} is negative`);
  return { version, coordinatorEpoch: value.readInt32BE(2) };
}

/** Encodes a control record key (version 0). */
export function encodeControlRecordKey(typeId: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(typeId, 2);
  return key;
}

/** Encodes an end-transaction marker value (version 0). */
export function encodeEndTransactionMarker(coordinatorEpoch: number): Buffer {
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}

/** What a transaction marker batch carries. */
export interface MarkerOptions {
  /** COMMIT or ABORT. */
  type: 'COMMIT' | 'ABORT';
  /** The transactional producer's id. */
  producerId: number;
  /** The producer's epoch. */
  producerEpoch: number;
  /** The coordinator epoch to record. */
  coordinatorEpoch: number;
  /** Marker time (epoch ms); default now. */
  timestamp?: number;
  /** baseOffset to stamp (default 0). */
  baseOffset?: number;
  /** partitionLeaderEpoch to stamp (default −1). */
  partitionLeaderEpoch?: number;
}

/** Builds a COMMIT or ABORT marker batch exactly as Kafka writes one (78 bytes). */
export function buildEndTransactionMarker(o: MarkerOptions): Buffer {
  return buildBatchSync(
    [
      {
        key: encodeControlRecordKey(ControlRecordType[o.type]),
        value: encodeEndTransactionMarker(o.coordinatorEpoch),
        timestamp: o.timestamp,
      },
    ],
    {
      baseOffset: o.baseOffset,
      partitionLeaderEpoch: o.partitionLeaderEpoch,
      producerId: o.producerId,
      producerEpoch: o.producerEpoch,
      isTransactional: true,
      isControl: true,
    },
  );
}
