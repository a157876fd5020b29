import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT, main } from '../../src/cli/main.js';
import { startSimulator } from '../../src/testing/index.js';
import { startRawServer, until } from '../integration/helpers.js';
import { FAST, cli } from './helpers.js';

const MODEL = 'openai/gpt-image-1.5';

interface JsonEvent {
  type: 'item-event' | 'item-outcome' | 'summary';
  index?: number;
  event?: { type: string; runId: string; status?: string; attempt?: number };
  outcome?: { status: string; failureCode?: string };
  summary?: Record<string, number>;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runflow-rx-batch-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;

/** Writes a JSONL file: each entry is one line, a value is JSON-encoded and a string is written as it is. */
async function jsonl(lines: ReadonlyArray<object | string>): Promise<string> {
  const path = join(dir, `inputs-${++fileCount}.jsonl`);
  await writeFile(path, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n'));
  return path;
}

const succeeds = { prompt: 'a fox' };
const fails = {
  prompt: 'x',
  simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR', failureMessage: 'GPU lost' },
};
const cancels = { prompt: 'x', simulate: { outcome: 'canceled' } };
const partial = { prompt: 'x', simulate: { outcome: 'partial_succeeded' } };

function parseEvents(stdout: string): JsonEvent[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JsonEvent);
}

describe('runflow-rx batch', () => {
  it('mixed batch prints outcomes and summary', async () => {
    const path = await jsonl([succeeds, { ...succeeds, client_ref: 'fox-2' }, '', fails, '   ', cancels, partial]);
    const result = await cli(['batch', MODEL, '--inputs', path, ...FAST]);

    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('runflow-rx: RUNFLOW_API_KEY is not set; using the embedded Runflow simulator');
    expect(result.stdout).toMatch(
      /item 1 \(line 1\) succeeded \(run \S+\)\n.*  output 1: image http:\/\/127\.0\.0\.1:\d+\//,
    );
    expect(result.stdout).toMatch(/item 2 \(line 2, fox-2\) succeeded \(run \S+\)/);
    expect(result.stdout).toMatch(/item 3 \(line 4\) failed \(run \S+\): PROVIDER_ERROR at stage provider: GPU lost/);
    expect(result.stdout).toMatch(/item 4 \(line 6\) canceled \(run \S+\)/);
    expect(result.stdout).toMatch(/item 5 \(line 7\) partially succeeded \(run \S+\)/);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      'summary total=5 succeeded=2 failed=1 cancelled=1 partial=1',
    );
    expect(result.stderr).toContain('runflow-rx: 1 of 5 items failed');
  });

  it('exits 3 for canceled items', async () => {
    const path = await jsonl([succeeds, cancels]);
    const result = await cli(['batch', MODEL, '--inputs', path, ...FAST]);
    expect(result.code).toBe(EXIT.canceled);
    expect(result.stdout).toContain('summary total=2 succeeded=1 failed=0 cancelled=1 partial=0');
    expect(result.stderr).toContain('1 of 2 items were canceled and none failed');
  });

  it('exits 0 for partial successes', async () => {
    const path = await jsonl([succeeds, partial]);
    const result = await cli(['batch', MODEL, '--inputs', path, ...FAST]);
    expect(result.code).toBe(EXIT.succeeded);
    expect(result.stdout).toContain('summary total=2 succeeded=1 failed=0 cancelled=0 partial=1');
  });

  it('prints runBatch events with --json', async () => {
    const path = await jsonl([succeeds, fails]);
    const result = await cli(['batch', MODEL, '--inputs', path, '--json', ...FAST]);

    expect(result.code).toBe(EXIT.failed);
    const events = parseEvents(result.stdout);
    expect(events.at(-1)).toEqual({
      type: 'summary',
      summary: { total: 2, succeeded: 1, failed: 1, cancelled: 0, partial: 0 },
    });
    const outcomes = events.filter((event) => event.type === 'item-outcome');
    expect(outcomes.map((event) => [event.index, event.outcome?.status])).toEqual(
      expect.arrayContaining([
        [0, 'succeeded'],
        [1, 'failed'],
      ]),
    );
    expect(outcomes.find((event) => event.index === 1)?.outcome?.failureCode).toBe('PROVIDER_ERROR');
    expect(events.some((event) => event.type === 'item-event' && event.event?.type === 'log')).toBe(true);
    expect(result.stdout).not.toContain('summary total=');
  });

  it('runs items one by one with --concurrency 1', async () => {
    const path = await jsonl([succeeds, succeeds, succeeds]);
    const result = await cli(['batch', MODEL, '--inputs', path, '--concurrency', '1', '--json', ...FAST]);

    expect(result.code).toBe(EXIT.succeeded);
    const order = parseEvents(result.stdout).flatMap((event) =>
      event.type === 'summary' ? [] : [`${event.type === 'item-outcome' ? 'end' : 'event'} ${event.index}`],
    );
    for (const index of [0, 1]) {
      expect(order.lastIndexOf(`end ${index}`)).toBeLessThan(order.indexOf(`event ${index + 1}`));
    }
  });

  it('retries failed items as new runs', async () => {
    const path = await jsonl([fails, succeeds]);
    const result = await cli([
      'batch',
      MODEL,
      '--inputs',
      path,
      '--retries',
      '2',
      '--retry-delay-ms',
      '1',
      '--json',
      ...FAST,
    ]);

    expect(result.code).toBe(EXIT.failed);
    const events = parseEvents(result.stdout);
    const retries = events.filter((event) => event.event?.type === 'retry');
    expect(retries.map((event) => [event.index, event.event?.attempt])).toEqual([
      [0, 1],
      [0, 2],
    ]);
    const runIds = new Set(
      events.filter((event) => event.index === 0 && event.event).map((event) => event.event?.runId),
    );
    expect(runIds.size).toBe(3);
    expect(result.stderr).toMatch(
      /runflow-rx warn: Retrying a failed run with a new run runId=\S+ attempt=1 maxAttempts=3/,
    );
  });

  it('prints retries as plain lines', async () => {
    const path = await jsonl([fails]);
    const result = await cli(['batch', MODEL, '--inputs', path, '--retries', '1', '--retry-delay-ms', '1', ...FAST]);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toMatch(/item 1 \(line 1\) run \S+ failed with PROVIDER_ERROR; attempt 2 of 2 starts in/);
    expect(result.stdout).toContain('summary total=1 succeeded=0 failed=1 cancelled=0 partial=0');
  });

  it('names the first bad line', async () => {
    const path = await jsonl([succeeds, '', '{"prompt": "unterminated', '[1, 2]']);
    const result = await cli(['batch', MODEL, '--inputs', path, ...FAST]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(`invalid --inputs file "${path}" line 3: not valid JSON`);
    expect(result.stderr.split('\n').filter((line) => line.includes('line 4'))).toEqual([]);
    expect(result.stderr).toContain('Run "runflow-rx batch --help" for usage.');
    expect(result.stdout).toBe('');
  });

  it.each([
    [['[1, 2]'], 'line 1: expected a JSON object such as {"prompt":"a cat"}, got an array'],
    [['{"prompt":"a"}', '"text"'], 'line 2: expected a JSON object such as {"prompt":"a cat"}, got "text"'],
    [['{"prompt":"a","client_ref":7}'], 'line 1: client_ref must be a non-empty string, got 7'],
    [['', '  '], 'contains no inputs'],
  ])('rejects the inputs file %j', async (lines, message) => {
    const path = await jsonl(lines);
    const result = await cli(['batch', MODEL, '--inputs', path, ...FAST]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
  });

  it.each([
    [['--concurrency', '0'], 'invalid --concurrency "0": expected a whole number of at least 1'],
    [['--concurrency', '1.5'], 'invalid --concurrency "1.5"'],
    [['--retries=-1'], 'invalid --retries "-1": expected a whole number from 0 to 99'],
    [['--retries', '100'], 'invalid --retries "100"'],
    [['--retry-delay-ms', '5'], '--retry-delay-ms needs --retries with a number above 0'],
    [['--input', '{}'], '--input does not apply to batch'],
  ])('usage error for %j', async (flags, message) => {
    const path = await jsonl([succeeds]);
    const result = await cli(['batch', MODEL, '--inputs', path, ...flags]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('embedded Runflow simulator');
  });

  it.each([
    [['batch', MODEL], 'missing --inputs'],
    [['batch', '--inputs', 'x.jsonl'], 'missing <model_id>'],
    [
      ['batch', MODEL, '--inputs', '/nonexistent/inputs.jsonl'],
      'cannot read --inputs file "/nonexistent/inputs.jsonl": ENOENT',
    ],
  ])('usage error for %j', async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
  });

  it('names an unknown model on each item', async () => {
    const path = await jsonl([succeeds, succeeds]);
    const result = await cli(['batch', 'nobody/no-such-model', '--inputs', path, ...FAST]);
    expect(result.code).toBe(EXIT.failed);
    expect(
      result.stdout.match(/failed: unknown model "nobody\/no-such-model" \(HTTP 404\); check the model id/g),
    ).toHaveLength(2);
  });

  it('names an unreachable server on each item', async () => {
    const server = await startRawServer(() => {});
    await server.close();
    const path = await jsonl([succeeds]);
    const result = await cli(['batch', MODEL, '--inputs', path, '--max-attempts', '1'], {
      RUNFLOW_API_KEY: 'rf_test',
      RUNFLOW_BASE_URL: server.url,
    });
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toContain(`item 1 (line 1) failed: cannot reach ${server.url}`);
    expect(result.stdout).toContain('ECONNREFUSED');
  });

  it('aborts the requests in flight on interrupt', async () => {
    const simulator = await startSimulator({ timeScale: 0 });
    try {
      // Every create is held until the client gives up on it.
      simulator.injectFault({
        method: 'POST',
        path: /\/runs$/,
        times: Infinity,
        fault: { kind: 'slow', delayMs: Infinity },
      });
      const path = await jsonl([succeeds, succeeds, succeeds]);
      const interrupt = new AbortController();
      const exit = cli(
        ['batch', MODEL, '--inputs', path, '--concurrency', '2'],
        { RUNFLOW_API_KEY: simulator.apiKey, RUNFLOW_BASE_URL: simulator.url },
        interrupt.signal,
      );
      await until(() => simulator.inFlightRequests() === 2);
      interrupt.abort();

      expect((await exit).code).toBe(EXIT.interrupted);
      await until(() => simulator.inFlightRequests() === 0);
      expect(simulator.requestCount({ method: 'POST' })).toBe(2);
    } finally {
      await simulator.close();
    }
  });

  it('exits 130 on interrupt', async () => {
    const path = await jsonl([succeeds, { prompt: 'slow', simulate: { slow: 1000 } }]);
    const interrupt = new AbortController();
    let stdout = '';
    let stderr = '';
    const code = await main(['batch', MODEL, '--inputs', path, ...FAST], {
      stdout: {
        write: (text: string) => {
          stdout += text;
          if (text.includes('item 1 (line 1) succeeded')) interrupt.abort();
        },
      },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      signal: interrupt.signal,
    });
    expect(code).toBe(EXIT.interrupted);
    expect(stderr).toContain(
      'runflow-rx: interrupted after 1 of 2 items ended; stopped watching the rest (runs already created are not canceled)',
    );
    expect(stdout).not.toContain('summary');
  });
});
