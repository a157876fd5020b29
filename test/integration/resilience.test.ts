import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  createRunflowClient,
  type LogFields,
  type PollConfig,
  type RunEvent,
  type RunflowClient,
} from '../../src/index.js';
import { startSimulator, type Fault, type Simulator } from '../../src/testing/index.js';
import { collect, statuses } from './helpers.js';

const VIDEO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';
const LIFECYCLE = ['queued', 'dispatching', 'running', 'succeeded', 'failed', 'canceled', 'partial_succeeded'];

let simulator: Simulator;
const warnings: Array<{ message: string; fields: LogFields | undefined }> = [];

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 20 });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  warnings.length = 0;
});

/** Creates a client that retries at once (the retry timing has its own virtual-time tests). */
function fastClient(poll: PollConfig, requestTimeoutMs = 2000): RunflowClient {
  return createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 5, maxIntervalMs: 10, ...poll },
    retry: { initialDelayMs: 1, jitterMs: 0 },
    budget: { requestsPerSecond: 10_000, burst: 1000 },
    requestTimeoutMs,
    logger: {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (message, fields) => warnings.push({ message, fields }),
    },
  });
}

/** Checks the invariants every run stream keeps, whatever the transport did. */
function expectConsistent(events: readonly RunEvent[], terminal: string): void {
  const seen = statuses(events);
  expect(seen.at(-1)).toBe(terminal);
  expect(seen.filter((status) => status === terminal)).toHaveLength(1);
  expect(new Set(seen).size).toBe(seen.length);
  const ranks = seen.map((status) => Math.min(LIFECYCLE.indexOf(status), 3));
  expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  expect(events.at(-1)?.type).toBe('status');
  const logIds = events.flatMap((event) => (event.type === 'log' ? [event.log.id] : []));
  expect(new Set(logIds).size).toBe(logIds.length);
}

/** Checks that every log line of the finished run reached the stream. */
function expectAllLogs(events: readonly RunEvent[]): void {
  const runId = events[0]!.runId;
  const final = simulator.getRun(runId) as { logs: Array<{ id: string }> };
  const logIds = events.flatMap((event) => (event.type === 'log' ? [event.log.id] : []));
  expect(logIds).toEqual(final.logs.map((log) => log.id));
}

const FAULTS: Array<[string, Fault]> = [
  ['HTTP 503', { kind: 'status', status: 503 }],
  ['connection reset', { kind: 'reset' }],
  ['slow response past the request timeout', { kind: 'slow', delayMs: 60_000 }],
  ['HTML error page', { kind: 'html' }],
  ['malformed JSON', { kind: 'malformed-json' }],
  ['stale read', { kind: 'stale' }],
];

describe.each([
  ['per-run polling', { mode: 'per-run' } as PollConfig, /^\/v1\/runs\/[^/]+$/],
  ['shared polling', { mode: 'shared' } as PollConfig, /^\/v1\/runs$/],
])('%s through faults', (_name, poll, path) => {
  it.each(FAULTS)('%s: ends once in its terminal state with every log line', async (_fault, fault) => {
    simulator.injectFault({ method: 'GET', path, after: 1, times: 3, fault });
    const client = fastClient(poll, 200);
    const { events, completed, error } = await collect(client.run(VIDEO_MODEL, { input: { prompt: 'storm' } }));
    expect(error).toBeUndefined();
    expect(completed).toBe(true);
    expectConsistent(events, 'succeeded');
    expectAllLogs(events);
  });

  it('ends a failed run once with RunFailedError through 5xx', async () => {
    simulator.injectFault({ method: 'GET', path, after: 2, times: 2, fault: { kind: 'status', status: 500 } });
    const input = { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } };
    const { events, error } = await collect(fastClient(poll).run(VIDEO_MODEL, { input }));
    expect((error as { failureCode?: string }).failureCode).toBe('PROVIDER_ERROR');
    expectConsistent(events, 'failed');
  });
});

describe('idempotent create', () => {
  it('creates exactly one run when the connection resets after processing', async () => {
    const before = simulator.runCount();
    simulator.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'reset', afterProcessing: true } });
    const client = fastClient({ mode: 'per-run' });
    const { events, completed } = await collect(client.run(VIDEO_MODEL, { input: { prompt: 'once' } }));
    expect(completed).toBe(true);
    expect(simulator.runCount() - before).toBe(1);
    const creates = simulator
      .requests()
      .filter((request) => request.method === 'POST')
      .slice(-2);
    expect(creates).toHaveLength(2);
    const keys = creates.map((request) => request.headers['idempotency-key']);
    expect(keys[0]).toBeTruthy();
    expect(keys[1]).toBe(keys[0]);
    expect(new Set(events.map((event) => event.runId)).size).toBe(1);
  });

  it('sends a new key for each subscription', async () => {
    const run$ = fastClient({ mode: 'per-run' }).run(VIDEO_MODEL, { input: { prompt: 'twice' } });
    await lastValueFrom(run$);
    await lastValueFrom(run$);
    const keys = simulator
      .requests()
      .filter((request) => request.method === 'POST')
      .slice(-2)
      .map((request) => request.headers['idempotency-key']);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('does not retry a create rejected with 422', async () => {
    const before = simulator.requestCount({ method: 'POST' });
    const { error } = await collect(fastClient({}).run(VIDEO_MODEL, { input: { duration_s: 3 } }));
    expect((error as { status?: number }).status).toBe(422);
    expect(simulator.requestCount({ method: 'POST' }) - before).toBe(1);
  });
});

describe('rate limiting', () => {
  it.each([
    ['with Retry-After', true],
    ['without headers', false],
  ])('%s: every run still completes and polling pauses', async (_name, headers) => {
    const limited = await startSimulator({ timeScale: 20, rateLimit: { requestsPerSecond: 2, burst: 5, headers } });
    try {
      const client = createRunflowClient({
        apiKey: limited.apiKey,
        baseUrl: limited.url,
        poll: { intervalMs: 5, mode: 'shared' },
        retry: { initialDelayMs: 20, jitterMs: 10, maxAttempts: 8 },
        budget: { requestsPerSecond: 10_000, burst: 1000 },
        logger: {
          debug: () => {},
          info: () => {},
          error: () => {},
          warn: (message, fields) => warnings.push({ message, fields }),
        },
      });
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => collect(client.run(VIDEO_MODEL, { input: { prompt: `p${i}` } }))),
      );
      for (const run of runs) {
        expect(run.error).toBeUndefined();
        expectConsistent(run.events, 'succeeded');
      }
      expect(limited.counters({ status: 429 })).not.toEqual({});
      expect(warnings.some((warning) => warning.message === 'Rate limited: pausing all polling')).toBe(true);
    } finally {
      await limited.close();
    }
  });
});

describe('shared polling', () => {
  it('watches many runs with list queries instead of one GET per run', async () => {
    simulator.resetCounters();
    const client = fastClient({ mode: 'shared', intervalMs: 20, maxIntervalMs: 40 });
    const runs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => collect(client.run(VIDEO_MODEL, { input: { prompt: `p${i}` } }))),
    );
    for (const run of runs) expectConsistent(run.events, 'succeeded');
    const counters = simulator.counters();
    const lists = counters['GET /v1/runs'] ?? 0;
    const gets = counters['GET /v1/runs/{id}'] ?? 0;
    expect(lists).toBeGreaterThan(0);
    // Per-run polling at 20 ms would send about 30 runs x 250 ms / 20 ms = 375 GETs.
    expect(lists + gets).toBeLessThan(150);
  });

  it('emits the same events as per-run polling for a finished run', async () => {
    const created = await lastValueFrom(fastClient({}).runs.create(VIDEO_MODEL, { input: { prompt: 'same' } }));
    simulator.advanceTime(60_000);
    const shared = await collect(fastClient({ mode: 'shared' }).watch(created.id));
    const perRun = await collect(fastClient({ mode: 'per-run' }).watch(created.id));
    const describe = (event: RunEvent): string =>
      event.type === 'status'
        ? `status:${event.status}`
        : event.type === 'log'
          ? `log:${event.log.id}`
          : `node:${event.nodeRun.id}:${event.nodeRun.state_code}`;
    expect(shared.events.map(describe)).toEqual(perRun.events.map(describe));
  });

  it('falls back when the filter is rejected', async () => {
    simulator.injectFault({
      method: 'GET',
      path: '/v1/runs',
      times: Infinity,
      fault: {
        kind: 'status',
        status: 400,
        body: JSON.stringify({ code: 'INVALID_FILTER', message: 'no', errors: null }),
      },
    });
    try {
      const client = fastClient({ mode: 'shared' });
      const runs = await Promise.all(
        [1, 2, 3].map((i) => collect(client.run(VIDEO_MODEL, { input: { prompt: `${i}` } }))),
      );
      for (const run of runs) expectConsistent(run.events, 'succeeded');
      expect(warnings.filter((warning) => warning.message.includes('rejected the id filter'))).toHaveLength(1);
    } finally {
      simulator.injectFault({ method: 'GET', path: '/v1/runs', times: 1, fault: { kind: 'stale' } });
    }
  });
});
