import { filter, map, pipe, type OperatorFunction } from 'rxjs';

import type { RunLog } from '../codecs/run.js';
import type { RunLogEvent } from '../run/events.js';
import type { RunStreamEvent } from './events.js';

/**
 * Selects the log lines of a run Observable, as `RunLog` values.
 *
 * Each line is emitted once, in the order the run Observable emits them (by timestamp within
 * one poll). Completion and errors pass through unchanged.
 *
 * @example
 * ```ts
 * const messages = await lastValueFrom(
 *   runflow.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } }).pipe(
 *     logLines(),
 *     map((log) => `${log.level_code}: ${log.message}`),
 *     toArray(),
 *   ),
 * );
 * ```
 */
export function logLines(): OperatorFunction<RunStreamEvent, RunLog> {
  return pipe(
    filter((event): event is RunLogEvent => event.type === 'log'),
    map((event) => event.log),
  );
}
