import { filter, type OperatorFunction } from 'rxjs';

import type { RunStatusEvent } from '../run/events.js';
import type { RunStreamEvent } from './events.js';

/**
 * Selects the status events of a run Observable.
 *
 * Every other event (log lines, node-run changes, retry events) is dropped; completion and errors
 * pass through unchanged. After `retryRun`, the statuses of every attempt appear in order, so a
 * `failed` status can be followed by the `queued` status of the next run. The `runId` of each
 * event identifies its run.
 *
 * @example
 * ```ts
 * const seen = await lastValueFrom(
 *   runflow.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } }).pipe(
 *     statusChanges(),
 *     map((event) => event.status),
 *     toArray(),
 *   ),
 * );
 * // seen: ['queued', 'dispatching', 'running', 'succeeded']; a status the poller missed is absent
 * ```
 */
export function statusChanges(): OperatorFunction<RunStreamEvent, RunStatusEvent> {
  return filter((event): event is RunStatusEvent => event.type === 'status');
}
