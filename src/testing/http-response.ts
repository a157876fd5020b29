/**
 * Complete HTTP responses as the server writes them, built from route results, errors and
 * faults. Idempotency keys store and replay them.
 */
import type { SimulatorHttpError } from './http-errors.js';
import type { RouteResponse } from './router.js';

/** A response to write: status, headers with lower-case names, and the body. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** Returns a JSON response with `content-type: application/json` unless `headers` sets another. */
export function jsonResponse(
  status: number,
  json: unknown,
  headers: Readonly<Record<string, string>> = {},
): HttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(json) };
}

/** Returns the error envelope `{code, message, errors}` of `error`, with its headers. */
export function errorResponse(error: SimulatorHttpError): HttpResponse {
  return jsonResponse(error.status, error.toBody(), error.headers);
}

/** Converts a route result, JSON or raw bytes, into a response. */
export function routeResponse(result: RouteResponse): HttpResponse {
  if ('bytes' in result) {
    return { status: result.status, headers: { ...result.headers }, body: result.bytes };
  }
  return jsonResponse(result.status, result.json, result.headers);
}

/** Returns whether `text` is valid JSON. */
export function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
