import { createRunflowClient, type RunflowClient } from '../client.js';
import { defaultFetch } from '../http/request.js';
import type { RunflowLogger } from '../logger.js';
import { startSimulator, type Simulator } from '../testing/index.js';
import type { CliIo } from './io.js';
import { loggingFetch } from './logger.js';
import { UsageError, type ClientOptions, type CommandName } from './options.js';

const DEFAULT_BASE_URL = 'https://api.runflow.io';

/** A client for one command, and the embedded simulator behind it when there is one. */
export interface Connection {
  readonly client: RunflowClient;
  /** Closes the embedded simulator, if one was started. */
  close(): Promise<void>;
}

/** Returns RUNFLOW_API_KEY from `io.env`, or undefined when it is unset or empty. */
export function apiKeyOf(io: CliIo): string | undefined {
  const apiKey = io.env['RUNFLOW_API_KEY'];
  return apiKey === undefined || apiKey === '' ? undefined : apiKey;
}

/**
 * Creates the client of a command. Without RUNFLOW_API_KEY, or with --simulate, it starts the
 * embedded simulator and reports that on stderr. `watch` needs the key instead, because a new
 * simulator has no runs. Only `io.env` is read, never `process.env`.
 */
export async function connect(
  command: CommandName,
  options: ClientOptions,
  io: CliIo,
  logger: RunflowLogger,
): Promise<Connection> {
  const apiKey = apiKeyOf(io);
  if (command === 'watch' && apiKey === undefined) {
    throw new UsageError(
      'watch needs RUNFLOW_API_KEY, because a new embedded simulator has no runs to watch; set it for your ' +
        'Runflow server, or start "runflow-rx simulator" and set the two lines it prints',
      command,
    );
  }
  const simulate = options.simulate || apiKey === undefined;
  if (simulate && options.baseUrl !== undefined) {
    throw new UsageError(
      '--base-url needs RUNFLOW_API_KEY: without a key (or with --simulate) the embedded simulator is used',
      command,
    );
  }
  if (!simulate && options.timeScale !== undefined) {
    throw new UsageError(
      '--time-scale applies only to the embedded simulator: add --simulate or unset RUNFLOW_API_KEY',
      command,
    );
  }

  const retry = { maxAttempts: options.maxAttempts };
  const fetch = options.verbose ? loggingFetch(defaultFetch, logger) : defaultFetch;
  if (!simulate && apiKey !== undefined) {
    const baseUrl = options.baseUrl ?? nonEmpty(io.env['RUNFLOW_BASE_URL']) ?? DEFAULT_BASE_URL;
    const client = createRunflowClient({ apiKey, baseUrl, retry, logger, fetch });
    logger.info('Using the Runflow server', { baseUrl: client.baseUrl });
    return { client, close: async () => undefined };
  }

  const simulator: Simulator = await startSimulator({ timeScale: options.timeScale ?? 1 });
  try {
    const reason = simulatorReason(command, options);
    io.stderr.write(
      `runflow-rx: ${reason}; using the embedded Runflow simulator at ${simulator.url} (simulated runs, no network)\n`,
    );
    const client = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      // Simulated runs take seconds, so poll more often than the default of one second.
      poll: { intervalMs: 250, maxIntervalMs: 1000 },
      retry,
      logger,
      fetch,
    });
    return { client, close: () => simulator.close() };
  } catch (error) {
    await simulator.close();
    throw error;
  }
}

function simulatorReason(command: CommandName, options: ClientOptions): string {
  if (command === 'demo') return 'demo';
  if (options.simulate) return '--simulate given';
  return 'RUNFLOW_API_KEY is not set';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}
