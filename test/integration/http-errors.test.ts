import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  RunflowConnectionError,
  RunflowDecodeError,
  RunflowHttpError,
  RunflowInputError,
  RunflowRequestTimeoutError,
  createRunflowClient,
  type RunflowClient,
} from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { collect, startRawServer, until } from './helpers.js';

const IMAGE_MODEL = 'openai/gpt-image-1.5';

let simulator: Simulator;
let client: RunflowClient;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 20 });
  // One attempt per request: these tests check how a single response is read. Retries have
  // their own tests.
  client = createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 2 },
    retry: false,
  });
});

afterAll(async () => {
  await simulator.close();
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('HTTP errors', () => {
  it('401 with a wrong key, without the key in the error', async () => {
    const wrongKey = 'rf_live_wrong_key_123';
    const other = createRunflowClient({ apiKey: wrongKey, baseUrl: simulator.url });
    const error = await errorOf(lastValueFrom(other.runs.get('any-id')));
    expect(error).toBeInstanceOf(RunflowHttpError);
    expect((error as RunflowHttpError).status).toBe(401);
    expect((error as RunflowHttpError).code).toBe('UNAUTHORIZED');
    expect(JSON.stringify(error)).not.toContain(wrongKey);
    expect(String(error)).not.toContain(wrongKey);
    expect((error as Error).stack ?? '').not.toContain(wrongKey);
  });

  it('404 RUN_NOT_FOUND when watching an unknown run', async () => {
    const { error } = await collect(client.watch('01900000-0000-7000-8000-000000000000'));
    expect(error).toBeInstanceOf(RunflowHttpError);
    expect((error as RunflowHttpError).status).toBe(404);
    expect((error as RunflowHttpError).code).toBe('RUN_NOT_FOUND');
  });

  it('422 with errors[] for an input that fails the model schema', async () => {
    const { error, events } = await collect(client.run(IMAGE_MODEL, { input: { width: 12 } }));
    expect(events).toEqual([]);
    const httpError = error as RunflowHttpError;
    expect(httpError.status).toBe(422);
    expect(httpError.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(httpError.errors)).toContain('prompt');
  });

  it('an HTML 502 page becomes an HTTP error with a short excerpt', async () => {
    const page = `<html><head><title>502 Bad Gateway</title></head><body>${'<p>upstream down</p>'.repeat(50)}</body></html>`;
    simulator.queueResponse({
      method: 'GET',
      path: '/v1/runs/html-run',
      status: 502,
      body: page,
      headers: { 'content-type': 'text/html' },
    });
    const error = (await errorOf(lastValueFrom(client.runs.get('html-run')))) as RunflowHttpError;
    expect(error).toBeInstanceOf(RunflowHttpError);
    expect(error.status).toBe(502);
    expect(error.code).toBeUndefined();
    expect(error.bodyExcerpt?.startsWith('<html><head><title>502 Bad Gateway')).toBe(true);
    expect(error.bodyExcerpt!.length).toBeLessThanOrEqual(200);
    expect(error.message).toContain('HTTP 502');
  });

  it('an empty 2xx body is a decode error', async () => {
    simulator.queueResponse({ method: 'GET', path: '/v1/runs/empty-run', status: 200, body: '' });
    const error = await errorOf(lastValueFrom(client.runs.get('empty-run')));
    expect(error).toBeInstanceOf(RunflowDecodeError);
    expect((error as Error).message).toContain('expected a JSON body');
  });

  it('a 2xx body of the wrong shape names each failing path', async () => {
    simulator.queueResponse({
      method: 'GET',
      path: '/v1/runs/odd-run',
      status: 200,
      body: JSON.stringify({ id: 'odd-run', status_code: 3, nodes_total: 'three' }),
    });
    const error = (await errorOf(lastValueFrom(client.runs.get('odd-run')))) as RunflowDecodeError;
    expect(error).toBeInstanceOf(RunflowDecodeError);
    expect(error.message).toBe(
      `Invalid GET ${simulator.url}/v1/runs/odd-run response:\n` +
        '  at status_code: expected run status, received 3\n' +
        '  at nodes_total: expected number | null, received "three"',
    );
  });

  it('rejects a bad model id before any request', () => {
    const before = simulator.requests().length;
    expect(() => client.run('openai//gpt', { input: {} })).toThrow(RunflowInputError);
    expect(() => client.run('../admin', { input: {} })).toThrow('segment 1 is ".."');
    expect(() => client.run(IMAGE_MODEL, { input: 'a cat' as never })).toThrow('expected a JSON object');
    expect(simulator.requests().length).toBe(before);
  });

  it('sends a deep model path with each segment encoded', async () => {
    const { error } = await collect(client.run('space owner/has spaces/runs slug', { input: { prompt: 'x' } }));
    expect((error as RunflowHttpError).code).toBe('MODEL_NOT_FOUND');
    const last = simulator.requests().at(-1)!;
    expect(last.path).toBe('/v1/models/space%20owner/has%20spaces/runs%20slug/runs');
  });
});

describe('transport failures', () => {
  it('a refused connection becomes RunflowConnectionError', async () => {
    const server = await startRawServer(() => {});
    const url = server.url;
    await server.close();
    const offline = createRunflowClient({ apiKey: 'rf_test', baseUrl: url, retry: false });
    const error = await errorOf(lastValueFrom(offline.runs.get('r1')));
    expect(error).toBeInstanceOf(RunflowConnectionError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('a server that never answers hits the request timeout and the socket closes', async () => {
    let closed = 0;
    const server = await startRawServer((request) => request.on('close', () => closed++));
    try {
      const slow = createRunflowClient({ apiKey: 'rf_test', baseUrl: server.url, requestTimeoutMs: 50, retry: false });
      const error = await errorOf(lastValueFrom(slow.runs.get('r1')));
      expect(error).toBeInstanceOf(RunflowRequestTimeoutError);
      expect((error as RunflowRequestTimeoutError).timeoutMs).toBe(50);
      await until(() => closed === 1);
    } finally {
      await server.close();
    }
  });
});
