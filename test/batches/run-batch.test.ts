import { Observable, filter, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runBatch, type RunBatchEvent, type RunBatchOutcome } from '../../src/batches/run-batch.js';
import { RunFailedError, RunflowInputError, createRunflowClient, type Run, type RunEvent } from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { countingScheduler, createTestClient, until } from '../integration/helpers.js';

describe('runBatch in virtual time', () => {
  /** Creates a fake client whose runs last `durations[i]` virtual ms and succeed, recording start times. */
  function fakeClient(scheduler: TestScheduler, durations: number[]) {
    const starts: number[] = [];
    let active = 0;
    let maxActive = 0;
    const client = {
      run: (_model: string, request: { input: Record<string, unknown> }) =>
        new Observable<RunEvent>((subscriber) => {
          const index = Number(request.input['i']);
          starts[index] = scheduler.now();
          active++;
          maxActive = Math.max(maxActive, active);
          const run = { id: `run-${index}`, status_code: 'succeeded' } as Run;
          const done = scheduler.schedule(() => {
            subscriber.next({ type: 'status', runId: run.id, status: 'succeeded', previous: undefined, run });
            subscriber.complete();
          }, durations[index]);
          return () => {
            active--;
            done.unsubscribe();
          };
        }),
    };
    return { client, starts, maxActive: () => maxActive };
  }

  it('limits runs in flight to concurrency', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const { client, starts, maxActive } = fakeClient(scheduler, [30, 10, 20, 10, 10]);
    let summaryAt = -1;
    scheduler.run(() => {
      runBatch(
        client,
        'm',
        [0, 1, 2, 3, 4].map((i) => ({ i })),
        { concurrency: 2 },
      ).subscribe((event) => {
        if (event.type === 'summary') summaryAt = scheduler.now();
      });
    });
    // 0 runs 0-30; 1 runs 0-10; 2 starts at 10 (ends 30); 3 starts at 30, 4 at 30.
    expect(starts).toEqual([0, 0, 10, 30, 30]);
    expect(maxActive()).toBe(2);
    expect(summaryAt).toBe(40);
  });

  it('stops every run on unsubscribe and starts no more', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const { client, starts } = fakeClient(scheduler, [50, 50, 50, 50]);
    const outcomes: number[] = [];
    scheduler.run(() => {
      const subscription = runBatch(
        client,
        'm',
        [0, 1, 2, 3].map((i) => ({ i })),
        { concurrency: 2 },
      ).subscribe((event) => {
        if (event.type === 'item-outcome') outcomes.push(event.index);
      });
      scheduler.schedule(() => subscription.unsubscribe(), 20);
    });
    expect(starts.filter((start) => start !== undefined)).toEqual([0, 0]);
    expect(outcomes).toEqual([]);
  });

  it('rejects a concurrency below 1', () => {
    const client = { run: () => new Observable<RunEvent>() };
    expect(() => runBatch(client, 'm', [], { concurrency: 0 })).toThrow(RunflowInputError);
    expect(() => runBatch(client, 'm', [], { concurrency: 0 })).toThrow('Invalid concurrency 0');
  });
});

describe('runBatch against the simulator', () => {
  let simulator: Simulator;
  let client: ReturnType<typeof createRunflowClient>;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 20 });
    client = createTestClient(simulator);
  });

  afterAll(async () => {
    await simulator.close();
  });

  const outcomesOf = (events: RunBatchEvent[]): Map<number, RunBatchOutcome> =>
    new Map(events.flatMap((event) => (event.type === 'item-outcome' ? [[event.index, event.outcome] as const] : [])));

  it('gives each item one outcome and a summary of mixed results', async () => {
    const items = [
      { prompt: 'ok', client_ref: 'first' },
      { prompt: 'partial', simulate: { outcome: 'partial_succeeded' } },
      { prompt: 'fail', simulate: { outcome: 'failed', failureCode: 'PROVIDER_TIMEOUT' } },
      { prompt: 'cancel', simulate: { outcome: 'canceled' } },
      { width: 10 },
    ];
    const events = await lastValueFrom(
      runBatch(client, 'bytedance/seedance/2.0/fast/text-to-video', items, { concurrency: 3 }).pipe(toArray()),
    );
    const outcomes = outcomesOf(events);
    expect([...outcomes.keys()].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(outcomes.get(0)?.status).toBe('succeeded');
    expect(outcomes.get(1)?.status).toBe('partial_succeeded');
    expect(outcomes.get(3)?.status).toBe('canceled');
    const failed = outcomes.get(2) as Extract<RunBatchOutcome, { status: 'failed' }>;
    expect(failed.status).toBe('failed');
    expect(failed.failureCode).toBe('PROVIDER_TIMEOUT');
    expect(failed.error).toBeInstanceOf(RunFailedError);
    const rejected = outcomes.get(4) as Extract<RunBatchOutcome, { status: 'failed' }>;
    expect(rejected.status).toBe('failed');
    expect(rejected.run).toBeUndefined();
    expect(rejected.failureMessage).toContain('HTTP 422');
    expect(events.at(-1)).toEqual({
      type: 'summary',
      summary: { total: 5, succeeded: 1, failed: 2, cancelled: 1, partial: 1 },
    });
    const tagged = events.filter((event) => event.type === 'item-event' && event.index === 0);
    expect(tagged.length).toBeGreaterThan(0);
    expect(tagged.every((event) => event.type === 'item-event' && event.clientRef === 'first')).toBe(true);
  });

  it('emits a summary of zeros for no items', async () => {
    const events = await lastValueFrom(runBatch(client, 'openai/gpt-image-1.5', []).pipe(toArray()));
    expect(events).toEqual([
      { type: 'summary', summary: { total: 0, succeeded: 0, failed: 0, cancelled: 0, partial: 0 } },
    ]);
  });

  it('stops creating runs and polling after unsubscribe', async () => {
    const scheduler = countingScheduler();
    const counted = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      poll: { intervalMs: 5 },
      budget: { requestsPerSecond: 10_000, burst: 1000 },
      scheduler,
    });
    const before = simulator.runCount();
    const items = Array.from({ length: 10 }, (_, i) => ({ prompt: `item ${i}` }));
    const subscription = runBatch(counted, 'bytedance/seedance/2.0/fast/text-to-video', items, { concurrency: 2 })
      .pipe(filter((event) => event.type === 'item-event'))
      .subscribe();
    await until(() => simulator.runCount() - before >= 2);
    subscription.unsubscribe();
    // No timer is left, so no later poll or create can start.
    expect(scheduler.pending()).toBe(0);
    expect(simulator.runCount() - before).toBe(2);
    await until(() => simulator.inFlightRequests() === 0);
  });
});
