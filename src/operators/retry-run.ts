import {
  asyncScheduler,
  catchError,
  concat,
  defer,
  ignoreElements,
  of,
  throwError,
  timer,
  type Observable,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';

import { RunFailedError, RunflowInputError, checkKnownKeys, describeValue, isRunFailedError } from '../errors.js';
import { silentLogger, type RunflowLogger } from '../logger.js';
import { MAX_TIMER_MS } from '../run/config.js';
import type { RunRetryEvent, RunStreamEvent } from './events.js';
import { DEFAULT_RETRYABLE_FAILURE_CODES, isRetryableRunFailure } from './retry-policy.js';

/** Settings of `retryRun`. */
export interface RetryRunConfig {
  /** Attempts in all, the first one included: an integer from 1 to 100. Default 3. */
  readonly maxAttempts?: number;
  /**
   * Decides whether a failed run is retried. `attempt` is the number of the attempt that failed,
   * from 1. Default: `isRetryableRunFailure(error, retryableCodes)`. The attempt limit applies
   * either way. Give either this or `retryableCodes`, not both.
   */
  readonly shouldRetry?: (error: RunFailedError, attempt: number) => boolean;
  /**
   * Failure codes that the default policy retries, in place of `DEFAULT_RETRYABLE_FAILURE_CODES`
   * (`PROVIDER_ERROR`, `PROVIDER_TIMEOUT`, `INTERNAL_ERROR`, `MODEL_UNAVAILABLE`).
   */
  readonly retryableCodes?: readonly string[];
  /** Wait before the first retry, in ms; it doubles for each later retry. Default 2000. */
  readonly initialDelayMs?: number;
  /**
   * Maximum wait before the jitter is added, in ms; at least `initialDelayMs`. Default 30000, or
   * `initialDelayMs` when that is larger.
   */
  readonly maxDelayMs?: number;
  /** Maximum random wait added to each delay, in ms. Default 1000. */
  readonly jitterMs?: number;
  /** Source of randomness for the jitter, returning a number in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Scheduler for the waits between attempts. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Receives a warning for each retry, with the run id, attempt, delay and failure. Default: silent. */
  readonly logger?: RunflowLogger;
}

interface ResolvedRetryRunConfig {
  readonly maxAttempts: number;
  readonly shouldRetry: (error: RunFailedError, attempt: number) => boolean;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly jitterMs: number;
  readonly random: () => number;
  readonly scheduler: SchedulerLike;
  readonly logger: RunflowLogger;
}

/**
 * Runs the source again, creating a new run, when the run fails with a retryable failure.
 *
 * Retrying means subscribing to the source again. For a source made by `client.run`, each
 * subscription creates a new run with its own `Idempotency-Key`, so every attempt is a new run
 * with a new id. Only RunFailedError is retried, and only when `shouldRetry` (by default
 * `isRetryableRunFailure`) accepts it. Other errors pass through at once: an HTTP, connection or
 * decode error reaching this operator has already been through the client's transport retry, so
 * the two retry layers do not multiply each other's attempts. A RunTimeoutError from the run's
 * `timeoutMs` passes through too.
 *
 * The events of every attempt pass through, the `failed` status of a retried run included. At
 * each retry the operator emits a `RunRetryEvent` (`{ type: 'retry', runId, attempt, maxAttempts,
 * delayMs, error }`) at the moment of the failure, waits `delayMs` on the scheduler, then
 * subscribes again. The delay before retry n is `initialDelayMs * 2^(n - 1)`, capped at
 * `maxDelayMs`, plus `random() * jitterMs`, and never more than 2^31 - 1 ms. When the attempts
 * run out, or the failure is not retryable, the last RunFailedError passes through.
 * Unsubscribing cancels the wait, or unsubscribes the current attempt.
 *
 * Throws RunflowInputError at the call for an invalid setting.
 *
 * @example
 * ```ts
 * const events = await lastValueFrom(
 *   runflow
 *     .run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } })
 *     .pipe(retryRun({ maxAttempts: 3, initialDelayMs: 1000 }), toArray()),
 * );
 * const retries = events.filter((event) => event.type === 'retry');
 * // retries: one { type: 'retry', runId, attempt, delayMs, error } per failed attempt that was run again
 * ```
 */
export function retryRun(config: RetryRunConfig = {}): OperatorFunction<RunStreamEvent, RunStreamEvent> {
  const resolved = resolveRetryRunConfig(config);
  return (source) => attemptRun(source, 1, resolved);
}

function attemptRun(
  source: Observable<RunStreamEvent>,
  attempt: number,
  config: ResolvedRetryRunConfig,
): Observable<RunStreamEvent> {
  return source.pipe(
    catchError((error: unknown) => {
      if (!isRunFailedError(error) || attempt >= config.maxAttempts || !config.shouldRetry(error, attempt)) {
        return throwError(() => error);
      }

      const delayMs = retryRunDelayMs(config, attempt);
      const retry: RunRetryEvent = {
        type: 'retry',
        runId: error.runId,
        attempt,
        maxAttempts: config.maxAttempts,
        delayMs,
        error,
      };
      config.logger.warn('Retrying a failed run with a new run', {
        runId: error.runId,
        attempt,
        maxAttempts: config.maxAttempts,
        delayMs,
        failureCode: error.failureCode,
        failureStage: error.failureStage,
      });
      return concat(
        of(retry),
        timer(delayMs, config.scheduler).pipe(ignoreElements()),
        defer(() => attemptRun(source, attempt + 1, config)),
      );
    }),
  );
}

/**
 * Returns the delay before retry number `retry` (1 for the first retry), in ms: capped
 * exponential backoff plus jitter, never above the timer limit of 2^31 - 1 ms.
 */
function retryRunDelayMs(
  config: Pick<ResolvedRetryRunConfig, 'initialDelayMs' | 'maxDelayMs' | 'jitterMs' | 'random'>,
  retry: number,
): number {
  const backoff = Math.min(config.initialDelayMs * 2 ** (retry - 1), config.maxDelayMs);
  const jitter = Math.min(Math.max(config.random(), 0), 1) * config.jitterMs;
  return Math.min(Math.round(backoff + jitter), MAX_TIMER_MS);
}

function resolveRetryRunConfig(config: RetryRunConfig): ResolvedRetryRunConfig {
  if (typeof config !== 'object' || config === null) {
    throw new RunflowInputError(
      `Invalid retryRun settings ${describeValue(config)}: expected an object such as { maxAttempts: 3 }`,
    );
  }
  checkKnownKeys('retryRun', config, [
    'maxAttempts',
    'shouldRetry',
    'retryableCodes',
    'initialDelayMs',
    'maxDelayMs',
    'jitterMs',
    'random',
    'scheduler',
    'logger',
  ]);
  const {
    maxAttempts = 3,
    initialDelayMs = 2000,
    // A long initial delay without a maximum of its own raises the default maximum instead of failing.
    maxDelayMs = Math.max(30_000, initialDelayMs),
    jitterMs = 1000,
    random = Math.random,
    scheduler = asyncScheduler,
    logger = silentLogger,
  } = config;

  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw new RunflowInputError(
      `Invalid retryRun maxAttempts ${describeValue(maxAttempts)}: expected an integer from 1 to 100, the first attempt included`,
    );
  }
  for (const [name, value] of Object.entries({ initialDelayMs, maxDelayMs, jitterMs })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
      throw new RunflowInputError(
        `Invalid retryRun ${name} ${describeValue(value)}: expected a number of milliseconds from 0 to ${MAX_TIMER_MS}`,
      );
    }
  }
  if (maxDelayMs < initialDelayMs) {
    throw new RunflowInputError(
      `Invalid retryRun maxDelayMs ${maxDelayMs}: it is below initialDelayMs (${initialDelayMs}), so raise maxDelayMs or lower initialDelayMs`,
    );
  }
  if (typeof random !== 'function') {
    throw new RunflowInputError(
      `Invalid retryRun random ${describeValue(random)}: expected a function returning a number in [0, 1)`,
    );
  }
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.schedule !== 'function') {
    throw new RunflowInputError(
      `Invalid retryRun scheduler ${describeValue(scheduler)}: expected an RxJS scheduler such as asyncScheduler`,
    );
  }
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw new RunflowInputError(
      `Invalid retryRun logger ${describeValue(logger)}: expected a RunflowLogger with debug, info, warn and error methods`,
    );
  }
  return {
    maxAttempts,
    shouldRetry: resolveShouldRetry(config),
    initialDelayMs,
    maxDelayMs,
    jitterMs,
    random,
    scheduler,
    logger,
  };
}

function resolveShouldRetry(config: RetryRunConfig): (error: RunFailedError, attempt: number) => boolean {
  const { shouldRetry, retryableCodes } = config;
  if (shouldRetry !== undefined && retryableCodes !== undefined) {
    throw new RunflowInputError(
      'Invalid retryRun settings: shouldRetry and retryableCodes were both given; pass only shouldRetry and call isRetryableRunFailure(error, codes) inside it',
    );
  }
  if (shouldRetry !== undefined) {
    if (typeof shouldRetry !== 'function') {
      throw new RunflowInputError(
        `Invalid retryRun shouldRetry ${describeValue(shouldRetry)}: expected a function (error, attempt) => boolean`,
      );
    }
    return shouldRetry;
  }
  if (retryableCodes === undefined) return (error) => isRetryableRunFailure(error, DEFAULT_RETRYABLE_FAILURE_CODES);
  if (!Array.isArray(retryableCodes) || !retryableCodes.every((code) => typeof code === 'string' && code !== '')) {
    throw new RunflowInputError(
      `Invalid retryRun retryableCodes ${describeValue(retryableCodes)}: expected a list of failure codes such as ["PROVIDER_ERROR"]`,
    );
  }
  const codes = [...retryableCodes];
  return (error) => isRetryableRunFailure(error, codes);
}
