import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT, OUTPUT_CLOSED, main } from '../../src/cli/main.js';
import { startSimulator } from '../../src/testing/index.js';
import { startRawServer } from '../integration/helpers.js';
import { FAST, cli, startGuardServer, withGuard } from './helpers.js';

let guard: Awaited<ReturnType<typeof startGuardServer>>;

beforeAll(async () => {
  guard = await startGuardServer();
});

afterAll(async () => {
  await guard.close();
});

describe('runflow-rx demo', () => {
  it('watches the multi-step run to success on the embedded simulator', async () => {
    const result = await cli(['demo', ...FAST]);
    expect(result.code).toBe(EXIT.succeeded);
    expect(result.stderr).toContain('runflow-rx: demo; using the embedded Runflow simulator at http://127.0.0.1:');
    const lines = result.stdout.trim().split('\n');
    const statusLines = lines.filter((line) => / run \S+ (queued|dispatching|running|succeeded)/.test(line));
    expect(statusLines[0]).toMatch(/ queued/);
    expect(statusLines.at(-1)).toMatch(/ succeeded \(\d+\/\d+ steps done\)$/);
    expect(lines.some((line) => /step 3 succeeded/.test(line))).toBe(true);
    expect(lines.some((line) => /^output 1: video http:\/\/127\.0\.0\.1:\d+\//.test(line))).toBe(true);
    expect(lines.filter((line) => /^\[\s*\d+\.\ds\]\s+(debug|info|warning|error)\s/.test(line)).length).toBeGreaterThan(
      3,
    );
  });

  it('prints NDJSON events with --json', async () => {
    const result = await cli(['demo', '--json', ...FAST]);
    expect(result.code).toBe(EXIT.succeeded);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; status?: string });
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'succeeded' });
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(['status', 'log', 'node-run']));
  });
});

describe('runflow-rx run', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runflow-rx-cli-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the input from @file', async () => {
    const file = join(dir, 'input.json');
    await writeFile(file, JSON.stringify({ prompt: 'a lighthouse' }));
    const result = await cli(['run', 'openai/gpt-image-1.5', '--input', `@${file}`, ...FAST]);
    expect(result.code).toBe(EXIT.succeeded);
    expect(result.stdout).toMatch(/output 1: image http:\/\/127\.0\.0\.1/);
  });

  it('prints code, stage and message of a failed run and exits 1', async () => {
    const input = JSON.stringify({
      prompt: 'x',
      simulate: { outcome: 'failed', failureCode: 'CONTENT_POLICY_VIOLATION', failureMessage: 'blocked' },
    });
    const result = await cli(['run', 'openai/gpt-image-1.5', '--input', input, ...FAST]);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toMatch(/run \S+ failed: CONTENT_POLICY_VIOLATION at stage provider: blocked/);
  });

  it('exits 3 for a canceled run', async () => {
    const input = JSON.stringify({ prompt: 'x', simulate: { outcome: 'canceled' } });
    const result = await cli(['run', 'openai/gpt-image-1.5', '--input', input, ...FAST]);
    expect(result.code).toBe(EXIT.canceled);
    expect(result.stderr).toMatch(/run \S+ was canceled/);
  });

  it.each([
    [['run', 'openai/gpt-image-1.5', '--input', '{prompt'], 'invalid --input: not valid JSON'],
    [['run', 'openai/gpt-image-1.5', '--input', '[1]'], 'expected a JSON object'],
    [
      ['run', 'openai/gpt-image-1.5', '--input', '@/nonexistent/input.json'],
      'cannot read --input file "/nonexistent/input.json": ENOENT',
    ],
    [['run', 'openai/gpt-image-1.5'], 'missing --input'],
    [['run'], 'missing <model_id>'],
    [['launch'], 'unknown command "launch"'],
    [['demo', '--time-scale', 'fast'], 'invalid --time-scale "fast"'],
    [['run', 'openai//gpt', '--input', '{}', ...FAST], 'segment 2 is empty'],
    [['demo', '--colour'], "Unknown option '--colour'"],
    [['demo', '--timeout-ms', '0.5'], 'invalid --timeout-ms "0.5": expected a whole number of milliseconds'],
    [['demo', '--timeout-ms', '1e12'], 'invalid --timeout-ms "1e12"'],
    [['demo', '--base-url', '<guard>'], '--base-url does not apply to demo'],
    [['run', 'openai/gpt-image-1.5', '--input', '{}', '--base-url', '<guard>'], '--base-url needs RUNFLOW_API_KEY'],
    [['run', 'openai/gpt-image-1.5', '--input', '{}', '--inputs', 'a.jsonl'], '--inputs does not apply to run'],
    [['run', 'openai/gpt-image-1.5', 'extra', '--input', '{}'], 'unexpected argument "extra" after the model id'],
    [['demo', '--json', '--plain'], '--json and --plain cannot be combined'],
    [['demo', 'now'], 'unexpected argument "now" after demo'],
    [[], 'missing command'],
    [['help', 'launch'], 'unknown help topic "launch"'],
    [['demo', '--max-attempts', '0'], 'invalid --max-attempts "0"'],
  ])('usage error for %j', async (argv, message) => {
    const result = await cli(withGuard(argv, guard.url));
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(message);
    expect(guard.requests()).toBe(0);
  });

  it('rejects --time-scale against a real server', async () => {
    const result = await cli(['run', 'openai/gpt-image-1.5', '--input', '{}', '--time-scale', '5'], {
      RUNFLOW_API_KEY: 'rf_test',
      RUNFLOW_BASE_URL: guard.url,
    });
    expect(guard.requests()).toBe(0);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('--time-scale applies only to the embedded simulator');
  });

  it('exits 1 when --timeout-ms passes', async () => {
    const result = await cli(['demo', '--timeout-ms', '50']);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toMatch(/gave up watching run \S+ after --timeout-ms 50; the run keeps going on the server/);
  });

  it('exits 0 quietly when the output is closed', async () => {
    const interrupt = new AbortController();
    let stderr = '';
    const code = await main(['demo'], {
      stdout: { write: (text: string) => text.includes(' queued') && interrupt.abort(OUTPUT_CLOSED) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      signal: interrupt.signal,
    });
    expect(code).toBe(EXIT.succeeded);
    expect(stderr).not.toContain('interrupted');
  });

  it('names an unknown model', async () => {
    const result = await cli(['run', 'nobody/no-such-model', '--input', '{"prompt":"x"}', ...FAST]);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('unknown model "nobody/no-such-model"');
  });

  it('lists the fields of a rejected input', async () => {
    const result = await cli(['run', 'openai/gpt-image-1.5', '--input', '{"width":3}', ...FAST]);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('the input was rejected (HTTP 422');
    expect(result.stderr).toMatch(/body\.input\.prompt: /);
  });

  it('talks to the server named by RUNFLOW_BASE_URL when RUNFLOW_API_KEY is set', async () => {
    const simulator = await startSimulator({ timeScale: 50 });
    try {
      const env = { RUNFLOW_API_KEY: simulator.apiKey, RUNFLOW_BASE_URL: simulator.url };
      const result = await cli(['run', 'openai/gpt-image-1.5', '--input', '{"prompt":"x"}'], env);
      expect(result.code).toBe(EXIT.succeeded);
      expect(result.stderr).not.toContain('embedded');
      expect(simulator.requestCount({ method: 'POST' })).toBe(1);
    } finally {
      await simulator.close();
    }
  });

  it('reports a rejected key without printing it', async () => {
    const simulator = await startSimulator();
    try {
      const key = 'rf_live_not_a_real_key';
      const result = await cli(['run', 'openai/gpt-image-1.5', '--input', '{"prompt":"x"}'], {
        RUNFLOW_API_KEY: key,
        RUNFLOW_BASE_URL: simulator.url,
      });
      expect(result.code).toBe(EXIT.failed);
      expect(result.stderr).toContain('the server rejected the API key (HTTP 401');
      expect(result.stderr + result.stdout).not.toContain(key);
    } finally {
      await simulator.close();
    }
  });

  it('names an unreachable server', async () => {
    // A port that was just closed: nothing listens there.
    const server = await startRawServer(() => {});
    await server.close();
    const result = await cli(['run', 'openai/gpt-image-1.5', '--input', '{"prompt":"x"}', '--max-attempts', '1'], {
      RUNFLOW_API_KEY: 'rf_test',
      RUNFLOW_BASE_URL: server.url,
    });
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain(`cannot reach ${server.url}`);
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('stops watching on interrupt and exits 130', async () => {
    const interrupt = new AbortController();
    let stdout = '';
    let stderr = '';
    const code = await main(['demo'], {
      stdout: {
        write: (text: string) => {
          stdout += text;
          if (text.includes(' queued')) interrupt.abort();
        },
      },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      signal: interrupt.signal,
    });
    expect(code).toBe(EXIT.interrupted);
    expect(stderr).toMatch(/interrupted; stopped watching run \S+ \(the run itself is not canceled\)/);
    expect(stdout).not.toContain('succeeded');
  });
});

describe('runflow-rx --help', () => {
  it('lists every command in the general help', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(EXIT.succeeded);
    for (const command of ['run', 'watch', 'batch', 'simulator', 'demo']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(result.stderr).toBe('');
  });

  it.each([
    ['run', '--input <json|@file>'],
    ['watch', 'watch needs RUNFLOW_API_KEY'],
    ['batch', '--concurrency <n>'],
    ['simulator', 'RUNFLOW_BASE_URL=http://127.0.0.1:<port>'],
    ['demo', 'bytedance/seedance/2.0/fast/text-to-video'],
  ])('prints the help of %s', async (command, text) => {
    const result = await cli([command, '--help']);
    expect(result.code).toBe(EXIT.succeeded);
    expect(result.stdout.startsWith(`Usage: runflow-rx ${command}`)).toBe(true);
    expect(result.stdout).toContain(text);
  });

  it('prints command help before other checks', async () => {
    const viaHelp = await cli(['help', 'batch']);
    const withoutModel = await cli(['batch', '-h']);
    expect(viaHelp.code).toBe(EXIT.succeeded);
    expect(withoutModel.code).toBe(EXIT.succeeded);
    expect(viaHelp.stdout).toBe(withoutModel.stdout);
    expect(viaHelp.stdout.startsWith('Usage: runflow-rx batch')).toBe(true);
  });

  it('points usage errors to command help', async () => {
    const result = await cli(['run', 'openai/gpt-image-1.5']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('Run "runflow-rx run --help" for usage.');
  });
});
