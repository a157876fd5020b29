import { defer, throwError } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  MAX_TIMER_MS,
  RunFailedError,
  RunflowHttpError,
  RunflowInputError,
  type RunflowClient,
} from '../../src/index.js';
import {
  isRetryableRunFailure,
  retryRun,
  type RetryRunConfig,
  type RunRetryEvent,
  type RunStreamEvent,
} from '../../src/operators/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { countingScheduler } from '../integration/helpers.js';
import {
  IMAGE_MODEL,
  VIDEO_MODEL,
  collect,
  createKeys,
  marbleScheduler,
  runFailure,
  simulatorClient,
  statusEvent,
  statusesOf,
} from './helpers.js';

const QUEUED = statusEvent('queued');
const SUCCEEDED = statusEvent('succeeded');
const PROVIDER_ERROR = runFailure('PROVIDER_ERROR', 'provider');

/** Settings without jitter, so that each delay in a marble is exact. */
const EXACT: RetryRunConfig = { initialDelayMs: 10, maxDelayMs: 25, jitterMs: 0 };

function retryEvent(attempt: number, delayMs: number, maxAttempts: number, error = PROVIDER_ERROR): RunRetryEvent {
  return { type: 'retry', runId: error.runId, attempt, maxAttempts, delayMs, error };
}

describe('retryRun timing in virtual time', () => {
  it('doubles the delay per retry up to maxDelayMs', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      const result = source.pipe(retryRun({ ...EXACT, maxAttempts: 4 }));
      // Failures at 2, 14 and 36 wait 10, 20 and 25 (capped) ms; the fourth attempt fails for good.
      expectObservable(result).toBe(
        '-qa 10ms qb 20ms qc 25ms q#',
        { q: QUEUED, a: retryEvent(1, 10, 4), b: retryEvent(2, 20, 4), c: retryEvent(3, 25, 4) },
        PROVIDER_ERROR,
      );
      expectSubscriptions(source.subscriptions).toBe(['^-!', '12ms ^-!', '34ms ^-!', '61ms ^-!']);
    });
  });

  it('adds random() * jitterMs to the delay', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      const result = source.pipe(
        retryRun({ initialDelayMs: 10, maxDelayMs: 10, jitterMs: 8, random: () => 0.5, maxAttempts: 2 }),
      );
      expectObservable(result).toBe('-qa 14ms q#', { q: QUEUED, a: retryEvent(1, 14, 2) }, PROVIDER_ERROR);
    });
  });

  it('completes when a later attempt succeeds', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const failing = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      const succeeding = cold<RunStreamEvent>('-q-(s|)', { q: QUEUED, s: SUCCEEDED });
      let attempts = 0;
      const source = defer(() => (++attempts === 1 ? failing : succeeding));
      expectObservable(source.pipe(retryRun({ ...EXACT, maxAttempts: 3 }))).toBe('-qa 10ms q-(s|)', {
        q: QUEUED,
        a: retryEvent(1, 10, 3),
        s: SUCCEEDED,
      });
    });
  });

  it('uses the documented defaults of 3 attempts and 2 s doubling', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('#', {}, PROVIDER_ERROR);
      const result = source.pipe(retryRun({ random: () => 0 }));
      expectObservable(result).toBe(
        'a 1999ms b 3999ms #',
        { a: retryEvent(1, 2000, 3), b: retryEvent(2, 4000, 3) },
        PROVIDER_ERROR,
      );
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '2000ms (^!)', '6000ms (^!)']);
    });
  });

  it('cancels the wait and subscribes no more after unsubscribe', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      const result = source.pipe(retryRun({ ...EXACT, maxAttempts: 3 }));
      expectObservable(result, '^ 5ms !').toBe('-qa', { q: QUEUED, a: retryEvent(1, 10, 3) });
      expectSubscriptions(source.subscriptions).toBe(['^-!']);
    });
  });
});

describe('retryRun attempt limits and policy', () => {
  it('stops after maxAttempts attempts', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      expectObservable(source.pipe(retryRun({ ...EXACT, maxAttempts: 2 }))).toBe(
        '-qa 10ms q#',
        { q: QUEUED, a: retryEvent(1, 10, 2) },
        PROVIDER_ERROR,
      );
      expectSubscriptions(source.subscriptions).toBe(['^-!', '12ms ^-!']);
    });
  });

  it('never retries with maxAttempts 1', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      expectObservable(source.pipe(retryRun({ ...EXACT, maxAttempts: 1 }))).toBe('-q#', { q: QUEUED }, PROVIDER_ERROR);
      expectSubscriptions(source.subscriptions).toBe(['^-!']);
    });
  });

  it('passes INPUT_VALIDATION_FAILED through at once', () => {
    const error = runFailure('INPUT_VALIDATION_FAILED', 'preprocess');
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, error);
      expectObservable(source.pipe(retryRun(EXACT))).toBe('-q#', { q: QUEUED }, error);
      expectSubscriptions(source.subscriptions).toBe(['^-!']);
    });
  });

  it('passes errors other than RunFailedError through at once', () => {
    const error = new RunflowHttpError('HTTP 503', 503, 'GET', 'http://127.0.0.1:1/v1/runs/run-1');
    let policyCalls = 0;
    const shouldRetry = (): boolean => {
      policyCalls++;
      return true;
    };
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, error);
      expectObservable(source.pipe(retryRun({ ...EXACT, shouldRetry }))).toBe('-q#', { q: QUEUED }, error);
      expectSubscriptions(source.subscriptions).toBe(['^-!']);
    });
    expect(policyCalls).toBe(0);
  });

  it('asks shouldRetry with the failed attempt number', () => {
    const policyCalls: number[] = [];
    const shouldRetry = (_error: RunFailedError, attempt: number): boolean => {
      policyCalls.push(attempt);
      return attempt < 2;
    };
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('-q#', { q: QUEUED }, PROVIDER_ERROR);
      expectObservable(source.pipe(retryRun({ ...EXACT, maxAttempts: 5, shouldRetry }))).toBe(
        '-qa 10ms q#',
        { q: QUEUED, a: retryEvent(1, 10, 5) },
        PROVIDER_ERROR,
      );
    });
    expect(policyCalls).toEqual([1, 2]);
  });

  it('retries the codes of retryableCodes instead of the defaults', () => {
    const busy = runFailure('CUSTOM_BUSY', 'postprocess');
    const providerAtPostprocess = runFailure('PROVIDER_ERROR', 'postprocess');
    marbleScheduler().run(({ cold, expectObservable }) => {
      const config = { ...EXACT, maxAttempts: 2, retryableCodes: ['CUSTOM_BUSY'] };
      const retried = cold<RunStreamEvent>('#', {}, busy).pipe(retryRun(config));
      const notRetried = cold<RunStreamEvent>('#', {}, providerAtPostprocess).pipe(retryRun(config));
      expectObservable(retried).toBe('a 9ms #', { a: retryEvent(1, 10, 2, busy) }, busy);
      expectObservable(notRetried).toBe('#', {}, providerAtPostprocess);
    });
  });
});

describe('isRetryableRunFailure', () => {
  const cases: Array<[code: string | undefined, stage: string | undefined, retried: boolean]> = [
    ['PROVIDER_ERROR', 'provider', true],
    ['PROVIDER_TIMEOUT', 'provider', true],
    ['INTERNAL_ERROR', 'postprocess', true],
    ['MODEL_UNAVAILABLE', undefined, true],
    ['provider_error', 'PROVIDER', true],
    ['SOMETHING_NEW', 'dispatch', true],
    [undefined, 'dispatch', true],
    ['INPUT_VALIDATION_FAILED', 'provider', false],
    ['CONTENT_POLICY_VIOLATION', 'provider', false],
    ['PROVIDER_ERROR', 'preprocess', false],
    ['INTERNAL_ERROR', 'preprocess', false],
    ['INVALID_PROMPT', 'provider', false],
    ['INSUFFICIENT_CREDIT', 'dispatch', false],
    ['SOMETHING_NEW', 'postprocess', false],
    ['SOMETHING_NEW', undefined, false],
    [undefined, undefined, false],
  ];
  for (const [code, stage, retried] of cases) {
    it(`${retried ? 'retries' : 'rejects'} ${code ?? 'no code'} at ${stage ?? 'no stage'}`, () => {
      expect(isRetryableRunFailure(runFailure(code, stage))).toBe(retried);
    });
  }

  it('replaces the default codes with its second argument', () => {
    expect(isRetryableRunFailure(runFailure('INTERNAL_ERROR', 'postprocess'), ['OTHER'])).toBe(false);
    expect(isRetryableRunFailure(runFailure('OTHER', 'postprocess'), ['OTHER'])).toBe(true);
  });
});

describe('retryRun delays and settings', () => {
  /** Returns the delayMs of each retry event when every attempt fails, stopping virtual time at `maxFrames`. */
  function retryDelays(config: RetryRunConfig, maxFrames = 200_000): number[] {
    const delays: number[] = [];
    marbleScheduler(maxFrames).run(({ cold }) => {
      cold<RunStreamEvent>('#', {}, PROVIDER_ERROR)
        .pipe(retryRun(config))
        .subscribe({ next: (event) => event.type === 'retry' && delays.push(event.delayMs), error: () => {} });
    });
    return delays;
  }

  it('caps every delay at the timer limit', () => {
    const huge = { initialDelayMs: MAX_TIMER_MS, maxDelayMs: MAX_TIMER_MS, jitterMs: MAX_TIMER_MS };
    const delays = retryDelays({ ...huge, maxAttempts: 3, random: () => 0.99 }, 4 * MAX_TIMER_MS);
    expect(delays).toEqual([MAX_TIMER_MS, MAX_TIMER_MS]);
  });

  it('waits the full timer limit in virtual time', () => {
    marbleScheduler(2 * MAX_TIMER_MS).run(({ cold, expectSubscriptions }) => {
      const source = cold<RunStreamEvent>('#', {}, PROVIDER_ERROR);
      source
        .pipe(retryRun({ maxAttempts: 2, initialDelayMs: MAX_TIMER_MS, jitterMs: 0 }))
        .subscribe({ error: () => {} });
      expectSubscriptions(source.subscriptions).toBe(['(^!)', `${MAX_TIMER_MS}ms (^!)`]);
    });
  });

  it('caps the backoff at maxDelayMs for late retries', () => {
    expect(retryDelays({ maxAttempts: 7, random: () => 0 })).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('keeps a random() outside [0, 1) within jitterMs', () => {
    const config = { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 100, jitterMs: 50 };
    expect(retryDelays({ ...config, random: () => 7 })).toEqual([150]);
    expect(retryDelays({ ...config, random: () => -1 })).toEqual([100]);
  });

  it('raises the default maxDelayMs to a longer initialDelayMs', () => {
    expect(retryDelays({ maxAttempts: 3, initialDelayMs: 60_000, jitterMs: 0 })).toEqual([60_000, 60_000]);
  });

  const invalid: Array<[name: string, config: unknown, message: RegExp]> = [
    ['settings', null, /retryRun settings null/],
    ['maxAttempts 0', { maxAttempts: 0 }, /maxAttempts 0: expected an integer from 1 to 100/],
    ['maxAttempts 1.5', { maxAttempts: 1.5 }, /maxAttempts 1\.5/],
    ['maxAttempts 101', { maxAttempts: 101 }, /maxAttempts 101/],
    ['initialDelayMs -1', { initialDelayMs: -1 }, /initialDelayMs -1: expected a number of milliseconds/],
    ['maxDelayMs 2^31', { maxDelayMs: 2 ** 31 }, /maxDelayMs 2147483648/],
    ['jitterMs NaN', { jitterMs: Number.NaN }, /jitterMs NaN/],
    ['maxDelayMs below initialDelayMs', { initialDelayMs: 5000, maxDelayMs: 1000 }, /raise maxDelayMs/],
    ['random', { random: 0.5 }, /random 0\.5: expected a function/],
    ['scheduler', { scheduler: {} }, /scheduler \{\}: expected an RxJS scheduler/],
    ['logger', { logger: 'console' }, /logger "console"/],
    ['shouldRetry', { shouldRetry: true }, /shouldRetry true: expected a function/],
    ['retryableCodes string', { retryableCodes: 'PROVIDER_ERROR' }, /retryableCodes "PROVIDER_ERROR"/],
    ['retryableCodes empty code', { retryableCodes: [''] }, /retryableCodes \[""\]/],
    ['both policies', { shouldRetry: () => true, retryableCodes: ['X'] }, /pass only shouldRetry/],
  ];
  for (const [name, config, message] of invalid) {
    it(`rejects ${name} with RunflowInputError`, () => {
      const call = (): unknown => retryRun(config as RetryRunConfig);
      expect(call).toThrow(RunflowInputError);
      expect(call).toThrow(message);
    });
  }

  it('releases the wait timer on unsubscribe and after the last attempt', async () => {
    const scheduler = countingScheduler();
    const failing = throwError(() => PROVIDER_ERROR);

    const waiting = failing.pipe(retryRun({ maxAttempts: 2, initialDelayMs: 60_000, scheduler })).subscribe({
      error: () => {},
    });
    expect(scheduler.pending()).toBe(1);
    waiting.unsubscribe();
    expect(scheduler.pending()).toBe(0);

    const outcome = await collect(
      failing.pipe(retryRun({ maxAttempts: 3, initialDelayMs: 1, jitterMs: 0, scheduler })),
    );
    expect(outcome.error).toBe(PROVIDER_ERROR);
    expect(outcome.values.filter((event) => event.type === 'retry')).toHaveLength(2);
    expect(scheduler.pending()).toBe(0);
  });

  it('logs each retry as a warning with the run id', () => {
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (_: string, fields?: Record<string, unknown>) => warnings.push(fields),
    };
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('#', {}, PROVIDER_ERROR);
      expectObservable(source.pipe(retryRun({ ...EXACT, maxAttempts: 2, logger }))).toBe(
        'a 9ms #',
        { a: retryEvent(1, 10, 2) },
        PROVIDER_ERROR,
      );
    });
    expect(warnings).toEqual([
      {
        runId: 'run-1',
        attempt: 1,
        maxAttempts: 2,
        delayMs: 10,
        failureCode: 'PROVIDER_ERROR',
        failureStage: 'provider',
      },
    ]);
  });
});

describe('retryRun against the simulator', () => {
  let simulator: Simulator;
  let client: RunflowClient;
  const fast: RetryRunConfig = { initialDelayMs: 1, maxDelayMs: 5, jitterMs: 0 };

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50 });
    client = simulatorClient(simulator);
  });

  afterAll(async () => {
    await simulator.close();
  });

  const failingInput = { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } };

  it('creates a new run with a new key for each attempt', async () => {
    const runsBefore = simulator.runCount();
    const requestsBefore = simulator.requests().length;
    const { values, error } = await collect(
      client.run(IMAGE_MODEL, { input: failingInput }).pipe(retryRun({ ...fast, maxAttempts: 3 })),
    );

    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as RunFailedError).failureCode).toBe('PROVIDER_ERROR');
    expect(simulator.runCount() - runsBefore).toBe(3);
    const runIds = new Set(values.map((event) => event.runId));
    expect(runIds.size).toBe(3);
    const keys = createKeys(simulator, requestsBefore);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    const retries = values.filter((event): event is RunRetryEvent => event.type === 'retry');
    expect(retries.map((event) => event.attempt)).toEqual([1, 2]);
    expect(statusesOf(values).filter((status) => status === 'failed')).toHaveLength(3);
  });

  it('completes when the second attempt succeeds', async () => {
    const runsBefore = simulator.runCount();
    let attempts = 0;
    const source = defer(() =>
      client.run(VIDEO_MODEL, { input: ++attempts === 1 ? { ...failingInput, prompt: 'waves' } : { prompt: 'waves' } }),
    );
    const { values, completed } = await collect(source.pipe(retryRun({ ...fast, maxAttempts: 3 })));

    expect(completed).toBe(true);
    expect(attempts).toBe(2);
    expect(simulator.runCount() - runsBefore).toBe(2);
    const retries = values.filter((event): event is RunRetryEvent => event.type === 'retry');
    expect(retries).toHaveLength(1);
    const last = values.at(-1);
    expect(last).toMatchObject({ type: 'status', status: 'succeeded' });
    expect(last?.runId).not.toBe(retries[0]!.runId);
  });

  it('does not retry INPUT_VALIDATION_FAILED', async () => {
    const runsBefore = simulator.runCount();
    const input = {
      prompt: 'x',
      simulate: { outcome: 'failed', at: 'queued', failureCode: 'INPUT_VALIDATION_FAILED', failureStage: 'preprocess' },
    };
    const { values, error } = await collect(
      client.run(IMAGE_MODEL, { input }).pipe(retryRun({ ...fast, maxAttempts: 3 })),
    );

    expect((error as RunFailedError).failureCode).toBe('INPUT_VALIDATION_FAILED');
    expect(simulator.runCount() - runsBefore).toBe(1);
    expect(values.some((event) => event.type === 'retry')).toBe(false);
  });

  it('leaves failed create requests to transport retry', async () => {
    const runsBefore = simulator.runCount();
    const requestsBefore = simulator.requests().length;
    simulator.injectFault({ method: 'POST', path: /\/runs$/, times: 2, fault: { kind: 'status', status: 503 } });
    const { values, completed } = await collect(
      client.run(IMAGE_MODEL, { input: { prompt: 'x' } }).pipe(retryRun({ ...fast, maxAttempts: 3 })),
    );

    expect(completed).toBe(true);
    expect(simulator.runCount() - runsBefore).toBe(1);
    const keys = createKeys(simulator, requestsBefore);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(values.some((event) => event.type === 'retry')).toBe(false);
  });

  it('passes a rejected create through without a new run', async () => {
    const requestsBefore = simulator.requests().length;
    const { error } = await collect(
      client.run(IMAGE_MODEL, { input: { width: 100 } }).pipe(retryRun({ ...fast, maxAttempts: 3 })),
    );

    expect(error).toBeInstanceOf(RunflowHttpError);
    expect((error as RunflowHttpError).status).toBe(422);
    expect(createKeys(simulator, requestsBefore)).toHaveLength(1);
  });
});
