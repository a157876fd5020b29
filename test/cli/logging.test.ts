import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createStderrLogger } from '../../src/cli/logger.js';
import { EXIT } from '../../src/cli/main.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { cli, cliOnTerminal } from './helpers.js';

const SECRET_KEY = 'rf_live_cli_logging_secret_7c1f';
const RUN = ['run', 'openai/gpt-image-1.5', '--input', '{"prompt":"a lighthouse"}'];

describe('CLI logging', () => {
  let simulator: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50, apiKeys: [SECRET_KEY] });
    env = { RUNFLOW_API_KEY: SECRET_KEY, RUNFLOW_BASE_URL: simulator.url };
  });

  afterAll(async () => {
    await simulator.close();
  });

  /** Makes the next GET of a run respond with 503 and a 1 ms retry hint, so the client logs a retry. */
  function failNextPoll(): void {
    simulator.queueResponse({
      method: 'GET',
      path: /^\/v1\/runs/,
      status: 503,
      body: JSON.stringify({ code: 'INTERNAL_ERROR', message: 'try again', errors: null }),
      headers: { 'content-type': 'application/json', 'retry-after-ms': '1' },
    });
  }

  it('logs requests with --verbose without key', async () => {
    failNextPoll();
    const result = await cli([...RUN, '--verbose'], env);

    expect(result.code).toBe(EXIT.succeeded);
    const logLines = result.stderr.split('\n').filter((line) => line.startsWith('runflow-rx '));
    expect(logLines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^runflow-rx debug: HTTP request method=POST url=${simulator.url}/v1/models/openai/gpt-image-1\\.5/runs status=201 durationMs=\\d+$`,
        ),
      ),
    );
    expect(logLines).toContainEqual(
      expect.stringMatching(/^runflow-rx debug: HTTP request method=GET url=\S+ status=503 /),
    );
    expect(logLines).toContainEqual(
      expect.stringMatching(/^runflow-rx warn: Retrying a failed request method=GET url=\S+ attempt=1 .*delayMs=1\b/),
    );
    expect(logLines).toContainEqual(`runflow-rx info: Using the Runflow server baseUrl=${simulator.url}`);
    expect(result.stderr + result.stdout).not.toContain(SECRET_KEY);
    expect(result.stderr).not.toContain('Bearer');
  });

  it('logs only warnings without --verbose', async () => {
    failNextPoll();
    const result = await cli(RUN, env);

    expect(result.code).toBe(EXIT.succeeded);
    expect(result.stderr).toMatch(/^runflow-rx warn: Retrying a failed request /m);
    expect(result.stderr).not.toMatch(/^runflow-rx (debug|info):/m);
  });

  it('prints log lines above the live frame', async () => {
    failNextPoll();
    const { code, terminal } = await cliOnTerminal(RUN, { env });

    expect(code).toBe(EXIT.succeeded);
    const screen = terminal.screen();
    const warning = screen.findIndex((line) => line.startsWith('runflow-rx warn: Retrying a failed request'));
    const frameTop = screen.findIndex((line) => /^run \S+ {2}succeeded/.test(line));
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(frameTop).toBeGreaterThan(warning);
    expect(screen.filter((line) => line.startsWith('runflow-rx warn:'))).toHaveLength(1);
  });
});

describe('createStderrLogger', () => {
  it('writes key=value lines and redacts secrets', () => {
    const lines: string[] = [];
    const logger = createStderrLogger({ write: (line) => lines.push(line), verbose: false, secrets: [SECRET_KEY] });

    logger.warn('Request failed\nafter retries', {
      url: `http://127.0.0.1/v1/runs?key=${SECRET_KEY}`,
      attempt: 2,
      note: 'two words',
      authorization: 'anything',
      error: new Error('socket hang up'),
      skipped: undefined,
    });
    logger.info('not shown', { a: 1 });
    logger.debug('not shown');
    logger.error('Shared poll check failed', { issues: ['a: expected string'] });

    expect(lines).toEqual([
      'runflow-rx warn: Request failed after retries url="http://127.0.0.1/v1/runs?key=[redacted]" attempt=2 ' +
        'note="two words" authorization=[redacted] error="socket hang up"\n',
      'runflow-rx error: Shared poll check failed issues=["a: expected string"]\n',
    ]);
  });
});
