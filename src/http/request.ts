import crossFetch from 'cross-fetch';
import { Observable, type SchedulerLike } from 'rxjs';

import { RunflowConnectionError, RunflowDecodeError, RunflowHttpError, RunflowRequestTimeoutError } from '../errors.js';
import type { RunflowLogger } from '../logger.js';
import { ErrorEnvelopeCodec } from '../codecs/envelope.js';
import {
  resolveRetryConfig,
  withTransportRetry,
  type ResolvedRetryConfig,
  type RetryConfig,
  type RetryNotice,
} from './retry.js';

/** The part of a fetch `Response` this library reads. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The part of the fetch `RequestInit` this library sends. */
export interface FetchRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** A fetch implementation: cross-fetch by default; the global `fetch` or a wrapper also fit. */
export type FetchLike = (url: string, init: FetchRequestInit) => Promise<FetchResponseLike>;

export const defaultFetch: FetchLike = crossFetch as unknown as FetchLike;

/** Everything a request needs from the client. */
export interface HttpContext {
  /** Base URL without a trailing slash, e.g. `https://api.runflow.io`. */
  readonly baseUrl: string;
  /** Builds the headers every request carries, including Authorization. */
  readonly defaultHeaders: () => Record<string, string>;
  readonly fetch: FetchLike;
  readonly requestTimeoutMs: number;
  readonly scheduler: SchedulerLike;
  readonly logger: RunflowLogger;
  /** Transport retry settings of the client. */
  readonly retry: ResolvedRetryConfig;
  /** Called before each retry, after it is logged; the shared poll scheduler uses it to pause on 429. */
  readonly onRetry?: (notice: RetryNotice) => void;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface HttpRequest<A> {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the base URL, already percent-encoded, starting with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Turns the parsed JSON body into the result; throws RunflowDecodeError on a wrong shape. */
  readonly decode: (json: unknown, describe: string) => A;
  /** Transport retry settings for this request, over the client's; `false` sends it once. */
  readonly retry?: RetryConfig | false;
}

/** Maximum length of the non-JSON error body kept in RunflowHttpError.bodyExcerpt. */
const EXCERPT_CHARS = 200;

/**
 * Sends an HTTP request as a cold Observable that emits the decoded body once and completes,
 * retrying transient failures (see `withTransportRetry`). A GET is always replayable; a POST
 * only when it carries an `Idempotency-Key` header, so the server can recognise a repeat.
 */
export function request<A>(context: HttpContext, req: HttpRequest<A>): Observable<A> {
  const config = req.retry === undefined ? context.retry : resolveRetryConfig(context.retry, req.retry);
  const replayable =
    req.method === 'GET' || Object.keys(req.headers ?? {}).some((name) => name.toLowerCase() === 'idempotency-key');
  const target = { method: req.method, url: buildUrl(context.baseUrl, req.path, req.query), replayable };
  return withTransportRetry(
    requestOnce(context, req),
    target,
    config,
    context.scheduler,
    context.logger,
    context.onRetry,
  );
}

/**
 * Sends one HTTP request, without retry, as a cold Observable that emits the decoded body once
 * and completes.
 *
 * Each subscription sends its own request with its own AbortController; unsubscribing aborts it
 * and cancels the timeout. Errors are RunflowHttpError (non-2xx status), RunflowConnectionError
 * (no response), RunflowRequestTimeoutError (no response within `requestTimeoutMs`) or
 * RunflowDecodeError (a 2xx body that is empty, not JSON, or of the wrong shape).
 */
export function requestOnce<A>(context: HttpContext, req: HttpRequest<A>): Observable<A> {
  return new Observable<A>((subscriber) => {
    const url = buildUrl(context.baseUrl, req.path, req.query);
    const describe = `${req.method} ${url}`;
    const controller = new AbortController();
    let timedOut = false;
    let settled = false;

    const timeout = context.scheduler.schedule(() => {
      timedOut = true;
      controller.abort();
    }, context.requestTimeoutMs);

    const headers: Record<string, string> = { accept: 'application/json', ...context.defaultHeaders(), ...req.headers };
    const init: FetchRequestInit = { method: req.method, headers, signal: controller.signal };
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(req.body);
    }

    const fail = (error: unknown): void => {
      settled = true;
      timeout.unsubscribe();
      subscriber.error(error);
    };

    context
      .fetch(url, init)
      .then(async (response) => {
        const text = await response.text();
        settled = true;
        timeout.unsubscribe();
        if (subscriber.closed) return;
        subscriber.next(readResponse(req, describe, url, response, text, context.scheduler.now()));
        subscriber.complete();
      })
      .catch((error: unknown) => {
        if (subscriber.closed) return;
        if (error instanceof RunflowDecodeError) {
          context.logger.warn('Response body did not decode', {
            method: req.method,
            url,
            issues: error.issues.map((issue) => `${issue.path || '<root>'}: expected ${issue.expected}`),
          });
          return fail(error);
        }
        if (error instanceof RunflowHttpError) return fail(error);
        if (timedOut) return fail(new RunflowRequestTimeoutError(req.method, url, context.requestTimeoutMs));
        fail(
          new RunflowConnectionError(
            `${describe} failed before a response arrived: ${causeText(error)}`,
            req.method,
            url,
            {
              cause: error,
            },
          ),
        );
      });

    return () => {
      timeout.unsubscribe();
      if (!settled) controller.abort();
    };
  });
}

/** Joins base URL, path and the query parameters that are not null or undefined. */
export function buildUrl(baseUrl: string, path: string, query?: Readonly<Record<string, QueryValue>>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) params.append(key, String(value));
  }
  const search = params.toString();
  return `${baseUrl}${path}${search === '' ? '' : `?${search}`}`;
}

function readResponse<A>(
  req: HttpRequest<A>,
  describe: string,
  url: string,
  response: FetchResponseLike,
  text: string,
  nowMs: number,
): A {
  const headers = response.headers;
  const requestId = headers.get('runflow-request-id') ?? headers.get('x-request-id') ?? undefined;

  if (response.status < 200 || response.status > 299) {
    throw httpError(req.method, url, response.status, text, {
      requestId,
      retryAfterMs: parseRetryAfter(headers.get('retry-after-ms'), headers.get('retry-after'), nowMs),
    });
  }
  if (text.trim() === '') {
    throw new RunflowDecodeError(
      `${describe} response`,
      [{ path: '', expected: 'a JSON body', received: text }],
      text,
      {
        unparsable: true,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RunflowDecodeError(
      `${describe} response`,
      [{ path: '', expected: 'a JSON body', received: excerpt(text) }],
      text,
      { unparsable: true },
    );
  }
  return req.decode(json, `${describe} response`);
}

function httpError(
  method: string,
  url: string,
  status: number,
  text: string,
  headers: { requestId: string | undefined; retryAfterMs: number | undefined },
): RunflowHttpError {
  const prefix = `${method} ${url} failed with HTTP ${status}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const envelope = ErrorEnvelopeCodec.decode(json);
  if (envelope._tag === 'Right') {
    const { code, message, errors } = envelope.right;
    return new RunflowHttpError(`${prefix} ${code}: ${message}`, status, method, url, {
      code,
      errors: errors ?? undefined,
      ...headers,
    });
  }
  const bodyExcerpt = excerpt(text);
  const shown =
    bodyExcerpt === '' ? 'an empty body' : `a body that is not an error envelope: ${JSON.stringify(bodyExcerpt)}`;
  return new RunflowHttpError(`${prefix} and ${shown}`, status, method, url, { bodyExcerpt, ...headers });
}

/**
 * Reads the server's retry hint in ms: `retry-after-ms` (a number of ms, sent by some gateways),
 * else `Retry-After` as seconds or as an HTTP date relative to `nowMs`. Returns undefined for an
 * absent, negative or unreadable value; a date in the past reads as 0.
 */
export function parseRetryAfter(
  retryAfterMs: string | null,
  retryAfter: string | null,
  nowMs: number,
): number | undefined {
  if (retryAfterMs !== null && /^\s*\d+(\.\d+)?\s*$/.test(retryAfterMs)) return Number(retryAfterMs);
  if (retryAfter === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(retryAfter)) return Number(retryAfter) * 1000;
  // HTTP dates name the day or month in letters; this keeps values such as "-5" from parsing as a year.
  const date = /[a-z]{3}/i.test(retryAfter) ? Date.parse(retryAfter) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function excerpt(text: string): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length > EXCERPT_CHARS ? `${collapsed.slice(0, EXCERPT_CHARS - 3)}...` : collapsed;
}

/**
 * Describes a fetch failure with its system error code. The global fetch of Node reports only
 * "fetch failed" and keeps the reason, such as ECONNREFUSED, in `cause`, so that is read too.
 */
function causeText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  let text = typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  if (error.cause !== undefined && error.cause !== error) text += `: ${causeText(error.cause)}`;
  return text;
}
