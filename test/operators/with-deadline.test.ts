import { NEVER, concat, of } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunflowInputError, RunTimeoutError, isRunTimeoutError, type RunflowClient } from '../../src/index.js';
import { retryRun, withDeadline, type RunStreamEvent } from '../../src/operators/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { countingScheduler, until } from '../integration/helpers.js';
import {
  IMAGE_MODEL,
  collect,
  marbleScheduler,
  nodeRunEvent,
  runFailure,
  simulatorClient,
  statusEvent,
} from './helpers.js';

interface Ending {
  at: number;
  error: unknown;
}

describe('withDeadline in virtual time', () => {
  it('errors at the deadline and unsubscribes the source', () => {
    const scheduler = marbleScheduler();
    const queued = statusEvent('queued', { id: 'run-7' });
    const step = nodeRunEvent('encode', 'running', { run_id: 'run-7' });
    let ending: Ending | undefined;
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('a 9ms b 100ms |', { a: queued, b: step });
      const result = source.pipe(withDeadline(50, scheduler));
      result.subscribe({ error: (error: unknown) => (ending = { at: scheduler.now(), error }) });
      expectObservable(result.pipe()).toBe('a 9ms b 39ms #', { a: queued, b: step }, expect.any(RunTimeoutError));
      expectSubscriptions(source.subscriptions).toBe(['^ 49ms !', '^ 49ms !']);
    });

    expect(ending?.at).toBe(50);
    expect(ending?.error).toBeInstanceOf(RunTimeoutError);
    const error = ending?.error as RunTimeoutError;
    expect(error.runId).toBe('run-7');
    expect(error.timeoutMs).toBe(50);
    expect(error.lastRun).toBe(queued.run);
    expect(error.message).toBe(
      'Run run-7 did not finish within the withDeadline limit of 50 ms; it keeps running on the server, ' +
        'so raise the limit or keep watching it with watch(runId)',
    );
  });

  it('mirrors a source that finishes in time', () => {
    const failure = runFailure('PROVIDER_ERROR', 'provider');
    marbleScheduler().run(({ cold, expectObservable }) => {
      const queued = statusEvent('queued');
      const succeeded = statusEvent('succeeded');
      expectObservable(cold('a 48ms (b|)', { a: queued, b: succeeded }).pipe(withDeadline(50))).toBe('a 48ms (b|)', {
        a: queued,
        b: succeeded,
      });
      expectObservable(cold('a 48ms #', { a: queued }, failure).pipe(withDeadline(50))).toBe(
        'a 48ms #',
        { a: queued },
        failure,
      );
    });
  });

  it('bounds every attempt of retryRun and the waits between them', () => {
    const scheduler = marbleScheduler();
    const failure = runFailure('PROVIDER_ERROR', 'provider');
    const queued = statusEvent('queued');
    let ending: Ending | undefined;
    scheduler.run(({ cold, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: queued }, failure);
      const result = source.pipe(
        retryRun({ maxAttempts: 5, initialDelayMs: 100, jitterMs: 0, scheduler }),
        withDeadline(150, scheduler),
      );
      result.subscribe({ error: (error: unknown) => (ending = { at: scheduler.now(), error }) });
      // Attempt 1 fails at 2; attempt 2 starts at 102 and fails at 104; its 200 ms wait outlasts the deadline.
      expectSubscriptions(source.subscriptions).toBe(['^-!', '102ms ^-!']);
    });

    expect(ending?.at).toBe(150);
    expect(isRunTimeoutError(ending?.error)).toBe(true);
    expect((ending?.error as RunTimeoutError).lastRun).toBe(queued.run);
  });

  it('reports the newest run after a retry', () => {
    const scheduler = marbleScheduler();
    const first = statusEvent('running', { id: 'run-1' });
    const second = statusEvent('queued', { id: 'run-2' });
    const secondStep = nodeRunEvent('encode', 'queued', { run_id: 'run-2' });
    let ending: Ending | undefined;
    scheduler.run(({ cold }) => {
      const source = cold<RunStreamEvent>('a 5ms b 5ms c', { a: first, b: second, c: secondStep });
      source.pipe(withDeadline(20, scheduler)).subscribe({ error: (error: unknown) => (ending = { at: 0, error }) });
    });
    const error = ending?.error as RunTimeoutError;
    expect(error.runId).toBe('run-2');
    expect(error.lastRun).toBe(second.run);
  });

  it('passes other values and reports no run', () => {
    const scheduler = marbleScheduler();
    let ending: Ending | undefined;
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<number>('1 5ms 2', { 1: 1, 2: 2 });
      const result = source.pipe(withDeadline<number>(10, scheduler));
      result.subscribe({ error: (error: unknown) => (ending = { at: scheduler.now(), error }) });
      expectObservable(result.pipe()).toBe('1 5ms 2 3ms #', { 1: 1, 2: 2 }, expect.any(RunTimeoutError));
    });
    const error = ending?.error as RunTimeoutError;
    expect(ending?.at).toBe(10);
    expect(error.runId).toBeUndefined();
    expect(error.lastRun).toBeUndefined();
    expect(error.message).toMatch(/^No run event arrived within the withDeadline limit of 10 ms/);
  });
});

describe('withDeadline settings and timers', () => {
  const invalid: Array<[name: string, ms: unknown, message: RegExp]> = [
    ['0', 0, /Invalid withDeadline ms 0: expected a number of milliseconds from 1 to 2147483647/],
    ['a negative delay', -5, /withDeadline ms -5/],
    ['NaN', Number.NaN, /withDeadline ms NaN/],
    ['2^31', 2 ** 31, /withDeadline ms 2147483648/],
    ['a string', '100', /withDeadline ms "100"/],
  ];
  for (const [name, ms, message] of invalid) {
    it(`rejects ${name} as the deadline`, () => {
      const call = (): unknown => withDeadline(ms as number);
      expect(call).toThrow(RunflowInputError);
      expect(call).toThrow(message);
    });
  }

  it('rejects a scheduler without schedule()', () => {
    expect(() => withDeadline(10, {} as never)).toThrow(/Invalid withDeadline scheduler \{\}/);
  });

  it('releases its timer on completion, error and unsubscribe', async () => {
    const scheduler = countingScheduler();

    await collect(of(statusEvent('succeeded')).pipe(withDeadline(60_000, scheduler)));
    expect(scheduler.pending()).toBe(0);

    const failure = runFailure('PROVIDER_ERROR', 'provider');
    const failed = await collect(
      concat(of(statusEvent('queued')), Promise.reject(failure)).pipe(withDeadline(60_000, scheduler)),
    );
    expect(failed.error).toBe(failure);
    expect(scheduler.pending()).toBe(0);

    const subscription = NEVER.pipe(withDeadline(60_000, scheduler)).subscribe();
    expect(scheduler.pending()).toBe(1);
    subscription.unsubscribe();
    expect(scheduler.pending()).toBe(0);
  });
});

describe('withDeadline against the simulator', () => {
  let simulator: Simulator;
  let client: RunflowClient;
  const scheduler = countingScheduler();

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50 });
    client = simulatorClient(simulator, { scheduler, poll: { intervalMs: 5, maxIntervalMs: 10, mode: 'per-run' } });
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('stops polling a slow run at the deadline', async () => {
    // slow: 100 makes the image run last 250 simulated seconds, 5 real seconds at timeScale 50.
    const input = { prompt: 'x', simulate: { slow: 100 } };
    const { values, error } = await collect(client.run(IMAGE_MODEL, { input }).pipe(withDeadline(200, scheduler)));

    expect(error).toBeInstanceOf(RunTimeoutError);
    const timeout = error as RunTimeoutError;
    expect(timeout.runId).toBe(values[0]?.runId);
    expect(['queued', 'dispatching', 'running']).toContain(timeout.lastRun?.status_code);
    expect(scheduler.pending()).toBe(0);
    await until(() => simulator.inFlightRequests() === 0);
    const requests = simulator.requests().length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(simulator.requests().length).toBe(requests);
  });
});
