import { defer, mergeMap, timer, type Observable, type SchedulerLike } from 'rxjs';

import { RunflowInputError, checkKnownKeys, describeValue } from '../errors.js';
import { MAX_TIMER_MS } from './config.js';

/** The request budget shared by all polling of one client: a token bucket. */
export interface BudgetConfig {
  /** Tokens added per second: the sustained polling request rate. Default 10. */
  readonly requestsPerSecond?: number;
  /** Bucket size: how many requests may go out at once after a quiet period. Default 20. */
  readonly burst?: number;
}

export const DEFAULT_BUDGET: Readonly<Required<BudgetConfig>> = Object.freeze({ requestsPerSecond: 10, burst: 20 });

/**
 * A token bucket with reservations, plus a pause that a 429 response can set.
 *
 * `reserve()` takes a token at once, even when the bucket is empty, and returns how long the
 * caller must wait before using it. Tokens may go negative, so callers are served in the order
 * they reserved and a burst is spread out at the configured rate.
 */
export class RequestBudget {
  private readonly ratePerMs: number;
  private readonly burst: number;
  private tokens: number;
  private updatedAt: number;
  private pausedUntil = 0;

  constructor(
    config: BudgetConfig,
    private readonly scheduler: SchedulerLike,
  ) {
    const { requestsPerSecond, burst } = { ...DEFAULT_BUDGET, ...withoutUndefined(config) };
    if (typeof requestsPerSecond !== 'number' || !Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0) {
      throw new RunflowInputError(
        `Invalid budget.requestsPerSecond ${describeValue(requestsPerSecond)}: expected a number greater than 0`,
      );
    }
    if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1) {
      throw new RunflowInputError(`Invalid budget.burst ${describeValue(burst)}: expected an integer of at least 1`);
    }
    this.ratePerMs = requestsPerSecond / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.updatedAt = scheduler.now();
  }

  /** Takes a token and returns the wait before it may be used, in ms, including any pause. */
  reserve(): number {
    const now = this.scheduler.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
    this.tokens -= 1;
    const bucketWait = this.tokens >= 0 ? 0 : -this.tokens / this.ratePerMs;
    return Math.min(Math.max(bucketWait, this.pausedUntil - now), MAX_TIMER_MS);
  }

  /** Holds every request that has not started yet until `ms` from now; a shorter pause never shortens a longer one. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.scheduler.now() + Math.min(ms, MAX_TIMER_MS));
  }

  /** Sends `request$` when the budget allows: the wait is taken at subscription. */
  gate<T>(request$: Observable<T>): Observable<T> {
    return defer(() => {
      const wait = this.reserve();
      return wait <= 0 ? request$ : timer(wait, this.scheduler).pipe(mergeMap(() => request$));
    });
  }
}

function withoutUndefined(config: BudgetConfig): BudgetConfig {
  if (typeof config !== 'object' || config === null) {
    throw new RunflowInputError(
      `Invalid budget ${describeValue(config)}: expected an object such as { requestsPerSecond: 10 }`,
    );
  }
  checkKnownKeys('budget', config, ['requestsPerSecond', 'burst']);
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as BudgetConfig;
}
