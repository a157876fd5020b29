import { getEventListeners } from 'node:events';

import crossFetch from 'cross-fetch';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRunflowClient, type FetchLike, type FetchRequestInit } from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { countingScheduler, startRawServer, until } from './helpers.js';

const VIDEO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';

let simulator: Simulator;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 5 });
});

afterAll(async () => {
  await simulator.close();
});

/** cross-fetch, recording the signal of each request so a test can inspect its listeners. */
function recordingFetch(signals: AbortSignal[]): FetchLike {
  const real = crossFetch as unknown as FetchLike;
  return (url: string, init: FetchRequestInit) => {
    signals.push(init.signal);
    return real(url, init);
  };
}

describe('unsubscribe', () => {
  it('between polls clears the timer and sends nothing more', async () => {
    const scheduler = countingScheduler();
    const client = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      poll: { intervalMs: 10_000 },
      scheduler,
    });
    let sawQueued = false;
    const subscription = client
      .run(VIDEO_MODEL, { input: { prompt: 'x' } })
      .subscribe((event) => (sawQueued ||= event.type === 'status'));
    await until(() => sawQueued);
    // The create request has returned, and the next poll waits on a 10 s timer.
    expect(scheduler.pending()).toBe(1);
    const requestsBefore = simulator.requests().length;
    subscription.unsubscribe();
    expect(scheduler.pending()).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(simulator.requests().length).toBe(requestsBefore);
  });

  it('during a request aborts it, closes the socket and removes every listener', async () => {
    const received: string[] = [];
    let closed = 0;
    const server = await startRawServer((request) => {
      received.push(request.url ?? '');
      request.on('close', () => closed++);
    });
    const signals: AbortSignal[] = [];
    const scheduler = countingScheduler();
    try {
      const client = createRunflowClient({
        apiKey: 'rf_test',
        baseUrl: server.url,
        fetch: recordingFetch(signals),
        poll: { mode: 'per-run' },
        scheduler,
      });
      const subscription = client.watch('run-1').subscribe();
      await until(() => received.length === 1);
      expect(scheduler.pending()).toBe(1); // the request timeout
      subscription.unsubscribe();
      expect(scheduler.pending()).toBe(0);
      await until(() => closed === 1);
      expect(signals).toHaveLength(1);
      expect(signals[0]!.aborted).toBe(true);
      expect(getEventListeners(signals[0]!, 'abort')).toHaveLength(0);
      expect(received).toEqual(['/v1/runs/run-1']);
    } finally {
      await server.close();
    }
  });

  it('leaves no timer, request or abort listener after a run completes', async () => {
    const signals: AbortSignal[] = [];
    const scheduler = countingScheduler();
    const client = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      fetch: recordingFetch(signals),
      poll: { intervalMs: 5, maxIntervalMs: 10 },
      budget: { requestsPerSecond: 10_000, burst: 1000 },
      scheduler,
    });
    await lastValueFrom(client.run(VIDEO_MODEL, { input: { prompt: 'x' } }, { timeoutMs: 60_000 }));
    expect(scheduler.pending()).toBe(0);
    expect(signals.length).toBeGreaterThan(2);
    for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(simulator.inFlightRequests()).toBe(0);
  });
});
