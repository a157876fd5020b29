import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  RunflowBatchCreateError,
  RunflowInputError,
  createCallbackReceiver,
  createRunflowClient,
  isRunflowBatchCreateError,
  listenForCallbacks,
  runBatch,
  type LogFields,
  type RunflowClient,
} from '../../src/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { collect } from '../integration/helpers.js';

let simulator: Simulator;
let client: RunflowClient;
const warnings: Array<{ message: string; fields: LogFields | undefined }> = [];
const logger = {
  debug: () => {},
  info: () => {},
  error: () => {},
  warn: (message: string, fields?: LogFields) => warnings.push({ message, fields }),
};

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 20 });
  client = createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 5 },
    budget: { requestsPerSecond: 10_000, burst: 1000 },
    logger,
  });
});

afterAll(async () => {
  await simulator.close();
});

describe('callback adapter guards', () => {
  it('rejects a port that is not a number', async () => {
    const receiver = createCallbackReceiver();
    await expect(listenForCallbacks(receiver, { port: 'abc' as never })).rejects.toThrow('Invalid port "abc"');
    await expect(listenForCallbacks(receiver, { port: -1 })).rejects.toThrow(RunflowInputError);
  });

  it('rejects a path without a leading slash', async () => {
    await expect(listenForCallbacks(createCallbackReceiver(), { path: 'cb' })).rejects.toThrow(
      'expected a URL path starting with "/"',
    );
  });

  it('logs a body over the limit that the adapter stopped reading', async () => {
    warnings.length = 0;
    const receiver = createCallbackReceiver({ maxBodyBytes: 100, logger });
    const server = await listenForCallbacks(receiver);
    try {
      const response = await fetch(server.url, { method: 'POST', body: 'x'.repeat(5000) });
      expect(response.status).toBe(413);
      expect(warnings.map((warning) => warning.message)).toContain('Rejected a callback larger than the limit');
    } finally {
      await server.close();
    }
  });
});

describe('runs watched with a receiver', () => {
  it('warn when the run has no callbackUrl', () => {
    warnings.length = 0;
    client.run('openai/gpt-image-1.5', { input: { prompt: 'x' } }, { callbacks: createCallbackReceiver() });
    expect(warnings.some((warning) => warning.message.includes('has no callbackUrl'))).toBe(true);
  });

  it('poll at the normal interval after the receiver closes', async () => {
    const receiver = createCallbackReceiver();
    const pending = collect(
      client.run(
        'openai/gpt-image-1.5',
        { input: { prompt: 'x' } },
        { callbacks: receiver, safetyNetIntervalMs: 600_000 },
      ),
    );
    receiver.close();
    const { completed, events } = await pending;
    expect(completed).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'succeeded' });
  });
});

describe('split batch create', () => {
  it('names the created batches and the failed inputs when a later request fails', async () => {
    const input = Array.from({ length: 150 }, (_, i) => (i === 120 ? { nope: 1 } : { prompt: `p${i}` }));
    const error = await lastValueFrom(client.batches.create('openai/gpt-image-1.5', { input })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RunflowBatchCreateError);
    expect(isRunflowBatchCreateError(error)).toBe(true);
    const batchError = error as RunflowBatchCreateError;
    expect(batchError.createdBatchIds).toHaveLength(1);
    expect(batchError.firstInput).toBe(100);
    expect(batchError.lastInput).toBe(149);
    expect(batchError.message).toContain('Batch request for inputs 100 to 149 failed after 1 batch(es) were created');
  });
});

describe('runBatch items', () => {
  it('treats a field named request without input as model input', async () => {
    const requests: unknown[] = [];
    const fake = {
      run: (_model: string, request: unknown) => {
        requests.push(request);
        return client.run('openai/gpt-image-1.5', { input: { prompt: 'x' } });
      },
    };
    await lastValueFrom(
      runBatch(fake, 'openai/gpt-image-1.5', [{ request: {}, prompt: 'x' }], { concurrency: Infinity }),
    );
    expect(requests).toEqual([{ input: { request: {}, prompt: 'x' } }]);
  });

  it('rejects a bad model id before any run', () => {
    expect(() => runBatch(client, '../x', [{ prompt: 'x' }])).toThrow('segment 1 is ".."');
  });
});
