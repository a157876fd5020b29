import { createHmac } from 'node:crypto';

import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCallbackReceiver, createRunflowClient, type LogFields } from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { collect } from './helpers.js';

const API_KEY = 'rf_live_very_secret_key_0123456789';
const CALLBACK_SECRET = 'whsec_very_secret_callback_value';

let simulator: Simulator;
const logged: string[] = [];
const record = (level: string) => (message: string, fields?: LogFields) =>
  logged.push(JSON.stringify({ level, message, fields }));
const logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 20, apiKeys: [API_KEY] });
});

afterAll(async () => {
  await simulator.close();
});

describe('secrets', () => {
  it('never reach log lines, messages or serialised errors', async () => {
    const client = createRunflowClient({
      apiKey: API_KEY,
      baseUrl: simulator.url,
      poll: { intervalMs: 5, mode: 'per-run' },
      budget: { requestsPerSecond: 10_000, burst: 1000 },
      retry: { initialDelayMs: 1, jitterMs: 0, maxAttempts: 2 },
      logger,
    });
    const errors: unknown[] = [];

    // Retries, a decode failure and an HTTP error, each logged or raised.
    simulator.injectFault({
      method: 'GET',
      path: /^\/v1\/runs\/[^/]+$/,
      times: 1,
      fault: { kind: 'status', status: 503 },
    });
    await lastValueFrom(client.run('openai/gpt-image-1.5', { input: { prompt: 'x' } }));
    simulator.queueResponse({ method: 'GET', path: '/v1/runs/odd', status: 200, body: '{"id":1}' });
    errors.push((await collect(client.watch('odd'))).error);
    errors.push((await collect(client.run('openai/gpt-image-1.5', { input: {} }))).error);
    errors.push(
      (await collect(createRunflowClient({ apiKey: 'rf_wrong', baseUrl: simulator.url, logger }).watch('x'))).error,
    );

    // A rejected callback and an accepted one.
    const receiver = createCallbackReceiver({ secrets: [CALLBACK_SECRET], logger });
    const body = JSON.stringify({ event: 'run.completed', run_id: 'r1', status: 'succeeded' });
    await receiver.handle({ body, headers: { 'runflow-signature': 'f'.repeat(64) } });
    await receiver.handle({
      body,
      headers: { 'runflow-signature': createHmac('sha256', CALLBACK_SECRET).update(body).digest('hex') },
    });

    expect(logged.some((line) => line.includes('Retrying a failed request'))).toBe(true);
    expect(logged.some((line) => line.includes('Response body did not decode'))).toBe(true);
    expect(logged.some((line) => line.includes('invalid signature'))).toBe(true);
    expect(errors.filter((error) => error !== undefined)).toHaveLength(3);
    const everything = [
      ...logged,
      ...errors.map((error) => JSON.stringify(error)),
      ...errors.map((error) => String(error)),
      ...errors.map((error) => (error as Error).stack ?? ''),
    ].join('\n');
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain('Bearer');
    expect(everything).not.toContain(CALLBACK_SECRET);
  });
});
