import { describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';
import { api, createRun, IMAGE_MODEL, runsPath, simulatorPerTest, VIDEO_MODEL } from './helpers.js';

/** Starts a simulator with time stopped (timeScale 0); each is closed after its test. */
const start = simulatorPerTest();

describe('counters', () => {
  it('counts requests per endpoint template', async () => {
    const sim = await start();
    const image = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    const video = await createRun(sim, VIDEO_MODEL, { input: { prompt: 'y' } });
    sim.advanceTime(1_000);
    await api(sim, `/v1/runs/${image.id}`);
    await api(sim, `/v1/runs/${video.id}`);
    await api(sim, `/v1/runs/${video.id}`);
    await api(sim, '/v1/runs?limit=1');
    await api(sim, '/v1/runs/statuses');
    await api(sim, `/v1/runs/${video.id}/logs`);
    const logs = await api(sim, `/v1/runs/${video.id}/logs`);
    await api(sim, `/v1/runs/${video.id}/logs/${logs.json.items[0].id}`);
    const nodeRuns = await api(sim, `/v1/runs/${video.id}/node-runs`);
    await api(sim, `/v1/runs/any/node-runs/${nodeRuns.json.items[0].id}`);
    await api(sim, '/v1/health');
    await api(sim, '/v1/nothing-here');
    await api(sim, '/files/x/0.png');

    expect(sim.counters()).toEqual({
      'POST /v1/models/{model_id}/runs': 2,
      'GET /v1/runs/{id}': 3,
      'GET /v1/runs': 1,
      'GET /v1/runs/statuses': 1,
      'GET /v1/runs/{id}/logs': 2,
      'GET /v1/runs/{id}/logs/{log_id}': 1,
      'GET /v1/runs/{id}/node-runs': 1,
      'GET /v1/runs/{id}/node-runs/{node_run_id}': 1,
      'GET /v1/health': 1,
      'GET (unknown route)': 1,
      'GET /files/{run_id}/{file_name}': 1,
    });
  });

  it('counts rejected requests, also by status', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 2 } });
    await api(sim, '/v1/runs', { headers: { authorization: null } });
    await api(sim, '/v1/runs');
    await api(sim, runsPath(IMAGE_MODEL), { method: 'POST', body: { input: {} } });
    await api(sim, '/v1/runs');
    await api(sim, '/v1/runs');
    expect((await api(sim, '/v1/runs/abc', { method: 'DELETE' })).status).toBe(429);

    expect(sim.counters()).toEqual({
      'GET /v1/runs': 4,
      'POST /v1/models/{model_id}/runs': 1,
      'DELETE /v1/runs/{id}': 1,
    });
    expect(sim.counters({ status: 200 })).toEqual({ 'GET /v1/runs': 1 });
    expect(sim.counters({ status: 401 })).toEqual({ 'GET /v1/runs': 1 });
    expect(sim.counters({ status: 422 })).toEqual({ 'POST /v1/models/{model_id}/runs': 1 });
    expect(sim.counters({ status: 429 })).toEqual({ 'GET /v1/runs': 2, 'DELETE /v1/runs/{id}': 1 });
    expect(sim.counters({ status: 503 })).toEqual({});
  });

  it('counts a 405 under its method', async () => {
    const sim = await start();
    expect((await api(sim, '/v1/runs/abc', { method: 'DELETE' })).status).toBe(405);
    expect(sim.counters({ status: 405 })).toEqual({ 'DELETE /v1/runs/{id}': 1 });
  });

  it('counts resets and pending responses without a status', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'reset' } });
    sim.injectFault({ path: '/v1/runs/statuses', fault: { kind: 'slow', delayMs: 1_000 } });
    await expect(fetch(`${sim.url}/v1/runs`, { headers: { authorization: `Bearer ${sim.apiKey}` } })).rejects.toThrow(
      TypeError,
    );
    const pending = api(sim, '/v1/runs/statuses');
    await expect.poll(() => sim.inFlightRequests()).toBe(1);

    expect(sim.counters()).toEqual({ 'GET /v1/runs': 1, 'GET /v1/runs/statuses': 1 });
    expect(sim.counters({ status: 200 })).toEqual({});

    sim.advanceTime(1_000);
    expect((await pending).status).toBe(200);
    expect(sim.counters({ status: 200 })).toEqual({ 'GET /v1/runs/statuses': 1 });
  });

  it('returns a copy', async () => {
    const sim = await start();
    await api(sim, '/v1/runs');
    const snapshot = sim.counters();
    await api(sim, '/v1/runs');
    expect(snapshot).toEqual({ 'GET /v1/runs': 1 });
    expect(sim.counters()).toEqual({ 'GET /v1/runs': 2 });
  });

  it('resets to zero and keeps the request log', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'slow', delayMs: 1_000 } });
    const pending = api(sim, '/v1/runs');
    await expect.poll(() => sim.inFlightRequests()).toBe(1);
    await api(sim, '/v1/runs/statuses');

    sim.resetCounters();
    expect(sim.counters()).toEqual({});
    expect(sim.requests()).toHaveLength(2);

    // The response to a request from before the reset is not counted after it.
    sim.advanceTime(1_000);
    expect((await pending).status).toBe(200);
    expect(sim.counters({ status: 200 })).toEqual({});

    await api(sim, '/v1/runs/statuses');
    expect(sim.counters()).toEqual({ 'GET /v1/runs/statuses': 1 });
    expect(sim.counters({ status: 200 })).toEqual({ 'GET /v1/runs/statuses': 1 });
  });
});

describe('recordRequests', () => {
  it('turns off the request log while counters count', async () => {
    const sim = await start({ recordRequests: false });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    for (let index = 0; index < 200; index += 1) {
      expect((await api(sim, `/v1/runs/${run.id}`)).status).toBe(200);
    }
    expect(sim.requests()).toEqual([]);
    expect(sim.requestCount()).toBe(0);
    expect(sim.counters()).toEqual({ 'POST /v1/models/{model_id}/runs': 1, 'GET /v1/runs/{id}': 200 });
    expect(sim.counters({ status: 200 })).toEqual({ 'GET /v1/runs/{id}': 200 });
  });

  it('records by default', async () => {
    const sim = await start();
    await api(sim, '/v1/runs');
    expect(sim.requests()).toHaveLength(1);
  });

  it('rejects a non-boolean value', async () => {
    await expect(startSimulator({ recordRequests: 'no' as unknown as boolean })).rejects.toThrow(/recordRequests/);
  });
});
