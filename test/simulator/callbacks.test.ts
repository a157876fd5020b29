import { describe, expect, it } from 'vitest';
import { api, createRun, getRun, IMAGE_MODEL, IMAGE_TIMELINE, simulatorPerTest, VIDEO_MODEL } from './helpers.js';
import { receiverPerTest, verifySignature } from './callback-receiver.js';

const start = simulatorPerTest();
const receiver = receiverPerTest();

/** 2026-05-06T10:00:00.000Z, so callback timestamps can be compared as text. */
const START = Date.parse('2026-05-06T10:00:00.000Z');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENVELOPE_KEYS = ['event', 'run_id', 'status', 'output', 'duration_ms', 'created_at', 'completed_at', 'metadata'];

describe('run callbacks', () => {
  it('posts the envelope when the run succeeds', async () => {
    const sim = await start({ startTimeMs: START });
    const hook = await receiver();
    const run = await createRun(sim, IMAGE_MODEL, {
      input: { prompt: 'x' },
      callback_url: hook.url,
      metadata: { job: 7, tags: ['a', 'b'] },
    });

    sim.advanceTime(IMAGE_TIMELINE.endsAt - 1);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(0);
    expect(sim.deliveries(run.id)).toEqual([]);

    sim.advanceTime(1);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(1);
    const [callback] = hook.received;
    expect(callback?.method).toBe('POST');
    expect(callback?.path).toBe('/hook');
    expect(Object.keys(callback?.json)).toEqual(ENVELOPE_KEYS);
    expect(callback?.json).toEqual({
      event: 'run.completed',
      run_id: run.id,
      status: 'succeeded',
      output: (await getRun(sim, run.id)).output,
      duration_ms: IMAGE_TIMELINE.endsAt,
      created_at: '2026-05-06T10:00:00.000+00:00',
      completed_at: '2026-05-06T10:00:02.500+00:00',
      metadata: { job: 7, tags: ['a', 'b'] },
    });
    expect(callback?.json.output.outputs).toHaveLength(1);
  });

  it('sends JSON with a request id and no signature without a secret', async () => {
    const sim = await start();
    const hook = await receiver();
    await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();

    const headers = hook.received[0]?.headers ?? {};
    expect(headers['content-type']).toBe('application/json');
    expect(headers['runflow-request-id']).toMatch(UUID);
    expect(headers['runflow-signature']).toBeUndefined();
    expect(headers['content-length']).toBe(String(hook.received[0]?.raw.length));
  });

  it('signs the raw body with the configured secret', async () => {
    const secret = 'whsec_configured_for_tests';
    const sim = await start({ callbackSecret: secret });
    const hook = await receiver();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'ünïcödé' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();

    const callback = hook.received[0];
    expect(callback?.headers['runflow-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature(callback?.raw ?? Buffer.alloc(0), callback?.headers['runflow-signature'], secret)).toBe(
      true,
    );
    expect(verifySignature(callback?.raw ?? Buffer.alloc(0), callback?.headers['runflow-signature'], 'other')).toBe(
      false,
    );
    const secrets = await api(sim, '/v1/callback-secrets');
    expect(sim.deliveries(run.id)[0]?.signing_secret_id).toBe(secrets.json.items[0].id);
  });

  it('signs with a secret created through the API', async () => {
    const sim = await start();
    const hook = await receiver();
    const created = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'prod' } });
    expect(created.status).toBe(201);
    await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();

    const callback = hook.received[0];
    const plainSecret: string = created.json.plain_secret;
    expect(verifySignature(callback?.raw ?? Buffer.alloc(0), callback?.headers['runflow-signature'], plainSecret)).toBe(
      true,
    );
  });

  it('omits the signature under the omitSignature drift', async () => {
    const sim = await start({ callbackSecret: 'whsec_x', drift: { omitSignature: true } });
    const hook = await receiver();
    await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]?.headers['runflow-signature']).toBeUndefined();
  });

  it('sends run.failed with the error envelope as output', async () => {
    const sim = await start();
    const hook = await receiver();
    const run = await createRun(sim, VIDEO_MODEL, {
      input: {
        prompt: 'x',
        simulate: { outcome: 'failed', step: 1, failureCode: 'PROVIDER_TIMEOUT', failureMessage: 'took too long' },
      },
      callback_url: hook.url,
    });
    sim.advanceTime(60_000);
    await sim.flushCallbacks();

    const done = await getRun(sim, run.id);
    expect(hook.received[0]?.json).toMatchObject({
      event: 'run.failed',
      status: 'failed',
      output: { code: 'PROVIDER_TIMEOUT', message: 'took too long', stage: 'provider' },
      duration_ms: done.duration_ms,
      metadata: null,
    });
    expect(Object.keys(hook.received[0]?.json.output)).toEqual(['code', 'message', 'stage']);
  });

  it('sends run.cancelled with US status and null output', async () => {
    const sim = await start();
    const hook = await receiver();
    await createRun(sim, IMAGE_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'canceled', at: 'dispatching' } },
      callback_url: hook.url,
    });
    sim.advanceTime(60_000);
    await sim.flushCallbacks();
    expect(hook.received[0]?.json).toMatchObject({ event: 'run.cancelled', status: 'canceled', output: null });
  });

  it('spells the status cancelled under the drift, keeping the event', async () => {
    const sim = await start({ drift: { cancelledSpelling: true } });
    const hook = await receiver();
    await createRun(sim, IMAGE_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'canceled' } },
      callback_url: hook.url,
    });
    sim.advanceTime(60_000);
    await sim.flushCallbacks();
    expect(hook.received[0]?.json).toMatchObject({ event: 'run.cancelled', status: 'cancelled', output: null });
  });

  it('sends run.partial_succeeded with the kept outputs', async () => {
    const sim = await start();
    const hook = await receiver();
    const run = await createRun(sim, VIDEO_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'partial_succeeded' } },
      callback_url: hook.url,
    });
    sim.advanceTime(60_000);
    await sim.flushCallbacks();
    const json = hook.received[0]?.json;
    expect(json).toMatchObject({ event: 'run.partial_succeeded', status: 'partial_succeeded' });
    expect(json.output).toEqual((await getRun(sim, run.id)).output);
    expect(json.output.outputs).toHaveLength(1);
  });

  it('uses the legacy output shape under the drift', async () => {
    const sim = await start({ drift: { legacyImageUrls: true } });
    const hook = await receiver();
    await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    expect(Object.keys(hook.received[0]?.json.output)).toEqual(['image_urls']);
  });

  it('formats timestamps with +00:00 and milliseconds', async () => {
    const sim = await start({ startTimeMs: Date.parse('2026-01-02T03:04:05.678Z') });
    const hook = await receiver();
    await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    const json = hook.received[0]?.json;
    expect(json.created_at).toBe('2026-01-02T03:04:05.678+00:00');
    expect(json.completed_at).toBe('2026-01-02T03:04:08.178+00:00');
    expect(hook.received[0]?.raw.toString('utf8')).not.toMatch(/\d{2}Z"/);
  });

  it('sends nothing for a run without callback_url', async () => {
    const sim = await start();
    const hook = await receiver();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    expect(hook.received).toHaveLength(0);
    expect(sim.deliveries()).toEqual([]);
    expect((await api(sim, `/v1/runs/${run.id}/callback`)).json).toEqual([]);
  });
});

describe('delivery records', () => {
  it('records the delivery as the history returns it', async () => {
    const sim = await start({ startTimeMs: START });
    const hook = await receiver({ status: 200, body: 'thanks' });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);

    // The delivery exists as soon as advanceTime() returns, with its first attempt in flight.
    const pending = await api(sim, `/v1/runs/${run.id}/callback`);
    expect(pending.status).toBe(200);
    expect(pending.json).toHaveLength(1);
    expect(pending.json[0]).toMatchObject({ status_code: 'pending', attempt_count: 0, next_attempt_at: null });

    await sim.flushCallbacks();
    const history = await api(sim, `/v1/runs/${run.id}/callback`);
    const [delivery] = history.json;
    expect(Object.keys(delivery)).toEqual([
      'id',
      'run_id',
      'callback_url',
      'payload_bytes',
      'payload',
      'signing_secret_id',
      'is_automatic',
      'status_code',
      'failure_reason_code',
      'failure_detail',
      'attempt_count',
      'max_attempts',
      'next_attempt_at',
      'created_at',
      'updated_at',
      'completed_at',
      'attempts',
    ]);
    expect(delivery).toMatchObject({
      run_id: run.id,
      callback_url: hook.url,
      payload_bytes: hook.received[0]?.raw.toString('utf8'),
      payload: hook.received[0]?.json,
      signing_secret_id: null,
      is_automatic: true,
      status_code: 'succeeded',
      failure_reason_code: null,
      failure_detail: null,
      attempt_count: 1,
      max_attempts: 5,
      next_attempt_at: null,
      created_at: '2026-05-06T10:00:02.500Z',
      completed_at: '2026-05-06T10:00:02.500Z',
    });
    expect(delivery.id).toMatch(UUID);
    expect(delivery.attempts).toEqual([
      {
        id: expect.stringMatching(UUID),
        delivery_id: delivery.id,
        attempt_number: 1,
        status_code: 200,
        response_body: 'thanks',
        response_time_ms: 0,
        error_message: null,
        created_at: '2026-05-06T10:00:02.500Z',
      },
    ]);
    expect(sim.deliveries(run.id)).toEqual(history.json);
    expect(sim.deliveries()).toEqual(history.json);
  });

  it('keeps only the first 1024 bytes of a response body', async () => {
    const sim = await start();
    const hook = await receiver({ status: 200, body: 'y'.repeat(5000) });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]?.attempts[0]?.response_body).toBe('y'.repeat(1024));
  });

  it('returns 404 for the history of an unknown run', async () => {
    const sim = await start();
    const response = await api(sim, '/v1/runs/0190b6c4-7e1f-7a3b-8c2d-4e5f6a7b8c9d/callback');
    expect(response.status).toBe(404);
    expect(response.json.code).toBe('RUN_NOT_FOUND');
  });
});
