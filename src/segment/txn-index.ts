/**
 * `TransactionIndex`: a segment's `.txnindex` file, Kafka's TransactionIndex. One entry per
 * aborted transaction whose ABORT marker lies in this segment (format notes §4.3, §7.3); a
 * read_committed fetch collects the entries overlapping its range to tell the consumer which
 * producers' data to drop.
 *
 * One entry (Kafka's AbortedTxn), 34 bytes, big-endian, back to back from byte 0, no header:
 *
 * | offset | size | field                                                             |
 * |-------:|-----:|-------------------------------------------------------------------|
 * |      0 |    2 | version int16 = 0                                                 |
 * |      2 |    8 | producerId int64                                                  |
 * |     10 |    8 | firstOffset int64: first offset of the aborted transaction's data |
 * |     18 |    8 | lastOffset int64: offset of the ABORT marker                      |
 * |     26 |    8 | lastStableOffset int64: the LSO right after this abort            |
 *
 * Version quirk: Kafka reads the version as the single byte at +0 (the high byte of the
 * int16) and rejects it when that signed byte is > 0. So `00 01` passes as version 0 and
 * `01 00` fails; `ff xx` (negative) passes too. seglog reads it the same way and always writes 0.
 *
 * Lifecycle, as Kafka's: the file is not preallocated and does not exist until the first
 * append (most segments never get one; a missing file is an empty index). Appends are plain
 * writes at the end. Only whole 34-byte entries are read: a torn tail from a crash is ignored,
 * and cut off before the next append so that later entries stay aligned (Kafka would append
 * after it).
 *
 * Invariants: entries have strictly increasing lastOffset, and every lastOffset is ≥ the
 * segment's base offset. `append` refuses anything else; `sanityCheck` re-checks a loaded file.
 * Unlike Kafka, whose in-memory "last offset" starts unset after a reopen, the check here always
 * runs against the last entry in the file.
 *
 * In memory: the whole entries as one Buffer (loaded on first use, then kept in step with the
 * file), so a fetch does not read the file each time. Memory = the file's size.
 *
 * Concurrency: `append`, `truncateTo`, `reset`, `renameTo`, `deleteIfExists` and `close` need
 * the segment's append lock; the readers are synchronous and safe between appends.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../assert.js';
import { ErrorCode, SeglogError, ioError } from '../errors.js';
import { readInt64, writeInt64 } from '../records/varint.js';

/** Position of the version int16 in an entry. */
const VERSION_OFFSET = 0;
/** Position of the producerId int64. */
const PRODUCER_ID_OFFSET = VERSION_OFFSET + 2;
/** Position of the firstOffset int64. */
const FIRST_OFFSET_OFFSET = PRODUCER_ID_OFFSET + 8;
/** Position of the lastOffset int64 (the ABORT marker's offset). */
const LAST_OFFSET_OFFSET = FIRST_OFFSET_OFFSET + 8;
/** Position of the lastStableOffset int64. */
const LAST_STABLE_OFFSET_OFFSET = LAST_OFFSET_OFFSET + 8;
/** Bytes per `.txnindex` entry (Kafka's AbortedTxn.TOTAL_SIZE). */
export const ABORTED_TXN_SIZE = LAST_STABLE_OFFSET_OFFSET + 8;
/** The only entry version Kafka writes (AbortedTxn.CURRENT_VERSION). */
export const ABORTED_TXN_VERSION = 0;

/** Smallest Buffer allocated for appends: 32 entries (about 1 KiB). */
const MIN_CAPACITY_ENTRIES = 32;

/** An aborted transaction, as stored in a `.txnindex` entry (Kafka's AbortedTxn). */
export interface AbortedTxn {
  /** The transactional producer. */
  producerId: number;
  /** First offset of the transaction's data (it may lie in an earlier segment). */
  firstOffset: number;
  /** Offset of the ABORT marker; this entry lives in the segment holding it. */
  lastOffset: number;
  /** The log's last stable offset right after the abort (§7.3). */
  lastStableOffset: number;
}

/** What {@link TransactionIndex.collectAbortedTxns} found (Kafka's TxnIndexSearchResult). */
export interface TxnIndexSearchResult {
  /** Entries overlapping the fetch range, in index order (Kafka's `abortedTransactions`). */
  txns: AbortedTxn[];
  /**
   * True when an entry with lastStableOffset ≥ the upper bound was seen: no later segment can
   * hold an abort overlapping the range, so the search stops here.
   */
  isComplete: boolean;
}

/** Encodes one entry (version 0). INVALID_ARGUMENT when a field is not a safe integer. */
export function encodeAbortedTxn(txn: AbortedTxn, into: Buffer = Buffer.alloc(ABORTED_TXN_SIZE), at = 0): Buffer {
  for (const k of ['producerId', 'firstOffset', 'lastOffset', 'lastStableOffset'] as const) {
    if (!Number.isSafeInteger(txn[k])) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `aborted transaction ${k} ${txn[k]} is not a safe integer`);
    }
  }
  into.writeInt16BE(ABORTED_TXN_VERSION, at + VERSION_OFFSET);
  writeInt64(into, at + PRODUCER_ID_OFFSET, txn.producerId);
  writeInt64(into, at + FIRST_OFFSET_OFFSET, txn.firstOffset);
  writeInt64(into, at + LAST_OFFSET_OFFSET, txn.lastOffset);
  writeInt64(into, at + LAST_STABLE_OFFSET_OFFSET, txn.lastStableOffset);
  return into;
}

/**
 * The version as Kafka reads it: the signed byte at +0. Kafka refuses an entry whose value is
 * above {@link ABORTED_TXN_VERSION}; the dump tool prints this value.
 */
export function abortedTxnVersion(buf: Buffer, at = 0): number {
  return buf.readInt8(at + VERSION_OFFSET);
}

/**
 * Decodes the entry at `at`. CORRUPT_INDEX (naming `file` and the byte position) when Kafka's
 * version check fails or an int64 does not fit a JavaScript number.
 */
export function decodeAbortedTxn(buf: Buffer, at = 0, file?: string): AbortedTxn {
  const version = abortedTxnVersion(buf, at);
  if (version > ABORTED_TXN_VERSION) {
    throw new SeglogError(ErrorCode.CORRUPT_INDEX, `${file ?? 'transaction index'}: entry at byte ${at} has version ${version}, only ${ABORTED_TXN_VERSION} is known`, { file, position: at });
  }
  try {
    return {
      producerId: readInt64(buf, at + PRODUCER_ID_OFFSET, 'producerId'),
      firstOffset: readInt64(buf, at + FIRST_OFFSET_OFFSET, 'firstOffset'),
      lastOffset: readInt64(buf, at + LAST_OFFSET_OFFSET, 'lastOffset'),
      lastStableOffset: readInt64(buf, at + LAST_STABLE_OFFSET_OFFSET, 'lastStableOffset'),
    };
  } catch (err) {
    if (!(err instanceof SeglogError)) throw err;
    throw new SeglogError(ErrorCode.CORRUPT_INDEX, `${file ?? 'transaction index'}: entry at byte ${at}: ${err.message}`, { file, position: at, cause: err });
  }
}

/** The `.txnindex` file of one segment. */
export class TransactionIndex {
  /** The segment's base offset: every entry's lastOffset must be ≥ it. */
  readonly baseOffset: number;
  private filePath: string;
  /**
   * The entries in bytes [0, count × 34), validated on load; the Buffer's length is its
   * capacity. Null until loaded (and after close).
   */
  private buf: Buffer | null = null;
  private count = 0;
  /** Bytes in the file after the last whole entry (a torn append); cut before the next write. */
  private tailBytes = 0;
  private fileExists = false;
  private fd: number | null = null;
  private dirty = false;

  /**
   * No I/O: the file is read on first use and created by the first append.
   *
   * @param file - path of the `.txnindex` file
   * @param baseOffset - the segment's base offset (non-negative safe integer)
   */
  constructor(file: string, baseOffset: number) {
    if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
      throw new SeglogError(ErrorCode.INVALID_ARGUMENT, `${file}: base offset ${baseOffset} is not a non-negative safe integer`, { file });
    }
    this.filePath = file;
    this.baseOffset = baseOffset;
  }

  /** Current path of the file (changes with {@link TransactionIndex.renameTo}). */
  get file(): string {
    return this.filePath;
  }

  /** Number of whole entries (loads the file). */
  get entries(): number {
    this.load();
    return this.count;
  }

  /** Bytes of whole entries: entries × 34 (loads the file). */
  get sizeInBytes(): number {
    return this.entries * ABORTED_TXN_SIZE;
  }

  /** lastOffset of the last entry, or null when the index is empty (loads the file). */
  get lastOffset(): number | null {
    const n = this.entries;
    return n === 0 ? null : readInt64(this.buf as Buffer, (n - 1) * ABORTED_TXN_SIZE + LAST_OFFSET_OFFSET);
  }

  /**
   * Appends an entry and writes it to the file, creating the file on the first append.
   * INVALID_ARGUMENT when a field is not a safe integer, when `txn.lastOffset` is below the base
   * offset, or when it is not strictly above the last entry's (Kafka's IllegalArgumentException).
   * IO_ERROR when the write fails; the index then holds what it held before. Needs the append lock.
   */
  append(txn: AbortedTxn): void {
    const entry = encodeAbortedTxn(txn);
    const last = this.lastOffset;
    if (txn.lastOffset < this.baseOffset) {
      throw this.invalid(`aborted transaction lastOffset ${txn.lastOffset} is below the segment base offset ${this.baseOffset}`);
    }
    if (last !== null && txn.lastOffset <= last) {
      throw this.invalid(`the last offset of appended transactions must increase: ${txn.lastOffset} is not above ${last}`);
    }
    const fd = this.openForWrite();
    const position = this.count * ABORTED_TXN_SIZE;
    try {
      if (this.tailBytes > 0) {
        fs.ftruncateSync(fd, position);
        this.tailBytes = 0;
      }
      let written = 0;
      while (written < ABORTED_TXN_SIZE) written += fs.writeSync(fd, entry, written, ABORTED_TXN_SIZE - written, position + written);
    } catch (err) {
      // A partial write leaves a torn tail; note it so that the next append cuts it.
      this.tailBytes = this.statTail(fd, position);
      throw ioError(err, this.filePath);
    }
    this.dirty = true;
    this.ensureCapacity(this.count + 1);
    entry.copy(this.buf as Buffer, position);
    this.count += 1;
  }

  /** fsyncs the file if this index wrote to it since the last flush (Kafka's flush). */
  flush(): void {
    if (this.fd === null || !this.dirty) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw ioError(err, this.filePath);
    }
    this.dirty = false;
  }

  /**
   * Removes every entry: the file is truncated to 0 bytes if it exists (not deleted, as in
   * Kafka). Recovery calls it before rebuilding the segment. Needs the append lock.
   */
  reset(): void {
    this.load();
    if (this.fileExists) this.truncateFile(0);
    this.count = 0;
    this.tailBytes = 0;
  }

  /** Every entry in file order (Kafka's allAbortedTxns). CORRUPT_INDEX for a bad file. */
  allAbortedTxns(): AbortedTxn[] {
    const n = this.entries;
    const out: AbortedTxn[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.entryAt(i);
    return out;
  }

  /**
   * The entries that overlap the fetch range [fetchOffset, upperBoundOffset): lastOffset ≥
   * fetchOffset and firstOffset < upperBoundOffset (Kafka's collectAbortedTxns). The scan stops,
   * with `isComplete`, at the first entry whose lastStableOffset ≥ upperBoundOffset — that entry
   * is still collected if it overlaps. When not complete, the caller continues with the next
   * segment's index (see {@link collectAbortedTransactions}).
   */
  collectAbortedTxns(fetchOffset: number, upperBoundOffset: number): TxnIndexSearchResult {
    const n = this.entries;
    const txns: AbortedTxn[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.entryAt(i);
      if (t.lastOffset >= fetchOffset && t.firstOffset < upperBoundOffset) txns.push(t);
      if (t.lastStableOffset >= upperBoundOffset) return { txns, isComplete: true };
    }
    return { txns, isComplete: false };
  }

  /**
   * Drops the first entry whose lastOffset ≥ `offset` and everything after it (Kafka's
   * truncateTo). When no entry qualifies nothing changes. Needs the append lock.
   */
  truncateTo(offset: number): void {
    const n = this.entries;
    for (let i = 0; i < n; i++) {
      if (this.entryAt(i).lastOffset >= offset) {
        this.truncateFile(i * ABORTED_TXN_SIZE);
        this.count = i;
        this.tailBytes = 0;
        return;
      }
    }
  }

  /**
   * Kafka's sanityCheck: CORRUPT_INDEX when an entry's lastOffset is below the base offset. A
   * version Kafka would refuse, or an int64 beyond 2^53, is CORRUPT_INDEX too (Kafka throws a
   * plain KafkaException for the version, which its loader does not catch; here the segment
   * can rebuild the index instead). A missing file passes.
   */
  sanityCheck(): void {
    const n = this.entries;
    for (let i = 0; i < n; i++) {
      const t = this.entryAt(i);
      if (t.lastOffset < this.baseOffset) {
        throw new SeglogError(
          ErrorCode.CORRUPT_INDEX,
          `${this.filePath}: last offset ${t.lastOffset} of aborted transaction ${i} (producer ${t.producerId}) is below the base offset ${this.baseOffset}`,
          { file: this.filePath, position: i * ABORTED_TXN_SIZE },
        );
      }
    }
  }

  /**
   * Renames the file (to `.deleted`, `.swap`, `.cleaned` names) and updates
   * {@link TransactionIndex.file}. An index whose file was never created only changes its name,
   * as in Kafka. An open descriptor stays valid.
   */
  renameTo(newFile: string): void {
    try {
      fs.renameSync(this.filePath, newFile);
    } catch (err) {
      const nothingToMove = (err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(this.filePath);
      if (!nothingToMove) throw ioError(err, this.filePath);
    }
    this.filePath = newFile;
  }

  /** Moves the file's path to `dir`, keeping its name (Kafka's updateParentDir); no I/O. */
  updateParentDir(dir: string): void {
    this.filePath = path.join(dir, path.basename(this.filePath));
  }

  /** Closes and deletes the file; returns false when it did not exist. */
  deleteIfExists(): boolean {
    this.close();
    try {
      fs.unlinkSync(this.filePath);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw ioError(err, this.filePath);
    }
  }

  /**
   * Closes the descriptor (without fsync) and drops the in-memory entries; the next call loads
   * the file again.
   */
  close(): void {
    this.buf = null;
    this.count = 0;
    this.tailBytes = 0;
    this.fileExists = false;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      this.dirty = false;
      try {
        fs.closeSync(fd);
      } catch (err) {
        throw ioError(err, this.filePath);
      }
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private entryAt(i: number): AbortedTxn {
    assert(i >= 0 && i < this.count && this.buf !== null, 'entry index within the loaded entries');
    return decodeAbortedTxn(this.buf, i * ABORTED_TXN_SIZE, this.filePath);
  }

  private invalid(message: string): SeglogError {
    return new SeglogError(ErrorCode.INVALID_ARGUMENT, `${this.filePath}: ${message}`, { file: this.filePath });
  }

  /**
   * Reads the file once: whole entries only, each validated (version byte, int64 range) so a
   * bad file fails here with CORRUPT_INDEX rather than in the middle of a fetch. Not cached on
   * failure: the next call tries again.
   */
  private load(): void {
    if (this.buf !== null) return;
    let data: Buffer;
    try {
      data = this.fd !== null ? readAll(this.fd) : fs.readFileSync(this.filePath);
      this.fileExists = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, this.filePath);
      data = Buffer.alloc(0);
      this.fileExists = false;
    }
    const n = Math.floor(data.length / ABORTED_TXN_SIZE);
    for (let i = 0; i < n; i++) decodeAbortedTxn(data, i * ABORTED_TXN_SIZE, this.filePath);
    this.count = n;
    this.tailBytes = data.length - n * ABORTED_TXN_SIZE;
    this.buf = data;
  }

  /** Grows the Buffer (its length is the capacity; bytes past count × 34 are scratch). */
  private ensureCapacity(entries: number): void {
    const need = entries * ABORTED_TXN_SIZE;
    const cur = this.buf as Buffer;
    if (cur.length >= need) return;
    const grown = Buffer.alloc(Math.max(need, 2 * cur.length, MIN_CAPACITY_ENTRIES * ABORTED_TXN_SIZE));
    cur.copy(grown, 0, 0, this.count * ABORTED_TXN_SIZE);
    this.buf = grown;
  }

  private openForWrite(): number {
    this.load();
    if (this.fd !== null) return this.fd;
    try {
      // 'a+' would force appends to the end; positional writes need 'r+' (or 'w+' to create).
      this.fd = fs.openSync(this.filePath, this.fileExists ? 'r+' : 'w+');
    } catch (err) {
      throw ioError(err, this.filePath);
    }
    this.fileExists = true;
    return this.fd;
  }

  private truncateFile(length: number): void {
    const fd = this.openForWrite();
    try {
      fs.ftruncateSync(fd, length);
    } catch (err) {
      throw ioError(err, this.filePath);
    }
    this.dirty = true;
  }

  private statTail(fd: number, wholeBytes: number): number {
    try {
      return Math.max(0, fs.fstatSync(fd).size - wholeBytes);
    } catch {
      return ABORTED_TXN_SIZE; // unknown: cut before the next append anyway
    }
  }
}

function readAll(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const out = Buffer.alloc(size);
  let read = 0;
  while (read < size) {
    const n = fs.readSync(fd, out, read, size - read, read);
    if (n === 0) break;
    read += n;
  }
  return out.subarray(0, read);
}

/**
 * Collects the aborted transactions overlapping [fetchOffset, upperBoundOffset) across
 * segments, as Kafka's LocalLog.collectAbortedTransactions: `indexes` are the transaction
 * indexes of the segment holding `fetchOffset` and of every later segment, in order; the walk
 * stops at the first index whose search is complete.
 */
export function collectAbortedTransactions(indexes: Iterable<TransactionIndex>, fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (const index of indexes) {
    const r = index.collectAbortedTxns(fetchOffset, upperBoundOffset);
    out.push(...r.txns);
    if (r.isComplete) break;
  }
  return out;
}
