/** Error helpers shared by the codecs. */
import { ErrorCode, SeglogError } from '../../errors.js';

/** A malformed compressed stream. */
export function corruptCompression(codec: string, message: string, cause?: unknown): SeglogError {
  return new SeglogError(ErrorCode.CORRUPT_COMPRESSION, `${codec}: ${message}`, { cause });
}

/** Decompressed output over the bound. */
export function tooLarge(codec: string, size: number | string, maxBytes: number): SeglogError {
  return new SeglogError(
    ErrorCode.RECORD_TOO_LARGE,
    `${codec}: decompressed size ${size} exceeds the bound of ${maxBytes} bytes`,
  );
}

/** Turns anything a codec library throws into a typed error (keeping ours as they are). */
export function wrapCodecError(codec: string, err: unknown): SeglogError {
  if (err instanceof SeglogError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  // Some libraries already name themselves ("snappy: corrupt input"); do not say it twice.
  return corruptCompression(codec, msg.startsWith(`${codec}: `) ? msg.slice(codec.length + 2) : msg, err);
}
