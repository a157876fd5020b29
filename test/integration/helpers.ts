import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { asyncScheduler, type Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';

import { createRunflowClient, type RunEvent, type RunflowClient, type RunflowClientConfig } from '../../src/index.js';
import type { Simulator } from '../../src/testing/index.js';

/** Subscribes, collects every event, and resolves with the events and how the stream ended. */
export async function collect(
  events$: Observable<RunEvent>,
): Promise<{ events: RunEvent[]; error: unknown; completed: boolean }> {
  const events: RunEvent[] = [];
  return new Promise((resolve) => {
    events$.subscribe({
      next: (event) => events.push(event),
      complete: () => resolve({ events, error: undefined, completed: true }),
      error: (error: unknown) => resolve({ events, error, completed: false }),
    });
  });
}

export const statuses = (events: readonly RunEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'status' ? [event.status] : []));

/** A plain node:http server on 127.0.0.1 with a handler of the test's choosing. */
export async function startRawServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when `condition()` holds, checking on each turn of the event loop, or rejects after `limitMs`. */
export async function until(condition: () => boolean, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Creates a scheduler that delegates to `asyncScheduler` and counts the actions still pending:
 * scheduled, not yet run and not cancelled. A library that releases every timer brings it back to 0.
 */
export function countingScheduler(): SchedulerLike & { pending(): number } {
  let pending = 0;
  return {
    now: () => asyncScheduler.now(),
    pending: () => pending,
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
      pending++;
      let done = false;
      const settle = (): void => {
        if (!done) {
          done = true;
          pending--;
        }
      };
      const subscription = asyncScheduler.schedule(
        function (this: SchedulerAction<T>, value?: T) {
          settle();
          work.call(this, value);
        },
        delay,
        state,
      );
      subscription.add(settle);
      return subscription;
    },
  };
}

/**
 * Creates a client for `simulator` that polls every 5 ms, has no practical request budget and
 * retries at once, so integration tests run fast; the timing itself has virtual-time tests.
 * `overrides` replaces any of those settings.
 */
export function createTestClient(
  simulator: Pick<Simulator, 'apiKey' | 'url'>,
  overrides: RunflowClientConfig = {},
): RunflowClient {
  return createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 5, maxIntervalMs: 10 },
    budget: { requestsPerSecond: 10_000, burst: 1000 },
    retry: { initialDelayMs: 1, jitterMs: 0 },
    ...overrides,
  });
}
