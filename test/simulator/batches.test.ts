import { describe, expect, it } from 'vitest';
import { MAX_BATCH_ITEMS, validateFields, type SimulatedModel, type Simulator } from '../../src/testing/index.js';
import { api, getRun, IMAGE_MODEL, IMAGE_TIMELINE, simulatorPerTest, type ApiResponse, type Json } from './helpers.js';
import { receiverPerTest, verifySignature } from './callback-receiver.js';

const start = simulatorPerTest();
const receiver = receiverPerTest();

const START = Date.parse('2026-05-06T10:00:00.000Z');

/** A failed or canceled image run stops halfway through its only step, 900 ms after it starts running. */
const STOPPED_AT = IMAGE_TIMELINE.runningAt + 900;

const SUCCEED = { prompt: 'ok' };
const FAIL = { prompt: 'fail', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } };
const CANCEL = { prompt: 'cancel', simulate: { outcome: 'canceled' } };
const PARTIAL = { prompt: 'partial', simulate: { outcome: 'partial_succeeded' } };

function batchesPath(modelId: string): string {
  return `/v1/models/${modelId.split('/').map(encodeURIComponent).join('/')}/batches`;
}

function postBatch(sim: Simulator, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return api(sim, batchesPath(IMAGE_MODEL), { method: 'POST', body, headers });
}

/** Creates a batch, checks for 201 and returns the response JSON. */
async function createBatch(sim: Simulator, body: Record<string, unknown>): Promise<Json> {
  const response = await postBatch(sim, body);
  expect(response.status, response.text).toBe(201);
  return response.json;
}

async function getBatch(sim: Simulator, id: string): Promise<Json> {
  const response = await api(sim, `/v1/batches/${id}`);
  expect(response.status, response.text).toBe(200);
  return response.json;
}

describe('batch creation', () => {
  it('creates a batch of one item as a child run', async () => {
    const sim = await start({ startTimeMs: START });
    const batch = await createBatch(sim, { input: [{ prompt: 'x', client_ref: 'row-1' }], metadata: { job: 3 } });

    expect(Object.keys(batch)).toEqual([
      'id',
      'target_type',
      'target_id',
      'status_code',
      'items_total',
      'items_succeeded',
      'items_failed',
      'items_cancelled',
      'items',
      'created_at',
      'output',
      'cost',
      'metadata',
      'callback_url',
      'started_at',
      'completed_at',
    ]);
    expect(batch).toMatchObject({
      target_type: 'model',
      status_code: 'queued',
      items_total: 1,
      items_succeeded: 0,
      items_failed: 0,
      items_cancelled: 0,
      created_at: '2026-05-06T10:00:00.000Z',
      output: null,
      cost: null,
      metadata: { job: 3 },
      callback_url: null,
      started_at: null,
      completed_at: null,
    });
    const [item] = batch.items;
    expect(Object.keys(item)).toEqual(['id', 'sequence_index', 'run_id', 'status_code', 'client_ref']);
    expect(item).toMatchObject({ sequence_index: 0, status_code: 'queued', client_ref: 'row-1' });

    const run = await getRun(sim, item.run_id);
    expect(run).toMatchObject({ batch_id: batch.id, client_ref: 'row-1', callback_url: null, metadata: null });
    expect(run.input).toEqual({ prompt: 'x' });
    expect(batch.target_id).toBe(run.model_id);
    expect(sim.runCount()).toBe(1);
  });

  it('accepts 100 items', async () => {
    const sim = await start();
    const input = Array.from({ length: MAX_BATCH_ITEMS }, (_, index) => ({ prompt: `p${index}` }));
    const batch = await createBatch(sim, { input });
    expect(batch.items_total).toBe(100);
    expect(batch.items.map((item: Json) => item.sequence_index)).toEqual([...Array(100).keys()]);
    expect(sim.runCount()).toBe(100);
    const runs = await api(sim, `/v1/runs?q=batch_id:${batch.id}&limit=500&fields=id`);
    expect(runs.json.items).toHaveLength(100);
  });

  it('rejects 101 items and an empty input', async () => {
    const sim = await start();
    const tooMany = await postBatch(sim, { input: Array.from({ length: 101 }, () => ({ prompt: 'x' })) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.json.errors).toEqual([
      { loc: ['body', 'input'], msg: 'input must contain at most 100 items, got 101.', type: 'too_long' },
    ]);
    const empty = await postBatch(sim, { input: [] });
    expect(empty.status).toBe(422);
    expect(empty.json.errors[0].type).toBe('too_short');
    expect(sim.runCount()).toBe(0);
  });

  it('names the item index in validation errors', async () => {
    const sim = await start();
    const response = await postBatch(sim, { input: [{ prompt: 'ok' }, {}, { prompt: 5 }, 'text'] });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('VALIDATION_ERROR');
    expect(response.json.errors.map((error: Json) => error.loc)).toEqual([
      ['body', 'input', 1, 'prompt'],
      ['body', 'input', 2, 'prompt'],
      ['body', 'input', 3],
    ]);
    expect(sim.runCount()).toBe(0);
  });

  it('validates simulate per item', async () => {
    const sim = await start();
    const response = await postBatch(sim, { input: [{ prompt: 'x', simulate: { outcome: 'exploded' } }] });
    expect(response.status).toBe(422);
    expect(response.json.errors[0].loc).toEqual(['body', 'input', 0, 'simulate', 'outcome']);
  });

  it('removes client_ref before the model validates an item', async () => {
    const strict: SimulatedModel = {
      id: 'acme/strict',
      validateInput: (input) => {
        const known = validateFields({ prompt: { type: 'string', required: true } })(input);
        const unknown = Object.keys(input)
          .filter((key) => key !== 'prompt')
          .map((key) => ({ path: [key], msg: `${key} is not a known field.`, type: 'unknown_field' }));
        return [...known, ...unknown];
      },
      timeline: { queuedMs: 10, dispatchingMs: 10, steps: [{ node: 'work', durationMs: 10 }] },
      buildOutputs: () => [],
    };
    const sim = await start({ models: [strict] });
    const response = await api(sim, batchesPath('acme/strict'), {
      method: 'POST',
      body: { input: [{ prompt: 'x', client_ref: 'a' }] },
    });
    expect(response.status, response.text).toBe(201);
    expect(response.json.items[0].client_ref).toBe('a');

    const rejected = await api(sim, batchesPath('acme/strict'), {
      method: 'POST',
      body: { input: [{ prompt: 'x', extra: 1 }] },
    });
    expect(rejected.json.errors[0].loc).toEqual(['body', 'input', 0, 'extra']);
  });

  it('checks client_ref, metadata and callback_url', async () => {
    const sim = await start();
    const response = await postBatch(sim, {
      input: [
        { prompt: 'x', client_ref: 'r'.repeat(256) },
        { prompt: 'y', client_ref: 7 },
      ],
      metadata: [1],
      callback_url: `http://127.0.0.1/${'a'.repeat(2048)}`,
    });
    expect(response.status).toBe(422);
    expect(response.json.errors.map((error: Json) => [error.loc, error.type])).toEqual([
      [['body', 'metadata'], 'type_error'],
      [['body', 'callback_url'], 'string_too_long'],
    ]);

    const items = await postBatch(sim, {
      input: [
        { prompt: 'x', client_ref: 'r'.repeat(256) },
        { prompt: 'y', client_ref: 7 },
      ],
    });
    expect(items.json.errors.map((error: Json) => [error.loc, error.type])).toEqual([
      [['body', 'input', 0, 'client_ref'], 'string_too_long'],
      [['body', 'input', 1, 'client_ref'], 'type_error'],
    ]);
    const longest = await postBatch(sim, { input: [{ prompt: 'x', client_ref: 'r'.repeat(255) }] });
    expect(longest.status).toBe(201);
  });

  it('rejects the items body shape and a non-array input', async () => {
    const sim = await start();
    const guideShape = await postBatch(sim, { items: [{ input: { prompt: 'x' } }] });
    expect(guideShape.status).toBe(422);
    expect(guideShape.json.errors[0]).toMatchObject({ loc: ['body', 'input'], type: 'missing' });
    expect(guideShape.json.errors[0].msg).toContain('{items: [{input}]} is not accepted');

    const objectInput = await postBatch(sim, { input: { prompt: 'x' } });
    expect(objectInput.status).toBe(422);
    expect(objectInput.json.errors[0]).toMatchObject({ loc: ['body', 'input'], type: 'type_error' });
    expect(sim.runCount()).toBe(0);
  });

  it('rejects a model without batch support and an unknown model', async () => {
    const single: SimulatedModel = {
      id: 'acme/single',
      supportsBatches: false,
      validateInput: () => [],
      timeline: { queuedMs: 1, dispatchingMs: 1, steps: [{ node: 'work', durationMs: 1 }] },
      buildOutputs: () => [],
    };
    const sim = await start({ models: [single] });
    const refused = await api(sim, batchesPath('acme/single'), { method: 'POST', body: { input: [{}] } });
    expect(refused.status).toBe(422);
    expect(refused.json.errors[0]).toMatchObject({ loc: ['path', 'model_id'], type: 'batch_not_supported' });
    const unknown = await api(sim, batchesPath('acme/none'), { method: 'POST', body: { input: [{}] } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('MODEL_NOT_FOUND');
  });

  it('replays a batch for the same Idempotency-Key', async () => {
    const sim = await start();
    const body = { input: [{ prompt: 'a' }, { prompt: 'b' }] };
    const first = await postBatch(sim, body, { 'idempotency-key': 'batch-1' });
    const second = await postBatch(sim, body, { 'idempotency-key': 'batch-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(sim.runCount()).toBe(2);
    expect((await api(sim, '/v1/batches')).json.items).toHaveLength(1);

    const conflict = await postBatch(sim, { input: [{ prompt: 'c' }] }, { 'idempotency-key': 'batch-1' });
    expect(conflict.status).toBe(409);
    expect(conflict.json.code).toBe('CONFLICT');
  });
});

describe('batch status', () => {
  it('moves from queued to running to partial_succeeded', async () => {
    const sim = await start({ startTimeMs: START });
    const batch = await createBatch(sim, { input: [SUCCEED, FAIL, CANCEL] });

    sim.advanceTime(399);
    expect(await getBatch(sim, batch.id)).toMatchObject({ status_code: 'queued', started_at: null });

    sim.advanceTime(1);
    expect(await getBatch(sim, batch.id)).toMatchObject({
      status_code: 'running',
      started_at: '2026-05-06T10:00:00.400Z',
      items_succeeded: 0,
      items_failed: 0,
      items_cancelled: 0,
    });

    sim.advanceTime(STOPPED_AT - 400);
    const halfway = await getBatch(sim, batch.id);
    expect(halfway).toMatchObject({ status_code: 'running', items_failed: 1, items_cancelled: 1, output: null });
    expect(halfway.items.map((item: Json) => item.status_code)).toEqual(['running', 'failed', 'canceled']);

    sim.advanceTime(IMAGE_TIMELINE.endsAt - STOPPED_AT);
    const done = await getBatch(sim, batch.id);
    expect(done).toMatchObject({
      status_code: 'partial_succeeded',
      items_total: 3,
      items_succeeded: 1,
      items_failed: 1,
      items_cancelled: 1,
      cost: '0.0400',
      duration_ms: IMAGE_TIMELINE.endsAt,
      completed_at: '2026-05-06T10:00:02.500Z',
    });
    expect(done.output).toMatchObject({ succeeded: 1, failed: 1, cancelled: 1, total: 3 });
  });

  it.each([
    ['every item succeeded', [SUCCEED, SUCCEED], 'succeeded', [2, 0, 0]],
    ['no item succeeded', [FAIL, CANCEL], 'failed', [0, 1, 1]],
    ['every item failed', [FAIL], 'failed', [0, 1, 0]],
    ['every item was canceled', [CANCEL, CANCEL], 'canceled', [0, 0, 2]],
    ['an item partially succeeded', [SUCCEED, PARTIAL], 'partial_succeeded', [2, 0, 0]],
    ['a succeeded and a failed item', [SUCCEED, FAIL], 'partial_succeeded', [1, 1, 0]],
  ])('status when %s', async (_name, input, status, [succeeded, failed, cancelled]) => {
    const sim = await start();
    const batch = await createBatch(sim, { input });
    sim.advanceTime(60_000);
    expect(await getBatch(sim, batch.id)).toMatchObject({
      status_code: status,
      items_succeeded: succeeded,
      items_failed: failed,
      items_cancelled: cancelled,
    });
  });

  it('spells a canceled batch cancelled under the drift', async () => {
    const sim = await start({ drift: { cancelledSpelling: true } });
    const batch = await createBatch(sim, { input: [CANCEL] });
    sim.advanceTime(60_000);
    const done = await getBatch(sim, batch.id);
    expect(done.status_code).toBe('cancelled');
    expect(done.items[0].status_code).toBe('cancelled');
    expect(done.items_cancelled).toBe(1);
  });

  it('returns 404 for an unknown batch', async () => {
    const sim = await start();
    const response = await api(sim, '/v1/batches/0190b6c4-7e1f-7a3b-8c2d-4e5f6a7b8c9d');
    expect(response.status).toBe(404);
    expect(response.json.code).toBe('BATCH_NOT_FOUND');
  });
});

describe('batch lists and items', () => {
  it('lists batches and filters them by id and status', async () => {
    const sim = await start();
    const fast = await createBatch(sim, { input: [SUCCEED] });
    const slow = await createBatch(sim, { input: [{ prompt: 'x', simulate: { slow: 10 } }] });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);

    const all = await api(sim, '/v1/batches');
    expect(all.status).toBe(200);
    expect(Object.keys(all.json)).toEqual(['items', 'first', 'next', 'previous']);
    expect(all.json.items.map((batch: Json) => batch.id).sort()).toEqual([fast.id, slow.id].sort());

    const succeeded = await api(sim, '/v1/batches?q=status_code:succeeded');
    expect(succeeded.json.items.map((batch: Json) => batch.id)).toEqual([fast.id]);
    const byId = await api(sim, `/v1/batches?q=id:${slow.id}&fields=id,status_code`);
    // Ten times slower, the second batch is still queued.
    expect(byId.json.items).toEqual([{ id: slow.id, status_code: 'queued' }]);
  });

  it('pages through the full items in sequence order', async () => {
    const sim = await start();
    const input = Array.from({ length: 100 }, (_, index) => ({ prompt: `p${index}`, client_ref: `ref-${index}` }));
    const batch = await createBatch(sim, { input });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);

    const seen: Json[] = [];
    let path = `/v1/batches/${batch.id}/items?limit=30`;
    for (let page = 0; page < 10; page += 1) {
      const response = await api(sim, path);
      expect(response.status, response.text).toBe(200);
      seen.push(...response.json.items);
      if (response.json.next === null) break;
      path = `/v1/batches/${batch.id}/items?limit=30&pq=${encodeURIComponent(response.json.next)}`;
    }
    expect(seen.map((item) => item.sequence_index)).toEqual([...Array(100).keys()]);
    expect(seen.map((item) => item.client_ref)).toEqual(input.map((item) => item.client_ref));

    const first = seen[0];
    expect(Object.keys(first)).toEqual([
      'id',
      'batch_id',
      'sequence_index',
      'run_id',
      'created_at',
      'client_ref',
      'status_code',
      'input',
      'cost',
      'output',
      'error',
      'started_at',
      'completed_at',
      'run',
    ]);
    expect(first).toMatchObject({ batch_id: batch.id, status_code: 'succeeded', input: { prompt: 'p0' }, error: null });
    expect(first.run.id).toBe(first.run_id);
    expect(first.output).toEqual(first.run.output);
  });

  it('reads one item, with the failure as error', async () => {
    const sim = await start();
    const batch = await createBatch(sim, { input: [SUCCEED, FAIL] });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    const failedId = batch.items[1].id;
    const item = await api(sim, `/v1/batches/${batch.id}/items/${failedId}`);
    expect(item.status).toBe(200);
    expect(item.json).toMatchObject({
      id: failedId,
      sequence_index: 1,
      status_code: 'failed',
      output: null,
      error: { code: 'PROVIDER_ERROR', message: item.json.run.failure_message, stage: 'provider' },
    });

    const unknown = await api(sim, `/v1/batches/${batch.id}/items/0190b6c4-7e1f-7a3b-8c2d-4e5f6a7b8c9d`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('BATCH_ITEM_NOT_FOUND');
  });
});

describe('batch callbacks', () => {
  it('posts one envelope when every item has ended', async () => {
    const sim = await start({ startTimeMs: START, callbackSecret: 'whsec_batch' });
    const hook = await receiver();
    const batch = await createBatch(sim, {
      input: [
        { ...SUCCEED, client_ref: 'a' },
        { ...FAIL, client_ref: 'b' },
        { ...CANCEL, client_ref: 'c' },
      ],
      callback_url: hook.url,
      metadata: { source: 'test' },
    });

    sim.advanceTime(IMAGE_TIMELINE.endsAt - 1);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(0);
    sim.advanceTime(1);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(1);

    const callback = hook.received[0]!;
    expect(verifySignature(callback.raw, callback.headers['runflow-signature'], 'whsec_batch')).toBe(true);
    expect(Object.keys(callback.json)).toEqual([
      'event',
      'batch_id',
      'status',
      'output',
      'duration_ms',
      'created_at',
      'completed_at',
      'metadata',
    ]);
    const [succeededRun, failedRun] = await Promise.all([
      getRun(sim, batch.items[0].run_id),
      getRun(sim, batch.items[1].run_id),
    ]);
    expect(callback.json).toEqual({
      event: 'batch.partial_succeeded',
      batch_id: batch.id,
      status: 'partial_succeeded',
      output: {
        items: [
          {
            id: batch.items[0].id,
            sequence_index: 0,
            run_id: batch.items[0].run_id,
            client_ref: 'a',
            status_code: 'succeeded',
            output: succeededRun.output,
          },
          {
            id: batch.items[1].id,
            sequence_index: 1,
            run_id: batch.items[1].run_id,
            client_ref: 'b',
            status_code: 'failed',
            output: { code: 'PROVIDER_ERROR', message: failedRun.failure_message, stage: 'provider' },
          },
          {
            id: batch.items[2].id,
            sequence_index: 2,
            run_id: batch.items[2].run_id,
            client_ref: 'c',
            status_code: 'canceled',
            output: null,
          },
        ],
        succeeded: 1,
        failed: 1,
        cancelled: 1,
        total: 3,
      },
      duration_ms: IMAGE_TIMELINE.endsAt,
      created_at: '2026-05-06T10:00:00.000+00:00',
      completed_at: '2026-05-06T10:00:02.500+00:00',
      metadata: { source: 'test' },
    });
    expect((await getBatch(sim, batch.id)).output).toEqual(callback.json.output);

    // Items fire no callbacks of their own.
    sim.advanceTime(3_600_000);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(1);
    for (const item of batch.items) expect(sim.deliveries(item.run_id)).toEqual([]);
  });

  it.each([
    ['batch.succeeded', [SUCCEED]],
    ['batch.failed', [FAIL]],
    ['batch.cancelled', [CANCEL]],
  ])('sends %s', async (event, input) => {
    const sim = await start();
    const hook = await receiver();
    await createBatch(sim, { input, callback_url: hook.url });
    sim.advanceTime(60_000);
    await sim.flushCallbacks();
    expect(hook.received[0]?.json.event).toBe(event);
  });

  it('keeps a history and redelivers batch callbacks', async () => {
    const sim = await start();
    const hook = await receiver();
    const batch = await createBatch(sim, { input: [SUCCEED], callback_url: hook.url });
    const redeliver = (): Promise<ApiResponse> =>
      api(sim, `/v1/batches/${batch.id}/callback-redeliveries`, { method: 'POST' });

    const early = await redeliver();
    expect(early.status).toBe(422);
    expect(early.json.code).toBe('validation_error');
    expect(early.json.errors[0]).toMatchObject({
      loc: ['path', 'batch_id'],
      type: 'not_terminal',
      error_type: 'conflict',
    });

    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    const inFlight = await redeliver();
    expect(inFlight.status).toBe(422);
    expect(inFlight.json.errors[0].type).toBe('delivery_in_flight');
    await sim.flushCallbacks();

    const again = await redeliver();
    expect(again.status).toBe(201);
    expect(again.json).toMatchObject({ batch_id: batch.id, is_automatic: false, status_code: 'pending' });
    expect(again.json.run_id).toBeUndefined();
    await sim.flushCallbacks();

    const history = await api(sim, `/v1/batches/${batch.id}/callback`);
    expect(history.status).toBe(200);
    expect(history.json.map((delivery: Json) => [delivery.is_automatic, delivery.status_code])).toEqual([
      [true, 'succeeded'],
      [false, 'succeeded'],
    ]);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]?.json).toEqual(hook.received[0]?.json);
  });

  it('refuses to redeliver a batch without callback_url', async () => {
    const sim = await start();
    const batch = await createBatch(sim, { input: [SUCCEED] });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    const response = await api(sim, `/v1/batches/${batch.id}/callback-redeliveries`, { method: 'POST' });
    expect(response.status).toBe(422);
    expect(response.json.errors[0].type).toBe('callback_url_missing');
    expect((await api(sim, `/v1/batches/${batch.id}/callback`)).json).toEqual([]);
  });
});

describe('counters of the new endpoints', () => {
  it('counts callback, secret and batch requests by template', async () => {
    const sim = await start();
    const batch = await createBatch(sim, { input: [SUCCEED] });
    const runId = batch.items[0].run_id;
    const secret = await api(sim, '/v1/callback-secrets', { method: 'POST' });
    await api(sim, '/v1/callback-secrets');
    await api(sim, `/v1/callback-secrets/${secret.json.id}`);
    await api(sim, `/v1/callback-secrets/${secret.json.id}`, { method: 'PATCH', body: { label: 'x' } });
    await api(sim, `/v1/callback-secrets/${secret.json.id}`, { method: 'DELETE' });
    await api(sim, `/v1/runs/${runId}/callback`);
    await api(sim, `/v1/runs/${runId}/callback-redeliveries`, { method: 'POST' });
    await api(sim, '/v1/batches');
    await api(sim, `/v1/batches/${batch.id}`);
    await api(sim, `/v1/batches/${batch.id}/items`);
    await api(sim, `/v1/batches/${batch.id}/items/${batch.items[0].id}`);
    await api(sim, `/v1/batches/${batch.id}/callback`);
    await api(sim, `/v1/batches/${batch.id}/callback-redeliveries`, { method: 'POST' });

    expect(sim.counters()).toEqual({
      'POST /v1/models/{model_id}/batches': 1,
      'POST /v1/callback-secrets': 1,
      'GET /v1/callback-secrets': 1,
      'GET /v1/callback-secrets/{id}': 1,
      'PATCH /v1/callback-secrets/{id}': 1,
      'DELETE /v1/callback-secrets/{id}': 1,
      'GET /v1/runs/{id}/callback': 1,
      'POST /v1/runs/{id}/callback-redeliveries': 1,
      'GET /v1/batches': 1,
      'GET /v1/batches/{id}': 1,
      'GET /v1/batches/{id}/items': 1,
      'GET /v1/batches/{id}/items/{item_id}': 1,
      'GET /v1/batches/{id}/callback': 1,
      'POST /v1/batches/{id}/callback-redeliveries': 1,
    });
    expect(sim.counters({ status: 422 })).toEqual({
      'POST /v1/runs/{id}/callback-redeliveries': 1,
      'POST /v1/batches/{id}/callback-redeliveries': 1,
    });
  });
});
