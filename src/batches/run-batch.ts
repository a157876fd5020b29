import {
  Observable,
  catchError,
  concat,
  defer,
  endWith,
  from,
  map,
  mergeMap,
  of,
  scan,
  type OperatorFunction,
} from 'rxjs';

import type { CreateRunRequest } from '../api/runs.js';
import { encodeModelPath } from '../http/model-path.js';
import type { Run } from '../codecs/run.js';
import { RunflowError, RunflowInputError, describeValue, isRunFailedError } from '../errors.js';
import type { RunEvent } from '../run/events.js';
import type { WatchOptions } from '../run/watch.js';

/** The part of a client that `runBatch` uses; a `RunflowClient` fits. */
export interface RunBatchClient {
  run(modelId: string, request: CreateRunRequest, options?: WatchOptions): Observable<RunEvent>;
}

/** One item of a client-side batch: a model input, or a full create request. */
export type RunBatchItem = Readonly<Record<string, unknown>> | { readonly request: CreateRunRequest };

/** Outcome of one item. */
export type RunBatchOutcome =
  | { readonly status: 'succeeded' | 'partial_succeeded' | 'canceled'; readonly run: Run }
  | {
      readonly status: 'failed';
      /** The failed run, or undefined when no run was created (a rejected input, an HTTP error). */
      readonly run: Run | undefined;
      readonly failureCode: string | undefined;
      readonly failureStage: string | undefined;
      readonly failureMessage: string;
      readonly error: unknown;
    };

/** Counts of item outcomes; `cancelled` is spelled as Runflow spells batch counters. */
export interface RunBatchSummary {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly partial: number;
}

/** Everything `runBatch` emits. */
export type RunBatchEvent<E = RunEvent> =
  | { readonly type: 'item-event'; readonly index: number; readonly clientRef: string | undefined; readonly event: E }
  | {
      readonly type: 'item-outcome';
      readonly index: number;
      readonly clientRef: string | undefined;
      readonly outcome: RunBatchOutcome;
    }
  | { readonly type: 'summary'; readonly summary: RunBatchSummary };

/** Options of `runBatch`. */
export interface RunBatchOptions<E = RunEvent> {
  /** Maximum number of runs in flight at once, from 1, or Infinity. Default 4. */
  readonly concurrency?: number;
  /** Options for each run (deadline, polling, callbacks, transport retry). */
  readonly runOptions?: WatchOptions;
  /**
   * Operators applied to each item's run Observable, such as `retryRun(...)`. Resubscribing
   * there creates a new run for the item.
   */
  readonly pipeItem?: OperatorFunction<RunEvent, E>;
}

const DEFAULT_CONCURRENCY = 4;

/**
 * Runs `modelId` once per item, at most `concurrency` at a time, as one Observable.
 *
 * Every run event is emitted tagged with the item's index (and `clientRef` when the item has
 * `client_ref` or its request has `clientRef`). Each item then gets exactly one `item-outcome`:
 * succeeded, partial_succeeded, canceled, or failed with the failure code, stage and message. A
 * failed item does not stop the others. When every item has ended, a `summary` is emitted and the
 * Observable completes; an empty list emits a summary of zeros at once. Unsubscribing stops every
 * run in flight and starts no more.
 *
 * @example
 * ```ts
 * runBatch(client, 'openai/gpt-image-1.5', [{ prompt: 'a fox' }, { prompt: 'an owl' }], { concurrency: 2 })
 *   .pipe(filter((event) => event.type === 'summary'))
 *   .subscribe((event) => console.log(event.summary)); // { total: 2, succeeded: 2, ... }
 * ```
 */
export function runBatch<E = RunEvent>(
  client: RunBatchClient,
  modelId: string,
  items: readonly RunBatchItem[],
  options: RunBatchOptions<E> = {},
): Observable<RunBatchEvent<E>> {
  if (!Array.isArray(items)) {
    throw new RunflowInputError(`Invalid batch items ${describeValue(items)}: expected an array of model inputs`);
  }
  encodeModelPath(modelId);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(Number.isInteger(concurrency) || concurrency === Infinity) || concurrency < 1) {
    throw new RunflowInputError(
      `Invalid concurrency ${describeValue(concurrency)}: expected a whole number of at least 1, or Infinity`,
    );
  }
  const requests = items.map(toRequest);
  const pipeItem = options.pipeItem ?? ((source: Observable<RunEvent>) => source as unknown as Observable<E>);

  return defer(() =>
    from(requests.map((request, index) => ({ request, index }))).pipe(
      mergeMap(({ request, index }) => {
        const clientRef = request.clientRef ?? undefined;
        let lastRun: Run | undefined;
        const events$ = defer(() => client.run(modelId, request, options.runOptions)).pipe(
          pipeItem,
          map((event): RunBatchEvent<E> => {
            const run = runOf(event);
            if (run !== undefined) lastRun = run;
            return { type: 'item-event', index, clientRef, event };
          }),
        );
        const outcome = (value: RunBatchOutcome): RunBatchEvent<E> => ({
          type: 'item-outcome',
          index,
          clientRef,
          outcome: value,
        });
        return concat(
          events$,
          defer(() => of(outcome(completedOutcome(lastRun)))),
        ).pipe(catchError((error: unknown) => of(outcome(failedOutcome(error, lastRun)))));
      }, concurrency),
      tally(requests.length),
    ),
  );
}

/** Passes events through and appends the summary once the source completes. */
function tally<E>(total: number): OperatorFunction<RunBatchEvent<E>, RunBatchEvent<E>> {
  return (source) => {
    const summary = { total, succeeded: 0, failed: 0, cancelled: 0, partial: 0 };
    return source.pipe(
      scan(
        (_, event) => {
          if (event.type === 'item-outcome') {
            const status = event.outcome.status;
            if (status === 'succeeded') summary.succeeded++;
            else if (status === 'partial_succeeded') summary.partial++;
            else if (status === 'canceled') summary.cancelled++;
            else summary.failed++;
          }
          return event;
        },
        undefined as unknown as RunBatchEvent<E>,
      ),
      endWith<RunBatchEvent<E>>({ type: 'summary', summary }),
    );
  };
}

function toRequest(item: RunBatchItem, index: number): CreateRunRequest {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new RunflowInputError(`Invalid batch item ${index} ${describeValue(item)}: expected a model input object`);
  }
  // A full create request is recognised by its `request.input` object; any other field named
  // `request` is part of a model input.
  const wrapped = (item as { request?: { input?: unknown } }).request;
  if (typeof wrapped === 'object' && wrapped !== null && typeof wrapped.input === 'object' && wrapped.input !== null) {
    return wrapped as CreateRunRequest;
  }
  const { client_ref: clientRef, ...input } = item as Record<string, unknown>;
  if (clientRef !== undefined && typeof clientRef !== 'string') {
    throw new RunflowInputError(
      `Invalid client_ref of batch item ${index} ${describeValue(clientRef)}: expected a string`,
    );
  }
  return clientRef === undefined ? { input } : { input, clientRef };
}

function runOf(event: unknown): Run | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const candidate = event as { type?: unknown; run?: Run };
  return candidate.type === 'status' ? candidate.run : undefined;
}

function completedOutcome(run: Run | undefined): RunBatchOutcome {
  if (run === undefined) {
    return failedOutcome(new RunflowError('The run ended without any status event'), undefined);
  }
  const status = run.status_code;
  if (status === 'succeeded' || status === 'partial_succeeded' || status === 'canceled') {
    return { status: status as 'succeeded' | 'partial_succeeded' | 'canceled', run };
  }
  return failedOutcome(new RunflowError(`The run ended with status ${status}`), run);
}

function failedOutcome(error: unknown, lastRun: Run | undefined): RunBatchOutcome {
  if (isRunFailedError(error)) {
    return {
      status: 'failed',
      run: error.run,
      failureCode: error.failureCode,
      failureStage: error.failureStage,
      failureMessage: error.failureMessage ?? error.message,
      error,
    };
  }
  const code = (error as { code?: unknown }).code;
  return {
    status: 'failed',
    run: lastRun,
    failureCode: typeof code === 'string' ? code : undefined,
    failureStage: undefined,
    failureMessage: error instanceof Error ? error.message : String(error),
    error,
  };
}
