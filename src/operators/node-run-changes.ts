import { filter, type OperatorFunction } from 'rxjs';

import type { RunNodeRunEvent } from '../run/events.js';
import type { RunStreamEvent } from './events.js';

/**
 * Selects the node-run (step) events of a run Observable.
 *
 * Each event carries the node-run as observed and its `previous` observation, so a consumer can
 * tell a new step from a state change. Runs of single-step models usually emit none. Completion
 * and errors pass through unchanged.
 *
 * @example
 * ```ts
 * const changes = await lastValueFrom(
 *   runflow.run('bytedance/seedance/2.0/fast/text-to-video', { input: { prompt: 'waves' } }).pipe(
 *     nodeRunChanges(),
 *     map(({ nodeRun, previous }) => `${nodeRun.node_id}: ${previous?.state_code ?? 'new'} -> ${nodeRun.state_code}`),
 *     toArray(),
 *   ),
 * );
 * ```
 */
export function nodeRunChanges(): OperatorFunction<RunStreamEvent, RunNodeRunEvent> {
  return filter((event): event is RunNodeRunEvent => event.type === 'node-run');
}
