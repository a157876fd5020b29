/**
 * The simulator's HTTP server: a `node:http` server on 127.0.0.1 that records every
 * request, serves queued raw responses first and routes the rest to the API handlers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SimulatedClock } from './clock.js';
import { resolveConfig, type SimulatorConfig } from './config.js';
import { SimulatorHttpError } from './http-errors.js';
import { UuidV7Generator } from './ids.js';
import { matchesRequest, queuedResponseHeaders, ResponseQueue, type QueuedResponse } from './response-queue.js';
import { routeRequest, type RouteResponse } from './router.js';
import { renderRun } from './run-view.js';
import type { SimulatorState } from './state.js';

/** Largest request body the simulator reads; larger bodies get 413. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

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
  /** Returns every request received so far, oldest first. */
  requests(): readonly RecordedRequest[];
  /** Returns the number of requests received that match `filter`. */
  requestCount(filter?: RequestFilter): number;
  /** Returns the number of requests whose response has not finished while their connection is open. */
  inFlightRequests(): number;
  /** Returns the number of sockets currently open to the server. */
  openConnections(): number;
  /** Returns the run as `GET /v1/runs/{id}` would return it now, or undefined for an unknown id. */
  getRun(id: string): unknown | undefined;
  /**
   * Stops listening, destroys every socket and cancels held responses. Resolves when closed.
   * Later calls return the same promise.
   */
  close(): Promise<void>;
}

interface MutableRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
  status: number | null;
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

function send(
  response: ServerResponse,
  record: MutableRecord,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  if (response.destroyed || response.headersSent) {
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  response.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  record.status = status;
  response.end(bytes);
}

function sendRouteResponse(response: ServerResponse, record: MutableRecord, result: RouteResponse): void {
  if ('bytes' in result) {
    send(response, record, result.status, { ...result.headers }, result.bytes);
    return;
  }
  send(
    response,
    record,
    result.status,
    { 'content-type': 'application/json', ...result.headers },
    JSON.stringify(result.json),
  );
}

function sendError(response: ServerResponse, record: MutableRecord, error: SimulatorHttpError): void {
  send(
    response,
    record,
    error.status,
    { 'content-type': 'application/json', ...error.headers },
    JSON.stringify(error.toBody()),
  );
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
  const state: SimulatorState = {
    clock,
    models: resolved.models,
    runs: new Map(),
    runIds: new UuidV7Generator(),
    apiKeys: resolved.apiKeys,
    drift: resolved.drift,
    baseUrl: '',
  };
  const queue = new ResponseQueue();
  const records: MutableRecord[] = [];
  const sockets = new Set<Socket>();
  const pendingResponses = new Set<ServerResponse>();
  const heldTasks = new Set<{ cancel(): void }>();

  const server = createServer();
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
    records.push(record);
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
          sendError(
            response,
            record,
            new SimulatorHttpError(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${MAX_BODY_BYTES} bytes.`),
          );
          return;
        }
        record.body = body;
        if (queued !== undefined) {
          sendQueued(queued, request, response, record);
          return;
        }
        respond(record, response);
      },
      () => response.destroy(),
    );
  });

  function sendQueued(
    rule: QueuedResponse,
    request: IncomingMessage,
    response: ServerResponse,
    record: MutableRecord,
  ): void {
    const deliver = (): void => {
      if (rule.resetConnection === true) {
        request.socket.destroy();
        return;
      }
      send(response, record, rule.status, queuedResponseHeaders(rule), rule.body);
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
    const dueAt = record.at + delayMs;
    if (clock.now() >= dueAt) {
      deliver();
      return;
    }
    const task = clock.schedule(dueAt, () => {
      heldTasks.delete(task);
      deliver();
    });
    heldTasks.add(task);
    response.on('close', () => {
      task.cancel();
      heldTasks.delete(task);
    });
  }

  function respond(record: MutableRecord, response: ServerResponse): void {
    try {
      const result = routeRequest(state, {
        method: record.method,
        path: record.path,
        query: record.query,
        headers: record.headers,
        body: record.body,
      });
      sendRouteResponse(response, record, result);
    } catch (error) {
      if (error instanceof SimulatorHttpError) {
        sendError(response, record, error);
        return;
      }
      // Report a bug in the simulator or in a user model in the response body, because that is where a test looks.
      const message = error instanceof Error ? error.message : String(error);
      sendError(response, record, new SimulatorHttpError(500, 'INTERNAL_ERROR', `The simulator failed: ${message}`));
    }
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
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        clock.dispose();
        for (const task of heldTasks) task.cancel();
        heldTasks.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        pendingResponses.clear();
      });
      return closing;
    },
  };
}
