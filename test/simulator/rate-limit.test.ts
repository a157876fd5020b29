import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';
import { api, type ApiResponse } from './helpers.js';

/** A start time on a whole second, so `X-RateLimit-Reset` values are exact. */
const START_MS = 1_750_000_000_000;

const RATE_LIMIT_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after'];

let simulator: Simulator | undefined;

async function start(config: SimulatorConfig = {}): Promise<Simulator> {
  simulator = await startSimulator({ timeScale: 0, startTimeMs: START_MS, ...config });
  return simulator;
}

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

async function statuses(sim: Simulator, count: number, apiKey = sim.apiKey): Promise<number[]> {
  const result: number[] = [];
  for (let index = 0; index < count; index += 1) {
    result.push((await api(sim, '/v1/runs', { headers: { authorization: `Bearer ${apiKey}` } })).status);
  }
  return result;
}

function rateLimitHeaders(response: ApiResponse): Record<string, string | null> {
  return Object.fromEntries(RATE_LIMIT_HEADERS.map((name) => [name, response.headers.get(name)]));
}

describe('rate limit', () => {
  it('is off by default', async () => {
    const sim = await start();
    expect(await statuses(sim, 30)).not.toContain(429);
  });

  it('rejects requests beyond the burst with 429', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 3 } });
    expect(await statuses(sim, 4)).toEqual([200, 200, 200, 429]);

    const rejected = await api(sim, '/v1/runs');
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('content-type')).toBe('application/json');
    expect(rejected.json.code).toBe('RATE_LIMITED');
    expect(rejected.json.message).toMatch(/^Rate limit exceeded: /);
    expect(rejected.json.errors).toBeNull();
  });

  it('sends no rate-limit headers by default', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 1 } });
    const allowed = await api(sim, '/v1/runs');
    const rejected = await api(sim, '/v1/runs');
    expect(allowed.status).toBe(200);
    expect(rejected.status).toBe(429);
    for (const response of [allowed, rejected]) {
      expect(rateLimitHeaders(response)).toEqual({
        'x-ratelimit-limit': null,
        'x-ratelimit-remaining': null,
        'x-ratelimit-reset': null,
        'retry-after': null,
      });
    }
  });

  it('refills the bucket in simulated time', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 2 } });
    expect(await statuses(sim, 3)).toEqual([200, 200, 429]);

    sim.advanceTime(999);
    expect(await statuses(sim, 1)).toEqual([429]);
    sim.advanceTime(1);
    expect(await statuses(sim, 2)).toEqual([200, 429]);

    // A long pause refills the bucket only up to the burst.
    sim.advanceTime(60_000);
    expect(await statuses(sim, 3)).toEqual([200, 200, 429]);
  });

  it('defaults the burst to requestsPerSecond', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 5 } });
    expect(await statuses(sim, 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('keeps one bucket per API key', async () => {
    const sim = await start({ apiKeys: ['rf_test_a', 'rf_test_b'], rateLimit: { requestsPerSecond: 1, burst: 1 } });
    expect(await statuses(sim, 2, 'rf_test_a')).toEqual([200, 429]);
    expect(await statuses(sim, 2, 'rf_test_b')).toEqual([200, 429]);
  });

  it('takes no token for a 401', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 2 } });
    for (let index = 0; index < 5; index += 1) {
      const response = await api(sim, '/v1/runs', { headers: { authorization: null } });
      expect(response.status).toBe(401);
      expect(response.headers.get('x-ratelimit-remaining')).toBeNull();
    }
    expect(await statuses(sim, 3)).toEqual([200, 200, 429]);
  });

  it('counts every authenticated route', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 3 } });
    expect((await api(sim, '/v1/nothing')).status).toBe(404);
    expect((await api(sim, '/v1/runs/statuses')).status).toBe(200);
    expect((await api(sim, '/v1/models/acme/none/runs', { method: 'POST', body: { input: {} } })).status).toBe(404);
    expect((await api(sim, '/v1/runs/statuses')).status).toBe(429);
  });

  it('lets queued responses bypass the limit', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, burst: 1 } });
    sim.queueResponse({ path: '/v1/runs', status: 200, body: '{"items":[]}', times: 3 });
    expect(await statuses(sim, 4)).toEqual([200, 200, 200, 200]);
    expect(await statuses(sim, 1)).toEqual([429]);
  });
});

describe('rate limit headers', () => {
  it('sends X-RateLimit-* on every response', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 2, burst: 4, headers: true } });
    const nowSeconds = START_MS / 1000;

    const first = await api(sim, '/v1/runs');
    expect(first.status).toBe(200);
    // One token is missing, and 2 tokens per second refill it in 0.5 s, rounded up to 1 s.
    expect(rateLimitHeaders(first)).toEqual({
      'x-ratelimit-limit': '4',
      'x-ratelimit-remaining': '3',
      'x-ratelimit-reset': String(nowSeconds + 1),
      'retry-after': null,
    });

    const notFound = await api(sim, '/v1/runs/0190b6c4-0000-7000-8000-000000000000');
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(notFound.headers.get('x-ratelimit-reset')).toBe(String(nowSeconds + 1));

    await api(sim, '/v1/runs');
    const last = await api(sim, '/v1/runs');
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(last.headers.get('x-ratelimit-reset')).toBe(String(nowSeconds + 2));
  });

  it('adds Retry-After to 429', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 0.25, burst: 1, headers: true } });
    expect((await api(sim, '/v1/runs')).status).toBe(200);

    const rejected = await api(sim, '/v1/runs');
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('retry-after')).toBe('4');
    expect(rejected.headers.get('x-ratelimit-limit')).toBe('1');
    expect(rejected.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(rejected.headers.get('x-ratelimit-reset')).toBe(String(START_MS / 1000 + 4));

    sim.advanceTime(2_500);
    const later = await api(sim, '/v1/runs');
    expect(later.headers.get('retry-after')).toBe('2');
  });

  it('rounds Retry-After up to at least 1 s', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 100, burst: 1, headers: true } });
    await api(sim, '/v1/runs');
    const rejected = await api(sim, '/v1/runs');
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('retry-after')).toBe('1');
  });

  it('divides Retry-After by timeScale', async () => {
    // 1000 simulated seconds per token at 100 simulated ms per real ms: 10 real seconds.
    const sim = await start({ timeScale: 100, rateLimit: { requestsPerSecond: 0.001, burst: 1, headers: true } });
    await api(sim, '/v1/runs');
    const rejected = await api(sim, '/v1/runs');
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('retry-after')).toBe('10');
  });

  it('sends none on a 401', async () => {
    const sim = await start({ rateLimit: { requestsPerSecond: 1, headers: true } });
    const response = await api(sim, '/v1/runs', { headers: { authorization: null } });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-ratelimit-limit')).toBeNull();
  });
});

describe('setRateLimit', () => {
  it('turns the limit on, changes it and turns it off', async () => {
    const sim = await start();
    expect(await statuses(sim, 3)).toEqual([200, 200, 200]);

    sim.setRateLimit({ requestsPerSecond: 1, burst: 1 });
    expect(await statuses(sim, 2)).toEqual([200, 429]);

    // A new limit starts every bucket full.
    sim.setRateLimit({ requestsPerSecond: 1, burst: 2, headers: true });
    const [first, second, third] = [await api(sim, '/v1/runs'), await api(sim, '/v1/runs'), await api(sim, '/v1/runs')];
    expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
    expect(third.headers.get('retry-after')).toBe('1');

    sim.setRateLimit(false);
    expect(await statuses(sim, 3)).toEqual([200, 200, 200]);
  });

  it('rejects an invalid config', async () => {
    const sim = await start();
    expect(() => sim.setRateLimit({ requestsPerSecond: 0 })).toThrow(RangeError);
    expect(() => sim.setRateLimit({ requestsPerSecond: 1, burst: 0.5 })).toThrow(/burst/);
    // The invalid config leaves the previous one in force.
    expect(await statuses(sim, 3)).toEqual([200, 200, 200]);
  });
});

describe('rate limit config validation', () => {
  it.each([0, -1, Number.NaN, Infinity])('rejects requestsPerSecond %s', async (requestsPerSecond) => {
    await expect(startSimulator({ rateLimit: { requestsPerSecond } })).rejects.toThrow(/requestsPerSecond/);
  });

  it.each([0, 1.5, -2])('rejects burst %s', async (burst) => {
    await expect(startSimulator({ rateLimit: { requestsPerSecond: 1, burst } })).rejects.toThrow(/burst/);
  });

  it('rejects a non-boolean headers flag', async () => {
    const rateLimit = { requestsPerSecond: 1, headers: 'yes' as unknown as boolean };
    await expect(startSimulator({ rateLimit })).rejects.toThrow(TypeError);
  });

  it('accepts false', async () => {
    const sim = await start({ rateLimit: false });
    expect(await statuses(sim, 3)).toEqual([200, 200, 200]);
  });
});
