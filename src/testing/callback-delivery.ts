/**
 * Callback deliveries of runs and batches: when they start, how they are signed and retried,
 * and the delivery records that `GET /v1/runs/{id}/callback` returns.
 *
 * Every delay runs on the simulated clock. A delivery is created when its run or batch
 * reaches its terminal state, and its first attempt starts at once. A failed attempt (a
 * non-2xx response, a timeout or a connection error) is retried after 5 s, 25 s, 125 s and
 * 625 s, counted from the end of the failed attempt, up to 5 attempts. Runflow documents
 * retries on these failures and an exponential schedule, but not the numbers, so they are the
 * simulator's.
 *
 * Attempt times are logical: an attempt counts as starting at its due time even when
 * `advanceTime()` jumped past it, and as ending after its response time. So one large jump
 * runs every attempt that falls inside it, each at its scheduled time.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { ScheduledTaskHandle, SimulatedClock } from './clock.js';
import {
  sendCallback,
  type CallbackAttempt,
  type CallbackAttemptResult,
  type CallbackFailureReason,
} from './callback-http.js';
import type { CallbackSecretStore, StoredSecret } from './callback-secrets.js';
import { UuidV7Generator } from './ids.js';
import { isoTime, isoTimeOrNull } from './run-view.js';

export type { CallbackFailureReason } from './callback-http.js';

/** Time a callback attempt may take before it counts as timed out, in simulated ms. */
export const DEFAULT_CALLBACK_TIMEOUT_MS = 10_000;

/** Delay before each attempt, in simulated ms from the end of the previous one. Its length is the attempt limit. */
export const CALLBACK_RETRY_DELAYS_MS: readonly number[] = Object.freeze([0, 5_000, 25_000, 125_000, 625_000]);

/** Attempts per delivery before it fails. */
export const CALLBACK_MAX_ATTEMPTS = CALLBACK_RETRY_DELAYS_MS.length;

/**
 * State of a delivery: `pending` until its first attempt ends, `retrying` after a failed
 * attempt with attempts left, then `succeeded` or `failed`. Runflow does not document the
 * values, so they are the simulator's.
 */
export type CallbackDeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed';

/** One finished attempt of a delivery, as the delivery history returns it. */
export interface CallbackAttemptRecord {
  readonly id: string;
  readonly delivery_id: string;
  /** 1 for the first attempt. */
  readonly attempt_number: number;
  /** HTTP status that the callback URL responded with, or null after a timeout or connection error. */
  readonly status_code: number | null;
  /** First 1024 bytes of the response body as UTF-8, or null without a response. */
  readonly response_body: string | null;
  /** Simulated ms from sending to the result, or the timeout for a timed-out attempt. */
  readonly response_time_ms: number;
  /** Timeout or connection error text, else null. */
  readonly error_message: string | null;
  /** Simulated time the attempt was due, ISO 8601 with `Z`. */
  readonly created_at: string;
}

/** The callback envelope, as sent and as stored in `payload`. */
export interface CallbackPayload {
  /** `run.completed`, `run.failed`, `run.cancelled`, `run.partial_succeeded`, or `batch.*`. */
  readonly event: string;
  /** Set on run callbacks. */
  readonly run_id?: string;
  /** Set on batch callbacks. */
  readonly batch_id?: string;
  readonly status: string;
  readonly output: unknown;
  readonly duration_ms: number | null;
  /** ISO 8601 with milliseconds and `+00:00`. */
  readonly created_at: string;
  readonly completed_at: string;
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

/** A callback delivery, as `GET /v1/runs/{id}/callback` and `Simulator.deliveries()` return it. */
export interface CallbackDeliveryRecord {
  readonly id: string;
  /** Set on deliveries of run callbacks. */
  readonly run_id?: string;
  /** Set on deliveries of batch callbacks. */
  readonly batch_id?: string;
  readonly callback_url: string;
  /** The exact body of every attempt, fixed when the delivery was created. */
  readonly payload_bytes: string;
  /** `payload_bytes` parsed. */
  readonly payload: CallbackPayload;
  /** Secret that signs the attempts, or null when none does. */
  readonly signing_secret_id: string | null;
  /** False for deliveries created by a redelivery request. */
  readonly is_automatic: boolean;
  readonly status_code: CallbackDeliveryStatus;
  /** Reason of the last failed attempt. Null once the delivery succeeded, and before any attempt failed. */
  readonly failure_reason_code: CallbackFailureReason | null;
  readonly failure_detail: string | null;
  /** Number of finished attempts. An attempt in flight is not counted yet. */
  readonly attempt_count: number;
  readonly max_attempts: number;
  /** Due time of the next attempt. Null while an attempt is in flight and after the delivery ended. */
  readonly next_attempt_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly completed_at: string | null;
  readonly attempts: readonly CallbackAttemptRecord[];
}

/** A run or batch that callbacks are delivered for. */
export interface CallbackTarget {
  readonly kind: 'run' | 'batch';
  readonly id: string;
  /** Null when the run or batch has no `callback_url`. */
  readonly callbackUrl: string | null;
  /** Simulated time at which the run or batch reaches its terminal state. */
  readonly terminalAt: number;
  /** Builds the envelope from the current state of the run or batch. */
  buildEnvelope(): CallbackPayload;
}

/** Settings of a `CallbackDispatcher`. */
export interface CallbackDispatcherOptions {
  readonly clock: SimulatedClock;
  readonly secrets: CallbackSecretStore;
  readonly timeoutMs: number;
  /** Send no `Runflow-Signature` header. */
  readonly omitSignature: boolean;
}

interface StoredAttempt {
  readonly id: string;
  readonly attemptNumber: number;
  readonly result: CallbackAttemptResult;
  readonly responseTimeMs: number;
  readonly createdAt: number;
}

interface StoredDelivery {
  readonly id: string;
  readonly target: { readonly kind: 'run' | 'batch'; readonly id: string };
  readonly callbackUrl: string;
  readonly payloadBytes: string;
  readonly isAutomatic: boolean;
  readonly createdAt: number;
  readonly attempts: StoredAttempt[];
  signingSecretId: string | null;
  status: CallbackDeliveryStatus;
  failureReason: CallbackFailureReason | null;
  failureDetail: string | null;
  nextAttemptAt: number | null;
  updatedAt: number;
  completedAt: number | null;
}

/** An action due at a simulated time, with the clock task that starts it. */
interface Timer {
  readonly dueAt: number;
  /** Creation order, which breaks ties between equal due times. */
  readonly sequence: number;
  readonly action: () => void;
  task: ScheduledTaskHandle | undefined;
}

function describeFailure(result: CallbackAttemptResult): string {
  if (result.failureReason === 'non_2xx_status') {
    return `The callback URL responded with HTTP ${String(result.statusCode)}; only 2xx counts as delivered.`;
  }
  return result.errorMessage ?? 'The attempt failed.';
}

/** The deliveries of one simulator and the timers and connections of their attempts. */
export class CallbackDispatcher {
  private readonly deliveries: StoredDelivery[] = [];
  private readonly timers = new Set<Timer>();
  private readonly inFlight = new Set<CallbackAttempt>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly ids = new UuidV7Generator();
  private sequence = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: CallbackDispatcherOptions) {}

  /** Schedules the automatic delivery of `target` for its terminal time, when it has a callback URL. */
  watch(target: CallbackTarget): void {
    const url = target.callbackUrl;
    if (url === null) return;
    this.at(target.terminalAt, () => this.createDelivery(target, url, target.terminalAt, true));
  }

  /**
   * Creates a manual delivery of `target` from its current state and starts its first attempt.
   * Throws an Error when `target` has no callback URL, which the route checks first.
   */
  redeliver(target: CallbackTarget): CallbackDeliveryRecord {
    if (target.callbackUrl === null) {
      throw new Error(`Cannot redeliver the callback of ${target.kind} ${target.id}: it has no callback_url.`);
    }
    return renderDelivery(this.createDelivery(target, target.callbackUrl, this.options.clock.now(), false));
  }

  /** Returns whether a delivery of the run or batch `targetId` is pending or retrying. */
  hasDeliveryInFlight(targetId: string): boolean {
    this.runDue();
    return this.deliveries.some(
      (delivery) =>
        delivery.target.id === targetId && (delivery.status === 'pending' || delivery.status === 'retrying'),
    );
  }

  /** Returns the deliveries of the run or batch `targetId`, or of every target, oldest first. */
  records(targetId?: string): CallbackDeliveryRecord[] {
    this.runDue();
    return this.deliveries
      .filter((delivery) => targetId === undefined || delivery.target.id === targetId)
      .map(renderDelivery);
  }

  /**
   * Starts every delivery and attempt that is due at the current simulated time, earliest
   * first. Reads call it so that they never miss a delivery whose clock timer has not fired yet.
   */
  runDue(): void {
    for (;;) {
      if (this.closing !== undefined) return;
      const now = this.options.clock.now();
      const due = [...this.timers]
        .filter((timer) => timer.dueAt <= now)
        .sort((left, right) => left.dueAt - right.dueAt || left.sequence - right.sequence);
      if (due.length === 0) break;
      for (const timer of due) {
        this.timers.delete(timer);
        timer.task?.cancel();
        timer.action();
      }
    }
    this.notifyIfIdle();
  }

  /** Resolves once no attempt is in flight and none is due. It does not wait for attempts due later. */
  flush(): Promise<void> {
    this.runDue();
    if (this.closing !== undefined || this.inFlight.size === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels every timer, aborts every attempt in flight, and resolves once their connections are closed. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    for (const timer of this.timers) timer.task?.cancel();
    this.timers.clear();
    const attempts = [...this.inFlight];
    this.inFlight.clear();
    for (const attempt of attempts) attempt.abort();
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.closing = Promise.all(attempts.map((attempt) => attempt.closed)).then(() => undefined);
    return this.closing;
  }

  private at(dueAt: number, action: () => void): void {
    if (this.closing !== undefined) return;
    const timer: Timer = { dueAt, sequence: this.sequence, action, task: undefined };
    this.sequence += 1;
    this.timers.add(timer);
    timer.task = this.options.clock.schedule(dueAt, () => this.runDue());
  }

  private createDelivery(
    target: CallbackTarget,
    callbackUrl: string,
    createdAt: number,
    isAutomatic: boolean,
  ): StoredDelivery {
    const delivery: StoredDelivery = {
      id: this.ids.next(createdAt),
      target: { kind: target.kind, id: target.id },
      callbackUrl,
      payloadBytes: JSON.stringify(target.buildEnvelope()),
      isAutomatic,
      createdAt,
      attempts: [],
      signingSecretId: this.options.secrets.current()?.id ?? null,
      status: 'pending',
      failureReason: null,
      failureDetail: null,
      nextAttemptAt: createdAt,
      updatedAt: createdAt,
      completedAt: null,
    };
    this.deliveries.push(delivery);
    this.startAttempt(delivery, createdAt);
    return delivery;
  }

  /**
   * Returns the secret that signs the next attempt: the delivery's own secret, or the current
   * one when the delivery's secret was deleted or it had none.
   */
  private signingSecret(delivery: StoredDelivery): StoredSecret | undefined {
    const own = delivery.signingSecretId === null ? undefined : this.options.secrets.get(delivery.signingSecretId);
    return own ?? this.options.secrets.current();
  }

  private startAttempt(delivery: StoredDelivery, dueAt: number): void {
    if (this.closing !== undefined) return;
    const body = Buffer.from(delivery.payloadBytes, 'utf8');
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'Runflow-Request-Id': randomUUID(),
      'User-Agent': 'runflow-simulator',
    };
    const secret = this.signingSecret(delivery);
    delivery.signingSecretId = secret?.id ?? null;
    if (secret !== undefined && !this.options.omitSignature) {
      headers['Runflow-Signature'] = createHmac('sha256', secret.plainSecret).update(body).digest('hex');
      secret.lastUsedAt = dueAt;
    }
    delivery.nextAttemptAt = null;
    delivery.updatedAt = dueAt;

    const attempt = sendCallback({
      url: delivery.callbackUrl,
      body,
      headers,
      timeoutMs: this.options.timeoutMs,
      clock: this.options.clock,
    });
    this.inFlight.add(attempt);
    void attempt.result.then((result) => {
      this.inFlight.delete(attempt);
      if (this.closing !== undefined || result.aborted) return;
      this.recordAttempt(delivery, dueAt, result);
      this.runDue();
    });
  }

  private recordAttempt(delivery: StoredDelivery, dueAt: number, result: CallbackAttemptResult): void {
    const { timeoutMs } = this.options;
    const responseTimeMs = result.failureReason === 'timeout' ? timeoutMs : Math.min(result.elapsedMs, timeoutMs);
    const endedAt = dueAt + responseTimeMs;
    delivery.attempts.push({
      id: this.ids.next(dueAt),
      attemptNumber: delivery.attempts.length + 1,
      result,
      responseTimeMs,
      createdAt: dueAt,
    });
    delivery.updatedAt = endedAt;

    if (result.failureReason === null) {
      delivery.status = 'succeeded';
      delivery.failureReason = null;
      delivery.failureDetail = null;
      delivery.completedAt = endedAt;
      return;
    }
    delivery.failureReason = result.failureReason;
    delivery.failureDetail = describeFailure(result);
    const delayMs = CALLBACK_RETRY_DELAYS_MS[delivery.attempts.length];
    if (delayMs === undefined) {
      delivery.status = 'failed';
      delivery.completedAt = endedAt;
      return;
    }
    delivery.status = 'retrying';
    const nextAt = endedAt + delayMs;
    delivery.nextAttemptAt = nextAt;
    this.at(nextAt, () => this.startAttempt(delivery, nextAt));
  }

  private notifyIfIdle(): void {
    if (this.inFlight.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function renderDelivery(delivery: StoredDelivery): CallbackDeliveryRecord {
  const target = delivery.target.kind === 'run' ? { run_id: delivery.target.id } : { batch_id: delivery.target.id };
  return {
    id: delivery.id,
    ...target,
    callback_url: delivery.callbackUrl,
    payload_bytes: delivery.payloadBytes,
    payload: JSON.parse(delivery.payloadBytes) as CallbackPayload,
    signing_secret_id: delivery.signingSecretId,
    is_automatic: delivery.isAutomatic,
    status_code: delivery.status,
    failure_reason_code: delivery.failureReason,
    failure_detail: delivery.failureDetail,
    attempt_count: delivery.attempts.length,
    max_attempts: CALLBACK_MAX_ATTEMPTS,
    next_attempt_at: isoTimeOrNull(delivery.nextAttemptAt),
    created_at: isoTime(delivery.createdAt),
    updated_at: isoTime(delivery.updatedAt),
    completed_at: isoTimeOrNull(delivery.completedAt),
    attempts: delivery.attempts.map((attempt) => ({
      id: attempt.id,
      delivery_id: delivery.id,
      attempt_number: attempt.attemptNumber,
      status_code: attempt.result.statusCode,
      response_body: attempt.result.responseBody,
      response_time_ms: attempt.responseTimeMs,
      error_message: attempt.result.errorMessage,
      created_at: isoTime(attempt.createdAt),
    })),
  };
}
