/**
 * The steps of an API request after its body has arrived: authentication, rate limiting,
 * faults, the `Idempotency-Key` of create-run and create-batch requests, routing, and
 * writing the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatedClock } from './clock.js';
import { faultResponse, skipsProcessing, type Fault, type FaultRules } from './faults.js';
import { SimulatorHttpError, validationError } from './http-errors.js';
import { errorResponse, jsonResponse, routeResponse, type HttpResponse } from './http-response.js';
import {
  MAX_IDEMPOTENCY_KEY_LENGTH,
  requestFingerprint,
  type IdempotencyClaim,
  type IdempotencyStore,
} from './idempotency.js';
import type { RateLimitDecision, RateLimiter } from './rate-limit.js';
import { authenticateRequest, IDEMPOTENT_ENDPOINTS, routeRequest, type RouteRequest } from './router.js';
import type { SimulatorState } from './state.js';

/** A request as the simulator records it; `body` and `status` are filled in as they become known. */
export interface MutableRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
  status: number | null;
}

/** One request and its response, with its record and endpoint. */
export interface Exchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly record: MutableRecord;
  /** `<METHOD> <path template>`, e.g. `GET /v1/runs/{id}`. */
  readonly endpoint: string;
  /** Counts the status of the response once it is written. */
  readonly countStatus: (status: number) => void;
}

/** The parts of a simulator that handle API requests. */
export interface RequestHandlerContext {
  readonly state: SimulatorState;
  readonly clock: SimulatedClock;
  readonly rateLimiter: RateLimiter;
  readonly faults: FaultRules;
  readonly idempotency: IdempotencyStore;
}

/**
 * Writes `response` with `extraHeaders` added and a `content-length`. It does nothing when
 * the connection is gone or a response was already written.
 */
export function sendResponse(
  exchange: Exchange,
  response: HttpResponse,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  const { response: serverResponse, record } = exchange;
  if (serverResponse.destroyed || serverResponse.headersSent) {
    return;
  }
  const bytes = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
  serverResponse.writeHead(response.status, {
    ...response.headers,
    ...extraHeaders,
    'content-length': String(bytes.length),
  });
  record.status = response.status;
  exchange.countStatus(response.status);
  serverResponse.end(bytes);
}

/** Destroys the connection without a response; the record keeps status null. */
export function resetConnection(exchange: Exchange): void {
  exchange.request.socket.destroy();
}

/** Resolves once simulated time reaches `dueAt`. It never resolves after the simulator closes. */
export function waitUntil(clock: SimulatedClock, dueAt: number): Promise<void> {
  if (clock.now() >= dueAt) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    clock.schedule(dueAt, resolve);
  });
}

function toRouteRequest(record: MutableRecord): RouteRequest {
  return { method: record.method, path: record.path, query: record.query, headers: record.headers, body: record.body };
}

function rateLimitedResponse(decision: RateLimitDecision): HttpResponse {
  const { requestsPerSecond, burst } = decision.limit;
  return jsonResponse(429, {
    code: 'RATE_LIMITED',
    message:
      `Rate limit exceeded: each API key may send ${requestsPerSecond} requests per second ` +
      `with bursts of up to ${burst}. Retry after a delay.`,
    errors: null,
  });
}

/** Routes the request and returns its response; an error becomes its error envelope. */
function processRequest(
  context: RequestHandlerContext,
  request: RouteRequest,
  apiKey: string,
  fault: Fault | undefined,
): HttpResponse {
  try {
    return routeResponse(routeRequest(context.state, request, { apiKey, stale: fault?.kind === 'stale' }));
  } catch (error) {
    if (error instanceof SimulatorHttpError) {
      return errorResponse(error);
    }
    // Report a bug in the simulator or in a user model in the response body, because that is where a test looks.
    const message = error instanceof Error ? error.message : String(error);
    return errorResponse(new SimulatorHttpError(500, 'INTERNAL_ERROR', `The simulator failed: ${message}`));
  }
}

function headerValue(record: MutableRecord, name: string): string | undefined {
  const value = record.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Claims the `Idempotency-Key` of a create request. Returns undefined without the header,
 * and throws 422 VALIDATION_ERROR for an empty or too long key.
 */
function claimIdempotencyKey(
  context: RequestHandlerContext,
  record: MutableRecord,
  apiKey: string,
): { readonly key: string; readonly claim: IdempotencyClaim } | undefined {
  const key = headerValue(record, 'idempotency-key');
  if (key === undefined) {
    return undefined;
  }
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw validationError([
      {
        loc: ['header', 'Idempotency-Key'],
        msg: `Idempotency-Key must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}.`,
        type: 'string_length',
      },
    ]);
  }
  const fingerprint = requestFingerprint(record.path, record.body);
  return { key, claim: context.idempotency.claim(apiKey, key, fingerprint, context.clock.now()) };
}

/**
 * Produces the response of a create-run or create-batch request, deduplicated by its
 * `Idempotency-Key`. Returns the response and, for the first request with a key, the
 * function that stores it.
 */
async function createResponse(
  context: RequestHandlerContext,
  record: MutableRecord,
  apiKey: string,
): Promise<{ response: HttpResponse; store?: (response: HttpResponse) => void }> {
  let idempotency: ReturnType<typeof claimIdempotencyKey>;
  try {
    idempotency = claimIdempotencyKey(context, record, apiKey);
  } catch (error) {
    if (error instanceof SimulatorHttpError) return { response: errorResponse(error) };
    throw error;
  }
  if (idempotency === undefined) {
    return { response: processRequest(context, toRouteRequest(record), apiKey, undefined) };
  }

  const { key, claim } = idempotency;
  switch (claim.kind) {
    case 'conflict':
      return {
        response: errorResponse(
          new SimulatorHttpError(
            409,
            'CONFLICT',
            `Idempotency-Key "${key}" was already used with a different request (model path or body). ` +
              'Send a new key for a new request.',
          ),
        ),
      };
    case 'replay':
      return { response: await claim.response };
    case 'first':
      return {
        response: processRequest(context, toRouteRequest(record), apiKey, undefined),
        store: (response) => claim.complete(response),
      };
  }
}

/**
 * Handles a request whose body has arrived and that no queued response took: authenticates
 * it, applies the rate limit and the first fault that matches, then routes it and writes
 * the response.
 */
export async function handleRequest(context: RequestHandlerContext, exchange: Exchange): Promise<void> {
  const { record } = exchange;
  const request = toRouteRequest(record);

  let apiKey: string;
  try {
    apiKey = authenticateRequest(context.state, request);
  } catch (error) {
    if (!(error instanceof SimulatorHttpError)) throw error;
    // A request rejected by authentication takes no token from any bucket.
    sendResponse(exchange, errorResponse(error));
    return;
  }

  let rateLimitHeaders: Readonly<Record<string, string>> = {};
  if (apiKey !== '') {
    const decision = context.rateLimiter.take(apiKey, context.clock.now());
    if (decision !== undefined && !decision.allowed) {
      sendResponse(exchange, rateLimitedResponse(decision), decision.headers);
      return;
    }
    rateLimitHeaders = decision?.headers ?? {};
  }

  const fault = context.faults.take(record.method, record.path, exchange.endpoint);
  if (fault !== undefined && skipsProcessing(fault)) {
    if (fault.kind === 'reset') {
      resetConnection(exchange);
    } else if (fault.kind === 'status' || fault.kind === 'html' || fault.kind === 'malformed-json') {
      sendResponse(exchange, faultResponse(fault), rateLimitHeaders);
    }
    return;
  }

  const { response, store } = IDEMPOTENT_ENDPOINTS.has(exchange.endpoint)
    ? await createResponse(context, record, apiKey)
    : { response: processRequest(context, request, apiKey, fault), store: undefined };

  if (fault?.kind === 'slow') {
    if (fault.delayMs === Infinity) {
      // Held until the client disconnects or close() destroys the socket; a duplicate with the same key waits as long.
      return;
    }
    await waitUntil(context.clock, record.at + fault.delayMs);
  }
  // The first request with an Idempotency-Key counts as finished once its response is due, even if the client left.
  store?.(response);
  if (fault?.kind === 'reset') {
    resetConnection(exchange);
    return;
  }
  sendResponse(exchange, response, rateLimitHeaders);
}
