/**
 * Faults that tests program with `Simulator.injectFault()` or `SimulatorConfig.faults`:
 * error statuses, reset connections, slow responses, HTML error pages, truncated JSON and
 * stale run reads, each for chosen requests.
 *
 * Rules are checked after authentication and rate limiting, so a request rejected with 401
 * or 429 neither gets a fault nor counts towards a rule's `after` and `times`.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from './http-response.js';
import { jsonResponse, parsesAsJson } from './http-response.js';
import { matchesRequest } from './response-queue.js';
import { STALE_READ_ENDPOINTS } from './router.js';

/**
 * A fault, by kind:
 *
 * - `status`: this status instead of the real response; the request is not processed.
 *   `body` defaults to the error envelope for 4xx and 5xx (`INTERNAL_ERROR` for 5xx) and to
 *   an empty body otherwise.
 * - `reset`: the connection is destroyed without a response. With `afterProcessing: true` the
 *   request is processed first (a create-run request creates its run), which is the case an
 *   `Idempotency-Key` protects. Default: false, so nothing is processed.
 * - `slow`: the real response, sent `delayMs` simulated ms after the request arrived. The
 *   request is processed when it arrives. With Infinity the response stays pending until the
 *   client disconnects or the simulator closes.
 * - `html`: an HTML error page with `content-type: text/html`; status default 502. Not processed.
 * - `malformed-json`: a truncated JSON body with `content-type: application/json`; status
 *   default 200. Not processed.
 * - `stale`: `GET /v1/runs/{id}` and `GET /v1/runs` serve each run as an earlier read served
 *   it: the view with the lowest-ranked status, or the run at creation (`queued`) when it was
 *   never read. Rules with this fault match no other endpoint.
 */
export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly body?: string }
  | { readonly kind: 'reset'; readonly afterProcessing?: boolean }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'html'; readonly status?: number }
  | { readonly kind: 'malformed-json'; readonly status?: number }
  | { readonly kind: 'stale' };

/**
 * A fault for the requests that match `method` and `path`.
 *
 * @example
 * // The second create request gets a 503; every later one succeeds.
 * simulator.injectFault({ method: 'POST', path: /\/runs$/, after: 1, fault: { kind: 'status', status: 503 } });
 */
export interface FaultRule {
  /** HTTP method to match, case-insensitive. Default: any method. */
  readonly method?: string;
  /** Path to match, without the query and percent-encoded as sent: equal to a string, or matching a RegExp. */
  readonly path: string | RegExp;
  /** Number of matching requests that get the fault; an integer >= 1 or Infinity. Default: 1. */
  readonly times?: number;
  /** Number of matching requests to let through before the first fault. Default: 0. */
  readonly after?: number;
  readonly fault: Fault;
}

/** Error codes of the default bodies of 4xx `status` faults; other 4xx statuses use `BAD_REQUEST`. */
const CLIENT_ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  402: 'INSUFFICIENT_CREDIT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  422: 'VALIDATION_ERROR',
  429: 'RATE_LIMITED',
};

/** Body of the `malformed-json` fault: a run object cut off in the middle of a string. */
const TRUNCATED_JSON = '{"id":"0190b6c4-7e1f-7a3b-8c2d-4e5f6a7b8c9d","status_code":"runn';

const FAULT_KINDS = new Set(['status', 'reset', 'slow', 'html', 'malformed-json', 'stale']);

function validateStatus(value: unknown, field: string): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 200 || (value as number) > 599)) {
    throw new RangeError(`Invalid fault ${field} ${String(value)}: expected an integer from 200 to 599.`);
  }
}

/** Throws TypeError or RangeError naming the invalid field of `rule`. */
export function validateFaultRule(rule: FaultRule): void {
  if (typeof rule !== 'object' || rule === null) {
    throw new TypeError('Invalid fault rule: expected an object { method?, path, times?, after?, fault }.');
  }
  if (typeof rule.path !== 'string' && !(rule.path instanceof RegExp)) {
    throw new TypeError('Invalid fault rule: path must be a string or a RegExp.');
  }
  if (rule.method !== undefined && typeof rule.method !== 'string') {
    throw new TypeError('Invalid fault rule: method must be a string.');
  }
  const times = rule.times ?? 1;
  if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) {
    throw new RangeError(`Invalid fault rule times ${String(times)}: expected an integer >= 1 or Infinity.`);
  }
  const after = rule.after ?? 0;
  if (!Number.isInteger(after) || after < 0) {
    throw new RangeError(`Invalid fault rule after ${String(after)}: expected an integer >= 0.`);
  }

  const fault = rule.fault as Fault | undefined;
  if (typeof fault !== 'object' || fault === null || !FAULT_KINDS.has(fault.kind)) {
    throw new TypeError(
      `Invalid fault rule: fault.kind must be one of ${[...FAULT_KINDS].join(', ')}, got ${String(fault?.kind)}.`,
    );
  }
  switch (fault.kind) {
    case 'status':
      if (fault.status === undefined) {
        throw new RangeError('Invalid fault: a status fault needs status, an integer from 200 to 599.');
      }
      validateStatus(fault.status, 'status');
      if (fault.body !== undefined && typeof fault.body !== 'string') {
        throw new TypeError('Invalid fault: body of a status fault must be a string.');
      }
      return;
    case 'reset':
      if (fault.afterProcessing !== undefined && typeof fault.afterProcessing !== 'boolean') {
        throw new TypeError('Invalid fault: afterProcessing of a reset fault must be true or false.');
      }
      return;
    case 'slow':
      if (typeof fault.delayMs !== 'number' || Number.isNaN(fault.delayMs) || fault.delayMs < 0) {
        throw new RangeError(
          `Invalid fault delayMs ${String(fault.delayMs)}: expected a number of simulated ms >= 0 or Infinity.`,
        );
      }
      return;
    case 'html':
    case 'malformed-json':
      validateStatus(fault.status, 'status');
      return;
    case 'stale':
      return;
  }
}

/** Returns whether the fault replaces the response without processing the request. */
export function skipsProcessing(fault: Fault): boolean {
  switch (fault.kind) {
    case 'status':
    case 'html':
    case 'malformed-json':
      return true;
    case 'reset':
      return fault.afterProcessing !== true;
    case 'slow':
    case 'stale':
      return false;
  }
}

/** Returns the response of a `status`, `html` or `malformed-json` fault. */
export function faultResponse(fault: Extract<Fault, { kind: 'status' | 'html' | 'malformed-json' }>): HttpResponse {
  switch (fault.kind) {
    case 'status':
      return statusFaultResponse(fault.status, fault.body);
    case 'html': {
      const status = fault.status ?? 502;
      const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
      const page = `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>\n`;
      return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: page };
    }
    case 'malformed-json':
      return { status: fault.status ?? 200, headers: { 'content-type': 'application/json' }, body: TRUNCATED_JSON };
  }
}

function statusFaultResponse(status: number, body: string | undefined): HttpResponse {
  if (body !== undefined) {
    return { status, headers: { 'content-type': parsesAsJson(body) ? 'application/json' : 'text/html' }, body };
  }
  if (status < 400) {
    return { status, headers: {}, body: '' };
  }
  const code = status >= 500 ? 'INTERNAL_ERROR' : (CLIENT_ERROR_CODES[status] ?? 'BAD_REQUEST');
  return jsonResponse(status, {
    code,
    message: `The simulator returned an injected ${status} ${STATUS_CODES[status] ?? 'error'} response.`,
    errors: null,
  });
}

interface FaultEntry {
  readonly rule: FaultRule;
  /** Matching requests seen since the rule was added. */
  seen: number;
  /** Faults left to apply. */
  remaining: number;
}

/** The active fault rules, in the order they were added. */
export class FaultRules {
  private entries: FaultEntry[] = [];

  /** Adds `rule` after the rules already active. Throws TypeError or RangeError for an invalid rule. */
  add(rule: FaultRule): void {
    validateFaultRule(rule);
    this.entries.push({ rule: { ...rule, fault: { ...rule.fault } }, seen: 0, remaining: rule.times ?? 1 });
  }

  /** Removes every rule. */
  clear(): void {
    this.entries = [];
  }

  /**
   * Returns the fault for a request, or undefined. Every matching rule counts the request
   * towards its `after`, even when an earlier rule applies its fault. The first rule past its
   * `after` with faults left applies; a rule is removed once it has applied `times` faults.
   * `endpoint` is the request's `<METHOD> <path template>`, which decides where `stale` applies.
   */
  take(method: string, path: string, endpoint: string): Fault | undefined {
    let chosen: FaultEntry | undefined;
    for (const entry of this.entries) {
      if (!matchesRequest(entry.rule, method, path)) continue;
      if (entry.rule.fault.kind === 'stale' && !STALE_READ_ENDPOINTS.has(endpoint)) continue;
      entry.seen += 1;
      if (chosen === undefined && entry.seen > (entry.rule.after ?? 0)) {
        chosen = entry;
        entry.remaining -= 1;
      }
    }
    if (chosen !== undefined && chosen.remaining <= 0) {
      this.entries = this.entries.filter((entry) => entry !== chosen);
    }
    return chosen?.rule.fault;
  }
}
