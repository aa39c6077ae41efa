/**
 * `src/native/`: seglog's optional native code, behind JavaScript fallbacks for every function.
 *
 * A leaf module (STYLE habit 1): any layer may import it, and it imports nothing of seglog's
 * but `errors`. `addon.ts` loads the addon (the only file that requires the `.node` file);
 * `sendfile.ts` serves file ranges to sockets. The CRC-32C fallback lives with the rest of the
 * CRC code in `src/records/crc32c.ts`, which wraps {@link crc32cNative}.
 */
export { native, crc32cNative, binding, type NativeStatus, type NativeBinding, type WaitHandle } from './addon.js';
export { sendFile, sendStats, FALLBACK_CHUNK_BYTES, type SendFileOptions, type SendSource } from './sendfile.js';
