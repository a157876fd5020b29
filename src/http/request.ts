import crossFetch from 'cross-fetch';
import { Observable, type SchedulerLike } from 'rxjs';

import { RunflowConnectionError, RunflowDecodeError, RunflowHttpError, RunflowRequestTimeoutError } from '../errors.js';
import type { RunflowLogger } from '../logger.js';
import { ErrorEnvelopeCodec } from '../codecs/envelope.js';

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
}

/** Maximum length of the non-JSON error body kept in RunflowHttpError.bodyExcerpt. */
const EXCERPT_CHARS = 200;

/**
 * Sends one HTTP request as a cold Observable that emits the decoded body once and completes.
 *
 * Each subscription sends its own request with its own AbortController; unsubscribing aborts it
 * and cancels the timeout. Errors are RunflowHttpError (non-2xx status), RunflowConnectionError
 * (no response), RunflowRequestTimeoutError (no response within `requestTimeoutMs`) or
 * RunflowDecodeError (a 2xx body that is empty, not JSON, or of the wrong shape).
 */
export function request<A>(context: HttpContext, req: HttpRequest<A>): Observable<A> {
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
        subscriber.next(readResponse(req, describe, url, response, text));
        subscriber.complete();
      })
      .catch((error: unknown) => {
        if (subscriber.closed) return;
        if (error instanceof RunflowHttpError || error instanceof RunflowDecodeError) return fail(error);
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
): A {
  const requestId = response.headers.get('runflow-request-id') ?? response.headers.get('x-request-id') ?? undefined;

  if (response.status < 200 || response.status > 299) {
    throw httpError(req.method, url, response.status, text, requestId);
  }
  if (text.trim() === '') {
    throw new RunflowDecodeError(`${describe} response`, [{ path: '', expected: 'a JSON body', received: text }], text);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RunflowDecodeError(
      `${describe} response`,
      [{ path: '', expected: 'a JSON body', received: excerpt(text) }],
      text,
    );
  }
  return req.decode(json, `${describe} response`);
}

function httpError(
  method: string,
  url: string,
  status: number,
  text: string,
  requestId: string | undefined,
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
      requestId,
    });
  }
  const bodyExcerpt = excerpt(text);
  const shown =
    bodyExcerpt === '' ? 'an empty body' : `a body that is not an error envelope: ${JSON.stringify(bodyExcerpt)}`;
  return new RunflowHttpError(`${prefix} and ${shown}`, status, method, url, { bodyExcerpt, requestId });
}

function excerpt(text: string): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed.length > EXCERPT_CHARS ? `${collapsed.slice(0, EXCERPT_CHARS - 3)}...` : collapsed;
}

function causeText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
