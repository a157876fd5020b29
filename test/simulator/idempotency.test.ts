import { describe, expect, it } from 'vitest';
import {
  IDEMPOTENCY_RETENTION_MS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  startSimulator,
  type Simulator,
  type SimulatorConfig,
} from '../../src/testing/index.js';
import {
  api,
  getRun,
  IMAGE_MODEL,
  IMAGE_TIMELINE,
  runsPath,
  simulatorPerTest,
  type ApiResponse,
  VIDEO_MODEL,
} from './helpers.js';

/** Starts a simulator with time stopped (timeScale 0); each is closed after its test. */
const start = simulatorPerTest();

/** Sends `POST /v1/models/{model}/runs` with the raw body and, unless null, an Idempotency-Key. */
function post(
  sim: Simulator,
  key: string | null,
  rawBody: string,
  options: { model?: string; apiKey?: string } = {},
): Promise<ApiResponse> {
  return api(sim, runsPath(options.model ?? IMAGE_MODEL), {
    method: 'POST',
    rawBody,
    headers: {
      'content-type': 'application/json',
      'idempotency-key': key,
      authorization: `Bearer ${options.apiKey ?? sim.apiKey}`,
    },
  });
}

const BODY = JSON.stringify({ input: { prompt: 'a lighthouse', num_images: 2 }, metadata: { job: 7, tags: ['a'] } });

describe('Idempotency-Key', () => {
  it('replays the first response for the same body', async () => {
    const sim = await start();
    const first = await post(sim, 'key-1', BODY);
    expect(first.status).toBe(201);

    // The same JSON with other key order and whitespace counts as the same body.
    const reordered =
      '{ "metadata": { "tags": ["a"], "job": 7 }, "input": { "num_images": 2, "prompt": "a lighthouse" } }';
    const second = await post(sim, 'key-1', reordered);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(sim.runCount()).toBe(1);

    const list = await api(sim, '/v1/runs');
    expect(list.json.items).toHaveLength(1);
  });

  it('replays the body as first sent', async () => {
    const sim = await start();
    const first = await post(sim, 'key-1', BODY);
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    expect((await getRun(sim, first.json.id)).status_code).toBe('succeeded');

    const replay = await post(sim, 'key-1', BODY);
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.json.status_code).toBe('queued');
  });

  it('rejects another body with 409', async () => {
    const sim = await start();
    const first = await post(sim, 'key-1', BODY);
    expect(first.status).toBe(201);

    const changed = await post(sim, 'key-1', JSON.stringify({ input: { prompt: 'another prompt' } }));
    expect(changed.status).toBe(409);
    expect(changed.headers.get('content-type')).toBe('application/json');
    expect(changed.json.code).toBe('CONFLICT');
    expect(changed.json.message).toContain('key-1');
    expect(changed.json.errors).toBeNull();
    expect(sim.runCount()).toBe(1);
  });

  it('rejects another model path with 409', async () => {
    const sim = await start();
    const body = JSON.stringify({ input: { prompt: 'waves' } });
    expect((await post(sim, 'key-1', body)).status).toBe(201);
    const otherModel = await post(sim, 'key-1', body, { model: VIDEO_MODEL });
    expect(otherModel.status).toBe(409);
    expect(sim.runCount()).toBe(1);
  });

  it('compares array order', async () => {
    const sim = await start();
    expect((await post(sim, 'key-1', BODY)).status).toBe(201);
    const swapped = JSON.stringify({
      input: { prompt: 'a lighthouse', num_images: 2 },
      metadata: { job: 7, tags: ['b'] },
    });
    expect((await post(sim, 'key-1', swapped)).status).toBe(409);
  });

  it('does not deduplicate without the header', async () => {
    const sim = await start();
    const first = await post(sim, null, BODY);
    const second = await post(sim, null, BODY);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.json.id).not.toBe(first.json.id);
    expect(sim.runCount()).toBe(2);
  });

  it('scopes keys per API key', async () => {
    const sim = await start({ apiKeys: ['rf_test_a', 'rf_test_b'] });
    const first = await post(sim, 'shared', BODY, { apiKey: 'rf_test_a' });
    const second = await post(sim, 'shared', BODY, { apiKey: 'rf_test_b' });
    expect(second.json.id).not.toBe(first.json.id);
    expect(sim.runCount()).toBe(2);

    // A different body under the other API key is no conflict either.
    const third = await post(sim, 'other', BODY, { apiKey: 'rf_test_a' });
    const fourth = await post(sim, 'other', JSON.stringify({ input: { prompt: 'x' } }), { apiKey: 'rf_test_b' });
    expect(third.status).toBe(201);
    expect(fourth.status).toBe(201);
  });

  it('keeps a key for 24 h of simulated time', async () => {
    const sim = await start();
    const first = await post(sim, 'key-1', BODY);

    sim.advanceTime(IDEMPOTENCY_RETENTION_MS - 1);
    const replay = await post(sim, 'key-1', BODY);
    expect(replay.json.id).toBe(first.json.id);

    sim.advanceTime(1);
    const afterExpiry = await post(sim, 'key-1', BODY);
    expect(afterExpiry.status).toBe(201);
    expect(afterExpiry.json.id).not.toBe(first.json.id);
    expect(sim.runCount()).toBe(2);

    // The expired key now belongs to the new run, and another body conflicts with it.
    expect((await post(sim, 'key-1', BODY)).json.id).toBe(afterExpiry.json.id);
    expect((await post(sim, 'key-1', '{"input":{"prompt":"z"}}')).status).toBe(409);
  });

  it('does not keep a 4xx response', async () => {
    const sim = await start();
    const invalid = JSON.stringify({ input: { prompt: '' } });
    const rejected = await post(sim, 'key-1', invalid);
    expect(rejected.status).toBe(422);

    // The failed request did not keep the key, so the same body is validated again.
    const again = await post(sim, 'key-1', invalid);
    expect(again.status).toBe(422);
    expect(sim.runCount()).toBe(0);

    // And a corrected body with the same key creates the run.
    const corrected = await post(sim, 'key-1', BODY);
    expect(corrected.status).toBe(201);
    expect(sim.runCount()).toBe(1);
  });

  it('does not keep a 404 for an unknown model', async () => {
    const sim = await start();
    expect((await post(sim, 'key-1', BODY, { model: 'acme/none' })).status).toBe(404);
    expect((await post(sim, 'key-1', BODY)).status).toBe(201);
  });

  it('sends the rate-limit headers of the replay', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 5, headers: true } });
    const first = await post(sim, 'key-1', BODY);
    const replay = await post(sim, 'key-1', BODY);
    expect(first.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(replay.headers.get('x-ratelimit-remaining')).toBe('3');
    expect(replay.text).toBe(first.text);
  });

  it('ignores the header on other endpoints', async () => {
    const sim = await start();
    const first = await api(sim, '/v1/runs', { headers: { 'idempotency-key': 'key-1' } });
    const second = await api(sim, '/v1/runs?limit=1', { headers: { 'idempotency-key': 'key-1' } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
  });

  it('rejects an empty or too long key with 422', async () => {
    const sim = await start();
    const empty = await post(sim, '', BODY);
    expect(empty.status).toBe(422);
    expect(empty.json.code).toBe('VALIDATION_ERROR');
    expect(empty.json.errors[0].loc).toEqual(['header', 'Idempotency-Key']);

    const tooLong = await post(sim, 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1), BODY);
    expect(tooLong.status).toBe(422);
    expect(sim.runCount()).toBe(0);

    const longest = await post(sim, 'k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH), BODY);
    expect(longest.status).toBe(201);
  });
});

describe('Idempotency-Key in flight', () => {
  it('makes a duplicate wait for the first response', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'slow', delayMs: 5_000 } });

    const settled: string[] = [];
    const first = post(sim, 'key-1', BODY).then((response) => {
      settled.push('first');
      return response;
    });
    await expect.poll(() => sim.runCount()).toBe(1);
    const duplicate = post(sim, 'key-1', BODY).then((response) => {
      settled.push('duplicate');
      return response;
    });
    // Wait until the duplicate's body has arrived, which is when it claims the key.
    await expect.poll(() => sim.requests().filter((request) => request.body !== '').length).toBe(2);

    // A different body conflicts at once, even while the first request is in flight.
    const conflict = await post(sim, 'key-1', '{"input":{"prompt":"other"}}');
    expect(conflict.status).toBe(409);
    expect(settled).toEqual([]);
    expect(sim.inFlightRequests()).toBe(2);

    sim.advanceTime(5_000);
    const [firstResponse, duplicateResponse] = await Promise.all([first, duplicate]);
    expect(firstResponse.status).toBe(201);
    expect(duplicateResponse.status).toBe(201);
    expect(duplicateResponse.text).toBe(firstResponse.text);
    expect(sim.runCount()).toBe(1);
  });

  it('shares a 4xx with waiting duplicates only', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'slow', delayMs: 1_000 } });
    const invalid = JSON.stringify({ input: {} });

    const first = post(sim, 'key-1', invalid);
    await expect.poll(() => sim.requests().filter((request) => request.body !== '').length).toBe(1);
    const duplicate = post(sim, 'key-1', invalid);
    await expect.poll(() => sim.requests().filter((request) => request.body !== '').length).toBe(2);

    sim.advanceTime(1_000);
    const [firstResponse, duplicateResponse] = await Promise.all([first, duplicate]);
    expect(firstResponse.status).toBe(422);
    expect(duplicateResponse.text).toBe(firstResponse.text);

    // A later request with the key is processed again.
    expect((await post(sim, 'key-1', BODY)).status).toBe(201);
  });

  it('protects a create whose connection was reset', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'reset', afterProcessing: true } });

    await expect(post(sim, 'key-1', BODY)).rejects.toThrow(TypeError);
    expect(sim.runCount()).toBe(1);
    expect(sim.requests()[0]?.status).toBeNull();

    const retry = await post(sim, 'key-1', BODY);
    expect(retry.status).toBe(201);
    expect(sim.runCount()).toBe(1);
    expect(sim.getRun(retry.json.id)).toBeDefined();
  });

  it('creates a second run when the retry has no key', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'reset', afterProcessing: true } });

    await expect(post(sim, null, BODY)).rejects.toThrow(TypeError);
    const retry = await post(sim, null, BODY);
    expect(retry.status).toBe(201);
    expect(sim.runCount()).toBe(2);
  });
});
