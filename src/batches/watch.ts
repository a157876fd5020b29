import {
  EMPTY,
  Observable,
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
  timer,
  type SchedulerLike,
} from 'rxjs';

import type { CallbackReceiver } from '../callbacks/receiver.js';
import { isTerminalStatus, normalizeStatus, statusRank, type RunStatus } from '../codecs/status.js';
import { RunTimeoutError } from '../errors.js';
import type { RunflowLogger } from '../logger.js';
import { checkDelay, resolvePollConfig, type PollConfig } from '../run/config.js';
import { DEFAULT_SAFETY_NET_INTERVAL_MS, failAfter } from '../run/watch.js';
import type { Batch, BatchItemSummary } from './codecs.js';

/** Counts of a finished batch's items; `cancelled` is spelled as Runflow spells batch counters. */
export interface BatchSummary {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
}

/** Everything a batch Observable emits. */
export type BatchEvent =
  | {
      readonly type: 'batch-status';
      readonly batchId: string;
      readonly status: RunStatus;
      readonly previous: RunStatus | undefined;
      readonly batch: Batch;
    }
  | {
      readonly type: 'batch-item';
      readonly batchId: string;
      readonly item: BatchItemSummary;
      readonly previous: BatchItemSummary | undefined;
    }
  | { readonly type: 'batch-summary'; readonly batchId: string; readonly summary: BatchSummary; readonly batch: Batch };

/** Options of a batch Observable. */
export interface WatchBatchOptions {
  /** Deadline for the whole batch, in ms from subscription. Default: none. */
  readonly timeoutMs?: number;
  /** Poll settings (`intervalMs`, `maxIntervalMs`, `backoffFactor`); the batch polls on its own. */
  readonly poll?: PollConfig;
  /** A callback receiver: the batch then ends by its `batch.*` callback, with a slow safety-net poll. */
  readonly callbacks?: CallbackReceiver;
  /** Interval of the safety-net poll with `callbacks`, in ms. Default 30000. */
  readonly safetyNetIntervalMs?: number;
}

/** Dependencies of a batch Observable, provided by the client. */
export interface WatchBatchContext {
  readonly getBatch: (batchId: string) => Observable<Batch>;
  readonly scheduler: SchedulerLike;
  readonly logger: RunflowLogger;
  readonly poll?: PollConfig;
}

/** Record of what a batch Observable has emitted so far. */
export interface BatchState {
  readonly statuses: ReadonlySet<string>;
  readonly status: RunStatus | undefined;
  readonly items: ReadonlyMap<string, BatchItemSummary>;
  readonly terminal: boolean;
  readonly last: Batch | undefined;
}

interface BatchStep {
  readonly state: BatchState;
  readonly events: BatchEvent[];
  readonly nextDelayMs: number;
}

/**
 * Folds a batch snapshot into the state: item status changes first, then the batch status once
 * per distinct status, never backwards, and at a terminal status the summary. A snapshot whose
 * status ranks lower than the current one is ignored.
 */
export function foldBatch(state: BatchState, batch: Batch): { state: BatchState; events: BatchEvent[] } {
  const status = normalizeStatus(batch.status_code);
  if (state.terminal || (state.status !== undefined && statusRank(status) < statusRank(state.status))) {
    return { state, events: [] };
  }
  const events: BatchEvent[] = [];
  const items = new Map(state.items);
  for (const item of batch.items ?? []) {
    const key =
      item.id ??
      (item.sequence_index === null || item.sequence_index === undefined ? undefined : `#${item.sequence_index}`);
    if (key === undefined) continue;
    const previous = items.get(key);
    const next = item.status_code ?? undefined;
    const before = previous?.status_code ?? undefined;
    if (
      previous !== undefined &&
      (next === before || (next !== undefined && before !== undefined && statusRank(next) < statusRank(before)))
    )
      continue;
    items.set(key, item);
    events.push({ type: 'batch-item', batchId: batch.id, item, previous });
  }
  let statuses = state.statuses;
  let current = state.status;
  if (!statuses.has(status)) {
    statuses = new Set(statuses).add(status);
    events.push({ type: 'batch-status', batchId: batch.id, status, previous: current, batch });
    current = status;
  }
  const terminal = isTerminalStatus(status);
  if (terminal) events.push({ type: 'batch-summary', batchId: batch.id, summary: summarizeBatch(batch), batch });
  return { state: { statuses, status: current, items, terminal, last: batch }, events };
}

/** Reads the counters of a batch, counting its lean items where a counter is absent. */
export function summarizeBatch(batch: Batch): BatchSummary {
  const items = batch.items ?? [];
  const count = (status: string): number => items.filter((item) => item.status_code === status).length;
  return {
    total: batch.items_total ?? items.length,
    succeeded: batch.items_succeeded ?? count('succeeded') + count('partial_succeeded'),
    failed: batch.items_failed ?? count('failed'),
    cancelled: batch.items_cancelled ?? count('canceled'),
  };
}

export const INITIAL_BATCH_STATE: BatchState = {
  statuses: new Set(),
  status: undefined,
  items: new Map(),
  terminal: false,
  last: undefined,
};

/**
 * Follows a server-side batch to a terminal status: item transitions, batch status changes and,
 * last, the summary. Completes after the summary whatever the final status (a failed batch is
 * data, not an error). Polls `GET /v1/batches/{id}` with backoff, or with `callbacks` waits for
 * the batch callback and polls only as a safety net.
 */
export function batchEvents(
  context: WatchBatchContext,
  batchId: string,
  options: WatchBatchOptions = {},
): Observable<BatchEvent> {
  const poll = resolvePollConfig(context.poll, options.poll);
  const timeoutMs = options.timeoutMs === undefined ? undefined : checkDelay('timeoutMs', options.timeoutMs, 1);
  const safetyNetMs = checkDelay(
    'safetyNetIntervalMs',
    options.safetyNetIntervalMs ?? DEFAULT_SAFETY_NET_INTERVAL_MS,
    1,
  );

  return defer(() => {
    let state = INITIAL_BATCH_STATE;
    const step = (batch: Batch, delayMs: number): BatchStep => {
      const result = foldBatch(state, batch);
      state = result.state;
      const nextDelayMs =
        result.events.length > 0 ? poll.intervalMs : Math.min(delayMs * poll.backoffFactor, poll.maxIntervalMs);
      return { state, events: result.events, nextDelayMs };
    };
    const fetch = (delayMs: number): Observable<BatchStep> =>
      context.getBatch(batchId).pipe(map((batch) => step(batch, delayMs)));

    let steps$: Observable<BatchStep>;
    const callbacks = options.callbacks;
    if (callbacks === undefined) {
      steps$ = fetch(poll.intervalMs).pipe(
        expand((last) =>
          last.state.terminal
            ? EMPTY
            : timer(last.nextDelayMs, context.scheduler).pipe(mergeMap(() => fetch(last.nextDelayMs))),
        ),
      );
    } else {
      const later$ = merge(
        callbacks.batchEnvelopes(batchId).pipe(exhaustMap(() => fetch(poll.intervalMs))),
        timer(safetyNetMs, safetyNetMs, context.scheduler).pipe(exhaustMap(() => fetch(poll.intervalMs))),
      ).pipe(takeWhile((result) => !result.state.terminal, true));
      steps$ = fetch(poll.intervalMs).pipe(
        mergeMap((first) => (first.state.terminal ? of(first) : concat(of(first), later$))),
      );
    }
    const events$ = steps$.pipe(mergeMap((result) => from(result.events)));
    if (timeoutMs === undefined) return events$;
    return failAfter(events$, timeoutMs, context.scheduler, () => new RunTimeoutError(batchId, timeoutMs, undefined));
  });
}
