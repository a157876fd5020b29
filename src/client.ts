import { asyncScheduler, defer, switchMap, type Observable, type SchedulerLike } from 'rxjs';

import { createRunBody, runsApi, type CreateRunRequest, type RunsApi } from './api/runs.js';
import { batchesApi, type BatchesApi } from './batches/api.js';
import { batchEvents, type BatchEvent, type WatchBatchOptions } from './batches/watch.js';
import { RunflowInputError, checkKnownKeys, describeValue, isRunflowHttpError } from './errors.js';
import { encodeIdSegment, encodeModelPath } from './http/model-path.js';
import { defaultFetch, type FetchLike, type HttpContext } from './http/request.js';
import { silentLogger, type RunflowLogger } from './logger.js';
import { resolveRetryConfig, type RetryConfig } from './http/retry.js';
import { RequestBudget, type BudgetConfig } from './run/budget.js';
import { checkDelay, resolvePollConfig, type PollConfig } from './run/config.js';
import { MAX_IDS_PER_LIST, SharedPoller } from './run/shared-poller.js';
import type { RunEvent } from './run/events.js';
import { runEvents, type WatchContext, type WatchOptions } from './run/watch.js';

/** Settings of a Runflow client. Every field is optional. */
export interface RunflowClientConfig {
  /** API key sent as `Authorization: Bearer …`. Default: the RUNFLOW_API_KEY environment variable. */
  readonly apiKey?: string;
  /** API base URL. Default: the RUNFLOW_BASE_URL environment variable, else `https://api.runflow.io`. */
  readonly baseUrl?: string;
  /** Sent as `X-Organization-Id`; by default the server uses the key's organisation. */
  readonly organizationId?: string;
  /** The fetch implementation. Default: cross-fetch. */
  readonly fetch?: FetchLike;
  /** Per-request timeout, in ms. Default 30000. */
  readonly requestTimeoutMs?: number;
  /** Poll settings for every run of this client; each run can override them. */
  readonly poll?: PollConfig;
  /** Transport retry settings for every request; `false` sends each request once. */
  readonly retry?: RetryConfig | false;
  /**
   * Request budget shared by all polling of this client (a token bucket). A 429 response also
   * pauses all polling for the delay the server advised, or for the retry backoff.
   */
  readonly budget?: BudgetConfig;
  /** Receives the library's diagnostics. Default: silent. */
  readonly logger?: RunflowLogger;
  /** Scheduler for every timer (polling, timeouts, deadlines). Default: `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** A Runflow API client. It keeps the API key in a closure, never in a property. */
export interface RunflowClient {
  /** The base URL requests go to, without a trailing slash. */
  readonly baseUrl: string;

  /**
   * Creates a run of `modelId` on subscription and emits its events until a terminal status.
   *
   * Each subscription creates a new run: use `share()` to let several consumers watch one run.
   * Completes after `succeeded`, `partial_succeeded` or `canceled`; errors with RunFailedError on
   * `failed`. Unsubscribing stops watching but does not cancel the run on the server. Invalid
   * arguments throw RunflowInputError at once, before any request.
   *
   * @example
   * ```ts
   * client.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse at dusk' } })
   *   .subscribe((event) => console.log(event.type, event.type === 'status' ? event.status : ''));
   * ```
   */
  run(modelId: string, request: CreateRunRequest, options?: WatchOptions): Observable<RunEvent>;

  /**
   * Watches an existing run by id, with the same events and termination as `run`. The first
   * poll happens on subscription; a run that is already terminal emits its logs, node-runs and
   * final status at once.
   */
  watch(runId: string, options?: WatchOptions): Observable<RunEvent>;

  /** The runs endpoints, one cold Observable per request. */
  readonly runs: RunsApi;

  /**
   * The server-side batch endpoints, and `watch(batchId, options)`: a batch Observable of item
   * transitions, status changes and a final summary.
   */
  readonly batches: BatchesApi & { watch(batchId: string, options?: WatchBatchOptions): Observable<BatchEvent> };
}

const DEFAULT_BASE_URL = 'https://api.runflow.io';

const CLIENT_OPTIONS: ReadonlyArray<keyof RunflowClientConfig> = [
  'apiKey',
  'baseUrl',
  'organizationId',
  'fetch',
  'requestTimeoutMs',
  'poll',
  'retry',
  'budget',
  'logger',
  'scheduler',
];
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Creates a client. Throws RunflowInputError for a missing or malformed API key, an invalid base
 * URL or invalid timing settings.
 */
export function createRunflowClient(config: RunflowClientConfig = {}): RunflowClient {
  checkKnownKeys('createRunflowClient', config, CLIENT_OPTIONS);
  const apiKey = checkApiKey(config.apiKey ?? environment('RUNFLOW_API_KEY'));
  const baseUrl = checkBaseUrl(config.baseUrl ?? environment('RUNFLOW_BASE_URL') ?? DEFAULT_BASE_URL);
  const organizationId = config.organizationId;
  if (organizationId !== undefined && (typeof organizationId !== 'string' || !/^[\x21-\x7e]+$/.test(organizationId))) {
    throw new RunflowInputError(
      `Invalid organizationId ${describeValue(organizationId)}: expected a non-empty id without spaces`,
    );
  }
  if (config.fetch !== undefined && typeof config.fetch !== 'function') {
    throw new RunflowInputError(`Invalid fetch ${describeValue(config.fetch)}: expected a fetch function`);
  }
  const scheduler = config.scheduler ?? asyncScheduler;
  const logger = config.logger ?? silentLogger;
  const poll = resolvePollConfig(config.poll);
  const budget = new RequestBudget(config.budget ?? {}, scheduler);

  const http: HttpContext = {
    baseUrl,
    defaultHeaders: () => ({
      authorization: `Bearer ${apiKey}`,
      ...(organizationId === undefined ? {} : { 'x-organization-id': organizationId }),
    }),
    fetch: config.fetch ?? defaultFetch,
    requestTimeoutMs: checkDelay('requestTimeoutMs', config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 1),
    scheduler,
    logger,
    retry: resolveRetryConfig(config.retry),
    onRetry: (notice) => {
      if (isRunflowHttpError(notice.error) && notice.error.status === 429) {
        logger.warn('Rate limited: pausing all polling', { url: notice.url, delayMs: notice.delayMs });
        budget.pause(notice.delayMs);
      }
    },
  };
  const runs = runsApi(http);
  const batches = batchesApi(http);
  const shared = new SharedPoller({
    listRuns: (query) => runs.list(query),
    getRun: (runId) => runs.get(runId),
    budget,
    scheduler,
    logger,
    intervalMs: poll.intervalMs,
    idsPerList: MAX_IDS_PER_LIST,
  });
  const watchContext = (options: WatchOptions | undefined): WatchContext => ({
    getRun: (runId) => budget.gate(runs.get(runId, { retry: options?.retry })),
    scheduler,
    logger,
    poll: config.poll,
    shared,
  });

  return {
    baseUrl,
    runs,
    batches: {
      ...batches,
      watch: (batchId, options) => {
        encodeIdSegment('batch id', batchId);
        return batchEvents(
          {
            getBatch: (id) => budget.gate(batches.get(id)),
            scheduler,
            logger,
            poll: { ...config.poll, mode: 'per-run' },
          },
          batchId,
          options,
        );
      },
    },

    run(modelId, request, options) {
      encodeModelPath(modelId);
      createRunBody(request);
      if (options?.callbacks !== undefined && !request.callbackUrl) {
        logger.warn(
          'A run watched with callbacks has no callbackUrl; unless an org webhook reaches the receiver, it ends by the safety-net poll',
          { modelId },
        );
      }
      // One Idempotency-Key per subscription: each subscription is one logical run.
      const create = defer(() =>
        runs.create(modelId, request, { idempotencyKey: newIdempotencyKey(), retry: options?.retry }),
      );
      return runEvents(watchContext(options), { create }, options);
    },

    watch(runId, options) {
      encodeIdSegment('run id', runId);
      return runEvents(watchContext(options), { runId }, options);
    },
  };
}

function environment(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[name];
  return value === '' ? undefined : value;
}

/** Checks the key without ever putting it in a message. */
function checkApiKey(apiKey: unknown): string {
  if (apiKey === undefined || apiKey === null || apiKey === '') {
    throw new RunflowInputError('Missing API key: pass apiKey to createRunflowClient or set RUNFLOW_API_KEY');
  }
  if (typeof apiKey !== 'string') {
    throw new RunflowInputError(`Invalid API key of type ${typeof apiKey}: expected a string`);
  }
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new RunflowInputError(
      'Invalid API key: it contains spaces, line breaks or non-ASCII characters; copy the key again without them',
    );
  }
  return apiKey;
}

function checkBaseUrl(baseUrl: unknown): string {
  const invalid = (why: string): RunflowInputError =>
    new RunflowInputError(`Invalid baseUrl ${describeValue(baseUrl)}: ${why}`);
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch {
    url = new URL('invalid:');
  }
  if (typeof baseUrl !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalid('expected an absolute http or https URL such as "https://api.runflow.io"');
  }
  if (baseUrl.includes('?') || baseUrl.includes('#')) {
    throw invalid('remove the query or fragment; every request path is appended to this URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('remove the user name and password; the API key goes in apiKey');
  }
  if (/\/v1\/?$/.test(url.pathname)) {
    throw invalid('remove the trailing /v1; request paths already start with /v1');
  }
  return url.href.replace(/\/+$/, '');
}

function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}
