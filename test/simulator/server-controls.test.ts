import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';
import { api, createRun, IMAGE_MODEL, IMAGE_TIMELINE, simulatorPerTest } from './helpers.js';

/** Starts a simulator with time stopped (timeScale 0); each is closed after its test. */
const start = simulatorPerTest();

/** Resolves with the error code of a TCP connection attempt, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('queued responses', () => {
  it('serves a raw HTML 502 once, then the real response', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    const page = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    sim.queueResponse({ method: 'GET', path: `/v1/runs/${run.id}`, status: 502, body: page });

    const first = await api(sim, `/v1/runs/${run.id}`);
    expect(first.status).toBe(502);
    expect(first.headers.get('content-type')).toBe('text/html');
    expect(first.text).toBe(page);

    const second = await api(sim, `/v1/runs/${run.id}`);
    expect(second.status).toBe(200);
    expect(second.json.id).toBe(run.id);
  });

  it('defaults to application/json for a JSON body', async () => {
    const sim = await start();
    sim.queueResponse({
      path: '/v1/runs',
      status: 429,
      body: '{"code":"RATE_LIMITED","message":"slow down","errors":null}',
      headers: { 'Retry-After': '2' },
    });
    const response = await api(sim, '/v1/runs');
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.json.code).toBe('RATE_LIMITED');
  });

  it('sends malformed JSON and empty bodies as is', async () => {
    const sim = await start();
    sim.queueResponse({
      path: '/v1/runs/statuses',
      status: 200,
      body: '{"items": [',
      headers: { 'content-type': 'application/json' },
    });
    sim.queueResponse({ path: '/v1/runs/statuses', status: 200, body: '' });
    const malformed = await fetch(`${sim.url}/v1/runs/statuses`);
    expect(await malformed.text()).toBe('{"items": [');
    const empty = await fetch(`${sim.url}/v1/runs/statuses`);
    expect(empty.headers.get('content-type')).toBe('text/html');
    expect(await empty.text()).toBe('');
  });

  it('matches by method, RegExp and times, in queue order', async () => {
    const sim = await start();
    sim.queueResponse({ method: 'POST', path: /^\/v1\/models\//, status: 503, body: 'busy', times: 2 });
    sim.queueResponse({ path: /^\/v1\/models\//, status: 500, body: 'broken' });

    const get = await api(sim, '/v1/runs');
    expect(get.status).toBe(200);
    const statuses: number[] = [];
    for (let index = 0; index < 4; index += 1) {
      statuses.push(
        (await api(sim, `/v1/models/${IMAGE_MODEL}/runs`, { method: 'POST', body: { input: { prompt: 'x' } } })).status,
      );
    }
    expect(statuses).toEqual([503, 503, 500, 201]);
  });

  it('bypasses authentication', async () => {
    const sim = await start();
    sim.queueResponse({ path: '/v1/runs', status: 200, body: '{"items":[]}' });
    const response = await api(sim, '/v1/runs', { headers: { authorization: null } });
    expect(response.status).toBe(200);
  });

  it('holds a delayed response until simulated time passes', async () => {
    const sim = await start();
    sim.queueResponse({ path: '/v1/runs', status: 200, body: '{"items":[]}', delayMs: 5000 });
    let settled = false;
    const pending = fetch(`${sim.url}/v1/runs`).then((response) => {
      settled = true;
      return response;
    });
    await expect.poll(() => sim.inFlightRequests()).toBe(1);
    sim.advanceTime(4999);
    // A second GET gets its response at once, while the first one is still pending.
    expect((await api(sim, '/v1/runs/statuses')).status).toBe(200);
    expect(settled).toBe(false);
    expect(sim.inFlightRequests()).toBe(1);

    sim.advanceTime(1);
    const response = await pending;
    expect(response.status).toBe(200);
    await response.text();
    expect(sim.inFlightRequests()).toBe(0);
  });

  it('drops a held request when the client aborts', async () => {
    const sim = await start();
    sim.queueResponse({ path: '/v1/runs', status: 200, body: '{}', delayMs: Infinity });
    const controller = new AbortController();
    const pending = fetch(`${sim.url}/v1/runs`, { signal: controller.signal }).catch((error: Error) => error.name);
    await expect.poll(() => sim.inFlightRequests()).toBe(1);
    controller.abort();
    expect(await pending).toBe('AbortError');
    await expect.poll(() => sim.inFlightRequests()).toBe(0);
  });

  it('resets the connection', async () => {
    const sim = await start();
    sim.queueResponse({ path: '/v1/runs', status: 200, body: '', resetConnection: true });
    await expect(fetch(`${sim.url}/v1/runs`)).rejects.toThrow(TypeError);
    expect(sim.requests().at(-1)?.status).toBeNull();
  });

  it('rejects an invalid rule', async () => {
    const sim = await start();
    expect(() => sim.queueResponse({ path: '/v1/runs', status: 99, body: '' })).toThrow(RangeError);
    expect(() => sim.queueResponse({ path: '/v1/runs', status: 200, body: '', times: 0 })).toThrow(/times/);
    expect(() => sim.queueResponse({ path: '/v1/runs', status: 200, body: '', delayMs: -1 })).toThrow(/delayMs/);
  });
});

describe('request recording', () => {
  it('records method, path, query, body, time and status in order', async () => {
    const sim = await start();
    await api(sim, '/v1/runs?limit=2&q=status_code%3Aqueued');
    sim.advanceTime(250);
    await api(sim, `/v1/models/${IMAGE_MODEL}/runs`, { method: 'POST', body: { input: { prompt: 'x' } } });
    await api(sim, '/v1/nothing');

    const requests = sim.requests();
    expect(requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'GET /v1/runs 200',
      `POST /v1/models/${IMAGE_MODEL}/runs 201`,
      'GET /v1/nothing 404',
    ]);
    const [list, create] = requests;
    expect(list?.query.get('limit')).toBe('2');
    expect(list?.query.get('q')).toBe('status_code:queued');
    expect((create?.at ?? 0) - (list?.at ?? 0)).toBe(250);
    expect(JSON.parse(create?.body ?? '')).toEqual({ input: { prompt: 'x' } });
    expect(create?.headers['content-type']).toBe('application/json');
  });

  it('counts requests by method and path', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    await api(sim, `/v1/runs/${run.id}`);
    await api(sim, `/v1/runs/${run.id}`);
    await api(sim, `/v1/runs/${run.id}/logs`);
    expect(sim.requestCount()).toBe(4);
    expect(sim.requestCount({ method: 'get' })).toBe(3);
    expect(sim.requestCount({ path: `/v1/runs/${run.id}` })).toBe(2);
    expect(sim.requestCount({ method: 'GET', path: /\/logs$/ })).toBe(1);
    expect(sim.requestCount({ method: 'POST', path: /^\/v1\/models\// })).toBe(1);
  });

  it('returns copies that later requests do not change', async () => {
    const sim = await start();
    await api(sim, '/v1/runs');
    const snapshot = sim.requests();
    await api(sim, '/v1/runs');
    expect(snapshot).toHaveLength(1);
  });
});

describe('getRun', () => {
  it('returns the run as the API does, or undefined', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    const viaApi = await api(sim, `/v1/runs/${run.id}`);
    expect(sim.getRun(run.id)).toEqual(viaApi.json);
    expect(sim.getRun('0190b6c4-0000-7000-8000-000000000000')).toBeUndefined();
  });

  it('returns a copy that callers may change', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    const copy = sim.getRun(run.id) as { input: { prompt: string } };
    copy.input.prompt = 'changed';
    expect((sim.getRun(run.id) as { input: { prompt: string } }).input.prompt).toBe('x');
  });
});

describe('close', () => {
  it('leaves no connection and refuses new ones', async () => {
    const sim = await start();
    await api(sim, '/v1/runs');
    await api(sim, '/v1/runs/statuses');
    expect(sim.openConnections()).toBeGreaterThan(0);

    await sim.close();
    expect(sim.openConnections()).toBe(0);
    expect(sim.inFlightRequests()).toBe(0);
    expect(await tryConnect(sim.url)).toBe('ECONNREFUSED');
  });

  it('ends a held response', async () => {
    const sim = await start();
    sim.queueResponse({ path: '/v1/runs', status: 200, body: '{}', delayMs: Infinity });
    const pending = fetch(`${sim.url}/v1/runs`).then(
      () => 'responded',
      () => 'failed',
    );
    await expect.poll(() => sim.inFlightRequests()).toBe(1);
    await sim.close();
    expect(await pending).toBe('failed');
    expect(sim.inFlightRequests()).toBe(0);
    expect(sim.openConnections()).toBe(0);
  });

  it('is idempotent', async () => {
    const sim = await start();
    const first = sim.close();
    const second = sim.close();
    expect(second).toBe(first);
    await first;
    await expect(sim.close()).resolves.toBeUndefined();
  });
});

describe('config validation', () => {
  it.each([-1, Number.NaN, Infinity])('rejects timeScale %s', async (timeScale) => {
    await expect(startSimulator({ timeScale })).rejects.toThrow(RangeError);
    await expect(startSimulator({ timeScale })).rejects.toThrow(/timeScale/);
  });

  it('rejects an invalid port, key list and model id', async () => {
    await expect(startSimulator({ port: 70_000 })).rejects.toThrow(/port/);
    await expect(startSimulator({ apiKeys: [] })).rejects.toThrow(/apiKeys/);
    await expect(startSimulator({ apiKeys: ['two words'] })).rejects.toThrow(/apiKeys/);
    const model = {
      id: 'acme//x',
      validateInput: () => [],
      timeline: { queuedMs: 0, dispatchingMs: 0, steps: [] },
      buildOutputs: () => [],
    };
    await expect(startSimulator({ models: [model] })).rejects.toThrow(/acme\/\/x/);
  });

  it('rejects an invalid advanceTime', async () => {
    const sim = await start();
    expect(() => sim.advanceTime(-5)).toThrow(RangeError);
    expect(() => sim.advanceTime(Number.NaN)).toThrow(RangeError);
  });

  it('returns 500 for an invalid timeline', async () => {
    const model = {
      id: 'acme/empty',
      validateInput: () => [],
      timeline: { queuedMs: 0, dispatchingMs: 0, steps: [] },
      buildOutputs: () => [],
    };
    const sim = await start({ models: [model] });
    const response = await api(sim, '/v1/models/acme/empty/runs', { method: 'POST', body: { input: {} } });
    expect(response.status).toBe(500);
    expect(response.json.code).toBe('INTERNAL_ERROR');
    expect(response.json.message).toContain('no steps');
  });
});
