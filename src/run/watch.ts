import {
  EMPTY,
  Observable,
  catchError,
  concat,
  defer,
  exhaustMap,
  expand,
  from,
  map,
  merge,
  mergeMap,
  of,
  takeWhile,
  throwError,
  timer,
  type SchedulerLike,
} from 'rxjs';

import type { CallbackEnvelope } from '../callbacks/envelope.js';
import type { CallbackReceiver } from '../callbacks/receiver.js';
import { isTerminalStatus } from '../codecs/status.js';
import type { Run } from '../codecs/run.js';
import { RunFailedError, RunTimeoutError, RunflowInputError, checkKnownKeys, describeValue } from '../errors.js';
import type { RetryConfig } from '../http/retry.js';
import type { RunflowLogger } from '../logger.js';
import { checkDelay, resolvePollConfig, type PollConfig, type ResolvedPollConfig } from './config.js';
import type { RunEvent } from './events.js';
import type { SharedPoller } from './shared-poller.js';
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
  /** Transport retry settings for this run's own requests (create, per-run GETs), over the client's. */
  readonly retry?: RetryConfig | false;
  /**
   * A callback receiver: the run then ends by its callback, and polling drops to a slow safety
   * net every `safetyNetIntervalMs`. Pass `callbackUrl` when creating the run so that Runflow
   * calls the receiver.
   */
  readonly callbacks?: CallbackReceiver;
  /** Interval of the safety-net poll of a run watched with `callbacks`, in ms. Default 30000. */
  readonly safetyNetIntervalMs?: number;
}

/** Default interval of the safety-net poll of a run watched with callbacks, in ms. */
export const DEFAULT_SAFETY_NET_INTERVAL_MS = 30_000;

/** Dependencies of a run Observable, provided by the client. */
export interface WatchContext {
  /** Fetches one snapshot; the client passes it through transport retry and the request budget. */
  readonly getRun: (runId: string) => Observable<Run>;
  readonly scheduler: SchedulerLike;
  readonly logger: RunflowLogger;
  readonly poll?: PollConfig;
  /** The client's shared poller; without it every run polls on its own. */
  readonly shared?: SharedPoller;
}

interface PollStep extends FoldResult {
  /** Delay before the next per-run poll, in ms. */
  readonly nextDelayMs: number;
}

/**
 * Starting point of a run Observable: a request that creates the run (its response is the
 * first snapshot), or the id of an existing run.
 */
export type RunSource = { readonly create: Observable<Run> } | { readonly runId: string };

/**
 * Follows a run from `source` to a terminal status as a stream of events.
 *
 * With `poll.mode: 'shared'` (the default when the context has a shared poller) the run joins
 * the client's shared poller. With `'per-run'` it polls `getRun` itself, with one request in
 * flight and the next poll scheduled after the response. The delay starts at `intervalMs` and
 * grows by `backoffFactor` after each poll that brought no event, up to `maxIntervalMs`. A poll
 * that brought an event sets it back to `intervalMs`.
 *
 * The stream completes after the terminal status event, or errors with RunFailedError when that
 * status is `failed`. Unsubscribing cancels the timers and aborts the request in flight.
 */
export function runEvents(context: WatchContext, source: RunSource, options: WatchOptions = {}): Observable<RunEvent> {
  checkKnownKeys('run', options, ['timeoutMs', 'poll', 'retry', 'callbacks', 'safetyNetIntervalMs']);
  const poll = resolvePollConfig(context.poll, options.poll);
  const timeoutMs = options.timeoutMs === undefined ? undefined : checkDelay('timeoutMs', options.timeoutMs, 1);
  const shared = poll.mode === 'shared' ? context.shared : undefined;
  const callbacks = options.callbacks;
  if (callbacks !== undefined && typeof (callbacks as Partial<CallbackReceiver>).runEnvelopes !== 'function') {
    throw new RunflowInputError(
      `Invalid callbacks ${describeValue(callbacks)}: expected a receiver from createCallbackReceiver()`,
    );
  }
  const safetyNetMs = checkDelay(
    'safetyNetIntervalMs',
    options.safetyNetIntervalMs ?? DEFAULT_SAFETY_NET_INTERVAL_MS,
    1,
  );

  return defer(() => {
    // Per subscription: the newest state, for the deadline error.
    let latest: RunState | undefined;
    const fold = (state: RunState | undefined, run: Run): FoldResult => {
      const result = foldSnapshot(state ?? initialRunState(run.id), run);
      latest = result.state;
      report(context.logger, result);
      return result;
    };

    let steps$: Observable<FoldResult>;
    if (callbacks !== undefined) {
      const first = 'create' in source ? source.create : context.getRun(source.runId);
      steps$ = first.pipe(
        mergeMap((run) => callbackSteps(context, callbacks, safetyNetMs, poll.intervalMs, run, fold)),
      );
    } else if (shared === undefined) {
      const first = 'create' in source ? source.create : context.getRun(source.runId);
      steps$ = perRunSteps(context, poll, first, fold);
    } else if ('create' in source) {
      steps$ = source.create.pipe(mergeMap((run) => sharedSteps(shared, run.id, run, fold)));
    } else {
      // The shared poller fetches the first snapshot with its next check, together with other runs.
      steps$ = sharedSteps(shared, source.runId, undefined, fold);
    }

    const events$ = steps$.pipe(
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
    return failAfter(
      events$,
      timeoutMs,
      context.scheduler,
      () => new RunTimeoutError(latest?.runId, timeoutMs, latest?.lastRun),
    );
  });
}

type Fold = (state: RunState | undefined, run: Run) => FoldResult;

function perRunSteps(
  context: WatchContext,
  poll: ResolvedPollConfig,
  first: Observable<Run>,
  fold: Fold,
): Observable<PollStep> {
  const observe = (state: RunState | undefined, snapshot$: Observable<Run>, delayMs: number): Observable<PollStep> =>
    snapshot$.pipe(
      map((run) => {
        const result = fold(state, run);
        return { ...result, nextDelayMs: nextDelay(poll, delayMs, result) };
      }),
    );

  return observe(undefined, first, poll.intervalMs).pipe(
    expand((step) =>
      step.state.terminal
        ? EMPTY
        : timer(step.nextDelayMs, context.scheduler).pipe(
            mergeMap(() => observe(step.state, context.getRun(step.state.runId), step.nextDelayMs)),
          ),
    ),
  );
}

function sharedSteps(shared: SharedPoller, runId: string, seed: Run | undefined, fold: Fold): Observable<FoldResult> {
  let state: RunState | undefined;
  const step = (run: Run): FoldResult => {
    const result = fold(state, run);
    state = result.state;
    return result;
  };
  const start = seed === undefined ? undefined : step(seed);
  if (start?.state.terminal) return of(start);
  const later$ = shared.watch(runId, seed).pipe(
    map(step),
    takeWhile((result) => !result.state.terminal, true),
  );
  return start === undefined ? later$ : concat(of(start), later$);
}

/**
 * Follows a run by its callbacks. Each envelope for the run triggers one GET of the full run, so
 * the events carry the logs, node-runs and output that an envelope lacks. A safety-net GET every
 * `safetyNetMs` covers a lost callback. The fold keeps the first terminal status only.
 */
function callbackSteps(
  context: WatchContext,
  receiver: CallbackReceiver,
  safetyNetMs: number,
  fallbackIntervalMs: number,
  first: Run,
  fold: Fold,
): Observable<FoldResult> {
  let state: RunState | undefined;
  const step = (run: Run): FoldResult => {
    const result = fold(state, run);
    state = result.state;
    return result;
  };
  const start = step(first);
  if (start.state.terminal) return of(start);

  const runId = first.id;
  // When the receiver closes, its stream completes and the run is polled at the normal interval.
  const receiverClosed$ = defer(() => {
    context.logger.warn('The callback receiver closed; polling the run instead', { runId });
    return timer(0, fallbackIntervalMs, context.scheduler).pipe(exhaustMap(() => context.getRun(runId)));
  });
  const envelopes$ = receiver.runEnvelopes(runId).pipe(
    exhaustMap((envelope) =>
      context.getRun(runId).pipe(
        map((run) => withEnvelopeStatus(run, envelope)),
        catchError((error: unknown) => {
          context.logger.warn('Could not fetch the run after its callback; using the callback alone', {
            runId,
            error: error instanceof Error ? error.message : String(error),
          });
          return of(runFromEnvelope(envelope, state?.lastRun));
        }),
      ),
    ),
  );
  const safetyNet$ = timer(safetyNetMs, safetyNetMs, context.scheduler).pipe(exhaustMap(() => context.getRun(runId)));
  const later$ = merge(concat(envelopes$, receiverClosed$), safetyNet$).pipe(
    map(step),
    takeWhile((result) => !result.state.terminal, true),
  );
  return concat(of(start), later$);
}

/**
 * Applies a terminal callback to a fetched run that does not show it yet, as a lagging replica
 * may return. The callback's status and output win, and the rest of the run is kept.
 */
function withEnvelopeStatus(run: Run, envelope: CallbackEnvelope): Run {
  const status = envelope.status;
  if (status === undefined || status === null || !isTerminalStatus(status) || isTerminalStatus(run.status_code))
    return run;
  return { ...runFromEnvelope(envelope, run) };
}

/** Builds a run snapshot from a callback envelope over the last known snapshot. */
function runFromEnvelope(envelope: CallbackEnvelope, base: Run | undefined): Run {
  const status = envelope.status ?? base?.status_code ?? 'running';
  const failure = status === 'failed' && envelope.output ? (envelope.output as Record<string, unknown>) : undefined;
  return {
    ...base,
    id: envelope.run_id ?? base?.id ?? '',
    status_code: status,
    output: failure === undefined ? ((envelope.output as Run['output']) ?? base?.output ?? null) : null,
    duration_ms: envelope.duration_ms ?? base?.duration_ms ?? null,
    completed_at: envelope.completed_at ?? base?.completed_at ?? null,
    metadata: envelope.metadata ?? base?.metadata ?? null,
    ...(failure === undefined
      ? {}
      : {
          failure_code: stringOr(failure['code'], base?.failure_code),
          failure_message: stringOr(failure['message'], base?.failure_message),
          failure_stage_code: stringOr(failure['stage'], base?.failure_stage_code),
        }),
  } as Run;
}

function stringOr(value: unknown, fallback: string | null | undefined): string | null {
  return typeof value === 'string' ? value : (fallback ?? null);
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
export function failAfter<T>(
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
