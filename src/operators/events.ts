import type { RunFailedError } from '../errors.js';
import type { RunEvent } from '../run/events.js';

/**
 * A retry announced by `retryRun`: the run `runId` failed with a retryable failure, and a new run
 * is created after `delayMs`. Emitted at the moment of the failure, before the delay.
 */
export interface RunRetryEvent {
  readonly type: 'retry';
  /** The id of the run that failed. */
  readonly runId: string;
  /** The number of the attempt that failed, from 1; the next attempt is `attempt + 1`. */
  readonly attempt: number;
  /** The attempt limit in effect, the first attempt included. */
  readonly maxAttempts: number;
  /** The wait before the next attempt subscribes again (and so creates a new run), in ms. */
  readonly delayMs: number;
  /** The failure that caused the retry. */
  readonly error: RunFailedError;
}

/** Everything a run Observable emits, including the retry events that `retryRun` adds. */
export type RunStreamEvent = RunEvent | RunRetryEvent;
