import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  RunFailedError,
  createRunflowClient,
  isRunFailedError,
  outputItems,
  type LogFields,
  type RunEvent,
  type RunStatusEvent,
  type RunflowClient,
} from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { collect, statuses } from './helpers.js';

const IMAGE_MODEL = 'openai/gpt-image-1.5';
const VIDEO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';
const LIFECYCLE = ['queued', 'dispatching', 'running'];

let simulator: Simulator;
let client: RunflowClient;
const warnings: Array<{ message: string; fields: LogFields | undefined }> = [];

beforeAll(async () => {
  // 20 simulated ms per real ms: a 5 s video run takes about 250 ms, and every state lasts
  // several 2 ms poll intervals.
  simulator = await startSimulator({ timeScale: 20 });
  client = createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 2, maxIntervalMs: 4 },
    budget: { requestsPerSecond: 10_000, burst: 1000 },
    logger: {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (message, fields) => warnings.push({ message, fields }),
    },
  });
});

afterAll(async () => {
  await simulator.close();
});

/** True when `seen` lists statuses in lifecycle order, each at most once. */
function inLifecycleOrder(seen: readonly string[]): boolean {
  const ranks = seen.slice(0, -1).map((status) => LIFECYCLE.indexOf(status));
  return ranks.every((rank, i) => rank >= 0 && (i === 0 || rank > ranks[i - 1]!));
}

describe('client.run against the simulator', () => {
  it('completes after succeeded with the outputs on the last event', async () => {
    const { events, completed, error } = await collect(client.run(IMAGE_MODEL, { input: { prompt: 'a lighthouse' } }));
    expect(error).toBeUndefined();
    expect(completed).toBe(true);
    const seen = statuses(events);
    expect(seen[0]).toBe('queued');
    expect(seen.at(-1)).toBe('succeeded');
    expect(inLifecycleOrder(seen)).toBe(true);
    const last = events.at(-1) as RunStatusEvent;
    expect(last.type).toBe('status');
    expect(outputItems(last.run.output).length).toBeGreaterThan(0);
  });

  it('completes after partial_succeeded', async () => {
    const { events, completed } = await collect(
      client.run(VIDEO_MODEL, { input: { prompt: 'waves', simulate: { outcome: 'partial_succeeded' } } }),
    );
    expect(completed).toBe(true);
    expect(statuses(events).at(-1)).toBe('partial_succeeded');
  });

  it('completes after canceled, also with the cancelled spelling', async () => {
    const canceled = await collect(
      client.run(IMAGE_MODEL, { input: { prompt: 'x', simulate: { outcome: 'canceled', at: 'dispatching' } } }),
    );
    expect(canceled.completed).toBe(true);
    expect(statuses(canceled.events).at(-1)).toBe('canceled');

    const drifted = await startSimulator({ timeScale: 20, drift: { cancelledSpelling: true } });
    try {
      const driftClient = createRunflowClient({
        apiKey: drifted.apiKey,
        baseUrl: drifted.url,
        poll: { intervalMs: 2, maxIntervalMs: 4 },
        budget: { requestsPerSecond: 10_000, burst: 1000 },
      });
      const run = await collect(
        driftClient.run(IMAGE_MODEL, { input: { prompt: 'x', simulate: { outcome: 'canceled' } } }),
      );
      expect(run.completed).toBe(true);
      expect(statuses(run.events).at(-1)).toBe('canceled');
    } finally {
      await drifted.close();
    }
  });

  it('errors with RunFailedError carrying code, stage and message', async () => {
    const { events, error } = await collect(
      client.run(VIDEO_MODEL, {
        input: {
          prompt: 'storm',
          simulate: {
            outcome: 'failed',
            at: 'running',
            step: 1,
            failureCode: 'PROVIDER_TIMEOUT',
            failureMessage: 'no answer',
          },
        },
      }),
    );
    expect(error).toBeInstanceOf(RunFailedError);
    expect(isRunFailedError(error)).toBe(true);
    const failure = error as RunFailedError;
    expect(failure.failureCode).toBe('PROVIDER_TIMEOUT');
    expect(failure.failureStage).toBe('provider');
    expect(failure.failureMessage).toBe('no answer');
    expect(failure.run.status_code).toBe('failed');
    const last = events.at(-1) as RunStatusEvent;
    expect(last.type).toBe('status');
    expect(last.status).toBe('failed');
  });

  it('fails at dispatch without inventing a running status', async () => {
    const { events, error } = await collect(
      client.run(IMAGE_MODEL, {
        input: { prompt: 'x', simulate: { outcome: 'failed', at: 'dispatching', failureCode: 'MODEL_UNAVAILABLE' } },
      }),
    );
    expect((error as RunFailedError).failureStage).toBe('dispatch');
    expect(statuses(events)).not.toContain('running');
  });

  it('passes an unknown status through and still completes', async () => {
    warnings.length = 0;
    const { events, completed } = await collect(
      client.run(IMAGE_MODEL, { input: { prompt: 'x', simulate: { unknownStatus: 'awaiting_gpu' } } }),
    );
    expect(completed).toBe(true);
    expect(statuses(events)).toContain('awaiting_gpu');
    expect(statuses(events).at(-1)).toBe('succeeded');
    const reported = warnings.filter((warning) => warning.fields?.['status'] === 'awaiting_gpu');
    expect(reported).toHaveLength(1);
  });
});

describe('events of a multi-step run', () => {
  let events: RunEvent[];
  let runId: string;

  beforeAll(async () => {
    const result = await collect(client.run(VIDEO_MODEL, { input: { prompt: 'a paper boat', duration_s: 5 } }));
    expect(result.completed).toBe(true);
    events = result.events;
    runId = events[0]!.runId;
  });

  it('emits every log line once, in the server order', () => {
    const logs = events.flatMap((event) => (event.type === 'log' ? [event.log] : []));
    const ids = logs.map((log) => log.id);
    expect(new Set(ids).size).toBe(ids.length);
    const final = simulator.getRun(runId) as { logs: Array<{ id: string }> };
    expect(ids).toEqual(final.logs.map((log) => log.id));
  });

  it('reports at least three steps, each ending succeeded', () => {
    const changes = events.flatMap((event) => (event.type === 'node-run' ? [event] : []));
    const lastState = new Map<string, string>();
    for (const change of changes) lastState.set(change.nodeRun.id!, change.nodeRun.state_code!);
    expect(lastState.size).toBeGreaterThanOrEqual(3);
    expect([...lastState.values()].every((state) => state === 'succeeded')).toBe(true);
    const firstChange = changes.find((change) => change.previous !== undefined);
    expect(firstChange?.previous?.id).toBe(firstChange?.nodeRun.id);
  });

  it('ends with status, tags run id', () => {
    expect(events.at(-1)?.type).toBe('status');
    expect(events.every((event) => event.runId === runId)).toBe(true);
  });
});

describe('client.watch', () => {
  it('attaches to an existing run by id', async () => {
    const created = await new Promise<string>((resolve, reject) =>
      client.runs
        .create(VIDEO_MODEL, { input: { prompt: 'fog' } })
        .subscribe({ next: (run) => resolve(run.id), error: reject }),
    );
    const { events, completed } = await collect(client.watch(created));
    expect(completed).toBe(true);
    expect(statuses(events).at(-1)).toBe('succeeded');
  });

  it('emits everything at once for a run that already ended', async () => {
    const runId = await new Promise<string>((resolve, reject) =>
      client.runs
        .create(IMAGE_MODEL, { input: { prompt: 'done' } })
        .subscribe({ next: (run) => resolve(run.id), error: reject }),
    );
    simulator.advanceTime(60_000);
    const before = simulator.requestCount({ path: `/v1/runs/${runId}` });
    const { events, completed } = await collect(client.watch(runId));
    expect(completed).toBe(true);
    expect(statuses(events)).toEqual(['succeeded']);
    expect(simulator.requestCount({ path: `/v1/runs/${runId}` }) - before).toBe(1);
  });
});
