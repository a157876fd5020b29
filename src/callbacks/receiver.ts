import { Observable, Subject, type Subscriber } from 'rxjs';

import { toIssues } from '../codecs/decode.js';
import { isTerminalStatus } from '../codecs/status.js';
import { RunflowInputError, describeValue } from '../errors.js';
import { silentLogger, type RunflowLogger } from '../logger.js';
import { CallbackEnvelopeCodec, KNOWN_CALLBACK_EVENTS, type CallbackEnvelope } from './envelope.js';
import { SIGNATURE_HEADER, SignatureVerifier, rawBodyBytes, type RawBody } from './verify.js';

/** Settings of a callback receiver. */
export interface CallbackReceiverConfig {
  /**
   * Callback secrets (`plain_secret` values) whose signatures are accepted; more than one during a
   * rotation. With none, signatures are not checked and every request is accepted: use that only
   * when your org has no callback secret, since Runflow then sends no signature.
   */
  readonly secrets?: readonly string[];
  /** Largest accepted body, in bytes; larger ones get 413. Default 8 MiB. */
  readonly maxBodyBytes?: number;
  /** Time an envelope is kept for a run or batch that no one watches yet, in ms. Default 600000. */
  readonly retainMs?: number;
  /** Most envelopes kept for unwatched runs and batches; the oldest go first. Default 10000. */
  readonly maxRetained?: number;
  readonly logger?: RunflowLogger;
  /** Clock in ms, for retention. Default `Date.now`. */
  readonly now?: () => number;
}

/** Request headers: a fetch `Headers`, or a Node-style record with lowercase names. */
export type CallbackHeaders =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

/** A raw callback request: the body exactly as received, before any JSON parsing. */
export interface CallbackRequest {
  readonly body: RawBody;
  readonly headers: CallbackHeaders;
}

/** Response for Runflow: an HTTP status and a small JSON body. */
export interface CallbackResponse {
  readonly status: number;
  readonly body: string;
}

export const DEFAULT_MAX_CALLBACK_BYTES = 8 * 1024 * 1024;
const DEFAULT_RETAIN_MS = 600_000;
const DEFAULT_MAX_RETAINED = 10_000;

interface Retained {
  readonly envelope: CallbackEnvelope;
  readonly receivedAt: number;
}

/**
 * Receives Runflow callbacks, independent of any web framework: raw body and headers in, HTTP
 * status out. Adapters for node:http, fetch-API handlers, Express and Fastify wrap `handle`.
 *
 * Each request is checked in order: size (413), signature when secrets are configured (401),
 * JSON and envelope shape (400). A valid envelope is acknowledged with 200 and routed by
 * `run_id` or `batch_id` to the Observables from `runEnvelopes` and `batchEnvelopes`. An unknown
 * event name is acknowledged and logged. A repeated delivery (the same id, event and status) is
 * acknowledged and dropped, and so is an envelope for a run whose other terminal status arrived
 * first. Envelopes for runs that no one watches yet are kept for `retainMs` and replayed to the first
 * watchers.
 */
export class CallbackReceiver {
  private readonly verifier: SignatureVerifier | undefined;
  private readonly maxBodyBytes: number;
  private readonly retainMs: number;
  private readonly maxRetained: number;
  /** The logger given in the settings; adapters log what they reject before `handle` runs. */
  readonly logger: RunflowLogger;
  private readonly now: () => number;
  private readonly watchers = new Map<string, Set<Subscriber<CallbackEnvelope>>>();
  private readonly retained = new Map<string, Retained[]>();
  private retainedCount = 0;
  private closed = false;
  /** Delivery keys seen, with the time, for deduplication within `retainMs`. */
  private readonly seen = new Map<string, number>();
  /** The terminal status first received for each run or batch key. */
  private readonly terminal = new Map<string, { status: string; at: number }>();
  private readonly all = new Subject<CallbackEnvelope>();

  /** Every accepted envelope, as it arrives; a hot stream that completes on `close()`. */
  readonly envelopes: Observable<CallbackEnvelope> = this.all.asObservable();

  constructor(config: CallbackReceiverConfig = {}) {
    const { secrets, maxBodyBytes, retainMs, maxRetained } = config;
    this.verifier = secrets === undefined || secrets.length === 0 ? undefined : new SignatureVerifier(secrets);
    this.maxBodyBytes = positiveInteger('maxBodyBytes', maxBodyBytes ?? DEFAULT_MAX_CALLBACK_BYTES);
    this.retainMs = positiveInteger('retainMs', retainMs ?? DEFAULT_RETAIN_MS);
    this.maxRetained = positiveInteger('maxRetained', maxRetained ?? DEFAULT_MAX_RETAINED);
    this.logger = config.logger ?? silentLogger;
    this.now = config.now ?? Date.now;
  }

  /** Largest accepted body in bytes; adapters stop reading past it. */
  get bodyLimit(): number {
    return this.maxBodyBytes;
  }

  /**
   * Checks and routes one callback request and returns the response for Runflow. Throws
   * RunflowInputError only for a programming error, such as a body that was already parsed.
   */
  async handle(request: CallbackRequest): Promise<CallbackResponse> {
    const bytes = rawBodyBytes(request.body);
    const requestId = header(request.headers, 'runflow-request-id');

    if (bytes.byteLength > this.maxBodyBytes) {
      this.logger.warn('Rejected a callback larger than the limit', {
        requestId,
        bytes: bytes.byteLength,
        limit: this.maxBodyBytes,
      });
      return reply(413, { error: 'payload too large', limitBytes: this.maxBodyBytes });
    }
    if (
      this.verifier !== undefined &&
      !(await this.verifier.verify(bytes, header(request.headers, SIGNATURE_HEADER)))
    ) {
      this.logger.warn('Rejected a callback with a missing or invalid signature', {
        requestId,
        signaturePresent: header(request.headers, SIGNATURE_HEADER) !== undefined,
      });
      return reply(401, { error: 'invalid signature' });
    }

    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      this.logger.warn('Rejected a callback whose body is not JSON', { requestId });
      return reply(400, { error: 'body is not JSON' });
    }
    const decoded = CallbackEnvelopeCodec.decode(json);
    if (decoded._tag === 'Left') {
      const issues = toIssues(decoded.left, 'callback envelope', json).map(
        (issue) => `${issue.path || '<root>'}: expected ${issue.expected}, received ${describeValue(issue.received)}`,
      );
      this.logger.warn('Rejected a callback that is not a valid envelope', { requestId, issues });
      return reply(400, { error: 'invalid envelope', issues });
    }
    return reply(200, this.accept(decoded.right, requestId));
  }

  /** Emits the envelopes of one run, including those kept from before the subscription. */
  runEnvelopes(runId: string): Observable<CallbackEnvelope> {
    return this.route(`run:${runId}`);
  }

  /** Emits the envelopes of one batch, including those kept from before the subscription. */
  batchEnvelopes(batchId: string): Observable<CallbackEnvelope> {
    return this.route(`batch:${batchId}`);
  }

  /** Completes every stream, now and for later subscribers, and drops every kept envelope. */
  close(): void {
    this.closed = true;
    for (const subscribers of this.watchers.values()) for (const subscriber of [...subscribers]) subscriber.complete();
    this.watchers.clear();
    this.retained.clear();
    this.retainedCount = 0;
    this.all.complete();
  }

  private accept(envelope: CallbackEnvelope, requestId: string | undefined): Record<string, unknown> {
    const key = envelope.run_id ? `run:${envelope.run_id}` : `batch:${envelope.batch_id}`;
    const ids = { runId: envelope.run_id ?? undefined, batchId: envelope.batch_id ?? undefined, requestId };
    const now = this.now();
    this.prune(now);

    if (!KNOWN_CALLBACK_EVENTS.has(envelope.event)) {
      this.logger.info('Acknowledged a callback with an unknown event name', { ...ids, event: envelope.event });
    }
    const deliveryKey = `${key}|${envelope.event}|${envelope.status ?? ''}`;
    if (this.seen.has(deliveryKey)) {
      this.logger.debug('Dropped a repeated callback delivery', { ...ids, event: envelope.event });
      return { received: true, duplicate: true };
    }
    this.seen.set(deliveryKey, now);

    const status = envelope.status ?? undefined;
    if (status !== undefined && isTerminalStatus(status)) {
      const first = this.terminal.get(key);
      if (first !== undefined && first.status !== status) {
        this.logger.info('Ignored a callback for a run or batch that already ended otherwise', {
          ...ids,
          status,
          firstStatus: first.status,
        });
        return { received: true, stale: true };
      }
      this.terminal.set(key, { status, at: now });
    }

    this.all.next(envelope);
    const subscribers = this.watchers.get(key);
    this.keep(key, envelope, now);
    if (subscribers !== undefined) for (const subscriber of [...subscribers]) subscriber.next(envelope);
    return { received: true };
  }

  private route(key: string): Observable<CallbackEnvelope> {
    return new Observable<CallbackEnvelope>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      this.prune(this.now());
      for (const { envelope } of this.retained.get(key) ?? []) subscriber.next(envelope);
      let subscribers = this.watchers.get(key);
      if (subscribers === undefined) {
        subscribers = new Set();
        this.watchers.set(key, subscribers);
      }
      subscribers.add(subscriber);
      return () => {
        subscribers.delete(subscriber);
        if (subscribers.size === 0 && this.watchers.get(key) === subscribers) this.watchers.delete(key);
      };
    });
  }

  /** Keeps an envelope for later watchers, within `maxRetained` in all. */
  private keep(key: string, envelope: CallbackEnvelope, now: number): void {
    const list = this.retained.get(key) ?? [];
    list.push({ envelope, receivedAt: now });
    this.retained.set(key, list);
    this.retainedCount++;
    while (this.retainedCount > this.maxRetained) {
      const oldestKey = this.retained.keys().next().value as string;
      const oldest = this.retained.get(oldestKey)!;
      oldest.shift();
      this.retainedCount--;
      if (oldest.length === 0) this.retained.delete(oldestKey);
    }
  }

  /**
   * Forgets envelopes and delivery keys older than `retainMs`. Maps iterate in insertion order,
   * which is arrival order here, so each loop stops at the first fresh entry. Runs on each
   * request and subscription, so no timer is needed.
   */
  private prune(now: number): void {
    const cutoff = now - this.retainMs;
    for (const [key, list] of this.retained) {
      while (list.length > 0 && list[0]!.receivedAt < cutoff) {
        list.shift();
        this.retainedCount--;
      }
      if (list.length > 0) break;
      this.retained.delete(key);
    }
    for (const [key, at] of this.seen) {
      if (at >= cutoff) break;
      this.seen.delete(key);
    }
    for (const [key, first] of this.terminal) {
      if (first.at >= cutoff) break;
      this.terminal.delete(key);
    }
  }
}

/** Creates a callback receiver; see CallbackReceiver. */
export function createCallbackReceiver(config: CallbackReceiverConfig = {}): CallbackReceiver {
  return new CallbackReceiver(config);
}

/** Reads one header from either header shape; the first value of a repeated header. */
export function header(headers: CallbackHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const value = record[name] ?? record[Object.keys(record).find((key) => key.toLowerCase() === name) ?? ''];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

function reply(status: number, body: Record<string, unknown>): CallbackResponse {
  return { status, body: JSON.stringify(body) };
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RunflowInputError(`Invalid ${name} ${describeValue(value)}: expected a whole number of at least 1`);
  }
  return value;
}
