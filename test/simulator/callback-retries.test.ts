import { describe, expect, it } from 'vitest';
import { CALLBACK_RETRY_DELAYS_MS, type Simulator } from '../../src/testing/index.js';
import { api, createRun, IMAGE_MODEL, IMAGE_TIMELINE, simulatorPerTest, type Json } from './helpers.js';
import { receiverPerTest, refusedUrl } from './callback-receiver.js';

const start = simulatorPerTest();
const receiver = receiverPerTest();

/** Creates an image run that posts its callback to `url` and moves time to its end. Returns the run end time. */
async function runToEnd(sim: Simulator, url: string, body: Record<string, unknown> = {}): Promise<Json> {
  const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: url, ...body });
  sim.advanceTime(IMAGE_TIMELINE.endsAt);
  return run;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

describe('callback retries', () => {
  it('retries a 500 on the documented schedule', async () => {
    const sim = await start();
    const hook = await receiver({ status: 500, body: 'boom' });
    const run = await runToEnd(sim, hook.url);
    const endsAt = sim.now();
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(1);
    expect(sim.deliveries(run.id)[0]).toMatchObject({
      status_code: 'retrying',
      attempt_count: 1,
      failure_reason_code: 'non_2xx_status',
      next_attempt_at: iso(endsAt + 5_000),
    });

    const expectedTimes = [endsAt];
    for (const delay of [5_000, 25_000, 125_000, 625_000]) {
      sim.advanceTime(delay - 1);
      await sim.flushCallbacks();
      expect(hook.received).toHaveLength(expectedTimes.length);
      sim.advanceTime(1);
      await sim.flushCallbacks();
      expectedTimes.push(sim.now());
      expect(hook.received).toHaveLength(expectedTimes.length);
    }

    const delivery = sim.deliveries(run.id)[0];
    expect(delivery).toMatchObject({
      status_code: 'failed',
      attempt_count: 5,
      max_attempts: 5,
      failure_reason_code: 'non_2xx_status',
      failure_detail: expect.stringContaining('HTTP 500'),
      next_attempt_at: null,
      completed_at: iso(endsAt + 780_000),
    });
    expect(delivery?.attempts.map((attempt) => attempt.created_at)).toEqual(expectedTimes.map(iso));
    expect(delivery?.attempts.map((attempt) => attempt.attempt_number)).toEqual([1, 2, 3, 4, 5]);
    expect(delivery?.attempts.every((attempt) => attempt.status_code === 500)).toBe(true);
    expect(delivery?.attempts.every((attempt) => attempt.response_body === 'boom')).toBe(true);

    sim.advanceTime(10_000_000);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(5);
    expect(CALLBACK_RETRY_DELAYS_MS).toEqual([0, 5_000, 25_000, 125_000, 625_000]);
  });

  it('sends the same bytes on every attempt', async () => {
    const sim = await start({ callbackSecret: 'whsec_same' });
    const hook = await receiver({ status: 503 });
    await runToEnd(sim, hook.url);
    await sim.flushCallbacks();
    sim.advanceTime(5_000);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]?.raw.equals(hook.received[0]?.raw ?? Buffer.alloc(0))).toBe(true);
    expect(hook.received[1]?.headers['runflow-signature']).toBe(hook.received[0]?.headers['runflow-signature']);
    expect(hook.received[1]?.headers['runflow-request-id']).not.toBe(hook.received[0]?.headers['runflow-request-id']);
  });

  it('counts time passed in flight as response time', async () => {
    const sim = await start();
    const hook = await receiver({ status: 500 });
    const run = await runToEnd(sim, hook.url);
    const endsAt = sim.now();
    // The first attempt has been sent but its response not yet read when time moves on.
    sim.advanceTime(5_000);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(1);
    expect(sim.deliveries(run.id)[0]?.attempts[0]?.response_time_ms).toBe(5_000);
    expect(sim.deliveries(run.id)[0]?.next_attempt_at).toBe(iso(endsAt + 10_000));
  });

  it('retries a 4xx response too', async () => {
    const sim = await start();
    const hook = await receiver();
    hook.reply({ status: 404, body: 'no such hook' });
    const run = await runToEnd(sim, hook.url);
    await sim.flushCallbacks();
    sim.advanceTime(5_000);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(2);
    expect(sim.deliveries(run.id)[0]).toMatchObject({
      status_code: 'succeeded',
      attempt_count: 2,
      failure_reason_code: null,
      failure_detail: null,
    });
    expect(sim.deliveries(run.id)[0]?.attempts.map((attempt) => attempt.status_code)).toEqual([404, 200]);
  });

  it('runs every attempt that one large time jump passes', async () => {
    const sim = await start();
    const hook = await receiver({ status: 500 });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    const endsAt = Date.parse(run.created_at) + IMAGE_TIMELINE.endsAt;
    sim.advanceTime(3_600_000);
    await sim.flushCallbacks();

    expect(hook.received).toHaveLength(5);
    const attempts = sim.deliveries(run.id)[0]?.attempts ?? [];
    expect(attempts.map((attempt) => attempt.created_at)).toEqual(
      [0, 5_000, 30_000, 155_000, 780_000].map((offset) => iso(endsAt + offset)),
    );
  });

  it('retries after a timeout of 10 simulated seconds', async () => {
    const sim = await start();
    const hook = await receiver();
    hook.reply('hang');
    const run = await runToEnd(sim, hook.url);
    const endsAt = sim.now();
    await expect.poll(() => hook.received.length).toBe(1);

    sim.advanceTime(9_999);
    expect(sim.deliveries(run.id)[0]).toMatchObject({ status_code: 'pending', attempt_count: 0 });
    sim.advanceTime(1);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]).toMatchObject({
      status_code: 'retrying',
      failure_reason_code: 'timeout',
      next_attempt_at: iso(endsAt + 15_000),
    });
    expect(sim.deliveries(run.id)[0]?.attempts[0]).toMatchObject({
      status_code: null,
      response_body: null,
      response_time_ms: 10_000,
      error_message: expect.stringContaining('10000 ms'),
    });
    await expect.poll(() => hook.received[0]?.closed).toBe(true);

    sim.advanceTime(5_000);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(2);
    expect(sim.deliveries(run.id)[0]).toMatchObject({ status_code: 'succeeded', attempt_count: 2 });
  });

  it('uses callbackTimeoutMs as the timeout', async () => {
    const sim = await start({ callbackTimeoutMs: 1_000 });
    const hook = await receiver();
    hook.reply('hang');
    const run = await runToEnd(sim, hook.url);
    await expect.poll(() => hook.received.length).toBe(1);
    sim.advanceTime(1_000);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]?.attempts[0]).toMatchObject({ response_time_ms: 1_000, status_code: null });
  });

  it('retries when the connection is refused', async () => {
    const sim = await start();
    const run = await runToEnd(sim, await refusedUrl());
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]).toMatchObject({
      status_code: 'retrying',
      failure_reason_code: 'connection_error',
      failure_detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(sim.deliveries(run.id)[0]?.attempts[0]).toMatchObject({
      status_code: null,
      response_body: null,
      error_message: expect.stringContaining('ECONNREFUSED'),
    });

    sim.advanceTime(1_000_000);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]).toMatchObject({ status_code: 'failed', attempt_count: 5 });
  });

  it('fires on real timers with a timeScale above 0', async () => {
    // 1 real ms is 1 simulated second: the run ends after 2.5 ms, the retry 5 ms later.
    const sim = await start({ timeScale: 1_000 });
    const hook = await receiver();
    hook.reply({ status: 500 });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    await expect.poll(() => hook.received.length, { timeout: 5_000 }).toBe(2);
    await expect.poll(() => sim.deliveries(run.id)[0]?.status_code).toBe('succeeded');
    expect(sim.deliveries(run.id)[0]?.attempts.map((attempt) => attempt.status_code)).toEqual([500, 200]);
  });
});

describe('callback redelivery', () => {
  it('creates a manual delivery from the current run state', async () => {
    const sim = await start();
    const hook = await receiver();
    const run = await runToEnd(sim, hook.url, { metadata: { order: 1 } });
    await sim.flushCallbacks();

    const response = await api(sim, `/v1/runs/${run.id}/callback-redeliveries`, { method: 'POST' });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ run_id: run.id, is_automatic: false, status_code: 'pending' });
    const automatic = sim.deliveries(run.id)[0];
    expect(response.json.id).not.toBe(automatic?.id);
    expect(response.json.payload).toEqual(automatic?.payload);

    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]?.json).toEqual(hook.received[0]?.json);
    const history = (await api(sim, `/v1/runs/${run.id}/callback`)).json;
    expect(history.map((delivery: Json) => [delivery.is_automatic, delivery.status_code])).toEqual([
      [true, 'succeeded'],
      [false, 'succeeded'],
    ]);
  });

  it('signs a redelivery with the secret that is current now', async () => {
    const sim = await start();
    const hook = await receiver();
    const run = await runToEnd(sim, hook.url);
    await sim.flushCallbacks();
    expect(hook.received[0]?.headers['runflow-signature']).toBeUndefined();

    const secret = await api(sim, '/v1/callback-secrets', { method: 'POST', body: {} });
    const response = await api(sim, `/v1/runs/${run.id}/callback-redeliveries`, { method: 'POST' });
    expect(response.json.signing_secret_id).toBe(secret.json.id);
    await sim.flushCallbacks();
    expect(hook.received[1]?.headers['runflow-signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a run that has not ended', async () => {
    const sim = await start();
    const hook = await receiver();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.runningAt);
    const response = await api(sim, `/v1/runs/${run.id}/callback-redeliveries`, { method: 'POST' });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('validation_error');
    expect(response.json.message).toContain('running');
    expect(response.json.errors).toEqual([
      { loc: ['path', 'run_id'], msg: response.json.message, type: 'not_terminal', error_type: 'conflict' },
    ]);
    expect(sim.deliveries(run.id)).toEqual([]);
  });

  it('rejects a run without callback_url', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    const response = await api(sim, `/v1/runs/${run.id}/callback-redeliveries`, { method: 'POST' });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('validation_error');
    expect(response.json.errors[0]).toMatchObject({ type: 'callback_url_missing', error_type: 'conflict' });
  });

  it('rejects while another delivery is in flight', async () => {
    const sim = await start();
    const hook = await receiver();
    hook.reply('hang');
    const run = await runToEnd(sim, hook.url);
    const redeliver = (): Promise<Json> => api(sim, `/v1/runs/${run.id}/callback-redeliveries`, { method: 'POST' });

    const whilePending = await redeliver();
    expect(whilePending.status).toBe(422);
    expect(whilePending.json.errors[0]).toMatchObject({ type: 'delivery_in_flight', error_type: 'conflict' });

    // After the timeout the delivery waits for its retry, and it counts as in flight while it waits.
    sim.advanceTime(10_000);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]?.status_code).toBe('retrying');
    expect((await redeliver()).status).toBe(422);

    sim.advanceTime(5_000);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]?.status_code).toBe('succeeded');
    expect((await redeliver()).status).toBe(201);
  });

  it('returns 404 for an unknown run', async () => {
    const sim = await start();
    const response = await api(sim, '/v1/runs/0190b6c4-7e1f-7a3b-8c2d-4e5f6a7b8c9d/callback-redeliveries', {
      method: 'POST',
    });
    expect(response.status).toBe(404);
  });
});
