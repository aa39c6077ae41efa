/**
 * The codec contract every compression type implements, and the shared size policy.
 *
 * Each codec compresses and decompresses the records region of a v2 batch (bytes 61..end)
 * exactly as Kafka frames it. Decompression is always bounded: `maxBytes` caps the output,
 * and a codec whose format declares sizes checks them before it allocates.
 */

/** The compression codecs of RecordBatch v2, by Kafka's name. */
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Kafka's codec ids (attribute bits 0–2). */
export const CompressionId = {
  /** Uncompressed. */
  none: 0,
  /** gzip (RFC 1952). */
  gzip: 1,
  /** snappy in xerial framing. */
  snappy: 2,
  /** LZ4 frame. */
  lz4: 3,
  /** zstd frame. */
  zstd: 4,
} as const satisfies Record<CompressionName, number>;

/** Compression and decompression of one codec, sync and async. */
export interface Codec {
  /** Kafka's name. */
  readonly name: CompressionName;
  /** Kafka's id in the attribute bits. */
  readonly id: number;
  /** Compresses in the calling thread. `level` is codec-specific; undefined means the default. */
  compressSync(input: Buffer, level?: number): Buffer;
  /** Compresses, off the event loop when the input is large enough to pay for the hop. */
  compress(input: Buffer, level?: number): Promise<Buffer>;
  /** Decompresses in the calling thread; output over `maxBytes` is RECORD_TOO_LARGE. */
  decompressSync(input: Buffer, maxBytes: number): Buffer;
  /** Decompresses, off the event loop (or in bounded steps) when the input is large. */
  decompress(input: Buffer, maxBytes: number): Promise<Buffer>;
}

/**
 * Inputs below this size are compressed and decompressed synchronously even on the async
 * paths: a thread-pool hop costs ~50–60 µs on this class of machine (see
 * ../shared/reference/dependencies.md and bench/records/codecs.bench.ts), which is more than
 * the sync call itself for every codec up to about this size.
 */
export const ASYNC_THRESHOLD_BYTES = 256 * 1024;

/**
 * Compressed inputs below this size are decompressed synchronously on the async paths. It is
 * a quarter of {@link ASYNC_THRESHOLD_BYTES} because typical record data expands 2–4× when
 * decompressed, so the output (what the time is spent producing) is of the same order.
 */
export const ASYNC_DECOMPRESS_THRESHOLD_BYTES = ASYNC_THRESHOLD_BYTES / 4;
