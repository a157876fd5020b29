import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { createRunflowClient, type RunflowClient } from '../client.js';
import type { Run } from '../codecs/run.js';
import {
  isRunFailedError,
  isRunflowConnectionError,
  isRunflowError,
  isRunflowHttpError,
  isRunflowInputError,
  isRunTimeoutError,
} from '../errors.js';
import type { RunEvent } from '../run/events.js';
import { MAX_TIMER_MS } from '../run/config.js';
import { startSimulator, type Simulator } from '../testing/index.js';
import { EventFormatter, formatOutputs } from './format.js';

/** Exit codes of the runflow-rx command. */
export const EXIT = {
  succeeded: 0,
  /** The run failed, or a request to the API failed. */
  failed: 1,
  usage: 2,
  canceled: 3,
  /** Interrupted by Ctrl-C (SIGINT), as shells report 128 + 2. */
  interrupted: 130,
} as const;

/** Output streams, environment and interrupt signal of one CLI invocation. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted on Ctrl-C: the CLI stops watching, closes the simulator and exits with 130. Aborted
   * with the reason OUTPUT_CLOSED, it does the same silently and exits with 0.
   */
  readonly signal?: AbortSignal;
}

const DEMO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';
const DEMO_INPUT = { prompt: 'A paper boat drifting down a rain-soaked street at dusk', duration_s: 5 };

const USAGE = `Usage:
  runflow-rx demo [--time-scale N] [--json]
      Start the embedded Runflow simulator and watch a multi-step video run to its end.
  runflow-rx run <model_id> --input <json|@file.json> [options]
      Create a run of <model_id> and print its status changes, steps and log lines.

Options:
  --input <json|@file>   Model input as inline JSON or @path to a JSON file (run only).
  --simulate             Use the embedded simulator even when RUNFLOW_API_KEY is set.
  --time-scale <n>       Simulator speed: simulated ms per real ms (default 1; simulator only).
  --base-url <url>       API base URL (default: RUNFLOW_BASE_URL, else https://api.runflow.io;
                         needs RUNFLOW_API_KEY).
  --timeout-ms <ms>      Stop watching after this many milliseconds and exit with 1.
  --max-attempts <n>     Attempts per request before a network error or 5xx is final (default 5).
  --json                 Print one JSON event per line instead of text.
  -h, --help             Show this help.

Environment:
  RUNFLOW_API_KEY        API key; without it the embedded simulator is used.
  RUNFLOW_BASE_URL       API base URL.

Exit codes: 0 succeeded (also partial success), 1 failed (the run, a request, or --timeout-ms),
2 usage error, 3 canceled, 130 interrupted.
`;

class UsageError extends Error {}

/**
 * Abort reason for a closed stdout, as when the output is piped into `head`: the CLI stops
 * watching and exits quietly with 0.
 */
export const OUTPUT_CLOSED = 'output closed';

/** Runs the CLI with `argv` (without the node and script paths) and resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let options: ParsedOptions;
  try {
    options = await parseOptions(argv);
  } catch (error) {
    io.stderr.write(`runflow-rx: ${(error as Error).message}\nRun "runflow-rx --help" for usage.\n`);
    return EXIT.usage;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return EXIT.succeeded;
  }

  let simulator: Simulator | undefined;
  try {
    const apiKey = io.env['RUNFLOW_API_KEY'];
    let client: RunflowClient;
    const simulate = options.simulate || apiKey === undefined || apiKey === '';
    if (simulate && options.baseUrl !== undefined) {
      throw new UsageError(
        '--base-url needs RUNFLOW_API_KEY: without a key (or with --simulate) the embedded simulator is used',
      );
    }
    if (!simulate && options.timeScale !== undefined) {
      throw new UsageError(
        '--time-scale applies only to the embedded simulator: add --simulate or unset RUNFLOW_API_KEY',
      );
    }
    if (simulate) {
      simulator = await startSimulator({ timeScale: options.timeScale ?? 1 });
      io.stderr.write(
        `runflow-rx: ${simulatorReason(options)}; ` +
          `using the embedded Runflow simulator at ${simulator.url} (simulated runs, no network)\n`,
      );
      client = createRunflowClient({
        apiKey: simulator.apiKey,
        baseUrl: simulator.url,
        poll: { intervalMs: 250, maxIntervalMs: 1000 },
        retry: { maxAttempts: options.maxAttempts },
      });
    } else {
      client = createRunflowClient({
        apiKey,
        baseUrl: options.baseUrl ?? io.env['RUNFLOW_BASE_URL'],
        retry: { maxAttempts: options.maxAttempts },
      });
    }
    return await watchToEnd(client, options, io);
  } catch (error) {
    io.stderr.write(`runflow-rx: ${describeError(error, options)}\n`);
    if (error instanceof UsageError) io.stderr.write('Run "runflow-rx --help" for usage.\n');
    return isRunflowInputError(error) || error instanceof UsageError ? EXIT.usage : EXIT.failed;
  } finally {
    await simulator?.close();
  }
}

function simulatorReason(options: ParsedOptions): string {
  if (options.command === 'demo') return 'demo';
  return options.simulate ? '--simulate given' : 'RUNFLOW_API_KEY is not set';
}

interface ParsedOptions {
  readonly command: 'demo' | 'run' | 'help';
  readonly help: boolean;
  readonly modelId: string;
  readonly input: Record<string, unknown>;
  readonly simulate: boolean;
  readonly timeScale: number | undefined;
  readonly baseUrl: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly maxAttempts: number | undefined;
  readonly json: boolean;
}

async function parseOptions(argv: readonly string[]): Promise<ParsedOptions> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      input: { type: 'string' },
      simulate: { type: 'boolean', default: false },
      'time-scale': { type: 'string' },
      'base-url': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'max-attempts': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  const common = {
    help: values.help === true || command === 'help',
    simulate: values.simulate === true,
    timeScale: values['time-scale'] === undefined ? undefined : positiveNumber('--time-scale', values['time-scale']),
    baseUrl: values['base-url'],
    timeoutMs: values['timeout-ms'] === undefined ? undefined : milliseconds('--timeout-ms', values['timeout-ms']),
    maxAttempts: values['max-attempts'] === undefined ? undefined : attempts(values['max-attempts']),
    json: values.json === true,
  };
  if (common.help || command === undefined) {
    if (command === undefined && !common.help)
      throw new UsageError('missing command: expected "demo" or "run <model_id>"');
    return { ...common, command: 'help', help: true, modelId: '', input: {} };
  }
  if (command === 'demo') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" after demo`);
    if (values.input !== undefined)
      throw new UsageError('--input is not used by demo; use "run <model_id> --input ..."');
    return { ...common, command: 'demo', simulate: true, modelId: DEMO_MODEL, input: DEMO_INPUT };
  }
  if (command === 'run') {
    const [modelId, extra] = rest;
    if (modelId === undefined)
      throw new UsageError(
        'missing <model_id>, e.g. runflow-rx run openai/gpt-image-1.5 --input \'{"prompt":"a cat"}\'',
      );
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" after the model id`);
    if (values.input === undefined) throw new UsageError('missing --input: pass the model input as JSON or @file.json');
    return { ...common, command: 'run', modelId, input: await readInput(values.input) };
  }
  throw new UsageError(`unknown command "${command}": expected "demo" or "run"`);
}

function milliseconds(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new UsageError(`invalid ${flag} "${raw}": expected a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
  }
  return value;
}

function attempts(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 1 || value > 100) {
    throw new UsageError(`invalid --max-attempts "${raw}": expected a whole number from 1 to 100`);
  }
  return value;
}

function positiveNumber(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`invalid ${flag} "${raw}": expected a number greater than 0`);
  }
  return value;
}

async function readInput(raw: string): Promise<Record<string, unknown>> {
  let text = raw;
  let source = '--input';
  if (raw.startsWith('@')) {
    const path = raw.slice(1);
    source = `--input file "${path}"`;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `invalid ${source}: not valid JSON (${(error as Error).message}); pass an object such as '{"prompt":"a cat"}'`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      `invalid ${source}: expected a JSON object such as {"prompt":"a cat"}, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

/** Subscribes to the run, prints every event, and resolves to the exit code when it ends. */
function watchToEnd(client: RunflowClient, options: ParsedOptions, io: CliIo): Promise<number> {
  const formatter = new EventFormatter();
  const print = (event: RunEvent): void => {
    io.stdout.write(`${options.json ? JSON.stringify(event) : formatter.format(event)}\n`);
  };
  const events$ = client.run(
    options.modelId,
    { input: options.input },
    options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
  );

  return new Promise<number>((resolve, reject) => {
    let runId: string | undefined;
    let finalRun: Run | undefined;
    const onAbort = (): void => {
      subscription.unsubscribe();
      if (io.signal?.reason === OUTPUT_CLOSED) {
        resolve(EXIT.succeeded);
        return;
      }
      io.stderr.write(
        `runflow-rx: interrupted; stopped watching${runId ? ` run ${runId}` : ''} (the run itself is not canceled)\n`,
      );
      resolve(EXIT.interrupted);
    };
    const finish = (settle: () => void): void => {
      io.signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const subscription = events$.subscribe({
      next: (event) => {
        runId = event.runId;
        if (event.type === 'status') finalRun = event.run;
        print(event);
      },
      complete: () => finish(() => resolve(reportEnd(finalRun, options, io))),
      error: (error: unknown) => finish(() => reject(error)),
    });
    if (io.signal?.aborted) onAbort();
    else if (!subscription.closed) io.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function reportEnd(run: Run | undefined, options: ParsedOptions, io: CliIo): number {
  if (run === undefined) return EXIT.failed;
  if (run.status_code === 'canceled') {
    io.stderr.write(`runflow-rx: run ${run.id} was canceled\n`);
    return EXIT.canceled;
  }
  if (!options.json) for (const line of formatOutputs(run)) io.stdout.write(`${line}\n`);
  if (run.status_code === 'partial_succeeded') {
    io.stderr.write(`runflow-rx: run ${run.id} partially succeeded: only some outputs were produced\n`);
  }
  return EXIT.succeeded;
}

function describeError(error: unknown, options: ParsedOptions): string {
  if (isRunFailedError(error)) {
    return (
      `run ${error.runId} failed: ${error.failureCode ?? 'no failure code'}` +
      ` at stage ${error.failureStage ?? 'unknown'}${error.failureMessage ? `: ${error.failureMessage}` : ''}`
    );
  }
  if (isRunflowHttpError(error)) {
    if (error.status === 401)
      return `the server rejected the API key (HTTP 401 ${error.code ?? ''}); check RUNFLOW_API_KEY`;
    if (error.code === 'MODEL_NOT_FOUND') return `unknown model "${options.modelId}" (HTTP 404); check the model id`;
    if (error.status === 422 && error.errors !== undefined && error.errors.length > 0) {
      return `the input was rejected (HTTP 422 ${error.code ?? ''}):\n${error.errors.map((entry) => `  ${describeFieldError(entry)}`).join('\n')}`;
    }
    return error.message;
  }
  if (isRunflowConnectionError(error)) {
    return `cannot reach ${new URL(error.url).origin}: ${error.message}; check --base-url or RUNFLOW_BASE_URL`;
  }
  if (isRunTimeoutError(error)) {
    return error.runId === undefined
      ? `no run was created within --timeout-ms ${error.timeoutMs}`
      : `gave up watching run ${error.runId} after --timeout-ms ${error.timeoutMs}; the run keeps going on the server`;
  }
  if (error instanceof UsageError) return error.message;
  if (isRunflowError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function describeFieldError(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return JSON.stringify(entry);
  const { loc, msg } = entry as { loc?: unknown; msg?: unknown };
  const where = Array.isArray(loc) ? loc.join('.') : undefined;
  return where !== undefined && typeof msg === 'string' ? `${where}: ${msg}` : JSON.stringify(entry);
}
