import { describe, expect, it } from 'vitest';
import { startSimulator, type FaultRule, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';
import { api, createRun, getRun, IMAGE_MODEL, IMAGE_TIMELINE, runsPath, simulatorPerTest } from './helpers.js';

/** Starts a simulator with time stopped (timeScale 0); each is closed after its test. */
const start = simulatorPerTest();

async function listStatuses(sim: Simulator, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index += 1) {
    statuses.push((await api(sim, '/v1/runs')).status);
  }
  return statuses;
}

function postRun(sim: Simulator): Promise<Response> {
  return fetch(`${sim.url}${runsPath(IMAGE_MODEL)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sim.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: { prompt: 'x' } }),
  });
}

describe('status fault', () => {
  it('sends a 5xx error envelope once, then the real response', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'status', status: 503 } });

    const faulty = await api(sim, '/v1/runs');
    expect(faulty.status).toBe(503);
    expect(faulty.headers.get('content-type')).toBe('application/json');
    expect(faulty.json.code).toBe('INTERNAL_ERROR');
    expect(typeof faulty.json.message).toBe('string');
    expect(faulty.json.errors).toBeNull();

    expect((await api(sim, '/v1/runs')).status).toBe(200);
  });

  it('lets `after` requests through, then applies `times` faults', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', after: 2, times: 2, fault: { kind: 'status', status: 500 } });
    expect(await listStatuses(sim, 5)).toEqual([200, 200, 500, 500, 200]);
  });

  it('applies Infinity times', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', times: Infinity, fault: { kind: 'status', status: 502 } });
    expect(await listStatuses(sim, 4)).toEqual([502, 502, 502, 502]);
    sim.clearFaults();
    expect(await listStatuses(sim, 1)).toEqual([200]);
  });

  it('sends a given body as is', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'status', status: 500, body: 'upstream exploded' } });
    const response = await api(sim, '/v1/runs');
    expect(response.status).toBe(500);
    expect(response.text).toBe('upstream exploded');
    expect(response.headers.get('content-type')).toBe('text/html');
  });

  it('picks a 4xx code from the status', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'status', status: 429 } });
    sim.injectFault({ path: '/v1/runs', after: 1, fault: { kind: 'status', status: 404 } });
    const rateLimited = await api(sim, '/v1/runs');
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.json.code).toBe('RATE_LIMITED');
    // A fault status carries no rate-limit headers unless the rate limit is on with headers.
    expect(rateLimited.headers.get('retry-after')).toBeNull();
    const notFound = await api(sim, '/v1/runs');
    expect(notFound.status).toBe(404);
    expect(notFound.json.code).toBe('NOT_FOUND');
  });

  it('does not process the request', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'status', status: 500 } });
    expect((await postRun(sim)).status).toBe(500);
    expect(sim.runCount()).toBe(0);
  });

  it('matches by method and RegExp', async () => {
    const sim = await start();
    sim.injectFault({ method: 'post', path: /^\/v1\/models\//, fault: { kind: 'status', status: 503 } });
    expect((await api(sim, '/v1/runs')).status).toBe(200);
    expect((await postRun(sim)).status).toBe(503);
    expect((await postRun(sim)).status).toBe(201);
  });
});

describe('fault rule order', () => {
  it('counts `after` for every matching rule', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', after: 1, fault: { kind: 'status', status: 500 } });
    // This rule also counts the request that the first rule takes.
    sim.injectFault({ path: '/v1/runs', after: 1, fault: { kind: 'status', status: 503 } });
    expect(await listStatuses(sim, 4)).toEqual([200, 500, 503, 200]);
  });

  it('checks faults after authentication', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'status', status: 503 } });
    const unauthorized = await api(sim, '/v1/runs', { headers: { authorization: null } });
    expect(unauthorized.status).toBe(401);
    // The 401 did not use up the rule.
    expect((await api(sim, '/v1/runs')).status).toBe(503);
  });

  it('checks faults after the rate limit', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 1, headers: true } });
    await api(sim, '/v1/runs');
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'html' } });
    expect((await api(sim, '/v1/runs')).status).toBe(429);

    sim.advanceTime(1_000);
    const page = await api(sim, '/v1/runs');
    expect(page.status).toBe(502);
    expect(page.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('takes rules from the config', async () => {
    const faults: FaultRule[] = [{ path: '/v1/runs', after: 1, fault: { kind: 'status', status: 500 } }];
    const sim = await start({ faults });
    expect(await listStatuses(sim, 3)).toEqual([200, 500, 200]);
  });

  it('leaves queued responses in front', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'status', status: 500 } });
    sim.queueResponse({ path: '/v1/runs', status: 418, body: '' });
    expect(await listStatuses(sim, 3)).toEqual([418, 500, 200]);
  });
});

describe('reset fault', () => {
  it('destroys the connection without a response', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'reset' } });
    await expect(fetch(`${sim.url}/v1/runs`, { headers: { authorization: `Bearer ${sim.apiKey}` } })).rejects.toThrow(
      TypeError,
    );
    expect(sim.requests()[0]?.status).toBeNull();
    expect((await api(sim, '/v1/runs')).status).toBe(200);
  });

  it('creates no run before processing', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'reset' } });
    await expect(postRun(sim)).rejects.toThrow(TypeError);
    expect(sim.runCount()).toBe(0);
  });

  it('creates the run with afterProcessing', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'reset', afterProcessing: true } });
    await expect(postRun(sim)).rejects.toThrow(TypeError);
    expect(sim.runCount()).toBe(1);
    const list = await api(sim, '/v1/runs');
    expect(list.json.items).toHaveLength(1);
  });
});

describe('slow fault', () => {
  it('holds the response for simulated time', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.injectFault({ method: 'GET', path: `/v1/runs/${run.id}`, fault: { kind: 'slow', delayMs: 5_000 } });

    let settled = false;
    const pending = api(sim, `/v1/runs/${run.id}`).then((response) => {
      settled = true;
      return response;
    });
    await expect.poll(() => sim.requests().length).toBe(2);
    sim.advanceTime(4_999);
    expect((await api(sim, '/v1/runs/statuses')).status).toBe(200);
    expect(settled).toBe(false);

    sim.advanceTime(1);
    const response = await pending;
    expect(response.status).toBe(200);
    // The request was processed when it arrived, so the view is from that time.
    expect(response.json.status_code).toBe('queued');
    expect((await getRun(sim, run.id)).status_code).toBe('succeeded');
  });

  it('processes a create when it arrives', async () => {
    const sim = await start();
    sim.injectFault({ method: 'POST', path: /\/runs$/, fault: { kind: 'slow', delayMs: 1_000 } });
    const pending = postRun(sim);
    await expect.poll(() => sim.runCount()).toBe(1);
    expect(sim.inFlightRequests()).toBe(1);
    sim.advanceTime(1_000);
    expect((await pending).status).toBe(201);
  });

  it('holds the response forever with Infinity', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'slow', delayMs: Infinity } });
    const controller = new AbortController();
    const pending = fetch(`${sim.url}/v1/runs`, {
      headers: { authorization: `Bearer ${sim.apiKey}` },
      signal: controller.signal,
    }).catch((error: Error) => error.name);
    await expect.poll(() => sim.inFlightRequests()).toBe(1);
    sim.advanceTime(24 * 60 * 60 * 1000);
    expect(sim.inFlightRequests()).toBe(1);
    controller.abort();
    expect(await pending).toBe('AbortError');
    await expect.poll(() => sim.inFlightRequests()).toBe(0);
  });
});

describe('html and malformed-json faults', () => {
  it('sends an HTML error page, 502 by default', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', fault: { kind: 'html' } });
    sim.injectFault({ path: '/v1/runs', after: 1, fault: { kind: 'html', status: 504 } });

    const badGateway = await api(sim, '/v1/runs');
    expect(badGateway.status).toBe(502);
    expect(badGateway.headers.get('content-type')).toMatch(/^text\/html/);
    expect(badGateway.text).toContain('<html>');
    expect(badGateway.text).toContain('502 Bad Gateway');

    const timeout = await api(sim, '/v1/runs');
    expect(timeout.status).toBe(504);
    expect(timeout.text).toContain('504 Gateway Timeout');
  });

  it('sends truncated JSON, 200 by default', async () => {
    const sim = await start();
    sim.injectFault({ path: '/v1/runs', times: 2, fault: { kind: 'malformed-json' } });
    sim.injectFault({ path: '/v1/runs', after: 2, fault: { kind: 'malformed-json', status: 500 } });

    for (const expectedStatus of [200, 200, 500]) {
      const response = await fetch(`${sim.url}/v1/runs`, { headers: { authorization: `Bearer ${sim.apiKey}` } });
      expect(response.status).toBe(expectedStatus);
      expect(response.headers.get('content-type')).toBe('application/json');
      const text = await response.text();
      expect(text.startsWith('{')).toBe(true);
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
    }
  });
});

describe('stale fault', () => {
  it('serves the creation view of a run never read', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    sim.injectFault({ path: `/v1/runs/${run.id}`, fault: { kind: 'stale' } });

    const stale = await getRun(sim, run.id);
    expect(stale.status_code).toBe('queued');
    expect(stale.created_at).toBe(run.created_at);
    expect(stale).toEqual(run);
    expect((await getRun(sim, run.id)).status_code).toBe('succeeded');
  });

  it('serves the lowest-ranked view served before', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.runningAt + 100);
    const running = await getRun(sim, run.id);
    expect(running.status_code).toBe('running');
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    expect((await getRun(sim, run.id)).status_code).toBe('succeeded');

    sim.injectFault({ method: 'GET', path: /^\/v1\/runs/, times: 2, fault: { kind: 'stale' } });
    const stale = await getRun(sim, run.id);
    expect(stale).toEqual(running);

    const list = await api(sim, `/v1/runs?q=${encodeURIComponent(`id:${run.id}`)}`);
    expect(list.json.items).toHaveLength(1);
    expect(list.json.items[0].status_code).toBe('running');
    expect(list.json.items[0].completed_at).toBeNull();

    expect((await getRun(sim, run.id)).status_code).toBe('succeeded');
  });

  it('counts list reads as served', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.dispatchingAt);
    const list = await api(sim, '/v1/runs?fields=id,status_code');
    expect(list.json.items[0].status_code).toBe('dispatching');
    sim.advanceTime(IMAGE_TIMELINE.endsAt);

    sim.injectFault({ path: `/v1/runs/${run.id}`, fault: { kind: 'stale' } });
    expect((await getRun(sim, run.id)).status_code).toBe('dispatching');
  });

  it('leaves other endpoints and the rule alone', async () => {
    const sim = await start();
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    sim.injectFault({ path: /./, fault: { kind: 'stale' } });

    const logs = await api(sim, `/v1/runs/${run.id}/logs`);
    expect(logs.json.items.at(-1).run.status_code).toBe('succeeded');
    expect((await postRun(sim)).status).toBe(201);

    // The rule is still armed for the next run read.
    expect((await getRun(sim, run.id)).status_code).toBe('queued');
    expect((await getRun(sim, run.id)).status_code).toBe('succeeded');
  });
});

describe('fault validation', () => {
  const invalidRules: [string, unknown][] = [
    ['path', { path: 42, fault: { kind: 'reset' } }],
    ['times', { path: '/v1/runs', times: 0, fault: { kind: 'reset' } }],
    ['after', { path: '/v1/runs', after: -1, fault: { kind: 'reset' } }],
    ['kind', { path: '/v1/runs', fault: { kind: 'explode' } }],
    ['status', { path: '/v1/runs', fault: { kind: 'status', status: 99 } }],
    ['status', { path: '/v1/runs', fault: { kind: 'status' } }],
    ['status', { path: '/v1/runs', fault: { kind: 'html', status: 700 } }],
    ['delayMs', { path: '/v1/runs', fault: { kind: 'slow', delayMs: -1 } }],
    ['afterProcessing', { path: '/v1/runs', fault: { kind: 'reset', afterProcessing: 'yes' } }],
  ];

  it.each(invalidRules)('rejects an invalid %s', async (field, rule) => {
    const sim = await start();
    expect(() => sim.injectFault(rule as FaultRule)).toThrow(new RegExp(field));
  });

  it('rejects an invalid rule in the config', async () => {
    const faults = [{ path: '/v1/runs', fault: { kind: 'slow', delayMs: Number.NaN } }] as FaultRule[];
    await expect(startSimulator({ faults })).rejects.toThrow(/delayMs/);
  });
});
