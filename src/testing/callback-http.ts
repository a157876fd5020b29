/**
 * One callback attempt: a `node:http` POST of the frozen payload bytes to the callback URL,
 * with a timeout on the simulated clock. Each attempt opens its own connection (no agent and
 * no keep-alive), so aborting it leaves no socket behind.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import type { ScheduledTaskHandle, SimulatedClock } from './clock.js';

/** Maximum number of response body bytes kept in the attempt record. */
export const MAX_RECORDED_RESPONSE_BYTES = 1024;

/** Reason an attempt failed. Runflow does not document these names, so they are the simulator's own. */
export type CallbackFailureReason = 'non_2xx_status' | 'timeout' | 'connection_error';

/** Result of one attempt. */
export interface CallbackAttemptResult {
  /** HTTP status of the response, or null when none arrived. */
  readonly statusCode: number | null;
  /** First `MAX_RECORDED_RESPONSE_BYTES` of the response body as UTF-8, or null when no response arrived. */
  readonly responseBody: string | null;
  /** Null on a 2xx response. */
  readonly failureReason: CallbackFailureReason | null;
  /** Error text for timeouts and connection errors, else null. */
  readonly errorMessage: string | null;
  /** Simulated ms from sending the request to the result. */
  readonly elapsedMs: number;
  /** True when `abort()` ended the attempt. The other fields then mean nothing. */
  readonly aborted: boolean;
}

/** An attempt in flight. */
export interface CallbackAttempt {
  readonly result: Promise<CallbackAttemptResult>;
  /** Ends the attempt at once and destroys its connection. */
  abort(): void;
  /** Resolves once the connection of the attempt is closed, or at once when none was opened. */
  readonly closed: Promise<void>;
}

/** Request that `sendCallback()` sends. */
export interface CallbackRequest {
  readonly url: string;
  readonly body: Buffer;
  /** Header names as they go on the wire. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly clock: SimulatedClock;
}

/** Posts `request.body` to `request.url` and resolves with the outcome. The promise never rejects. */
export function sendCallback(request: CallbackRequest): CallbackAttempt {
  const { clock } = request;
  const sentAt = clock.now();
  let resolveResult: (result: CallbackAttemptResult) => void = () => undefined;
  const result = new Promise<CallbackAttemptResult>((resolve) => (resolveResult = resolve));
  let settled = false;
  let timeout: ScheduledTaskHandle | undefined;
  const finish = (outcome: Omit<CallbackAttemptResult, 'elapsedMs'>): void => {
    if (settled) return;
    settled = true;
    timeout?.cancel();
    resolveResult({ ...outcome, elapsedMs: Math.max(0, clock.now() - sentAt) });
  };
  const failConnection = (message: string): void =>
    finish({
      statusCode: null,
      responseBody: null,
      failureReason: 'connection_error',
      errorMessage: message,
      aborted: false,
    });

  let target: URL | undefined;
  try {
    target = new URL(request.url);
  } catch {
    target = undefined;
  }
  if (target === undefined || target.protocol !== 'http:') {
    // The simulator sends callbacks with node:http only, so an https URL cannot be reached.
    const reason =
      target === undefined
        ? `Invalid callback URL ${request.url}.`
        : `Cannot deliver to ${target.protocol} URLs: the simulator sends callbacks over plain http only.`;
    queueMicrotask(() => failConnection(reason));
    return { result, abort: () => finish(abortedOutcome()), closed: Promise.resolve() };
  }

  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let outgoing: ClientRequest;
  try {
    outgoing = httpRequest(target, { method: 'POST', agent: false, headers: request.headers });
  } catch (error) {
    queueMicrotask(() => failConnection(error instanceof Error ? error.message : String(error)));
    return { result, abort: () => finish(abortedOutcome()), closed: Promise.resolve() };
  }
  outgoing.on('close', resolveClosed);
  outgoing.on('error', (error) => failConnection(error.message));
  outgoing.on('response', (response) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    response.on('data', (chunk: Buffer) => {
      if (kept >= MAX_RECORDED_RESPONSE_BYTES) return;
      const part = chunk.subarray(0, MAX_RECORDED_RESPONSE_BYTES - kept);
      chunks.push(part);
      kept += part.length;
    });
    response.on('end', () => {
      const statusCode = response.statusCode ?? 0;
      const succeeded = statusCode >= 200 && statusCode < 300;
      finish({
        statusCode,
        responseBody: Buffer.concat(chunks).toString('utf8'),
        failureReason: succeeded ? null : 'non_2xx_status',
        errorMessage: null,
        aborted: false,
      });
    });
    response.on('error', (error) => failConnection(error.message));
    response.on('close', () => {
      if (!response.complete) failConnection('The callback URL closed the connection before the response ended.');
    });
  });

  timeout = clock.schedule(sentAt + request.timeoutMs, () => {
    finish({
      statusCode: null,
      responseBody: null,
      failureReason: 'timeout',
      errorMessage: `No complete response within ${request.timeoutMs} ms of simulated time.`,
      aborted: false,
    });
    outgoing.destroy();
  });
  outgoing.end(request.body);

  return {
    result,
    abort: () => {
      finish(abortedOutcome());
      outgoing.destroy();
    },
    closed,
  };
}

function abortedOutcome(): Omit<CallbackAttemptResult, 'elapsedMs'> {
  return { statusCode: null, responseBody: null, failureReason: null, errorMessage: null, aborted: true };
}
