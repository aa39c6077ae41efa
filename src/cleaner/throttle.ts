/**
 * `Throttler`: keeps the cleaner's I/O under a byte rate, Kafka's `Throttler` as the log
 * cleaner uses it (log.cleaner.io.max.bytes.per.second), so a cleaning does not take the disk
 * (and the event loop) from appends and reads.
 *
 * The cleaner reports every byte it reads and writes. Once a check interval has passed since
 * the start of the current period, the observed rate is compared with the limit; when it is
 * above, the throttler sleeps for `observed / rate − elapsed`, the time that brings the period
 * back to the limit, then starts a new period.
 *
 * Time: elapsed time is measured with the injected clock (the log's clock), sleeping uses the
 * injected sleep (real timers by default). A clock that does not move (a frozen test clock)
 * therefore never completes an interval and never throttles; tests inject a sleep that
 * advances their clock.
 */
import { invalidArgument } from '../errors.js';

/** Kafka's Throttler check interval for the cleaner: 300 ms. */
export const DEFAULT_THROTTLE_CHECK_INTERVAL_MS = 300;

/** How to build a {@link Throttler}. */
export interface ThrottlerOptions {
  /** Upper bound of bytes per second; Infinity (the default) disables throttling. */
  bytesPerSecond?: number;
  /** Epoch ms (the log's clock). Default Date.now. */
  clock?: () => number;
  /** Waits `ms` milliseconds. Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** How often the rate is checked, ms (default 300, as Kafka). */
  checkIntervalMs?: number;
}

/** Sleeps with a real timer. */
export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A byte-rate limiter for one cleaning. */
export class Throttler {
  /** The limit in bytes per second (Infinity: none). */
  readonly bytesPerSecond: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly checkIntervalMs: number;
  private periodStartMs: number;
  private observedSoFar = 0;
  /** Total time slept, ms (for reports and tests). */
  sleptMs = 0;

  /** @param options - rate, clock, sleep and check interval */
  constructor(options: ThrottlerOptions = {}) {
    const rate = options.bytesPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(rate > 0)) throw invalidArgument(`the cleaner's I/O limit must be a positive number of bytes per second, got ${rate}`);
    this.bytesPerSecond = rate;
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_THROTTLE_CHECK_INTERVAL_MS;
    this.periodStartMs = this.clock();
  }

  /** Whether a limit is set. */
  get enabled(): boolean {
    return Number.isFinite(this.bytesPerSecond);
  }

  /** Accounts `bytes` of I/O and sleeps when the rate of the current period is above the limit. */
  async maybeThrottle(bytes: number): Promise<void> {
    if (!this.enabled) return;
    this.observedSoFar += bytes;
    const now = this.clock();
    const elapsedMs = now - this.periodStartMs;
    if (elapsedMs <= this.checkIntervalMs || this.observedSoFar <= 0) return;
    const rate = (this.observedSoFar * 1000) / elapsedMs;
    if (rate > this.bytesPerSecond) {
      const sleepMs = Math.round((this.observedSoFar * 1000) / this.bytesPerSecond - elapsedMs);
      if (sleepMs > 0) {
        this.sleptMs += sleepMs;
        await this.sleep(sleepMs);
      }
    }
    this.periodStartMs = this.clock();
    this.observedSoFar = 0;
  }
}
