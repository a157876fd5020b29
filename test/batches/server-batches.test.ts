import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  RunflowInputError,
  createCallbackReceiver,
  createRunflowClient,
  listenForCallbacks,
  type BatchEvent,
  type RunflowClient,
} from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { createTestClient } from '../integration/helpers.js';

const MODEL = 'openai/gpt-image-1.5';
const SECRET = 'whsec_batches_secret';

let simulator: Simulator;
let client: RunflowClient;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 20, callbackSecret: SECRET });
  client = createTestClient(simulator);
});

afterAll(async () => {
  await simulator.close();
});

describe('server-side batches', () => {
  it('splits more than 100 inputs into several batches, each with its own key', async () => {
    const inputs = Array.from({ length: 230 }, (_, i) => ({ prompt: `p${i}`, client_ref: `ref-${i}` }));
    const batches = await lastValueFrom(client.batches.create(MODEL, { input: inputs }));
    expect(batches.map((batch) => batch.items_total)).toEqual([100, 100, 30]);
    expect(batches[2]?.items?.[29]?.client_ref).toBe('ref-229');
    const posts = simulator
      .requests()
      .filter((request) => request.method === 'POST' && request.path.endsWith('/batches'));
    const keys = posts.slice(-3).map((request) => request.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(3);
  });

  it('watches a batch to its summary with per-item transitions', async () => {
    const input = [
      { prompt: 'ok' },
      { prompt: 'fail', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } },
      { prompt: 'cancel', simulate: { outcome: 'canceled' } },
    ];
    const [batch] = await lastValueFrom(client.batches.create(MODEL, { input }));
    const events = await lastValueFrom(client.batches.watch(batch!.id).pipe(toArray()));
    const statuses = events.flatMap((event) => (event.type === 'batch-status' ? [event.status] : []));
    expect(statuses.at(-1)).toBe('partial_succeeded');
    expect(new Set(statuses).size).toBe(statuses.length);
    const last = events.at(-1) as Extract<BatchEvent, { type: 'batch-summary' }>;
    expect(last.type).toBe('batch-summary');
    expect(last.summary).toEqual({ total: 3, succeeded: 1, failed: 1, cancelled: 1 });
    const finalItems = new Map<string, string>();
    for (const event of events)
      if (event.type === 'batch-item') finalItems.set(event.item.id!, event.item.status_code!);
    expect([...finalItems.values()].sort()).toEqual(['canceled', 'failed', 'succeeded']);
  });

  it('lists full items with their runs', async () => {
    const [batch] = await lastValueFrom(client.batches.create(MODEL, { input: [{ prompt: 'a' }, { prompt: 'b' }] }));
    const page = await lastValueFrom(client.batches.items(batch!.id, { limit: 1 }));
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.run?.batch_id).toBe(batch!.id);
    expect(page.next).toBeTruthy();
  });

  it('ends by the batch callback through the receiver', async () => {
    const receiver = createCallbackReceiver({ secrets: [SECRET] });
    const endpoint = await listenForCallbacks(receiver);
    try {
      const [batch] = await lastValueFrom(
        client.batches.create(MODEL, { input: [{ prompt: 'a' }, { prompt: 'b' }], callbackUrl: endpoint.url }),
      );
      const before = simulator.requestCount({ method: 'GET', path: `/v1/batches/${batch!.id}` });
      const events = await lastValueFrom(
        client.batches.watch(batch!.id, { callbacks: receiver, safetyNetIntervalMs: 60_000 }).pipe(toArray()),
      );
      expect(events.at(-1)).toMatchObject({ type: 'batch-summary', summary: { total: 2, succeeded: 2 } });
      // The first GET, then one after the callback.
      expect(simulator.requestCount({ method: 'GET', path: `/v1/batches/${batch!.id}` }) - before).toBe(2);
    } finally {
      await endpoint.close();
      receiver.close();
    }
  });

  it('rejects bad batch requests before any request', () => {
    const before = simulator.requests().length;
    expect(() => client.batches.create(MODEL, { input: [] })).toThrow(RunflowInputError);
    expect(() => client.batches.create(MODEL, { input: [{ prompt: 'x', client_ref: 'r'.repeat(256) }] })).toThrow(
      'client_ref of batch input 0',
    );
    expect(() => client.batches.create(MODEL, { input: [{}], callbackUrl: 'ftp://x' })).toThrow('Invalid callbackUrl');
    expect(simulator.requests().length).toBe(before);
  });
});
