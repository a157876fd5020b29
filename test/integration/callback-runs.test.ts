import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  createCallbackReceiver,
  createRunflowClient,
  listenForCallbacks,
  nodeCallbackListener,
  type CallbackReceiver,
  type CallbackServer,
  type LogFields,
  type RunEvent,
  type RunflowClient,
} from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { collect, startRawServer, statuses } from './helpers.js';

const SECRET = 'whsec_callback_runs_secret';
const VIDEO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';
const PATH = '/hooks/runflow';

let simulator: Simulator;
let receiver: CallbackReceiver;
let endpoint: CallbackServer;
let client: RunflowClient;
const warnings: Array<{ message: string; fields: LogFields | undefined }> = [];

beforeAll(async () => {
  // 20 simulated ms per real ms: a video run takes about 250 ms, a callback retry 5 s / 20.
  simulator = await startSimulator({ timeScale: 20, callbackSecret: SECRET });
  receiver = createCallbackReceiver({ secrets: [SECRET] });
  endpoint = await listenForCallbacks(receiver, { path: PATH });
  client = createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    budget: { requestsPerSecond: 10_000, burst: 1000 },
    retry: { initialDelayMs: 1, jitterMs: 0 },
    logger: {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (message, fields) => warnings.push({ message, fields }),
    },
  });
});

afterAll(async () => {
  await endpoint.close();
  receiver.close();
  await simulator.close();
});

afterEach(() => {
  warnings.length = 0;
});

/** Counts the GETs of one run, which show whether polling or the callback finished it. */
const getsOf = (runId: string): number => simulator.requestCount({ method: 'GET', path: `/v1/runs/${runId}` });

function expectOneTerminal(events: readonly RunEvent[], terminal: string): void {
  const seen = statuses(events);
  expect(seen.at(-1)).toBe(terminal);
  expect(seen.filter((status) => status === terminal)).toHaveLength(1);
  expect(events.at(-1)?.type).toBe('status');
}

describe('runs driven by callbacks', () => {
  it('ends by its callback with the full run, not by polling', async () => {
    const { events, completed } = await collect(
      client.run(
        VIDEO_MODEL,
        { input: { prompt: 'a harbour at dawn' }, callbackUrl: `${endpoint.url}${PATH}` },
        { callbacks: receiver, safetyNetIntervalMs: 60_000 },
      ),
    );
    expect(completed).toBe(true);
    expectOneTerminal(events, 'succeeded');
    const runId = events[0]!.runId;
    // One GET after the callback; the 60 s safety net never fired.
    expect(getsOf(runId)).toBe(1);
    const logIds = events.flatMap((event) => (event.type === 'log' ? [event.log.id] : []));
    expect(logIds).toEqual((simulator.getRun(runId) as { logs: Array<{ id: string }> }).logs.map((log) => log.id));
    expect(events.filter((event) => event.type === 'node-run').length).toBeGreaterThanOrEqual(4);
  });

  it('errors with RunFailedError by a run.failed callback', async () => {
    const { events, error } = await collect(
      client.run(
        VIDEO_MODEL,
        {
          input: { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } },
          callbackUrl: `${endpoint.url}${PATH}`,
        },
        { callbacks: receiver, safetyNetIntervalMs: 60_000 },
      ),
    );
    expect((error as { failureCode?: string }).failureCode).toBe('PROVIDER_ERROR');
    expectOneTerminal(events, 'failed');
  });

  it('completes on run.cancelled', async () => {
    const { events, completed } = await collect(
      client.run(
        VIDEO_MODEL,
        { input: { prompt: 'x', simulate: { outcome: 'canceled' } }, callbackUrl: `${endpoint.url}${PATH}` },
        { callbacks: receiver, safetyNetIntervalMs: 60_000 },
      ),
    );
    expect(completed).toBe(true);
    expectOneTerminal(events, 'canceled');
  });

  it('finishes by the safety-net poll when the callback is lost', async () => {
    const closed = await startRawServer(() => {});
    await closed.close();
    const { events, completed } = await collect(
      client.run(
        VIDEO_MODEL,
        { input: { prompt: 'x' }, callbackUrl: `${closed.url}${PATH}` },
        { callbacks: receiver, safetyNetIntervalMs: 40 },
      ),
    );
    expect(completed).toBe(true);
    expectOneTerminal(events, 'succeeded');
  });

  it('completes once when the receiver first answers 500 and Runflow retries', async () => {
    let answered500 = 0;
    const listener = nodeCallbackListener(receiver);
    const flaky = createServer((request, response) => {
      if (answered500 === 0) {
        answered500++;
        request.resume();
        response.writeHead(500).end();
        return;
      }
      listener(request, response);
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    try {
      const { events, completed } = await collect(
        client.run(
          VIDEO_MODEL,
          { input: { prompt: 'x' }, callbackUrl: url },
          { callbacks: receiver, safetyNetIntervalMs: 60_000 },
        ),
      );
      expect(completed).toBe(true);
      expectOneTerminal(events, 'succeeded');
      const delivery = simulator.deliveries(events[0]!.runId)[0]!;
      expect(delivery.attempts.map((attempt) => attempt.status_code)).toEqual([500, 200]);
    } finally {
      flaky.closeAllConnections();
      await new Promise<void>((resolve) => flaky.close(() => resolve()));
    }
  });

  it('uses a callback that arrived before the run was watched', async () => {
    const paused = await startSimulator({ timeScale: 0, callbackSecret: SECRET });
    try {
      const pausedClient = createRunflowClient({ apiKey: paused.apiKey, baseUrl: paused.url, retry: false });
      const run = await lastValueFrom(
        pausedClient.runs.create(VIDEO_MODEL, { input: { prompt: 'x' }, callbackUrl: `${endpoint.url}${PATH}` }),
      );
      paused.advanceTime(60_000);
      await paused.flushCallbacks();
      // The first GET is stale and still shows the run queued: only the kept callback can end it.
      paused.injectFault({ method: 'GET', path: `/v1/runs/${run.id}`, fault: { kind: 'stale' } });
      const { events, completed } = await collect(
        pausedClient.watch(run.id, { callbacks: receiver, safetyNetIntervalMs: 60_000 }),
      );
      expect(completed).toBe(true);
      expect(statuses(events)).toEqual(['queued', 'succeeded']);
    } finally {
      await paused.close();
    }
  });

  it('rejects a forged callback and keeps watching', async () => {
    const forged = await fetch(`${endpoint.url}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'runflow-signature': '0'.repeat(64) },
      body: JSON.stringify({ event: 'run.completed', run_id: 'someone-elses', status: 'succeeded' }),
    });
    expect(forged.status).toBe(401);
  });
});
