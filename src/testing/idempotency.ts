/**
 * `Idempotency-Key` on `POST /v1/models/{model_id}/runs`.
 *
 * Runflow documents the header for batch creation and handles it in a middleware that
 * covers every mutation. The same key with the same body replays the first response, and the
 * same key with another body gets 409 `CONFLICT`. A request without the header is never
 * deduplicated.
 *
 * The rest is not documented, so the simulator chooses: keys are scoped per API key and kept
 * for 24 h of simulated time. A duplicate that arrives while the first request is in flight
 * waits for its response. A 4xx or 5xx first response is not kept.
 */
import type { HttpResponse } from './http-response.js';

/** Time a key is kept after the request that first used it arrived, in simulated ms. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Longest accepted `Idempotency-Key`, in characters. Not documented; chosen by the simulator. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

interface Entry {
  readonly fingerprint: string;
  /** Simulated arrival time of the first request. */
  readonly createdAt: number;
  /** The first response, or undefined while the first request is in flight. */
  response: HttpResponse | undefined;
  /** Duplicates waiting for the first response. */
  readonly waiters: ((response: HttpResponse) => void)[];
}

/** Result of `IdempotencyStore.claim()`. */
export type IdempotencyClaim =
  /** The first request with this key: process it, then pass its response to `complete()`. */
  | { readonly kind: 'first'; complete(response: HttpResponse): void }
  /** A repeat of the first request: send this response, which waits for the first one when it is in flight. */
  | { readonly kind: 'replay'; readonly response: Promise<HttpResponse> }
  /** The key was used with another request: reject with 409. */
  | { readonly kind: 'conflict' };

/**
 * Returns `value` as JSON with the keys of every object sorted, so two bodies that differ
 * only in key order give the same text. Array order is kept.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const members = Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Returns the text that identifies a create request for idempotency: the path as sent and
 * the canonical JSON body. A body that is not JSON is compared as raw text.
 */
export function requestFingerprint(path: string, body: string): string {
  let canonicalBody: string;
  try {
    canonicalBody = `json:${canonicalJson(JSON.parse(body))}`;
  } catch {
    canonicalBody = `text:${body}`;
  }
  return `${path}\n${canonicalBody}`;
}

/** The idempotency keys of one simulator, in order of first use. */
export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly retentionMs: number = IDEMPOTENCY_RETENTION_MS) {}

  /**
   * Looks up `key` in the scope of one API key at simulated time `now` and claims it when it
   * is new. `fingerprint` comes from `requestFingerprint()`.
   */
  claim(scope: string, key: string, fingerprint: string, now: number): IdempotencyClaim {
    this.expire(now);
    const id = JSON.stringify([scope, key]);
    let entry = this.entries.get(id);
    if (entry !== undefined && entry.response !== undefined && now - entry.createdAt >= this.retentionMs) {
      this.entries.delete(id);
      entry = undefined;
    }

    if (entry === undefined) {
      const created: Entry = { fingerprint, createdAt: now, response: undefined, waiters: [] };
      this.entries.set(id, created);
      return { kind: 'first', complete: (response) => this.complete(id, created, response) };
    }
    if (entry.fingerprint !== fingerprint) {
      return { kind: 'conflict' };
    }
    const stored = entry.response;
    if (stored !== undefined) {
      return { kind: 'replay', response: Promise.resolve(stored) };
    }
    const waiters = entry.waiters;
    return { kind: 'replay', response: new Promise((resolve) => waiters.push(resolve)) };
  }

  /** Stores the first response and hands it to the waiting duplicates. A 4xx or 5xx is then dropped. */
  private complete(id: string, entry: Entry, response: HttpResponse): void {
    if (entry.response !== undefined) {
      return;
    }
    entry.response = response;
    for (const resolve of entry.waiters.splice(0)) {
      resolve(response);
    }
    if (response.status >= 400 && this.entries.get(id) === entry) {
      this.entries.delete(id);
    }
  }

  /** Drops the expired keys at the front of the map; a Map iterates in insertion order, which is arrival order. */
  private expire(now: number): void {
    for (const [id, entry] of this.entries) {
      // An entry in flight stays until its response is stored; the entries behind it expire on lookup.
      if (entry.response === undefined || now - entry.createdAt < this.retentionMs) {
        break;
      }
      this.entries.delete(id);
    }
  }
}
