import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT, main } from '../../src/cli/main.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { startRawServer, until } from '../integration/helpers.js';
import { cli, startGuardServer, withGuard } from './helpers.js';

async function createRun(simulator: { url: string; apiKey: string }, input: object): Promise<string> {
  const response = await fetch(`${simulator.url}/v1/models/openai/gpt-image-1.5/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${simulator.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('runflow-rx watch', () => {
  let simulator: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 0 });
    env = { RUNFLOW_API_KEY: simulator.apiKey, RUNFLOW_BASE_URL: simulator.url };
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('prints a finished run', async () => {
    const runId = await createRun(simulator, { prompt: 'a lighthouse' });
    simulator.advanceTime(60_000);
    const result = await cli(['watch', runId], env);
    expect(result.code).toBe(EXIT.succeeded);
    expect(result.stdout).toMatch(new RegExp(`run ${runId} succeeded`));
    expect(result.stdout).toMatch(/^output 1: image http:\/\/127\.0\.0\.1:\d+\//m);
    expect(result.stderr).not.toContain('embedded');
  });

  it('exits 1 for a failed run', async () => {
    const runId = await createRun(simulator, {
      prompt: 'x',
      simulate: { outcome: 'failed', failureCode: 'PROVIDER_TIMEOUT' },
    });
    simulator.advanceTime(60_000);
    const result = await cli(['watch', runId, '--json'], env);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toMatch(new RegExp(`run ${runId} failed: PROVIDER_TIMEOUT at stage provider`));
    const last = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { type: string; status: string };
    expect(last).toMatchObject({ type: 'status', status: 'failed' });
  });

  it('prefers --base-url over RUNFLOW_BASE_URL', async () => {
    const guard = await startGuardServer();
    try {
      const runId = await createRun(simulator, { prompt: 'a lighthouse' });
      simulator.advanceTime(60_000);
      const result = await cli(['watch', runId, '--base-url', simulator.url], { ...env, RUNFLOW_BASE_URL: guard.url });
      expect(result.code).toBe(EXIT.succeeded);
      expect(guard.requests()).toBe(0);
    } finally {
      await guard.close();
    }
  });

  it('names an unknown run id', async () => {
    const runId = '01900000-0000-7000-8000-000000000000';
    const result = await cli(['watch', runId], env);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain(`run "${runId}" not found (HTTP 404 RUN_NOT_FOUND); check the run id`);
  });

  it('rejects a blank run id before any request', async () => {
    const before = simulator.requestCount();
    const result = await cli(['watch', ' '], env);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('Invalid run id " ": expected a non-empty string');
    expect(simulator.requestCount()).toBe(before);
  });

  it.each([
    [['watch', 'some-run'], {}, 'watch needs RUNFLOW_API_KEY'],
    [['watch', 'some-run', '--base-url', '<guard>'], {}, 'watch needs RUNFLOW_API_KEY'],
    [['watch', 'some-run', '--simulate'], {}, '--simulate does not apply to watch'],
    [['watch', 'some-run', '--time-scale', '5'], {}, '--time-scale does not apply to watch'],
    [['watch'], {}, 'missing <run_id>'],
    [['watch', 'a', 'b'], {}, 'unexpected argument "b" after the run id'],
  ])('usage error for %j', async (argv, env, message) => {
    const result = await cli(withGuard(argv, simulator.url), env);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
  });
});

describe('runflow-rx simulator', () => {
  it('serves printed URL and key until aborted', async () => {
    const interrupt = new AbortController();
    let stdout = '';
    let stderr = '';
    const exit = main(['simulator', '--time-scale', '50'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      signal: interrupt.signal,
    });
    await until(() => stdout.split('\n').length >= 3);

    const baseUrl = /^RUNFLOW_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
    const apiKey = /^RUNFLOW_API_KEY=(\S+)$/m.exec(stdout)?.[1];
    expect(baseUrl).toBeDefined();
    expect(apiKey).toBeDefined();
    expect(stderr).toContain(`simulator listening at ${baseUrl} (time scale 50); press Ctrl-C to stop`);

    const server = { url: baseUrl!, apiKey: apiKey! };
    const runId = await createRun(server, { prompt: 'a lighthouse' });
    const watched = await cli(['watch', runId], { RUNFLOW_API_KEY: apiKey, RUNFLOW_BASE_URL: baseUrl });
    expect(watched.code).toBe(EXIT.succeeded);
    expect(watched.stdout).toContain(`run ${runId} succeeded`);

    interrupt.abort();
    expect(await exit).toBe(EXIT.succeeded);
    expect(stderr).toContain('runflow-rx: stopping the simulator');
    await expect(fetch(`${baseUrl}/v1/runs/${runId}`)).rejects.toThrow();
  });

  it('exits 1 for a port in use', async () => {
    const taken = await startRawServer(() => {});
    try {
      const port = new URL(taken.url).port;
      const result = await cli(['simulator', '--port', port], {}, new AbortController().signal);
      expect(result.code).toBe(EXIT.failed);
      expect(result.stderr).toContain(
        `cannot start the simulator on 127.0.0.1:${port}: EADDRINUSE; the port is in use, so choose another --port or 0 for a free one`,
      );
      expect(result.stdout).toBe('');
    } finally {
      await taken.close();
    }
  });

  it.each([
    [['simulator', '--port', '65536'], 'invalid --port "65536": expected a whole number from 0 to 65535'],
    [['simulator', '--time-scale', '0'], 'invalid --time-scale "0": expected a number greater than 0'],
    [['simulator', '--json'], '--json does not apply to simulator'],
    [['simulator', 'now'], 'unexpected argument "now" after simulator'],
  ])('usage error for %j', async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
  });
});
