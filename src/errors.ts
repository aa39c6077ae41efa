/**
 * The one error type seglog throws from its public surface, and the table of stable codes.
 *
 * Every failure a caller can act on is a `SeglogError` whose `code` is one of {@link ErrorCode}.
 * Codes are part of the API: they never change meaning once released. Messages are for
 * people and name the file, the offending value and the bound where there is one.
 *
 * `instanceof SeglogError` works across two installed copies of seglog because the check is
 * done on a global brand, not on the class identity.
 *
 * Our own bugs are not SeglogErrors: they are `AssertionError`s from `src/assert.ts`.
 */

/**
 * Stable error codes, one per kind of failure.
 *
 * - `CORRUPT_RECORD`: bytes do not parse as a record batch or record (bad length, truncated
 *   record, varint overflow, bytes left over after the last record).
 * - `INVALID_CRC`: a batch parses but its stored CRC-32C does not match its bytes.
 * - `UNSUPPORTED_FORMAT`: a magic byte or format version seglog does not read.
 * - `UNKNOWN_COMPRESSION`: a batch names a codec id outside 0..4.
 * - `CORRUPT_COMPRESSION`: a compressed stream is malformed (bad framing, bad checksum,
 *   the codec library rejected it).
 * - `RECORD_TOO_LARGE`: a length or a decompressed size is over the configured bound.
 * - `VALUE_OUT_OF_RANGE`: an int64 on disk does not fit a JavaScript number exactly
 *   (|v| > 2^53 − 1), or a value given to an encoder does not fit its field.
 * - `INVALID_ARGUMENT`: a caller passed something seglog cannot accept.
 * - `IO_ERROR`: the file system failed; the errno name is in `errno`.
 * - `CORRUPT_INDEX`: an `.index` / `.timeindex` file fails its sanity check.
 * - `OFFSET_OUT_OF_RANGE`: a read or truncation outside [logStartOffset, logEndOffset].
 * - `LOG_CLOSED`: an operation on a closed log.
 * - `LOCKED`: the directory is already open (in this or another process).
 * - `CORRUPT_CHECKPOINT`: a checkpoint file does not parse.
 * - `INVALID_CONFIG`: a configuration value out of bounds or of the wrong type.
 * - `CORRUPT_SNAPSHOT`: a producer-state `.snapshot` file fails its checks.
 * - `OUT_OF_ORDER_SEQUENCE`: an idempotent producer's batch does not follow its last sequence.
 * - `INVALID_PRODUCER_EPOCH`: a producer epoch older than the one the log knows (fenced).
 * - `INVALID_TXN_STATE`: a batch or marker that does not fit the producer's transaction state.
 * - `COORDINATOR_FENCED`: a transaction marker from an older coordinator epoch.
 * - `INVALID_TOPIC`: an illegal topic name (characters, length, `.`/`..`).
 * - `UNKNOWN_TOPIC`: a topic or partition that does not exist.
 * - `TOPIC_EXISTS`: creating a topic that already exists.
 * - `CLOSED`: an operation on a closed manager, store or consumer.
 */
export const ErrorCode = {
  /** Bytes do not parse as a record batch or record. */
  CORRUPT_RECORD: 'CORRUPT_RECORD',
  /** A batch's stored CRC does not match its bytes. */
  INVALID_CRC: 'INVALID_CRC',
  /** A magic byte or format version seglog does not read. */
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  /** A codec id outside 0..4 (0..3 for legacy magic 0/1 messages). */
  UNKNOWN_COMPRESSION: 'UNKNOWN_COMPRESSION',
  /** A malformed compressed stream. */
  CORRUPT_COMPRESSION: 'CORRUPT_COMPRESSION',
  /** A length or decompressed size over its bound. */
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
  /** An int64 that does not fit a JavaScript number exactly, or a value too big for its field. */
  VALUE_OUT_OF_RANGE: 'VALUE_OUT_OF_RANGE',
  /** A caller passed something seglog cannot accept. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The file system failed. */
  IO_ERROR: 'IO_ERROR',
  /** An index file is structurally wrong (it is rebuilt from the log where possible). */
  CORRUPT_INDEX: 'CORRUPT_INDEX',
  /** An offset outside the log's range [logStartOffset, logEndOffset]. */
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  /** The log (or its directory) was closed. */
  LOG_CLOSED: 'LOG_CLOSED',
  /** Another process or another open in this process holds the directory's lock. */
  LOCKED: 'LOCKED',
  /** A checkpoint text file (recovery point, log start, leader epochs) does not parse. */
  CORRUPT_CHECKPOINT: 'CORRUPT_CHECKPOINT',
  /** A configuration value is missing its bounds or of the wrong type; the message names the key. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** A producer-state snapshot file does not parse or fails its CRC. */
  CORRUPT_SNAPSHOT: 'CORRUPT_SNAPSHOT',
  /** An idempotent producer's sequence number is not the next one (Kafka's OutOfOrderSequenceException). */
  OUT_OF_ORDER_SEQUENCE: 'OUT_OF_ORDER_SEQUENCE',
  /** A producer epoch below the current one: the producer is fenced (Kafka's InvalidProducerEpochException). */
  INVALID_PRODUCER_EPOCH: 'INVALID_PRODUCER_EPOCH',
  /** A batch or marker that contradicts the producer's transaction state (Kafka's InvalidTxnStateException). */
  INVALID_TXN_STATE: 'INVALID_TXN_STATE',
  /** A transaction marker whose coordinator epoch went backwards (Kafka's TransactionCoordinatorFencedException). */
  COORDINATOR_FENCED: 'COORDINATOR_FENCED',
  /** A topic name Kafka would refuse. */
  INVALID_TOPIC: 'INVALID_TOPIC',
  /** A topic or partition that does not exist. */
  UNKNOWN_TOPIC: 'UNKNOWN_TOPIC',
  /** A topic that already exists. */
  TOPIC_EXISTS: 'TOPIC_EXISTS',
  /** A manager, store or consumer that was closed. */
  CLOSED: 'CLOSED',
} as const;

/** One of the stable error code strings of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const BRAND = Symbol.for('seglog.SeglogError');

/** Extra facts attached to an error: where it happened and what was wrong. */
export interface SeglogErrorDetails {
  /** The file the bad bytes came from, when known. */
  file?: string;
  /** Byte position in the file or buffer where the problem was found. */
  position?: number;
  /** The errno name (`ENOSPC`, `EIO`, ...) for `IO_ERROR`. */
  errno?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The error type of every seglog failure caused by input, configuration or the disk.
 *
 * Check `err.code` (a stable string from {@link ErrorCode}) rather than the message.
 */
export class SeglogError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** The file involved, when known. */
  readonly file: string | undefined;
  /** Byte position of the problem in the file or buffer, when known. */
  readonly position: number | undefined;
  /** The errno name for `IO_ERROR`. */
  readonly errno: string | undefined;

  /**
   * @param code - stable code from {@link ErrorCode}
   * @param message - human-readable explanation naming the value and the bound
   * @param details - file, position, errno and cause
   */
  constructor(code: ErrorCode, message: string, details: SeglogErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SeglogError';
    this.code = code;
    this.file = details.file;
    this.position = details.position;
    this.errno = details.errno;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Branded check, so two installed copies of seglog recognise each other's errors. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass keeps ordinary prototype semantics; the brand only widens the base class.
    if (this !== SeglogError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Shorthand for a `CORRUPT_RECORD` error at a position. */
export function corrupt(message: string, position?: number, file?: string): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_RECORD, message, { position, file });
}

/** Shorthand for an `INVALID_ARGUMENT` error. */
export function invalidArgument(message: string): SeglogError {
  return new SeglogError(ErrorCode.INVALID_ARGUMENT, message);
}

/** Wraps a Node file-system error as `IO_ERROR`, keeping its errno name. */
export function ioError(err: unknown, file?: string): SeglogError {
  if (err instanceof SeglogError) return err;
  const errno = (err as { code?: unknown } | null)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return new SeglogError(ErrorCode.IO_ERROR, file === undefined ? msg : `${file}: ${msg}`, {
    file,
    errno: typeof errno === 'string' ? errno : undefined,
    cause: err,
  });
}
