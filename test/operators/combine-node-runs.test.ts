import { map } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunFailedError, type RunflowClient } from '../../src/index.js';
import {
  combineNodeRuns,
  type NodeRunProgress,
  type RunRetryEvent,
  type RunStreamEvent,
} from '../../src/operators/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import {
  VIDEO_MODEL,
  collect,
  logEvent,
  marbleScheduler,
  nodeRunEvent,
  runFailure,
  simulatorClient,
  statusEvent,
} from './helpers.js';

/** Returns the parts of a snapshot that a test compares, with the step keys in order. */
function brief(progress: NodeRunProgress) {
  return {
    runId: progress.runId,
    status: progress.status,
    keys: [...progress.steps.keys()],
    counts: progress.counts,
    completed: progress.completed,
    total: progress.total,
    ratio: progress.ratio,
  };
}

describe('combineNodeRuns on synthetic events', () => {
  it('folds steps and statuses into one snapshot per change', () => {
    const values = {
      q: statusEvent('queued', { nodes_total: 2, nodes_completed: 0 }),
      l: logEvent('Encoding the prompt'),
      a: nodeRunEvent('encode', 'queued'),
      b: nodeRunEvent('render', 'queued'),
      r: statusEvent('running', { nodes_total: 2, nodes_completed: 0 }),
      c: nodeRunEvent('encode', 'succeeded'),
      d: nodeRunEvent('render', 'running'),
      e: nodeRunEvent('render', 'succeeded'),
      s: statusEvent('succeeded', { nodes_total: 2, nodes_completed: 2 }),
    };
    const snapshot = (status: string, keys: string[], counts: Record<string, number>, completed: number) => ({
      runId: 'run-1',
      status,
      keys,
      counts,
      completed,
      total: 2,
      ratio: completed / 2,
    });
    const both = ['encode', 'render'];
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('qlabrcdes|', values);
      expectObservable(source.pipe(combineNodeRuns(), map(brief))).toBe('q-abrcdes|', {
        q: snapshot('queued', [], {}, 0),
        a: snapshot('queued', ['encode'], { queued: 1 }, 0),
        b: snapshot('queued', both, { queued: 2 }, 0),
        r: snapshot('running', both, { queued: 2 }, 0),
        c: snapshot('running', both, { succeeded: 1, queued: 1 }, 1),
        d: snapshot('running', both, { succeeded: 1, running: 1 }, 1),
        e: snapshot('running', both, { succeeded: 2 }, 2),
        s: snapshot('succeeded', both, { succeeded: 2 }, 2),
      });
    });
  });

  it('keeps the latest node-run of each node_id', () => {
    const first = nodeRunEvent('render', 'failed', { id: 'attempt-1' });
    const retried = nodeRunEvent('render', 'running', { id: 'attempt-2', retry_count: 1 });
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('ab', { a: first, b: retried });
      expectObservable(
        source.pipe(
          combineNodeRuns(),
          map((progress) => progress.steps.get('render')),
        ),
      ).toBe('ab', {
        a: first.nodeRun,
        b: retried.nodeRun,
      });
    });
  });

  it('keys a step by its id without a node_id', () => {
    const anonymous = nodeRunEvent('ignored', 'running', { id: 'node-run-9', node_id: null });
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('a', { a: anonymous });
      expectObservable(
        source.pipe(
          combineNodeRuns(),
          map((progress) => [...progress.steps.keys()]),
        ),
      ).toBe('a', {
        a: ['node-run-9'],
      });
    });
  });

  it('takes nodes_completed when it exceeds the succeeded steps seen', () => {
    const running = statusEvent('running', { nodes_total: 4, nodes_completed: 3 });
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('r', { r: running });
      expectObservable(source.pipe(combineNodeRuns(), map(brief))).toBe('r', {
        r: { runId: 'run-1', status: 'running', keys: [], counts: {}, completed: 3, total: 4, ratio: 0.75 },
      });
    });
  });

  it('counts more steps than nodes_total when more arrive', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('qab', {
        q: statusEvent('queued', { nodes_total: 1 }),
        a: nodeRunEvent('one', 'succeeded'),
        b: nodeRunEvent('two', 'queued'),
      });
      expectObservable(
        source.pipe(
          combineNodeRuns(),
          map((progress) => [progress.total, progress.ratio]),
        ),
      ).toBe('qab', { q: [1, 0], a: [1, 1], b: [2, 0.5] });
    });
  });

  it('reports a run without node-runs with zero steps', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const succeeding = cold<RunStreamEvent>('qlr-(s|)', {
        q: statusEvent('queued'),
        l: logEvent('Generating'),
        r: statusEvent('running'),
        s: statusEvent('succeeded'),
      });
      expectObservable(
        succeeding.pipe(
          combineNodeRuns(),
          map((progress) => [progress.steps.size, progress.ratio]),
        ),
      ).toBe('q-r-(s|)', { q: [0, 0], r: [0, 0], s: [0, 1] });
    });
  });

  const ratios = map((progress: NodeRunProgress) => progress.ratio);

  it('ends a stepless partial success at 1', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const partial = cold<RunStreamEvent>('(p|)', { p: statusEvent('partial_succeeded') });
      expectObservable(partial.pipe(combineNodeRuns(), ratios)).toBe('(p|)', { p: 1 });
    });
  });

  it('ends a stepless failure at 0', () => {
    const failure = runFailure('PROVIDER_ERROR', 'provider');
    marbleScheduler().run(({ cold, expectObservable }) => {
      const failed = cold<RunStreamEvent>('f#', { f: statusEvent('failed') }, failure);
      expectObservable(failed.pipe(combineNodeRuns(), ratios)).toBe('f#', { f: 0 }, failure);
    });
  });

  it('starts over for the next run after a retry', () => {
    const failure = runFailure('PROVIDER_ERROR', 'provider');
    const retry: RunRetryEvent = {
      type: 'retry',
      runId: 'run-1',
      attempt: 1,
      maxAttempts: 2,
      delayMs: 1,
      error: failure,
    };
    const secondRun = statusEvent('queued', { id: 'run-2', nodes_total: 2 });
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('afrq', {
        a: nodeRunEvent('encode', 'succeeded'),
        f: statusEvent('failed', { nodes_total: 2, nodes_completed: 1 }),
        r: retry,
        q: secondRun,
      });
      expectObservable(
        source.pipe(
          combineNodeRuns(),
          map((progress) => [progress.runId, progress.steps.size]),
        ),
      ).toBe('af-q', { a: ['run-1', 1], f: ['run-1', 1], q: ['run-2', 0] });
    });
  });
});

describe('combineNodeRuns against the simulator', () => {
  let simulator: Simulator;
  let client: RunflowClient;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50 });
    client = simulatorClient(simulator);
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('follows the four steps of a video run to ratio 1', async () => {
    const { values, completed } = await collect(
      client.run(VIDEO_MODEL, { input: { prompt: 'waves' } }).pipe(combineNodeRuns()),
    );

    expect(completed).toBe(true);
    const last = values.at(-1)!;
    expect(last.status).toBe('succeeded');
    expect(last.steps.size).toBe(4);
    expect(last.counts).toEqual({ succeeded: 4 });
    expect([last.completed, last.total, last.ratio]).toEqual([4, 4, 1]);
    expect(values[0]?.total).toBe(4);
    const ratios = values.map((progress) => progress.ratio);
    expect(ratios).toEqual([...ratios].sort((a, b) => a - b));
    expect(new Set(ratios).size).toBeGreaterThan(2);
  });

  it('ends with the failed step counted before the error', async () => {
    const input = { prompt: 'storm', simulate: { outcome: 'failed', step: 1 } };
    const { values, error } = await collect(client.run(VIDEO_MODEL, { input }).pipe(combineNodeRuns()));

    expect(error).toBeInstanceOf(RunFailedError);
    const last = values.at(-1)!;
    expect(last.status).toBe('failed');
    expect(last.counts).toEqual({ succeeded: 1, failed: 1, canceled: 2 });
    expect([last.completed, last.total, last.ratio]).toEqual([1, 4, 0.25]);
  });
});
