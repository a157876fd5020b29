import { catchError, concat, defer, from, map, mergeMap, of, startWith, type Observable } from 'rxjs';

import type { RunStatus } from '../codecs/status.js';
import { RunflowInputError, describeValue, isRunFailedError } from '../errors.js';
import { combineNodeRuns, type NodeRunProgress } from './combine-node-runs.js';
import type { RunStreamEvent } from './events.js';

/** Run Observables to watch together: a list, or a record whose keys name the runs. */
export type RunSources =
  ReadonlyArray<Observable<RunStreamEvent>> | Readonly<Record<string, Observable<RunStreamEvent>>>;

/** Settings of `combineRunProgress`. */
export interface CombineRunProgressConfig {
  /** The number of sources subscribed at the same time, an integer of at least 1. Default: all of them. */
  readonly concurrency?: number;
}

/**
 * The state of one source: `waiting` (not subscribed yet, because of `concurrency`), `active`, or
 * how it ended. `interrupted` means it ended without a terminal status: with an error other than
 * RunFailedError (a deadline, an HTTP error), or by completing before the run ended.
 */
export type RunItemState =
  'waiting' | 'active' | 'succeeded' | 'partial_succeeded' | 'canceled' | 'failed' | 'interrupted';

/** The progress of one source of `combineRunProgress`. */
export interface RunItemProgress {
  /** The record key of the source, or its index in the list as a string. */
  readonly key: string;
  readonly state: RunItemState;
  /** The id of the run being watched (the latest attempt after `retryRun`), once known. */
  readonly runId: string | undefined;
  /** The last status emitted for the run, once known. */
  readonly status: RunStatus | undefined;
  /** The latest step progress of the run, once its first status or node-run event arrived. */
  readonly progress: NodeRunProgress | undefined;
  /** The error the source ended with, for `failed` and an interrupted source that errored. */
  readonly error: unknown;
}

/** The combined progress of many runs, as `combineRunProgress` emits it. */
export interface RunProgress {
  /** The number of sources. */
  readonly runs: number;
  /** Sources subscribed so far, finished ones included. */
  readonly started: number;
  /** Sources that ended: the sum of the five outcome counts below. */
  readonly finished: number;
  readonly succeeded: number;
  readonly partialSucceeded: number;
  readonly failed: number;
  readonly canceled: number;
  /** Sources that ended without a terminal status (see `RunItemState`). */
  readonly interrupted: number;
  /** Steps completed over all runs, from each run's latest `NodeRunProgress`. */
  readonly stepsCompleted: number;
  /** Steps in all over the runs that reported their steps. */
  readonly stepsTotal: number;
  /**
   * The mean progress of the sources, from 0 to 1: a finished source counts 1 whatever its
   * outcome, and an active one its `NodeRunProgress.ratio`. With no sources it is 1.
   */
  readonly ratio: number;
  /** One entry per source, in the order of the list or of the record's keys. */
  readonly items: readonly RunItemProgress[];
}

/**
 * Subscribes to many run Observables and emits their combined progress as it changes.
 *
 * Emits a first snapshot on subscription, then one after each change of any source: a
 * subscription, a status or node-run event, an end. It completes after the last source ended,
 * and never errors because of a source: a RunFailedError counts as `failed`, any other error as
 * `interrupted`. Unsubscribing unsubscribes every source. No sources give one snapshot with
 * ratio 1, then completion.
 *
 * Each subscription to a source made by `client.run` creates a run, so this function creates one
 * run per source, at most `concurrency` at a time, in order. To read a run's events as well,
 * pass a source shared with `share()` and subscribe to it before subscribing here.
 *
 * Throws RunflowInputError at the call when `sources` is not a list or record of Observables, or
 * `concurrency` is not a positive integer.
 *
 * @example
 * ```ts
 * const prompts = ['a fox', 'a heron', 'a moth'];
 * const batch = prompts.map((prompt) => runflow.run('openai/gpt-image-1.5', { input: { prompt } }));
 * const progress = await lastValueFrom(combineRunProgress(batch, { concurrency: 2 }));
 * // progress: { runs: 3, finished: 3, succeeded: 3, failed: 0, ratio: 1, … }
 * ```
 */
export function combineRunProgress(
  sources: RunSources,
  config: CombineRunProgressConfig = {},
): Observable<RunProgress> {
  const entries = sourceEntries(sources);
  const concurrency = checkConcurrency(config);

  return defer(() => {
    const items: RunItemProgress[] = entries.map(([key]) => ({
      key,
      state: 'waiting',
      runId: undefined,
      status: undefined,
      progress: undefined,
      error: undefined,
    }));
    const updates$ = from(entries.map(([key, source], index) => ({ key, source, index }))).pipe(
      mergeMap(({ key, source, index }) => watchItem(key, source).pipe(map((item) => ({ index, item }))), concurrency),
    );
    return updates$.pipe(
      map(({ index, item }) => {
        items[index] = item;
        return summarize(items);
      }),
      startWith(summarize(items)),
    );
  });
}

/** Emits the item as `active` on subscription, after each progress change, and once at its end. */
function watchItem(key: string, source: Observable<RunStreamEvent>): Observable<RunItemProgress> {
  return defer(() => {
    let latest: NodeRunProgress | undefined;
    const item = (state: RunItemState, error?: unknown): RunItemProgress => ({
      key,
      state,
      runId: latest?.runId,
      status: latest?.status,
      progress: latest,
      error,
    });

    const progress$ = source.pipe(
      combineNodeRuns(),
      map((progress) => {
        latest = progress;
        return item('active');
      }),
    );
    const end$ = defer(() => of(item(completedState(latest?.status))));
    return concat(
      of(item('active')),
      concat(progress$, end$).pipe(
        catchError((error: unknown) => of(item(isRunFailedError(error) ? 'failed' : 'interrupted', error))),
      ),
    );
  });
}

const ENDED_STATES: ReadonlySet<string> = new Set<RunItemState>([
  'succeeded',
  'partial_succeeded',
  'canceled',
  'failed',
]);

/** Returns the state of a source that completed, from the last status it emitted. */
function completedState(status: RunStatus | undefined): RunItemState {
  return status !== undefined && ENDED_STATES.has(status) ? (status as RunItemState) : 'interrupted';
}

/**
 * Sums up the items in one pass. NOTE: each emission copies and scans every item, so the cost of
 * each event grows with the number of sources.
 */
function summarize(items: readonly RunItemProgress[]): RunProgress {
  const states: Record<RunItemState, number> = {
    waiting: 0,
    active: 0,
    succeeded: 0,
    partial_succeeded: 0,
    canceled: 0,
    failed: 0,
    interrupted: 0,
  };
  let stepsCompleted = 0;
  let stepsTotal = 0;
  let ratioSum = 0;
  for (const item of items) {
    states[item.state]++;
    stepsCompleted += item.progress?.completed ?? 0;
    stepsTotal += item.progress?.total ?? 0;
    if (item.state === 'active') ratioSum += item.progress?.ratio ?? 0;
    else if (item.state !== 'waiting') ratioSum += 1;
  }

  return {
    runs: items.length,
    started: items.length - states.waiting,
    finished: items.length - states.waiting - states.active,
    succeeded: states.succeeded,
    partialSucceeded: states.partial_succeeded,
    failed: states.failed,
    canceled: states.canceled,
    interrupted: states.interrupted,
    stepsCompleted,
    stepsTotal,
    ratio: items.length === 0 ? 1 : ratioSum / items.length,
    items: [...items],
  };
}

function sourceEntries(sources: RunSources): Array<[string, Observable<RunStreamEvent>]> {
  if (typeof sources !== 'object' || sources === null) {
    throw new RunflowInputError(
      `Invalid run sources ${describeValue(sources)}: expected a list or a record of run Observables, such as [client.run(…), client.run(…)]`,
    );
  }
  const entries: Array<[string, unknown]> = Array.isArray(sources)
    ? sources.map((source, index) => [String(index), source])
    : Object.entries(sources);
  for (const [key, source] of entries) {
    if (typeof (source as { subscribe?: unknown } | null)?.subscribe !== 'function') {
      throw new RunflowInputError(
        `Invalid run source at ${Array.isArray(sources) ? 'index' : 'key'} ${key}: expected an Observable such as client.run(…), received ${describeValue(source)}`,
      );
    }
  }
  return entries as Array<[string, Observable<RunStreamEvent>]>;
}

function checkConcurrency(config: CombineRunProgressConfig): number {
  if (typeof config !== 'object' || config === null) {
    throw new RunflowInputError(
      `Invalid combineRunProgress settings ${describeValue(config)}: expected an object such as { concurrency: 4 }`,
    );
  }
  const concurrency = config.concurrency ?? Infinity;
  if (concurrency !== Infinity && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new RunflowInputError(
      `Invalid concurrency ${describeValue(concurrency)}: expected an integer of at least 1, or leave it out to subscribe to every source at once`,
    );
  }
  return concurrency;
}
