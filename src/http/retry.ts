import { defer, retry, throwError, timer, type Observable, type SchedulerLike } from 'rxjs';

import {
  RunflowInputError,
  checkKnownKeys,
  describeValue,
  isRunflowConnectionError,
  isRunflowDecodeError,
  isRunflowHttpError,
  isRunflowRequestTimeoutError,
} from '../errors.js';
import type { RunflowLogger } from '../logger.js';
import { MAX_TIMER_MS } from '../run/config.js';

/** Transport retry settings: how often and how long a failed request is tried again. */
export interface RetryConfig {
  /** Attempts in all, the first one included; 1 turns retry off. Default 5. */
  readonly maxAttempts?: number;
  /** Backoff before the first retry when the server gives no hint, in ms; it doubles per retry. Default 1000. */
  readonly initialDelayMs?: number;
  /** Maximum backoff before the jitter is added, in ms. Default 32000. */
  readonly maxDelayMs?: number;
  /** Maximum random delay added to each backoff, in ms. Default 1000. */
  readonly jitterMs?: number;
  /** Maximum delay taken from a server hint (`Retry-After`, `retry-after-ms`), in ms. Default 60000. */
  readonly maxRetryAfterMs?: number;
  /** Source of randomness for the jitter, returning a number in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

export type ResolvedRetryConfig = { -readonly [K in keyof RetryConfig]-?: NonNullable<RetryConfig[K]> };

export const DEFAULT_RETRY: Readonly<ResolvedRetryConfig> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 1000,
  maxDelayMs: 32_000,
  jitterMs: 1000,
  maxRetryAfterMs: 60_000,
  random: Math.random,
});

const RETRY_OPTIONS: ReadonlyArray<keyof RetryConfig> = [
  'maxAttempts',
  'initialDelayMs',
  'maxDelayMs',
  'jitterMs',
  'maxRetryAfterMs',
  'random',
];

/** Merges retry settings over the defaults and checks them; `false` means a single attempt. */
export function resolveRetryConfig(...layers: ReadonlyArray<RetryConfig | false | undefined>): ResolvedRetryConfig {
  let merged: ResolvedRetryConfig = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer === false) {
      merged = { ...merged, maxAttempts: 1 };
      continue;
    }
    if (typeof layer !== 'object' || layer === null) {
      throw new RunflowInputError(`Invalid retry settings ${describeValue(layer)}: expected an object or false`);
    }
    checkKnownKeys('retry', layer, RETRY_OPTIONS);
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
  }
  const { maxAttempts, initialDelayMs, maxDelayMs, jitterMs, maxRetryAfterMs, random } = merged;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw new RunflowInputError(
      `Invalid retry.maxAttempts ${describeValue(maxAttempts)}: expected an integer from 1 to 100`,
    );
  }
  for (const [name, value] of Object.entries({ initialDelayMs, maxDelayMs, jitterMs, maxRetryAfterMs })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
      throw new RunflowInputError(
        `Invalid retry.${name} ${describeValue(value)}: expected a number of milliseconds from 0 to ${MAX_TIMER_MS}`,
      );
    }
  }
  if (typeof random !== 'function') {
    throw new RunflowInputError(`Invalid retry.random ${describeValue(random)}: expected a function returning [0, 1)`);
  }
  return merged;
}

/** Returns why a failed request may be tried again, or undefined when it may not. */
export function transientReason(error: unknown): string | undefined {
  if (isRunflowHttpError(error)) {
    if (error.status === 408 || error.status === 429 || (error.status >= 500 && error.status <= 599)) {
      return `HTTP ${error.status}${error.code === undefined ? '' : ` ${error.code}`}`;
    }
    return undefined;
  }
  if (isRunflowConnectionError(error)) return 'connection failed';
  if (isRunflowRequestTimeoutError(error)) return 'request timed out';
  if (isRunflowDecodeError(error) && error.unparsable) return 'response body was not JSON';
  return undefined;
}

/**
 * Returns the delay before retry number `retry` (1 for the first retry), in ms.
 *
 * A server hint wins when present: it is clamped to `maxRetryAfterMs`. Otherwise the delay is
 * `initialDelayMs * 2^(retry - 1)`, capped at `maxDelayMs`, plus up to `jitterMs` of random
 * delay. The result never exceeds the timer limit of 2^31 - 1 ms.
 */
export function retryDelayMs(config: ResolvedRetryConfig, retryNumber: number, error: unknown): number {
  const hint = isRunflowHttpError(error) ? error.retryAfterMs : undefined;
  if (hint !== undefined && Number.isFinite(hint) && hint >= 0) return Math.min(hint, config.maxRetryAfterMs);
  const backoff = Math.min(config.initialDelayMs * 2 ** (retryNumber - 1), config.maxDelayMs);
  const jitter = Math.min(Math.max(config.random(), 0), 1) * config.jitterMs;
  return Math.min(Math.round(backoff + jitter), MAX_TIMER_MS);
}

/** Description of a retried request for logs and hooks. */
export interface RetryTarget {
  readonly method: string;
  readonly url: string;
  /** True when the request may be sent twice without harm: GETs, and creates with an Idempotency-Key. */
  readonly replayable: boolean;
}

/** Information about one scheduled retry, given to the logger and to `onRetry`. */
export interface RetryNotice {
  readonly method: string;
  readonly url: string;
  /** Number of the attempt that failed, from 1. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly delayMs: number;
  readonly reason: string;
  readonly error: unknown;
}

/**
 * Re-subscribes to `request$` after a transient failure, up to `maxAttempts` attempts in all,
 * waiting `retryDelayMs` on `scheduler` between attempts. Requests that are not replayable,
 * and errors that are not transient, are passed through at once. Each retry is logged as a
 * warning with the method, URL, attempt and delay.
 */
export function withTransportRetry<T>(
  request$: Observable<T>,
  target: RetryTarget,
  config: ResolvedRetryConfig,
  scheduler: SchedulerLike,
  logger: RunflowLogger,
  onRetry?: (notice: RetryNotice) => void,
): Observable<T> {
  if (!target.replayable || config.maxAttempts <= 1) return request$;
  return defer(() => request$).pipe(
    retry({
      count: config.maxAttempts - 1,
      delay: (error: unknown, retryNumber: number) => {
        const reason = transientReason(error);
        if (reason === undefined) return throwError(() => error);
        const delayMs = retryDelayMs(config, retryNumber, error);
        const notice: RetryNotice = {
          method: target.method,
          url: target.url,
          attempt: retryNumber,
          maxAttempts: config.maxAttempts,
          delayMs,
          reason,
          error,
        };
        logger.warn('Retrying a failed request', {
          method: notice.method,
          url: notice.url,
          attempt: notice.attempt,
          maxAttempts: notice.maxAttempts,
          delayMs,
          reason,
        });
        onRetry?.(notice);
        return timer(delayMs, scheduler);
      },
    }),
  );
}
