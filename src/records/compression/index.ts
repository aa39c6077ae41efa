/**
 * The codec registry: Kafka's codec ids and names to implementations.
 */
import { ErrorCode, SeglogError, invalidArgument } from '../../errors.js';
import { CompressionId, type Codec, type CompressionName } from './codec.js';
import { gzip } from './gzip.js';
import { lz4 } from './lz4.js';
import { snappy } from './snappy.js';
import { zstd } from './zstd.js';

export { CompressionId, type Codec, type CompressionName } from './codec.js';

const BY_ID: readonly (Codec | undefined)[] = [undefined, gzip, snappy, lz4, zstd];
const NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The codec for a batch's codec id (1..4); none (0) has no codec. Ids 5..7 are UNKNOWN_COMPRESSION. */
export function codecForId(id: number): Codec {
  const codec = BY_ID[id];
  if (codec === undefined) {
    throw new SeglogError(ErrorCode.UNKNOWN_COMPRESSION, `unknown compression type id ${id}`);
  }
  return codec;
}

/** Kafka's name of a codec id, or UNKNOWN_COMPRESSION. */
export function compressionName(id: number): CompressionName {
  const name = NAMES[id];
  if (name === undefined) throw new SeglogError(ErrorCode.UNKNOWN_COMPRESSION, `unknown compression type id ${id}`);
  return name;
}

/** The codec id of a compression name, or INVALID_ARGUMENT for a name Kafka does not have. */
export function compressionIdOf(name: CompressionName): number {
  const id = (CompressionId as Record<string, number | undefined>)[name];
  if (id === undefined) throw invalidArgument(`unknown compression '${String(name)}' (none, gzip, snappy, lz4, zstd)`);
  return id;
}

export { gzip, lz4, snappy, zstd };
