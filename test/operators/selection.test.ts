import { EMPTY, from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunFailedError, RunflowInputError, type OutputItem, type RunflowClient } from '../../src/index.js';
import {
  finalRun,
  logLines,
  nodeRunChanges,
  outputs,
  statusChanges,
  type RunRetryEvent,
  type RunStreamEvent,
} from '../../src/operators/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import {
  IMAGE_MODEL,
  VIDEO_MODEL,
  collect,
  logEvent,
  marbleScheduler,
  nodeRunEvent,
  runFailure,
  simulatorClient,
  statusEvent,
} from './helpers.js';

const queued = statusEvent('queued');
const line = logEvent('Generating');
const step = nodeRunEvent('encode', 'running');
const succeeded = statusEvent('succeeded', {}, 'queued');
const failure = runFailure('PROVIDER_ERROR', 'provider');

const events = (...values: RunStreamEvent[]): Observable<RunStreamEvent> => from(values);

describe('event selection', () => {
  it('statusChanges keeps only status events', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('qlns|', { q: queued, l: line, n: step, s: succeeded });
      expectObservable(source.pipe(statusChanges())).toBe('q--s|', { q: queued, s: succeeded });
    });
  });

  it('logLines emits the RunLog of each log event', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('qlns|', { q: queued, l: line, n: step, s: succeeded });
      expectObservable(source.pipe(logLines())).toBe('-l--|', { l: line.log });
    });
  });

  it('nodeRunChanges keeps only node-run events', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('qlns|', { q: queued, l: line, n: step, s: succeeded });
      expectObservable(source.pipe(nodeRunChanges())).toBe('--n-|', { n: step });
    });
  });

  it('passes errors through every selection', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('ql#', { q: queued, l: line }, failure);
      expectObservable(source.pipe(statusChanges())).toBe('q-#', { q: queued }, failure);
      expectObservable(source.pipe(logLines())).toBe('-l#', { l: line.log }, failure);
      expectObservable(source.pipe(nodeRunChanges())).toBe('--#', {}, failure);
    });
  });
});

describe('finalRun', () => {
  for (const status of ['succeeded', 'partial_succeeded', 'canceled']) {
    it(`emits the ${status} run when the source completes`, () => {
      const terminal = statusEvent(status);
      marbleScheduler().run(({ cold, expectObservable }) => {
        const source = cold<RunStreamEvent>('ql 5ms t 5ms |', { q: queued, l: line, t: terminal });
        expectObservable(source.pipe(finalRun())).toBe('-- 5ms - 5ms (r|)', { r: terminal.run });
      });
    });
  }

  it('passes a run failure through without a value', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('qf#', { q: queued, f: statusEvent('failed') }, failure);
      expectObservable(source.pipe(finalRun())).toBe('--#', {}, failure);
    });
  });

  it('emits the run of the last attempt after a retry', () => {
    const failed = statusEvent('failed', { id: 'run-1' });
    const retry: RunRetryEvent = {
      type: 'retry',
      runId: 'run-1',
      attempt: 1,
      maxAttempts: 2,
      delayMs: 5,
      error: failure,
    };
    const second = statusEvent('succeeded', { id: 'run-2' });
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('fr-s|', { f: failed, r: retry, s: second });
      expectObservable(source.pipe(finalRun())).toBe('----(r|)', { r: second.run });
    });
  });

  it('emits nothing when the source ends after a retry', () => {
    const retry: RunRetryEvent = {
      type: 'retry',
      runId: 'run-1',
      attempt: 1,
      maxAttempts: 2,
      delayMs: 5,
      error: failure,
    };
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<RunStreamEvent>('fr|', { f: statusEvent('failed'), r: retry });
      expectObservable(source.pipe(finalRun())).toBe('--|');
    });
  });

  it('completes without a value when no terminal status arrived', async () => {
    await expect(lastValueFrom(events(queued, line).pipe(finalRun()))).rejects.toThrow(/no elements/);
    await expect(lastValueFrom(EMPTY.pipe(finalRun()), { defaultValue: 'none' })).resolves.toBe('none');
  });
});

describe('outputs', () => {
  const items: OutputItem[] = [
    { type: 'video', url: 'http://127.0.0.1/0.mp4', content_type: 'video/mp4' },
    { type: 'image', url: 'http://127.0.0.1/1.png', content_type: 'image/png; charset=binary' },
    { type: 'image', url: 'http://127.0.0.1/2.webp' },
    { type: 'audio', url: 'http://127.0.0.1/3.wav', content_type: 'audio/wav' },
  ];
  const done = statusEvent('succeeded', { output: { outputs: items } });
  const select = (type?: string): Promise<OutputItem[]> =>
    lastValueFrom(events(queued, done).pipe(outputs(type), toArray()));

  it('emits every item without a type', async () => {
    expect(await select()).toEqual(items);
  });

  it('filters by kind', async () => {
    expect(await select('image')).toEqual([items[1], items[2]]);
    expect(await select('VIDEO')).toEqual([items[0]]);
  });

  it('filters by MIME type without parameters', async () => {
    expect(await select('image/png')).toEqual([items[1]]);
    expect(await select('audio/mpeg')).toEqual([]);
  });

  it('filters by wildcard, falling back to the kind', async () => {
    expect(await select('image/*')).toEqual([items[1], items[2]]);
  });

  it('reads the older image_urls shape', async () => {
    const legacy = statusEvent('succeeded', { output: { image_urls: ['http://127.0.0.1/a.png'] } });
    const found = await lastValueFrom(events(legacy).pipe(outputs('image'), toArray()));
    expect(found).toEqual([{ type: 'image', url: 'http://127.0.0.1/a.png' }]);
  });

  it('emits nothing for a canceled run', async () => {
    const canceled = statusEvent('canceled', { output: null });
    expect(await lastValueFrom(events(canceled).pipe(outputs(), toArray()))).toEqual([]);
  });

  for (const invalid of ['', '  ', 5, null]) {
    it(`rejects ${JSON.stringify(invalid)} as the type`, () => {
      const call = (): unknown => outputs(invalid as string);
      expect(call).toThrow(RunflowInputError);
      expect(call).toThrow(/Invalid output type .*: expected a kind such as "image"/);
    });
  }
});

describe('selection against the simulator', () => {
  let simulator: Simulator;
  let client: RunflowClient;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50 });
    client = simulatorClient(simulator);
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('finalRun emits a partial success', async () => {
    const input = { prompt: 'waves', simulate: { outcome: 'partial_succeeded' } };
    const { values, completed } = await collect(client.run(VIDEO_MODEL, { input }).pipe(finalRun()));
    expect(completed).toBe(true);
    expect(values).toHaveLength(1);
    expect(values[0]?.status_code).toBe('partial_succeeded');
  });

  it('finalRun emits a canceled run', async () => {
    const input = { prompt: 'x', simulate: { outcome: 'canceled', at: 'dispatching' } };
    const final = await lastValueFrom(client.run(IMAGE_MODEL, { input }).pipe(finalRun()));
    expect(final.status_code).toBe('canceled');
  });

  it('finalRun passes RunFailedError through', async () => {
    const input = { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_TIMEOUT' } };
    const { values, error } = await collect(client.run(IMAGE_MODEL, { input }).pipe(finalRun()));
    expect(values).toEqual([]);
    expect(error).toBeInstanceOf(RunFailedError);
  });

  it('outputs selects the video and the poster of a real run', async () => {
    const run$ = client.run(VIDEO_MODEL, { input: { prompt: 'waves', duration_s: 2 } });
    const videos = await lastValueFrom(run$.pipe(outputs('video'), toArray()));
    const posters = await lastValueFrom(run$.pipe(outputs('image/png'), toArray()));
    expect(videos).toHaveLength(1);
    expect(videos[0]?.content_type).toBe('video/mp4');
    expect(videos[0]?.duration).toBe(2);
    expect(posters).toHaveLength(1);
    expect(posters[0]?.type).toBe('image');
  });

  it('logLines and statusChanges follow a real run', async () => {
    const run$ = client.run(IMAGE_MODEL, { input: { prompt: 'x' } });
    const { values: recorded } = await collect(run$);
    const logs = await lastValueFrom(events(...recorded).pipe(logLines(), toArray()));
    const statuses = await lastValueFrom(events(...recorded).pipe(statusChanges(), toArray()));
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((log) => typeof log.message === 'string')).toBe(true);
    expect(statuses.at(-1)?.status).toBe('succeeded');
    expect(statuses.map((event) => event.runId)).toEqual(statuses.map(() => recorded[0]?.runId));
  });
});
