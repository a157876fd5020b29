import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';

import {
  RunFailedError,
  createRunflowClient,
  type NodeRun,
  type Run,
  type RunEvent,
  type RunflowClient,
  type RunflowClientConfig,
  type RunLogEvent,
  type RunNodeRunEvent,
  type RunStatusEvent,
} from '../../src/index.js';
import type { Simulator } from '../../src/testing/index.js';

export const IMAGE_MODEL = 'openai/gpt-image-1.5';
export const VIDEO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';

/** Creates a client for `simulator` that polls every few ms and waits 1 ms before a transport retry. */
export function simulatorClient(simulator: Simulator, config: RunflowClientConfig = {}): RunflowClient {
  return createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 5, maxIntervalMs: 10 },
    budget: { requestsPerSecond: 10_000, burst: 1000 },
    retry: { initialDelayMs: 1, jitterMs: 0 },
    ...config,
  });
}

/**
 * Creates a TestScheduler that stops virtual time at `maxFrames` ms, so that a broken retry limit ends
 * the test with a failed expectation instead of an endless loop. `run()` itself allows any time.
 */
export function marbleScheduler(maxFrames = 10_000): TestScheduler {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const flush = scheduler.flush.bind(scheduler);
  scheduler.flush = () => {
    scheduler.maxFrames = Math.min(scheduler.maxFrames, maxFrames);
    flush();
  };
  return scheduler;
}

/** Builds a run snapshot; fields not named default to a run `run-1` without logs or node-runs. */
export function run(status: string, fields: Partial<Run> = {}): Run {
  return { id: 'run-1', status_code: status, logs: [], node_runs: [], ...fields } as Run;
}

export function statusEvent(status: string, fields: Partial<Run> = {}, previous?: string): RunStatusEvent {
  const snapshot = run(status, fields);
  return { type: 'status', runId: snapshot.id, status, previous, run: snapshot };
}

export function logEvent(message: string, runId = 'run-1'): RunLogEvent {
  return { type: 'log', runId, log: { id: `log-${message}`, run_id: runId, level_code: 'info', message } };
}

export function nodeRunEvent(nodeId: string, state: string, fields: Partial<NodeRun> = {}): RunNodeRunEvent {
  const runId = fields.run_id ?? 'run-1';
  const nodeRun: NodeRun = { id: `node-run-${nodeId}`, run_id: runId, node_id: nodeId, state_code: state, ...fields };
  return { type: 'node-run', runId, nodeRun, previous: undefined };
}

/** Creates the error that a run Observable raises when its run fails with `code` at `stage`. */
export function runFailure(code: string | undefined, stage: string | undefined, runId = 'run-1'): RunFailedError {
  return new RunFailedError(
    run('failed', { id: runId, failure_code: code ?? null, failure_stage_code: stage ?? null }),
  );
}

export const statusesOf = (events: readonly { type: string }[]): string[] =>
  events.flatMap((event) => (event.type === 'status' ? [(event as RunEvent & { type: 'status' }).status] : []));

/** Subscribes, collects every value, and resolves with the values and how the stream ended. */
export async function collect<T>(values$: Observable<T>): Promise<{ values: T[]; error: unknown; completed: boolean }> {
  const values: T[] = [];
  return new Promise((resolve) => {
    values$.subscribe({
      next: (value) => values.push(value),
      complete: () => resolve({ values, error: undefined, completed: true }),
      error: (error: unknown) => resolve({ values, error, completed: false }),
    });
  });
}

/** Returns the `Idempotency-Key` of each create request after the first `since` requests the simulator received. */
export function createKeys(simulator: Simulator, since = 0): unknown[] {
  return simulator
    .requests()
    .slice(since)
    .filter((request) => request.method === 'POST' && request.path.endsWith('/runs'))
    .map((request) => request.headers['idempotency-key']);
}
