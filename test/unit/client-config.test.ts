import { describe, expect, it } from 'vitest';

import { DEFAULT_POLL, RunflowInputError, createRunflowClient } from '../../src/index.js';

const KEY = 'rf_live_secret_value';

function configError(config: Parameters<typeof createRunflowClient>[0]): RunflowInputError {
  try {
    createRunflowClient(config);
  } catch (error) {
    expect(error).toBeInstanceOf(RunflowInputError);
    return error as RunflowInputError;
  }
  throw new Error('expected createRunflowClient to throw');
}

describe('createRunflowClient settings', () => {
  it('requires an API key', () => {
    const saved = process.env['RUNFLOW_API_KEY'];
    delete process.env['RUNFLOW_API_KEY'];
    try {
      expect(configError({}).message).toBe(
        'Missing API key: pass apiKey to createRunflowClient or set RUNFLOW_API_KEY',
      );
    } finally {
      if (saved !== undefined) process.env['RUNFLOW_API_KEY'] = saved;
    }
  });

  it('rejects a key with whitespace without printing it', () => {
    const error = configError({ apiKey: `${KEY}\n` });
    expect(error.message).toContain('line breaks');
    expect(error.message).not.toContain(KEY);
  });

  it.each([
    ['ftp://api.runflow.io', 'expected an absolute http or https URL'],
    ['api.runflow.io', 'expected an absolute http or https URL'],
    ['http://127.0.0.1:8080/?', 'remove the query or fragment'],
    ['http://127.0.0.1:8080/#', 'remove the query or fragment'],
    ['http://alice:hunter2@127.0.0.1:8080', 'remove the user name and password'],
    ['http://127.0.0.1:8080/v1', 'remove the trailing /v1'],
    ['http://127.0.0.1:8080/v1/', 'remove the trailing /v1'],
  ])('rejects baseUrl %s', (baseUrl, reason) => {
    const error = configError({ apiKey: KEY, baseUrl });
    expect(error.message).toContain(reason);
  });

  it('keeps a path prefix and drops the trailing slash', () => {
    expect(createRunflowClient({ apiKey: KEY, baseUrl: 'http://127.0.0.1:8080/proxy/runflow/' }).baseUrl).toBe(
      'http://127.0.0.1:8080/proxy/runflow',
    );
  });

  it('names NaN and Infinity as they are', () => {
    expect(configError({ apiKey: KEY, requestTimeoutMs: Number.NaN }).message).toContain('requestTimeoutMs NaN');
    expect(configError({ apiKey: KEY, poll: { backoffFactor: Infinity } }).message).toContain(
      'poll.backoffFactor Infinity',
    );
  });

  it('names the interval a too small maximum is compared with', () => {
    expect(configError({ apiKey: KEY, poll: { maxIntervalMs: 10 } }).message).toBe(
      'Invalid poll.maxIntervalMs 10: expected a number of milliseconds from poll.intervalMs (1000) to 2147483647',
    );
  });

  it('rejects an unknown poll mode', () => {
    expect(configError({ apiKey: KEY, poll: { mode: 'fast' as never } }).message).toContain('poll.mode "fast"');
  });

  it('keeps the defaults frozen', () => {
    expect(Object.isFrozen(DEFAULT_POLL)).toBe(true);
  });

  it('has no property containing the key', () => {
    const client = createRunflowClient({ apiKey: KEY, baseUrl: 'http://127.0.0.1:8080' });
    expect(JSON.stringify(client)).not.toContain(KEY);
  });

  it.each([
    [{ pol: {} }, 'Unknown createRunflowClient option "pol": did you mean "poll"?'],
    [{ poll: { interval: 5 } }, 'Unknown poll option "interval": did you mean "intervalMs"?'],
    [{ retry: { maxAttemps: 3 } }, 'Unknown retry option "maxAttemps": did you mean "maxAttempts"?'],
    [{ budget: { rps: 3 } }, 'Unknown budget option "rps"'],
  ])('rejects the misspelled option in %j', (config, message) => {
    expect(configError({ apiKey: KEY, ...(config as object) }).message).toContain(message);
  });

  it('rejects a misspelled run option', () => {
    const client = createRunflowClient({ apiKey: KEY, baseUrl: 'http://127.0.0.1:8080' });
    expect(() => client.watch('r1', { timeout: 5 } as never)).toThrow(
      'Unknown run option "timeout": did you mean "timeoutMs"?',
    );
  });
});
