import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

import {
  RunFailedError,
  RunTimeoutError,
  runEvents,
  silentLogger,
  type LogFields,
  type Run,
  type RunEvent,
  type WatchOptions,
} from '../../src/index.js';
import { runSnapshot } from './fixtures.js';

/** Latency of each fake request, in virtual ms. */
const LATENCY = 2;

interface Harness {
  readonly scheduler: TestScheduler;
  /** Virtual time of each getRun request, in ms. */
  readonly requestTimes: number[];
  /** Virtual time at which each request was cancelled before its response. */
  readonly cancelTimes: number[];
  readonly events: Array<{ at: number; event: RunEvent }>;
  readonly warnings: Array<{ message: string; fields: LogFields | undefined }>;
  outcome: { at: number; kind: 'complete' } | { at: number; kind: 'error'; error: unknown } | undefined;
}

/**
 * Runs `runEvents` in virtual time against a fake getRun that returns the given statuses in
 * order (the first status is the create response) and repeats the last one.
 */
function simulate(statuses: string[], settings: WatchOptions & { unsubscribeAt?: number } = {}): Harness {
  const { unsubscribeAt, ...options } = settings;
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const harness: Harness = {
    scheduler,
    requestTimes: [],
    cancelTimes: [],
    events: [],
    warnings: [],
    outcome: undefined,
  };
  let index = 0;
  const respond = (): Observable<Run> =>
    new Observable<Run>((subscriber) => {
      harness.requestTimes.push(scheduler.now());
      const status = statuses[Math.min(index++, statuses.length - 1)]!;
      let answered = false;
      const answer = scheduler.schedule(() => {
        answered = true;
        subscriber.next(runSnapshot(status));
        subscriber.complete();
      }, LATENCY);
      return () => {
        if (!answered) harness.cancelTimes.push(scheduler.now());
        answer.unsubscribe();
      };
    });

  scheduler.run(() => {
    const logger = {
      ...silentLogger,
      warn: (message: string, fields?: LogFields) => harness.warnings.push({ message, fields }),
    };
    const events$ = runEvents(
      { getRun: respond, scheduler, logger, poll: { intervalMs: 100, maxIntervalMs: 400, backoffFactor: 2 } },
      { create: respond() },
      options,
    );
    const subscription = events$.subscribe({
      next: (event) => harness.events.push({ at: scheduler.now(), event }),
      complete: () => (harness.outcome = { at: scheduler.now(), kind: 'complete' }),
      error: (error: unknown) => (harness.outcome = { at: scheduler.now(), kind: 'error', error }),
    });
    if (unsubscribeAt !== undefined) scheduler.schedule(() => subscription.unsubscribe(), unsubscribeAt);
  });
  return harness;
}

const statusesOf = (harness: Harness): string[] =>
  harness.events.flatMap(({ event }) => (event.type === 'status' ? [event.status] : []));

describe('runEvents polling in virtual time', () => {
  it('polls after each response and backs off while nothing changes', () => {
    const harness = simulate(['queued', 'running', 'running', 'running', 'running', 'succeeded']);
    // create at 0; a change resets the delay to 100; no change doubles it up to the 400 cap.
    expect(harness.requestTimes).toEqual([0, 102, 204, 406, 808, 1210]);
    expect(statusesOf(harness)).toEqual(['queued', 'running', 'succeeded']);
    expect(harness.outcome).toEqual({ at: 1212, kind: 'complete' });
  });

  it('goes back to the base interval after a change', () => {
    const harness = simulate(['queued', 'queued', 'queued', 'running', 'running', 'succeeded']);
    expect(harness.requestTimes).toEqual([0, 102, 304, 706, 808, 1010]);
  });

  it('completes on every non-failed terminal status', () => {
    for (const terminal of ['succeeded', 'partial_succeeded', 'canceled', 'cancelled']) {
      const harness = simulate(['queued', terminal]);
      expect(harness.outcome?.kind).toBe('complete');
      expect(statusesOf(harness).at(-1)).toBe(terminal === 'cancelled' ? 'canceled' : terminal);
      expect(harness.requestTimes).toHaveLength(2);
    }
  });

  it('errors with RunFailedError after the failed status event', () => {
    const harness = simulate(['queued', 'running', 'failed']);
    expect(statusesOf(harness)).toEqual(['queued', 'running', 'failed']);
    expect(harness.outcome?.kind).toBe('error');
    const error = harness.outcome?.kind === 'error' ? harness.outcome.error : undefined;
    expect(error).toBeInstanceOf(RunFailedError);
    expect(harness.events.at(-1)?.at).toBe(harness.outcome?.at);
  });

  it('keeps polling at a bounded pace through an unknown status', () => {
    const harness = simulate(['queued', 'paused', 'paused', 'paused', 'paused', 'paused', 'succeeded']);
    expect(statusesOf(harness)).toEqual(['queued', 'paused', 'succeeded']);
    const gaps = harness.requestTimes.slice(1).map((time, i) => time - harness.requestTimes[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(harness.warnings.map((warning) => warning.fields?.['status'])).toEqual(['paused']);
  });

  it('errors with RunTimeoutError at the deadline and stops polling', () => {
    // Requests go out at 0, 102, 204, 406 and 808; the deadline falls while the last is in flight.
    const harness = simulate(['queued', 'running'], { timeoutMs: 809 });
    expect(harness.outcome?.kind).toBe('error');
    expect(harness.outcome?.at).toBe(809);
    const error = harness.outcome?.kind === 'error' ? harness.outcome.error : undefined;
    expect(error).toBeInstanceOf(RunTimeoutError);
    expect((error as RunTimeoutError).lastRun?.status_code).toBe('running');
    expect(harness.requestTimes).toEqual([0, 102, 204, 406, 808]);
    expect(harness.cancelTimes).toEqual([809]);
  });

  it('sends no request after unsubscribe and cancels the one in flight', () => {
    const harness = simulate(['queued', 'running'], { unsubscribeAt: 103 });
    expect(harness.requestTimes).toEqual([0, 102]);
    expect(harness.cancelTimes).toEqual([103]);
    expect(harness.outcome).toBeUndefined();
  });

  it('creates a new run for each subscription', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    let creates = 0;
    scheduler.run(({ cold }) => {
      const create = new Observable<Run>((subscriber) => {
        creates++;
        return cold<Run>('-(a|)', { a: runSnapshot('succeeded') }).subscribe(subscriber);
      });
      const events$ = runEvents({ getRun: () => create, scheduler, logger: silentLogger }, { create });
      events$.subscribe();
      events$.subscribe();
    });
    expect(creates).toBe(2);
  });
});
