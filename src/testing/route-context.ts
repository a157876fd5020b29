/**
 * Types and helpers shared by the route handlers of router.ts and of the callback and batch
 * route modules.
 */
import { SimulatorHttpError } from './http-errors.js';
import { stableUuid } from './ids.js';
import type { StoredRun } from './run-view.js';
import type { SimulatorState } from './state.js';

/** The parts of an HTTP request that the handlers read. */
export interface RouteRequest {
  readonly method: string;
  /** Path without the query, percent-encoded as received. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** A response: JSON for the API, raw bytes for output files. */
export type RouteResponse =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly bytes: Buffer; readonly headers: Readonly<Record<string, string>> };

export type Handler = (request: RouteRequest, params: readonly string[], context: HandlerContext) => RouteResponse;

export interface HandlerContext {
  readonly state: SimulatorState;
  /** Simulated time of the request; every view in one response uses it. */
  readonly now: number;
  /** The API key the request carried, for `/v1/` routes. */
  readonly apiKey: string;
  /** Whether run reads serve the older views of the `stale` fault. */
  readonly stale: boolean;
}

export interface Route {
  readonly pattern: RegExp;
  /** The path with named placeholders, e.g. `/v1/runs/{id}/logs`, as request counters report it. */
  readonly template: string;
  readonly handlers: Readonly<Record<string, Handler>>;
}

export function headerValue(request: RouteRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function decodeParam(value: string | undefined): string {
  try {
    return decodeURIComponent(value ?? '');
  } catch {
    return value ?? '';
  }
}

/** Returns the run with id `rawId`; throws 404 RUN_NOT_FOUND for an unknown or malformed id. */
export function findRun(state: SimulatorState, rawId: string | undefined): StoredRun {
  const id = decodeParam(rawId);
  const run = state.runs.get(id.toLowerCase());
  if (run === undefined) {
    throw new SimulatorHttpError(404, 'RUN_NOT_FOUND', `No run with id "${id}".`);
  }
  return run;
}

/** Returns the organisation of a request: `X-Organization-Id` when sent, else a UUID derived from the API key. */
export function requestOrgId(request: RouteRequest, apiKey: string): string {
  return headerValue(request, 'x-organization-id') || stableUuid(`org:${apiKey}`);
}
