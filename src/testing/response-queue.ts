/**
 * Raw responses queued by tests with `Simulator.queueResponse()`, to reproduce proxy error
 * pages, malformed JSON, slow responses and dropped connections.
 */

import { parsesAsJson } from './http-response.js';

/**
 * A raw response that replaces the real one for the next matching request(s).
 *
 * @example
 * simulator.queueResponse({ path: /^\/v1\/runs\//, status: 502, body: '<html>Bad Gateway</html>', times: 2 });
 */
export interface QueuedResponse {
  /** HTTP method to match, case-insensitive. Default: any method. */
  readonly method?: string;
  /** Path to match, without the query and percent-encoded as sent: equal to a string, or matching a RegExp. */
  readonly path: string | RegExp;
  /** HTTP status code, 100–599. */
  readonly status: number;
  /** Body, sent as is; it may be HTML, malformed JSON or empty. */
  readonly body: string;
  /**
   * Response headers. Default: `content-type: application/json` when `body` parses as JSON,
   * else `content-type: text/html`.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Number of matching requests that get this response; Infinity for all. Default: 1. */
  readonly times?: number;
  /**
   * Simulated ms to delay the response. With Infinity the response stays pending until the
   * client disconnects or the simulator closes. Default: 0.
   */
  readonly delayMs?: number;
  /** Destroy the connection instead of responding (after `delayMs`). Default: false. */
  readonly resetConnection?: boolean;
}

interface QueueEntry {
  readonly rule: QueuedResponse;
  remaining: number;
}

/** Throws TypeError or RangeError naming the invalid field of `rule`. */
function validateRule(rule: QueuedResponse): void {
  if (typeof rule.path !== 'string' && !(rule.path instanceof RegExp)) {
    throw new TypeError('Invalid queued response: path must be a string or a RegExp.');
  }
  if (!Number.isInteger(rule.status) || rule.status < 100 || rule.status > 599) {
    throw new RangeError(`Invalid queued response status ${String(rule.status)}: expected an integer from 100 to 599.`);
  }
  if (typeof rule.body !== 'string') {
    throw new TypeError('Invalid queued response: body must be a string.');
  }
  const times = rule.times ?? 1;
  if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) {
    throw new RangeError(`Invalid queued response times ${String(times)}: expected an integer >= 1 or Infinity.`);
  }
  const delayMs = rule.delayMs ?? 0;
  if (typeof delayMs !== 'number' || Number.isNaN(delayMs) || delayMs < 0) {
    throw new RangeError(
      `Invalid queued response delayMs ${String(delayMs)}: expected a number of ms >= 0 or Infinity.`,
    );
  }
}

/** Returns whether a request with `method` and `path` matches the optional method and the path pattern. */
export function matchesRequest(
  pattern: { readonly method?: string | undefined; readonly path?: string | RegExp | undefined },
  method: string,
  path: string,
): boolean {
  if (pattern.method !== undefined && pattern.method.toUpperCase() !== method.toUpperCase()) {
    return false;
  }
  if (pattern.path === undefined) {
    return true;
  }
  // search() ignores lastIndex, so a RegExp with the g flag matches the same way every time.
  return typeof pattern.path === 'string' ? pattern.path === path : path.search(pattern.path) !== -1;
}

/** Queued responses in the order they were queued. */
export class ResponseQueue {
  private entries: QueueEntry[] = [];

  /** Adds `rule` after the rules already queued. */
  add(rule: QueuedResponse): void {
    validateRule(rule);
    this.entries.push({ rule: { ...rule }, remaining: rule.times ?? 1 });
  }

  /** Removes one use of the first rule that matches the request and returns it, or undefined. */
  take(method: string, path: string): QueuedResponse | undefined {
    const entry = this.entries.find((candidate) => matchesRequest(candidate.rule, method, path));
    if (entry === undefined) {
      return undefined;
    }
    entry.remaining -= 1;
    if (entry.remaining <= 0) {
      this.entries = this.entries.filter((candidate) => candidate !== entry);
    }
    return entry.rule;
  }
}

/** Returns the headers of a queued response, with the default content type added. */
export function queuedResponseHeaders(rule: QueuedResponse): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rule.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  if (headers['content-type'] === undefined) {
    headers['content-type'] = parsesAsJson(rule.body) ? 'application/json' : 'text/html';
  }
  return headers;
}
