import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATOR_API_KEY, startSimulator, type Simulator } from '../../src/testing/index.js';
import { api, createRun, IMAGE_MODEL, runsPath } from './helpers.js';

let simulator: Simulator;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 0 });
});

afterAll(async () => {
  await simulator.close();
});

describe('authentication', () => {
  it('accepts the default key', async () => {
    expect(simulator.apiKey).toBe(SIMULATOR_API_KEY);
    const response = await api(simulator, '/v1/runs');
    expect(response.status).toBe(200);
  });

  it('rejects a missing key with 401', async () => {
    const response = await api(simulator, '/v1/runs', { headers: { authorization: null } });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.json.code).toBe('UNAUTHORIZED');
    expect(response.json.errors).toBeNull();
    expect(response.json.message).toContain('Authorization');
  });

  it('rejects an unknown key with 401', async () => {
    const response = await api(simulator, '/v1/runs', { headers: { authorization: 'Bearer rf_live_other' } });
    expect(response.status).toBe(401);
    expect(response.json.code).toBe('UNAUTHORIZED');
    expect(response.text).not.toContain('rf_live_other');
  });

  it('rejects a non-bearer scheme with 401', async () => {
    const response = await api(simulator, '/v1/runs', { headers: { authorization: `Basic ${SIMULATOR_API_KEY}` } });
    expect(response.status).toBe(401);
  });

  it('requires a key on unknown v1 routes too', async () => {
    const response = await api(simulator, '/v1/nothing-here', { headers: { authorization: null } });
    expect(response.status).toBe(401);
  });

  it('accepts only the configured keys', async () => {
    const custom = await startSimulator({ timeScale: 0, apiKeys: ['rf_test_a', 'rf_test_b'] });
    try {
      expect(custom.apiKey).toBe('rf_test_a');
      const second = await api(custom, '/v1/runs', { headers: { authorization: 'Bearer rf_test_b' } });
      expect(second.status).toBe(200);
      const defaultKey = await api(custom, '/v1/runs', { headers: { authorization: `Bearer ${SIMULATOR_API_KEY}` } });
      expect(defaultKey.status).toBe(401);
    } finally {
      await custom.close();
    }
  });
});

describe('error responses', () => {
  it('returns 404 for an unknown route', async () => {
    const response = await api(simulator, '/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ code: 'NOT_FOUND', message: 'No route for GET /v1/nothing-here.', errors: null });
  });

  it('returns 405 for a wrong method', async () => {
    const response = await api(simulator, '/v1/runs', { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.json.code).toBe('METHOD_NOT_ALLOWED');
    expect(response.headers.get('allow')).toBe('GET');

    const getOnCreate = await api(simulator, runsPath(IMAGE_MODEL));
    expect(getOnCreate.status).toBe(405);
    expect(getOnCreate.headers.get('allow')).toBe('POST');
  });

  it('returns 400 for malformed JSON', async () => {
    const response = await api(simulator, runsPath(IMAGE_MODEL), {
      method: 'POST',
      rawBody: '{"input": {"prompt": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('BAD_REQUEST');
    expect(response.json.errors).toBeNull();
  });

  it('returns 400 for an empty body', async () => {
    const response = await api(simulator, runsPath(IMAGE_MODEL), { method: 'POST', rawBody: '' });
    expect(response.status).toBe(400);
    expect(response.json.message).toContain('empty');
  });

  it('returns 404 for an unknown run', async () => {
    const unknown = await api(simulator, '/v1/runs/0190b6c4-0000-7000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('RUN_NOT_FOUND');

    const malformed = await api(simulator, '/v1/runs/not-a-uuid');
    expect(malformed.status).toBe(404);
    expect(malformed.json.code).toBe('RUN_NOT_FOUND');
  });

  it('serves the health check', async () => {
    const response = await api(simulator, '/v1/health');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ ok: true });
  });
});

describe('organisation header', () => {
  it('stores X-Organization-Id as org_id', async () => {
    const response = await api(simulator, runsPath(IMAGE_MODEL), {
      method: 'POST',
      body: { input: { prompt: 'x' } },
      headers: { 'x-organization-id': 'org-under-test' },
    });
    expect(response.status).toBe(201);
    expect(response.json.org_id).toBe('org-under-test');
  });

  it('defaults org_id to one UUID per key', async () => {
    const first = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'a' } });
    const second = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'b' } });
    expect(first.org_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.org_id).toBe(first.org_id);
  });
});
