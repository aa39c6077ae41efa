/**
 * Internals for seglog's own tests and benchmarks. Not covered by semver: anything here may
 * change in any release.
 *
 * @packageDocumentation
 */
export * from './records/index.js';
export * as limits from './limits.js';
export { AssertionError, assert } from './assert.js';
export { LogFile, type BatchPosition } from './segment/log-file.js';
export { OffsetIndex } from './segment/offset-index.js';
export { TimeIndex } from './segment/time-index.js';
export { LogSegment, segmentFilePrefix, offsetFromFileName } from './segment/segment.js';
export * from './log/checkpoint.js';
export { LeaderEpochCache } from './log/leader-epoch.js';
export { DirectoryLock } from './log/lock.js';
