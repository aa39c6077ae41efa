/**
 * Internals for seglog's own tests and benchmarks. Not covered by semver: anything here may
 * change in any release.
 *
 * @packageDocumentation
 */
export * from './records/index.js';
export * as limits from './limits.js';
export { AssertionError, assert } from './assert.js';
