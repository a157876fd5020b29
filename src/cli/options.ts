import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { MAX_TIMER_MS } from '../run/config.js';

/** The commands of runflow-rx. */
export const COMMANDS = ['run', 'watch', 'batch', 'simulator', 'demo'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** A command-line mistake: main() prints the message with a pointer to the help and exits with 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help the message points to, or undefined for the general help. */
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

/** Options shared by the commands that watch runs (run, watch, batch, demo). */
export interface ClientOptions {
  /** Use the embedded simulator even when RUNFLOW_API_KEY is set. */
  readonly simulate: boolean;
  readonly timeScale: number | undefined;
  readonly baseUrl: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly maxAttempts: number | undefined;
  readonly json: boolean;
  readonly plain: boolean;
  readonly verbose: boolean;
}

/** One model input of a batch, with the line of the JSONL file it came from (1-based). */
export interface BatchLine {
  readonly line: number;
  readonly input: Record<string, unknown>;
}

export type ParsedCommand =
  | { readonly command: 'help'; readonly topic: CommandName | undefined }
  | ({ readonly command: 'demo'; readonly modelId: string; readonly input: Record<string, unknown> } & ClientOptions)
  | ({ readonly command: 'run'; readonly modelId: string; readonly input: Record<string, unknown> } & ClientOptions)
  | ({ readonly command: 'watch'; readonly runId: string } & ClientOptions)
  | ({
      readonly command: 'batch';
      readonly modelId: string;
      readonly inputsPath: string;
      readonly items: readonly BatchLine[];
      readonly concurrency: number;
      readonly retries: number;
      readonly retryDelayMs: number;
    } & ClientOptions)
  | { readonly command: 'simulator'; readonly port: number; readonly timeScale: number };

export const DEMO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';
const DEMO_INPUT = { prompt: 'A paper boat drifting down a rain-soaked street at dusk', duration_s: 5 };

/** Runs in flight at once for `batch` when --concurrency is not given. */
export const DEFAULT_BATCH_CONCURRENCY = 4;
/** Wait before the first retry of a failed batch item, in ms, when --retry-delay-ms is not given. */
export const DEFAULT_RETRY_DELAY_MS = 2000;

const OPTION_SPECS = {
  input: { type: 'string' },
  inputs: { type: 'string' },
  concurrency: { type: 'string' },
  retries: { type: 'string' },
  'retry-delay-ms': { type: 'string' },
  port: { type: 'string' },
  simulate: { type: 'boolean', default: false },
  'time-scale': { type: 'string' },
  'base-url': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-attempts': { type: 'string' },
  json: { type: 'boolean', default: false },
  plain: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type OptionName = keyof typeof OPTION_SPECS;

const OUTPUT_OPTIONS: readonly OptionName[] = ['timeout-ms', 'max-attempts', 'json', 'plain', 'verbose'];

/** The options each command accepts besides --help. */
const OPTIONS_BY_COMMAND: Readonly<Record<CommandName, readonly OptionName[]>> = {
  run: ['input', 'simulate', 'time-scale', 'base-url', ...OUTPUT_OPTIONS],
  watch: ['base-url', ...OUTPUT_OPTIONS],
  batch: [
    'inputs',
    'concurrency',
    'retries',
    'retry-delay-ms',
    'simulate',
    'time-scale',
    'base-url',
    ...OUTPUT_OPTIONS,
  ],
  simulator: ['port', 'time-scale'],
  demo: ['simulate', 'time-scale', ...OUTPUT_OPTIONS],
};

function isCommand(value: string | undefined): value is CommandName {
  return (COMMANDS as readonly string[]).includes(value ?? '');
}

/**
 * Parses the arguments (without the node and script paths) into one command. `--help` anywhere
 * wins over every other check, so `runflow-rx batch --help` works even without a model id.
 * Throws UsageError for an invalid command line, with a message that names the value and the fix.
 */
export async function parseCommand(argv: readonly string[]): Promise<ParsedCommand> {
  if (argv.includes('--help') || argv.includes('-h')) {
    return { command: 'help', topic: argv.find(isCommand) };
  }

  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: OPTION_SPECS,
  });
  const [command, ...rest] = positionals;
  if (command === undefined) {
    throw new UsageError(`missing command: expected one of ${COMMANDS.join(', ')}`);
  }
  if (command === 'help') {
    const [topic] = rest;
    if (topic !== undefined && !isCommand(topic)) {
      throw new UsageError(`unknown help topic "${topic}": expected one of ${COMMANDS.join(', ')}`);
    }
    return { command: 'help', topic };
  }
  if (!isCommand(command)) {
    throw new UsageError(`unknown command "${command}": expected one of ${COMMANDS.join(', ')}`);
  }

  for (const name of Object.keys(values) as OptionName[]) {
    const given = values[name] !== undefined && values[name] !== false;
    if (given && name !== 'help' && !OPTIONS_BY_COMMAND[command].includes(name)) {
      const reason = command === 'demo' ? ', which always uses the embedded simulator' : '';
      throw new UsageError(`--${name} does not apply to ${command}${reason}`, command);
    }
  }

  switch (command) {
    case 'simulator':
      expectNoArguments(command, rest);
      return {
        command,
        port: values.port === undefined ? 0 : port(values.port),
        timeScale:
          values['time-scale'] === undefined ? 1 : positiveNumber('--time-scale', values['time-scale'], command),
      };
    case 'demo':
      expectNoArguments(command, rest);
      return { ...clientOptions(values, command), command, simulate: true, modelId: DEMO_MODEL, input: DEMO_INPUT };
    case 'run': {
      const modelId = expectOneArgument(
        command,
        rest,
        'model_id',
        'e.g. runflow-rx run openai/gpt-image-1.5 --input \'{"prompt":"a cat"}\'',
      );
      if (values.input === undefined) {
        throw new UsageError('missing --input: pass the model input as JSON or @file.json', command);
      }
      return { ...clientOptions(values, command), command, modelId, input: await readInput(values.input) };
    }
    case 'watch': {
      const runId = expectOneArgument(
        command,
        rest,
        'run_id',
        'e.g. runflow-rx watch 0190f3a2-5c1e-7d4b-9a60-2b8e4f1c7d93',
      );
      return { ...clientOptions(values, command), command, runId };
    }
    case 'batch': {
      const modelId = expectOneArgument(
        command,
        rest,
        'model_id',
        'e.g. runflow-rx batch openai/gpt-image-1.5 --inputs prompts.jsonl',
      );
      if (values.inputs === undefined) {
        throw new UsageError('missing --inputs: pass a JSONL file with one model input object per line', command);
      }
      const retries = values.retries === undefined ? 0 : wholeNumber('--retries', values.retries, 0, 99, command);
      if (retries === 0 && values['retry-delay-ms'] !== undefined) {
        throw new UsageError('--retry-delay-ms needs --retries with a number above 0', command);
      }
      return {
        ...clientOptions(values, command),
        command,
        modelId,
        inputsPath: values.inputs,
        items: await readInputsFile(values.inputs),
        concurrency:
          values.concurrency === undefined
            ? DEFAULT_BATCH_CONCURRENCY
            : wholeNumber('--concurrency', values.concurrency, 1, Number.MAX_SAFE_INTEGER, command),
        retries,
        retryDelayMs:
          values['retry-delay-ms'] === undefined
            ? DEFAULT_RETRY_DELAY_MS
            : wholeNumber(
                '--retry-delay-ms',
                values['retry-delay-ms'],
                0,
                MAX_TIMER_MS,
                command,
                'number of milliseconds',
              ),
      };
    }
  }
}

type ParsedValues = ReturnType<typeof parseArgs<{ options: typeof OPTION_SPECS }>>['values'];

function clientOptions(values: ParsedValues, command: CommandName): ClientOptions {
  if (values.json === true && values.plain === true) {
    throw new UsageError('--json and --plain cannot be combined: choose one output format', command);
  }
  return {
    simulate: values.simulate === true,
    timeScale:
      values['time-scale'] === undefined ? undefined : positiveNumber('--time-scale', values['time-scale'], command),
    baseUrl: values['base-url'],
    timeoutMs:
      values['timeout-ms'] === undefined
        ? undefined
        : wholeNumber('--timeout-ms', values['timeout-ms'], 1, MAX_TIMER_MS, command, 'number of milliseconds'),
    maxAttempts:
      values['max-attempts'] === undefined
        ? undefined
        : wholeNumber('--max-attempts', values['max-attempts'], 1, 100, command),
    json: values.json === true,
    plain: values.plain === true,
    verbose: values.verbose === true,
  };
}

/** Checks that no positional argument follows the command. */
function expectNoArguments(command: CommandName, given: readonly string[]): void {
  const [extra] = given;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" after ${command}`, command);
}

/** Returns the one positional argument `name` that follows the command. */
function expectOneArgument(command: CommandName, given: readonly string[], name: string, example: string): string {
  const [value, extra] = given;
  if (value === undefined) throw new UsageError(`missing <${name}>, ${example}`, command);
  if (extra !== undefined) {
    throw new UsageError(`unexpected argument "${extra}" after the ${name.replace('_', ' ')}`, command);
  }
  return value;
}

function wholeNumber(
  flag: string,
  raw: string,
  min: number,
  max: number,
  command: CommandName,
  noun = 'number',
): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`invalid ${flag} "${raw}": expected a whole ${noun} ${range}`, command);
  }
  return value;
}

function positiveNumber(flag: string, raw: string, command: CommandName): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`invalid ${flag} "${raw}": expected a number greater than 0`, command);
  }
  return value;
}

function port(raw: string): number {
  return wholeNumber('--port', raw, 0, 65_535, 'simulator');
}

/** Reads `--input`: inline JSON, or `@path` to a file that contains it. */
async function readInput(raw: string): Promise<Record<string, unknown>> {
  let text = raw;
  let source = '--input';
  if (raw.startsWith('@')) {
    const path = raw.slice(1);
    source = `--input file "${path}"`;
    text = await readText(path, source, 'run');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `invalid ${source}: not valid JSON (${(error as Error).message}); pass an object such as '{"prompt":"a cat"}'`,
      'run',
    );
  }
  if (!isJsonObject(value)) {
    throw new UsageError(
      `invalid ${source}: expected a JSON object such as {"prompt":"a cat"}, got ${describeJson(value)}`,
      'run',
    );
  }
  return value;
}

/**
 * Reads the JSONL file of `batch`: one model input object per line. Blank lines are skipped, and
 * a `client_ref` key must be a string. Throws UsageError naming the first bad line.
 */
export async function readInputsFile(path: string): Promise<BatchLine[]> {
  const source = `--inputs file "${path}"`;
  const text = await readText(path, source, 'batch');
  const items: BatchLine[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const content = raw.trim();
    if (content === '') continue;

    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (error) {
      throw new UsageError(
        `invalid ${source} line ${line}: not valid JSON (${(error as Error).message}); each line must be one JSON object such as {"prompt":"a cat"}`,
        'batch',
      );
    }
    if (!isJsonObject(value)) {
      throw new UsageError(
        `invalid ${source} line ${line}: expected a JSON object such as {"prompt":"a cat"}, got ${describeJson(value)}`,
        'batch',
      );
    }
    const clientRef = value['client_ref'];
    if (clientRef !== undefined && (typeof clientRef !== 'string' || clientRef === '')) {
      throw new UsageError(
        `invalid ${source} line ${line}: client_ref must be a non-empty string, got ${JSON.stringify(clientRef)}`,
        'batch',
      );
    }
    items.push({ line, input: value });
  }
  if (items.length === 0) {
    throw new UsageError(`${source} contains no inputs: expected one JSON object per line`, 'batch');
  }
  return items;
}

async function readText(path: string, source: string, command: CommandName): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      command,
    );
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  return Array.isArray(value) ? 'an array' : JSON.stringify(value);
}
