/**
 * The simulator's HTTP server: a `node:http` server on 127.0.0.1 that records and counts
 * every request, serves queued raw responses first and hands the rest to request-handler.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CallbackDispatcher, type CallbackDeliveryRecord } from './callback-delivery.js';
import { CallbackSecretStore } from './callback-secrets.js';
import { SimulatedClock } from './clock.js';
import { resolveConfig, type SimulatorConfig } from './config.js';
import { RequestCounters, type CounterFilter } from './counters.js';
import { FaultRules, type FaultRule } from './faults.js';
import { SimulatorHttpError } from './http-errors.js';
import { errorResponse } from './http-response.js';
import { IdempotencyStore } from './idempotency.js';
import { stableUuid, UuidV7Generator } from './ids.js';
import { RateLimiter, type RateLimitConfig } from './rate-limit.js';
import {
  handleRequest,
  resetConnection,
  sendResponse,
  type Exchange,
  type MutableRecord,
  type RequestHandlerContext,
} from './request-handler.js';
import { matchesRequest, queuedResponseHeaders, ResponseQueue, type QueuedResponse } from './response-queue.js';
import { endpointOf } from './router.js';
import { renderRun } from './run-view.js';
import type { SimulatorState } from './state.js';

/** Largest request body the simulator reads; larger bodies get 413. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Largest request line plus headers, in bytes. Node's default of 16 KiB rejects with 431 a
 * `GET /v1/runs` whose `q` names 500 run ids (about 24 KB encoded) and the cursors that carry
 * such a filter, so the simulator accepts up to 256 KiB.
 */
const MAX_HEADER_BYTES = 256 * 1024;

/** One request that reached the simulator. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query, percent-encoded as sent. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Request headers with lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Body as text; empty until the whole body has arrived. */
  readonly body: string;
  /** Simulated time at which the request arrived, in ms since the Unix epoch. */
  readonly at: number;
  /** Status code sent, or null while the response is pending or when the connection was reset instead. */
  readonly status: number | null;
}

/** Filter of `Simulator.requestCount()`; every field is optional. */
export interface RequestFilter {
  /** HTTP method, case-insensitive. Default: any. */
  readonly method?: string;
  /** Path without the query: equal to a string, or matching a RegExp. Default: any. */
  readonly path?: string | RegExp;
}

/**
 * A running Runflow simulator. Close it in teardown; `close()` leaves no open handle.
 *
 * @example
 * const simulator = await startSimulator({ timeScale: 0 });
 * const response = await fetch(`${simulator.url}/v1/models/openai/gpt-image-1.5/runs`, {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${simulator.apiKey}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({ input: { prompt: 'a lighthouse at dawn' } }),
 * });
 * const run = (await response.json()) as { id: string };
 * simulator.advanceTime(10_000);
 * simulator.getRun(run.id); // { status_code: 'succeeded', ... }
 * await simulator.close();
 */
export interface Simulator {
  /** Base URL, `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  /** The first accepted API key. */
  readonly apiKey: string;
  /** Moves simulated time forward by `ms` (a finite number >= 0), with any `timeScale`. */
  advanceTime(ms: number): void;
  /** Returns the current simulated time in ms since the Unix epoch. */
  now(): number;
  /** Queues a raw response for the next matching request(s); rules are tried in the order queued, before routing. */
  queueResponse(rule: QueuedResponse): void;
  /**
   * Adds a fault rule after the active ones; it applies to authenticated requests that pass
   * the rate limit. Throws TypeError or RangeError for an invalid rule.
   */
  injectFault(rule: FaultRule): void;
  /** Removes every fault rule, including the ones from `SimulatorConfig.faults`. */
  clearFaults(): void;
  /**
   * Replaces the rate limit, or turns it off with false. Every key's bucket starts full again.
   * Throws TypeError or RangeError for an invalid config.
   */
  setRateLimit(config: RateLimitConfig | false): void;
  /** Returns the number of runs created so far; an idempotent replay creates none. */
  runCount(): number;
  /**
   * Returns the number of requests received per endpoint, e.g. `{ 'GET /v1/runs/{id}': 3 }`,
   * counting rejected ones too. With `filter.status`, counts only responses with that status.
   */
  counters(filter?: CounterFilter): Record<string, number>;
  /** Sets every counter back to zero; `requests()` keeps its records. */
  resetCounters(): void;
  /** Returns every request received so far, oldest first; empty when `recordRequests` is false. */
  requests(): readonly RecordedRequest[];
  /** Returns the number of requests received that match `filter`; 0 when `recordRequests` is false. */
  requestCount(filter?: RequestFilter): number;
  /** Returns the number of requests whose response has not finished while their connection is open. */
  inFlightRequests(): number;
  /** Returns the number of sockets currently open to the server. */
  openConnections(): number;
  /** Returns the run as `GET /v1/runs/{id}` would return it now, or undefined for an unknown id. */
  getRun(id: string): unknown | undefined;
  /**
   * Returns copies of the callback deliveries of one run or batch, by its id, or of every run
   * and batch without an id, oldest first. Deliveries that became due are started first.
   */
  deliveries(id?: string): CallbackDeliveryRecord[];
  /**
   * Starts the callback deliveries and attempts that are due, and resolves once no attempt is
   * in flight. It does not wait for retries due later: with `timeScale: 0`, call it after
   * `advanceTime()`. An attempt to a receiver that never responds keeps it waiting until the
   * attempt times out on the simulated clock or `close()` runs.
   */
  flushCallbacks(): Promise<void>;
  /**
   * Stops listening, destroys every socket, cancels held responses and pending callback
   * deliveries, and aborts callback attempts in flight. Resolves when every server socket and
   * callback connection is closed. Later calls return the same promise.
   */
  close(): Promise<void>;
}

/** Reads the request body as UTF-8 text; resolves undefined when it exceeds MAX_BODY_BYTES. */
function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * Starts a simulator on 127.0.0.1 and resolves once it listens.
 * Throws RangeError or TypeError for an invalid config, naming the option.
 *
 * @example
 * const simulator = await startSimulator({ timeScale: 0, drift: { skipDispatching: true } });
 */
export async function startSimulator(config: SimulatorConfig = {}): Promise<Simulator> {
  const resolved = resolveConfig(config);
  const clock = new SimulatedClock(resolved.startTimeMs, resolved.timeScale);
  const callbackSecrets = new CallbackSecretStore();
  if (resolved.callbackSecret !== undefined) {
    callbackSecrets.create({
      orgId: stableUuid(`org:${resolved.apiKeys[0] ?? ''}`),
      label: null,
      now: clock.now(),
      plainSecret: resolved.callbackSecret,
    });
  }
  const state: SimulatorState = {
    clock,
    models: resolved.models,
    runs: new Map(),
    runIds: new UuidV7Generator(),
    apiKeys: resolved.apiKeys,
    drift: resolved.drift,
    baseUrl: '',
    servedViews: new Map(),
    batches: new Map(),
    batchIds: new UuidV7Generator(),
    callbackSecrets,
    callbacks: new CallbackDispatcher({
      clock,
      secrets: callbackSecrets,
      timeoutMs: resolved.callbackTimeoutMs,
      omitSignature: resolved.drift.omitSignature,
    }),
  };
  const faults = new FaultRules();
  for (const rule of resolved.faults) faults.add(rule);
  const handlerContext: RequestHandlerContext = {
    state,
    clock,
    rateLimiter: new RateLimiter(resolved.rateLimit, resolved.timeScale),
    faults,
    idempotency: new IdempotencyStore(),
  };
  const queue = new ResponseQueue();
  const counters = new RequestCounters();
  const records: MutableRecord[] = [];
  const sockets = new Set<Socket>();
  const pendingResponses = new Set<ServerResponse>();
  const heldTasks = new Set<{ cancel(): void }>();

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const rawUrl = request.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const record: MutableRecord = {
      method: request.method ?? 'GET',
      path: queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart),
      query: new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1)),
      headers: { ...request.headers },
      body: '',
      at: clock.now(),
      status: null,
    };
    if (resolved.recordRequests) {
      records.push(record);
    }
    const counted = counters.countReceived(endpointOf(record.method, record.path));
    const exchange: Exchange = {
      request,
      response,
      record,
      endpoint: counted.endpoint,
      countStatus: (status) => counters.countStatus(counted, status),
    };
    pendingResponses.add(response);
    const settle = (): void => {
      pendingResponses.delete(response);
    };
    response.on('finish', settle);
    response.on('close', settle);

    // Queued rules are taken in arrival order, before the body is read.
    const queued = queue.take(record.method, record.path);
    readBody(request).then(
      (body) => {
        if (body === undefined) {
          const tooLarge = new SimulatorHttpError(
            413,
            'PAYLOAD_TOO_LARGE',
            `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
          );
          sendResponse(exchange, errorResponse(tooLarge));
          return;
        }
        record.body = body;
        if (queued !== undefined) {
          sendQueued(queued, exchange);
          return;
        }
        handleRequest(handlerContext, exchange).catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const failure = new SimulatorHttpError(500, 'INTERNAL_ERROR', `The simulator failed: ${message}`);
          sendResponse(exchange, errorResponse(failure));
        });
      },
      () => response.destroy(),
    );
  });

  function sendQueued(rule: QueuedResponse, exchange: Exchange): void {
    const deliver = (): void => {
      if (rule.resetConnection === true) {
        resetConnection(exchange);
        return;
      }
      sendResponse(exchange, { status: rule.status, headers: queuedResponseHeaders(rule), body: rule.body });
    };
    const delayMs = rule.delayMs ?? 0;
    if (delayMs <= 0) {
      deliver();
      return;
    }
    if (delayMs === Infinity) {
      // Held until the client disconnects or close() destroys the socket.
      return;
    }
    const dueAt = exchange.record.at + delayMs;
    if (clock.now() >= dueAt) {
      deliver();
      return;
    }
    const task = clock.schedule(dueAt, () => {
      heldTasks.delete(task);
      deliver();
    });
    heldTasks.add(task);
    exchange.response.on('close', () => {
      task.cancel();
      heldTasks.delete(task);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error('The simulator server did not report a TCP address after listening.');
  }
  state.baseUrl = `http://127.0.0.1:${address.port}`;

  let closing: Promise<void> | undefined;

  return {
    url: state.baseUrl,
    apiKey: resolved.apiKeys[0] ?? '',
    advanceTime: (ms) => clock.advance(ms),
    now: () => clock.now(),
    queueResponse: (rule) => queue.add(rule),
    injectFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    setRateLimit: (rateLimit) => handlerContext.rateLimiter.configure(rateLimit),
    runCount: () => state.runs.size,
    counters: (filter) => counters.snapshot(filter),
    resetCounters: () => counters.reset(),
    requests: () =>
      records.map((record) => ({
        ...record,
        query: new URLSearchParams(record.query),
        headers: { ...record.headers },
      })),
    requestCount: (filter = {}) =>
      records.filter((record) => matchesRequest(filter, record.method, record.path)).length,
    inFlightRequests: () => pendingResponses.size,
    openConnections: () => sockets.size,
    getRun: (id) => {
      const run = state.runs.get(id.toLowerCase());
      return run === undefined ? undefined : JSON.parse(JSON.stringify(renderRun(run, clock.now(), state.drift)));
    },
    deliveries: (id) => state.callbacks.records(id?.toLowerCase()),
    flushCallbacks: () => state.callbacks.flush(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        const callbacksClosed = state.callbacks.close();
        clock.dispose();
        for (const task of heldTasks) task.cancel();
        heldTasks.clear();
        server.close(() => {
          void callbacksClosed.then(() => resolve());
        });
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        pendingResponses.clear();
      });
      return closing;
    },
  };
}
