/**
 * Callback envelopes of runs and batches, and the callback targets that build them.
 *
 * A run envelope is `{event, run_id, status, output, duration_ms, created_at, completed_at,
 * metadata}`, and a batch envelope has `batch_id` in place of `run_id`. Timestamps carry
 * milliseconds and the offset `+00:00`, never `Z`, as Runflow documents for callbacks.
 */
import { batchOutput, batchStatusAt, batchTerminalAt, type StoredBatch } from './batch-view.js';
import type { CallbackPayload, CallbackTarget } from './callback-delivery.js';
import { spellStatus, terminalOutput, type StoredRun } from './run-view.js';
import type { SimulatorState } from './state.js';
import type { SimulatedOutcome } from './steering.js';

/** Event of a run callback by terminal status. A successful run fires `run.completed`, not `run.succeeded`. */
const RUN_EVENTS: Readonly<Record<SimulatedOutcome, string>> = {
  succeeded: 'run.completed',
  failed: 'run.failed',
  canceled: 'run.cancelled',
  partial_succeeded: 'run.partial_succeeded',
};

/**
 * Event of a batch callback by terminal status. Runflow documents `batch.succeeded` only, so the
 * other names are the simulator's, with the UK spelling of `run.cancelled`.
 */
const BATCH_EVENTS: Readonly<Record<string, string>> = {
  succeeded: 'batch.succeeded',
  failed: 'batch.failed',
  canceled: 'batch.cancelled',
  partial_succeeded: 'batch.partial_succeeded',
};

/** Formats a callback timestamp: ISO 8601 in UTC with milliseconds and `+00:00`, e.g. `2026-05-06T10:00:00.000+00:00`. */
export function callbackTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '+00:00');
}

/** Returns the envelope of a terminal run. */
export function runEnvelope(state: SimulatorState, run: StoredRun): CallbackPayload {
  const { plan } = run;
  return {
    event: RUN_EVENTS[plan.terminalStatus],
    run_id: run.id,
    status: spellStatus(plan.terminalStatus, state.drift),
    output: terminalOutput(run, state.drift),
    duration_ms: plan.endsAt - run.createdAt,
    created_at: callbackTime(run.createdAt),
    completed_at: callbackTime(plan.endsAt),
    metadata: run.metadata,
  };
}

/** Returns the envelope of a terminal batch. */
export function batchEnvelope(state: SimulatorState, batch: StoredBatch): CallbackPayload {
  const terminalAt = batchTerminalAt(state, batch);
  const status = batchStatusAt(state, batch, terminalAt);
  return {
    event: BATCH_EVENTS[status] ?? `batch.${status}`,
    batch_id: batch.id,
    status: spellStatus(status, state.drift),
    output: batchOutput(state, batch, state.drift),
    duration_ms: terminalAt - batch.createdAt,
    created_at: callbackTime(batch.createdAt),
    completed_at: callbackTime(terminalAt),
    metadata: batch.metadata,
  };
}

/** Returns the callback target of a run. Runs of batch items have no callback URL of their own. */
export function runCallbackTarget(state: SimulatorState, run: StoredRun): CallbackTarget {
  return {
    kind: 'run',
    id: run.id,
    callbackUrl: run.callbackUrl,
    terminalAt: run.plan.endsAt,
    buildEnvelope: () => runEnvelope(state, run),
  };
}

export function batchCallbackTarget(state: SimulatorState, batch: StoredBatch): CallbackTarget {
  return {
    kind: 'batch',
    id: batch.id,
    callbackUrl: batch.callbackUrl,
    terminalAt: batchTerminalAt(state, batch),
    buildEnvelope: () => batchEnvelope(state, batch),
  };
}
