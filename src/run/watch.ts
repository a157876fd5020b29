import {
  EMPTY,
  Observable,
  concat,
  defer,
  expand,
  from,
  map,
  mergeMap,
  throwError,
  timer,
  type SchedulerLike,
} from 'rxjs';

import type { Run } from '../codecs/run.js';
import { RunFailedError, RunTimeoutError } from '../errors.js';
import type { RunflowLogger } from '../logger.js';
import { checkDelay, resolvePollConfig, type PollConfig, type ResolvedPollConfig } from './config.js';
import type { RunEvent } from './events.js';
import { foldSnapshot, initialRunState, type FoldResult, type RunState } from './state.js';

/** Options of one run Observable. */
export interface WatchOptions {
  /**
   * Deadline for the whole run, in ms from subscription; past it the Observable errors with
   * RunTimeoutError. Default: none. The run itself keeps going on the server.
   */
  readonly timeoutMs?: number;
  /** Poll settings for this run, over the client's. */
  readonly poll?: PollConfig;
}

/** Dependencies of a run Observable, provided by the client. */
export interface WatchContext {
  readonly getRun: (runId: string) => Observable<Run>;
  readonly scheduler: SchedulerLike;
  readonly logger: RunflowLogger;
  readonly poll?: PollConfig;
}

interface PollStep extends FoldResult {
  /** Delay before the next poll, in ms. */
  readonly nextDelayMs: number;
}

/**
 * Turns a first snapshot into the run's event stream: it folds that snapshot, then polls
 * `getRun` until a terminal status.
 *
 * One request is in flight at a time and the next poll is scheduled after the response. The
 * delay starts at `intervalMs`, grows by `backoffFactor` after each poll that brought no event,
 * up to `maxIntervalMs`, and goes back to `intervalMs` after a poll that did. The stream
 * completes after the terminal status event, or errors with RunFailedError when that status is
 * `failed`. Unsubscribing cancels the timer and aborts the request in flight.
 */
export function runEvents(
  context: WatchContext,
  first: Observable<Run>,
  options: WatchOptions = {},
): Observable<RunEvent> {
  const poll = resolvePollConfig(context.poll, options.poll);
  const timeoutMs = options.timeoutMs === undefined ? undefined : checkDelay('timeoutMs', options.timeoutMs, 1);
  return defer(() => {
    // Per subscription: the newest state, for the deadline error.
    let latest: RunState | undefined;

    const observe = (state: RunState | undefined, snapshot$: Observable<Run>, delayMs: number): Observable<PollStep> =>
      snapshot$.pipe(
        map((run) => {
          const result = foldSnapshot(state ?? initialRunState(run.id), run);
          latest = result.state;
          report(context.logger, result);
          return { ...result, nextDelayMs: nextDelay(poll, delayMs, result) };
        }),
      );

    const events$ = observe(undefined, first, poll.intervalMs).pipe(
      expand((step) =>
        step.state.terminal
          ? EMPTY
          : timer(step.nextDelayMs, context.scheduler).pipe(
              mergeMap(() => observe(step.state, context.getRun(step.state.runId), step.nextDelayMs)),
            ),
      ),
      mergeMap((step) => {
        const events = from(step.events);
        const last = step.events[step.events.length - 1];
        if (last?.type !== 'status' || last.status !== 'failed') return events;
        return concat(
          events,
          throwError(() => new RunFailedError(last.run)),
        );
      }),
    );

    if (timeoutMs === undefined) return events$;
    return withDeadline(
      events$,
      timeoutMs,
      context.scheduler,
      () => new RunTimeoutError(latest?.runId, timeoutMs, latest?.lastRun),
    );
  });
}

function nextDelay(poll: ResolvedPollConfig, delayMs: number, result: FoldResult): number {
  if (result.events.length > 0) return poll.intervalMs;
  return Math.min(delayMs * poll.backoffFactor, poll.maxIntervalMs);
}

function report(logger: RunflowLogger, result: FoldResult): void {
  const runId = result.state.runId;
  if (result.newUnknownStatus !== undefined) {
    logger.warn('Run reported an undocumented status; treating it as not terminal', {
      runId,
      status: result.newUnknownStatus,
    });
  }
  if (result.stale) {
    logger.debug('Ignored a run snapshot older than the last one seen', {
      runId,
      status: result.state.lastRun?.status_code,
    });
  }
}

/**
 * Mirrors `source`, but errors with `makeError()` if it has not finished `ms` after subscription.
 * The timer is cancelled when the source finishes or the subscriber unsubscribes.
 */
export function withDeadline<T>(
  source: Observable<T>,
  ms: number,
  scheduler: SchedulerLike,
  makeError: () => unknown,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    const deadline = scheduler.schedule(() => subscriber.error(makeError()), ms);
    const inner = source.subscribe(subscriber);
    return () => {
      deadline.unsubscribe();
      inner.unsubscribe();
    };
  });
}
