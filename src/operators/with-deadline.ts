import { Observable, asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

import type { Run } from '../codecs/run.js';
import { RunTimeoutError, RunflowInputError, describeValue } from '../errors.js';
import { checkDelay } from '../run/config.js';

/**
 * Errors with RunTimeoutError when the source has not finished `ms` after subscription, and
 * unsubscribes the source.
 *
 * Placed after `retryRun`, the deadline bounds every attempt and every wait between them, where
 * the `timeoutMs` option of `client.run` bounds one run. Unsubscribing the source stops its timers
 * and aborts its requests in flight; the run itself keeps going on the server. The error's
 * `runId` is the run of the last run event seen. Its `lastRun` is the snapshot of that run's last
 * status event. Both are undefined when no run event arrived. The timer is cancelled when the
 * source completes or errors, or when the subscriber unsubscribes.
 *
 * Values that are not run events pass through too, and the error then carries no run.
 * Throws RunflowInputError at the call when `ms` is not a number of milliseconds from 1 to
 * 2^31 - 1 or `scheduler` is not a scheduler.
 *
 * @example
 * ```ts
 * const run = await lastValueFrom(
 *   runflow
 *     .run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } })
 *     .pipe(retryRun({ maxAttempts: 3 }), withDeadline(600_000), finalRun()),
 * );
 * // rejects with RunTimeoutError if the attempts and their waits take more than 10 minutes
 * ```
 */
export function withDeadline<T>(ms: number, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  const deadlineMs = checkDelay('withDeadline ms', ms, 1);
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.schedule !== 'function') {
    throw new RunflowInputError(
      `Invalid withDeadline scheduler ${describeValue(scheduler)}: expected an RxJS scheduler such as asyncScheduler`,
    );
  }

  return (source) =>
    new Observable<T>((subscriber) => {
      let runId: string | undefined;
      let lastRun: Run | undefined;
      const remember = (value: T): void => {
        const event = value as { runId?: unknown; type?: unknown; run?: Run } | null;
        if (typeof event !== 'object' || event === null || typeof event.runId !== 'string') return;
        if (event.runId !== runId) lastRun = undefined;
        runId = event.runId;
        if (event.type === 'status' && event.run !== undefined) lastRun = event.run;
      };

      // Erroring the subscriber runs the teardown below, which unsubscribes the source.
      const deadline = scheduler.schedule(
        () => subscriber.error(deadlineError(runId, deadlineMs, lastRun)),
        deadlineMs,
      );
      const inner = source.subscribe({
        next: (value) => {
          remember(value);
          subscriber.next(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        deadline.unsubscribe();
        inner.unsubscribe();
      };
    });
}

/** Creates a RunTimeoutError whose message names this operator's deadline, not the `timeoutMs` option. */
function deadlineError(runId: string | undefined, ms: number, lastRun: Run | undefined): RunTimeoutError {
  const error = new RunTimeoutError(runId, ms, lastRun);
  error.message =
    runId === undefined
      ? `No run event arrived within the withDeadline limit of ${ms} ms; raise the limit or check the server`
      : `Run ${runId} did not finish within the withDeadline limit of ${ms} ms; it keeps running on the server, ` +
        'so raise the limit or keep watching it with watch(runId)';
  return error;
}
