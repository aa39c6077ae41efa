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
 * Where each codec's async paths stop calling the sync function, measured on this class of
 * machine by bench/records/async-threshold.bench.ts (2 vCPU, Node 20). A thread-pool hop costs
 * 15–120 µs; below these sizes the sync call is cheaper than the hop, above them it costs more
 * than the hop and would hold the event loop for longer than that.
 *
 * | codec  | compress (input)  | decompress (compressed input) | measured break-even          |
 * |--------|-------------------|-------------------------------|------------------------------|
 * | gzip   | 8 KiB             | 32 KiB                        | ≈ 5–9 KiB / ≈ 16–31 KiB      |
 * | snappy | 64 KiB            | 32 KiB                        | ≈ 18–45 KiB / ≈ 8–25 KiB     |
 * | lz4    | 32 KiB            | 32 KiB                        | ≈ 12–23 KiB / ≈ 20–21 KiB    |
 * | zstd   | 256 KiB           | 64 KiB                        | no pool: stepped, see zstd.ts |
 */
export interface AsyncThresholds {
  /** Uncompressed inputs at or above this go to the async path when compressing. */
  compress: number;
  /** Compressed inputs at or above this go to the async path when decompressing. */
  decompress: number;
}

/** The measured thresholds per codec (see {@link AsyncThresholds}). */
export const ASYNC_THRESHOLDS = {
  gzip: { compress: 8 * 1024, decompress: 32 * 1024 },
  snappy: { compress: 64 * 1024, decompress: 32 * 1024 },
  lz4: { compress: 32 * 1024, decompress: 32 * 1024 },
  zstd: { compress: 256 * 1024, decompress: 64 * 1024 },
} as const satisfies Record<Exclude<CompressionName, 'none'>, AsyncThresholds>;
