/**
 * Assertions for seglog's own invariants. A failed assertion is a bug in seglog, never bad
 * input: input problems are `SeglogError`s. Nothing in `src/` catches an AssertionError.
 */

/** Thrown when one of seglog's own invariants does not hold. */
export class AssertionError extends Error {
  /** @param message - the invariant that failed */
  constructor(message: string) {
    super(`seglog invariant violated: ${message}`);
    this.name = 'AssertionError';
  }
}

/** Throws an {@link AssertionError} when `condition` is false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
