import { EMPTY, concat, defer, ignoreElements, of, tap, type OperatorFunction } from 'rxjs';

import type { Run } from '../codecs/run.js';
import { isTerminalStatus } from '../codecs/status.js';
import type { RunStreamEvent } from './events.js';

/**
 * Emits the terminal run snapshot once, when the source completes.
 *
 * The emitted run is the snapshot of the last terminal status event: `succeeded`,
 * `partial_succeeded` or `canceled` (and `failed`, when an upstream `catchError` turned the
 * failure into completion). A run that fails errors with RunFailedError, which passes through
 * without a value. After `retryRun` a failed attempt does not count: only the terminal status of
 * the last attempt is emitted. A source that completes before any terminal status (cut short by
 * `take`, for example) completes without a value, so `lastValueFrom` then rejects with EmptyError.
 *
 * @example
 * ```ts
 * const run = await lastValueFrom(
 *   runflow.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } }).pipe(finalRun()),
 * );
 * // run.status_code: 'succeeded'; run.output contains the outputs
 * ```
 */
export function finalRun(): OperatorFunction<RunStreamEvent, Run> {
  return (source) =>
    defer(() => {
      let terminal: Run | undefined;
      const remember = (event: RunStreamEvent): void => {
        if (event.type === 'status') terminal = isTerminalStatus(event.status) ? event.run : undefined;
        // A retry starts a new run, so the failed run before it is not the final one.
        if (event.type === 'retry') terminal = undefined;
      };
      return concat(
        source.pipe(tap(remember), ignoreElements()),
        defer(() => (terminal === undefined ? EMPTY : of(terminal))),
      );
    });
}
