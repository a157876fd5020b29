import { distinctUntilChanged, lastValueFrom, map, of, throwError, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunflowInputError, RunTimeoutError, type RunflowClient } from '../../src/index.js';
import { combineRunProgress, type RunSources, type RunStreamEvent } from '../../src/operators/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import {
  IMAGE_MODEL,
  VIDEO_MODEL,
  collect,
  marbleScheduler,
  runFailure,
  simulatorClient,
  statusEvent,
} from './helpers.js';

const queued = statusEvent('queued');
const succeeded = statusEvent('succeeded');

describe('combineRunProgress in virtual time', () => {
  it('subscribes to at most concurrency sources at a time', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold<RunStreamEvent>('q 9ms (s|)', { q: queued, s: succeeded });
      const second = cold<RunStreamEvent>('q 19ms (s|)', { q: queued, s: succeeded });
      const third = cold<RunStreamEvent>('q 9ms (s|)', { q: queued, s: succeeded });
      const progress = combineRunProgress([first, second, third], { concurrency: 2 }).pipe(
        map(({ started, finished }) => `${started}/${finished}`),
        distinctUntilChanged(),
      );
      expectObservable(progress).toBe('(abc) 5ms (de) 6ms (fg|)', {
        a: '0/0',
        b: '1/0',
        c: '2/0',
        d: '2/1',
        e: '3/1',
        f: '3/2',
        g: '3/3',
      });
      expectSubscriptions(first.subscriptions).toBe('^ 9ms !');
      expectSubscriptions(second.subscriptions).toBe('^ 19ms !');
      expectSubscriptions(third.subscriptions).toBe('10ms ^ 9ms !');
    });
  });

  it('averages the ratio of active runs and counts finished ones as 1', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const halfway = statusEvent('running', { nodes_total: 4, nodes_completed: 2 });
      const done = statusEvent('succeeded', { nodes_total: 4, nodes_completed: 4 });
      const stepped = cold<RunStreamEvent>('r 9ms (s|)', { r: halfway, s: done });
      const plain = cold<RunStreamEvent>('q 19ms (s|)', { q: queued, s: succeeded });
      const progress = combineRunProgress({ stepped, plain }).pipe(
        map(({ ratio, stepsCompleted, stepsTotal }) => [ratio, stepsCompleted, stepsTotal]),
        distinctUntilChanged((a, b) => a.join() === b.join()),
      );
      expectObservable(progress).toBe('(ab) 6ms c 9ms (d|)', {
        a: [0, 0, 0],
        b: [0.25, 2, 4],
        c: [0.5, 4, 4],
        d: [1, 4, 4],
      });
    });
  });

  it('unsubscribes every source on unsubscribe', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold<RunStreamEvent>('q', { q: queued });
      const second = cold<RunStreamEvent>('q', { q: queued });
      const progress = combineRunProgress([first, second]).pipe(map(({ started }) => started));
      expectObservable(progress, '^ 4ms !').toBe('(abcde)', { a: 0, b: 1, c: 2, d: 2, e: 2 });
      expectSubscriptions(first.subscriptions).toBe('^ 4ms !');
      expectSubscriptions(second.subscriptions).toBe('^ 4ms !');
    });
  });

  it('emits one snapshot with ratio 1 for no sources', () => {
    marbleScheduler().run(({ expectObservable }) => {
      expectObservable(combineRunProgress([]).pipe(map(({ runs, finished, ratio }) => [runs, finished, ratio]))).toBe(
        '(a|)',
        { a: [0, 0, 1] },
      );
    });
  });
});

describe('combineRunProgress outcomes', () => {
  it('counts every way a source can end', async () => {
    const failure = runFailure('PROVIDER_ERROR', 'provider');
    const timeout = new RunTimeoutError('run-1', 100, queued.run);
    const sources: Record<string, Observable<RunStreamEvent>> = {
      succeeded: of(queued, succeeded),
      partial: of(queued, statusEvent('partial_succeeded')),
      canceled: of(statusEvent('canceled')),
      failed: throwError(() => failure),
      timedOut: throwError(() => timeout),
      cutShort: of(queued),
    };
    const final = await lastValueFrom(combineRunProgress(sources));

    expect(final).toMatchObject({
      runs: 6,
      started: 6,
      finished: 6,
      succeeded: 1,
      partialSucceeded: 1,
      canceled: 1,
      failed: 1,
      interrupted: 2,
      ratio: 1,
    });
    expect(final.items.map((item) => [item.key, item.state])).toEqual([
      ['succeeded', 'succeeded'],
      ['partial', 'partial_succeeded'],
      ['canceled', 'canceled'],
      ['failed', 'failed'],
      ['timedOut', 'interrupted'],
      ['cutShort', 'interrupted'],
    ]);
    expect(final.items[3]?.error).toBe(failure);
    expect(final.items[4]?.error).toBe(timeout);
    expect(final.items[5]?.error).toBeUndefined();
    expect(final.items[0]?.runId).toBe('run-1');
    expect(final.items[0]?.status).toBe('succeeded');
  });

  const invalid: Array<[name: string, sources: unknown, config: unknown, message: RegExp]> = [
    ['null sources', null, {}, /Invalid run sources null: expected a list or a record of run Observables/],
    ['a string', 'runs', {}, /Invalid run sources "runs"/],
    ['a number in a list', [of(queued), 1], {}, /Invalid run source at index 1: expected an Observable/],
    ['null in a record', { first: null }, {}, /Invalid run source at key first/],
    ['concurrency 0', [], { concurrency: 0 }, /Invalid concurrency 0: expected an integer of at least 1/],
    ['concurrency 1.5', [], { concurrency: 1.5 }, /Invalid concurrency 1\.5/],
    ['concurrency "2"', [], { concurrency: '2' }, /Invalid concurrency "2"/],
    ['null settings', [], null, /Invalid combineRunProgress settings null/],
  ];
  for (const [name, sources, config, message] of invalid) {
    it(`rejects ${name} with RunflowInputError`, () => {
      const call = (): unknown => combineRunProgress(sources as RunSources, config as { concurrency?: number });
      expect(call).toThrow(RunflowInputError);
      expect(call).toThrow(message);
    });
  }
});

describe('combineRunProgress against the simulator', () => {
  let simulator: Simulator;
  let client: RunflowClient;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50 });
    client = simulatorClient(simulator);
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('creates one run per source and sums their steps', async () => {
    const runsBefore = simulator.runCount();
    const sources = {
      image: client.run(IMAGE_MODEL, { input: { prompt: 'a fox' } }),
      failing: client.run(VIDEO_MODEL, { input: { prompt: 'storm', simulate: { outcome: 'failed', step: 1 } } }),
      partial: client.run(VIDEO_MODEL, { input: { prompt: 'waves', simulate: { outcome: 'partial_succeeded' } } }),
    };
    const { values, completed } = await collect(combineRunProgress(sources, { concurrency: 2 }));

    expect(completed).toBe(true);
    expect(simulator.runCount() - runsBefore).toBe(3);
    const final = values.at(-1)!;
    expect(final).toMatchObject({ runs: 3, finished: 3, succeeded: 1, failed: 1, partialSucceeded: 1, ratio: 1 });
    expect(final.stepsTotal).toBe(8);
    expect(final.stepsCompleted).toBe(1 + 4);
    expect(new Set(final.items.map((item) => item.runId)).size).toBe(3);
    expect(Math.max(...values.map((progress) => progress.started - progress.finished))).toBe(2);
  });
});
