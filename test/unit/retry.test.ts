import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

import {
  RunflowConnectionError,
  RunflowDecodeError,
  RunflowHttpError,
  RunflowInputError,
  RunflowRequestTimeoutError,
} from '../../src/index.js';
import { parseRetryAfter } from '../../src/http/request.js';
import {
  resolveRetryConfig,
  transientReason,
  withTransportRetry,
  type RetryConfig,
  type RetryNotice,
} from '../../src/http/retry.js';
import { failAfter } from '../../src/run/watch.js';

const GET = { method: 'GET', url: 'http://127.0.0.1:1/v1/runs/r1', replayable: true };

function httpError(status: number, retryAfterMs?: number): RunflowHttpError {
  return new RunflowHttpError(`HTTP ${status}`, status, 'GET', GET.url, { retryAfterMs });
}

interface Outcome {
  /** Virtual time of each attempt, in ms. */
  attempts: number[];
  notices: RetryNotice[];
  warnings: number;
  result: { at: number; value?: string; error?: unknown } | undefined;
}

/**
 * Runs a request that fails with `failures[i]` on attempt i and succeeds after them, through
 * `withTransportRetry` in virtual time.
 */
function simulate(failures: unknown[], config: RetryConfig | false = {}, target = GET, deadlineMs?: number): Outcome {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const outcome: Outcome = { attempts: [], notices: [], warnings: 0, result: undefined };
  scheduler.run(() => {
    const request$ = new Observable<string>((subscriber) => {
      const attempt = outcome.attempts.length;
      outcome.attempts.push(scheduler.now());
      if (attempt < failures.length) subscriber.error(failures[attempt]);
      else {
        subscriber.next('ok');
        subscriber.complete();
      }
    });
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: () => {
        outcome.warnings++;
      },
    };
    const retried$ = withTransportRetry(
      request$,
      target,
      resolveRetryConfig({ random: () => 0 }, config),
      scheduler,
      logger,
      (notice) => outcome.notices.push(notice),
    );
    const source$ =
      deadlineMs === undefined ? retried$ : failAfter(retried$, deadlineMs, scheduler, () => 'deadline');
    source$.subscribe({
      next: (value) => (outcome.result = { at: scheduler.now(), value }),
      error: (error: unknown) => (outcome.result = { at: scheduler.now(), error }),
    });
  });
  return outcome;
}

describe('withTransportRetry backoff', () => {
  it('doubles the delay from 1 s without a hint', () => {
    const outcome = simulate([httpError(503), httpError(503), httpError(503)]);
    expect(outcome.attempts).toEqual([0, 1000, 3000, 7000]);
    expect(outcome.result).toEqual({ at: 7000, value: 'ok' });
  });

  it('adds up to jitterMs of random delay', () => {
    const outcome = simulate([httpError(500), httpError(500)], { random: () => 0.5, jitterMs: 1000 });
    expect(outcome.attempts).toEqual([0, 1500, 4000]);
  });

  it('caps the backoff at maxDelayMs', () => {
    const failures = [httpError(502), httpError(502), httpError(502), httpError(502)];
    const outcome = simulate(failures, { initialDelayMs: 10_000, maxDelayMs: 32_000 });
    expect(outcome.attempts).toEqual([0, 10_000, 30_000, 62_000, 94_000]);
  });

  it('stops after maxAttempts with the last error', () => {
    const last = httpError(500);
    const outcome = simulate([httpError(500), httpError(500), last, httpError(500)], { maxAttempts: 3 });
    expect(outcome.attempts).toHaveLength(3);
    expect(outcome.result?.error).toBe(last);
  });

  it('tries five times by default', () => {
    const outcome = simulate(Array.from({ length: 10 }, () => httpError(503)));
    expect(outcome.attempts).toHaveLength(5);
    expect(outcome.notices.map((notice) => notice.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('sends once with retry false', () => {
    const outcome = simulate([httpError(503)], false);
    expect(outcome.attempts).toEqual([0]);
  });

  it('logs each retry once', () => {
    const outcome = simulate([httpError(503), new RunflowConnectionError('reset', 'GET', GET.url)]);
    expect(outcome.warnings).toBe(2);
    expect(outcome.notices.map((notice) => notice.reason)).toEqual(['HTTP 503', 'connection failed']);
    expect(outcome.notices.map((notice) => notice.delayMs)).toEqual([1000, 2000]);
  });
});

describe('withTransportRetry server hints', () => {
  it('waits the Retry-After delay instead of the backoff', () => {
    const outcome = simulate([httpError(429, 3000), httpError(429, 0)]);
    expect(outcome.attempts).toEqual([0, 3000, 3000]);
  });

  it('clamps a long hint to maxRetryAfterMs', () => {
    const outcome = simulate([httpError(429, 86_400_000)], { maxRetryAfterMs: 60_000 });
    expect(outcome.attempts).toEqual([0, 60_000]);
  });

  it('stays below the timer limit', () => {
    const outcome = simulate([httpError(503)], {
      initialDelayMs: 2_147_483_647,
      maxDelayMs: 2_147_483_647,
      jitterMs: 2_147_483_647,
      random: () => 0.99,
    });
    expect(outcome.attempts[1]).toBe(2_147_483_647);
  });
});

describe('withTransportRetry decisions', () => {
  it.each([
    [httpError(408), 'HTTP 408'],
    [httpError(429), 'HTTP 429'],
    [httpError(500), 'HTTP 500'],
    [httpError(599), 'HTTP 599'],
    [new RunflowConnectionError('reset', 'GET', GET.url), 'connection failed'],
    [new RunflowRequestTimeoutError('GET', GET.url, 10), 'request timed out'],
    [new RunflowDecodeError('x', [], '<html', { unparsable: true }), 'response body was not JSON'],
  ])('retries %s', (error, reason) => {
    expect(transientReason(error)).toBe(reason);
  });

  it.each([
    httpError(400),
    httpError(401),
    httpError(404),
    httpError(409),
    httpError(422),
    new RunflowDecodeError('x', [], {}),
    new Error('bug'),
  ])('does not retry %s', (error) => {
    const outcome = simulate([error]);
    expect(outcome.attempts).toEqual([0]);
    expect(outcome.result?.error).toBe(error);
  });

  it('does not retry a POST that is not replayable', () => {
    const outcome = simulate([httpError(503)], {}, { method: 'POST', url: GET.url, replayable: false });
    expect(outcome.attempts).toEqual([0]);
  });

  it('stops retrying at a deadline around it', () => {
    const outcome = simulate([httpError(503), httpError(503), httpError(503)], {}, GET, 2500);
    expect(outcome.attempts).toEqual([0, 1000]);
    expect(outcome.result).toEqual({ at: 2500, error: 'deadline' });
  });
});

describe('resolveRetryConfig', () => {
  it.each([
    [{ maxAttempts: 0 }, 'retry.maxAttempts 0'],
    [{ maxAttempts: 2.5 }, 'retry.maxAttempts 2.5'],
    [{ initialDelayMs: -1 }, 'retry.initialDelayMs -1'],
    [{ maxDelayMs: Number.NaN }, 'retry.maxDelayMs NaN'],
    [{ jitterMs: 2 ** 31 }, 'retry.jitterMs 2147483648'],
  ])('rejects %j', (config, message) => {
    expect(() => resolveRetryConfig(config as RetryConfig)).toThrow(RunflowInputError);
    expect(() => resolveRetryConfig(config as RetryConfig)).toThrow(message);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-04T10:00:00Z');

  it('reads seconds', () => {
    expect(parseRetryAfter(null, '7', now)).toBe(7000);
    expect(parseRetryAfter(null, ' 1.5 ', now)).toBe(1500);
  });

  it('reads an HTTP date', () => {
    expect(parseRetryAfter(null, 'Fri, 04 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(null, 'Fri, 04 Dec 2026 09:59:00 GMT', now)).toBe(0);
  });

  it('prefers retry-after-ms', () => {
    expect(parseRetryAfter('250', '7', now)).toBe(250);
  });

  it('ignores unreadable values', () => {
    expect(parseRetryAfter(null, null, now)).toBeUndefined();
    expect(parseRetryAfter(null, 'soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, '-5', now)).toBeUndefined();
    expect(parseRetryAfter('abc', null, now)).toBeUndefined();
  });
});
