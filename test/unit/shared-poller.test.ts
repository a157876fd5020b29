import { Observable, defer, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

import { RunflowHttpError, type Page, type Run } from '../../src/index.js';
import { RequestBudget } from '../../src/run/budget.js';
import { SUMMARY_FIELDS, SharedPoller } from '../../src/run/shared-poller.js';
import { runSnapshot } from './fixtures.js';

/** Latency of each fake request, in virtual ms. */
const LATENCY = 5;

interface Server {
  /** Current status of each run; tests change it between checks. */
  statuses: Map<string, string>;
  listQueries: Array<{ at: number; ids: string[]; fields: string | undefined }>;
  gets: Array<{ at: number; id: string }>;
  /** Error for the next list requests, consumed one per request. */
  listErrors: unknown[];
  /** Runs whose full list item leaves out the log lines, as a server may. */
  withoutLogs: Set<string>;
}

function setup(budget = { requestsPerSecond: 1000, burst: 1000 }, idsPerList = 500) {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const server: Server = { statuses: new Map(), listQueries: [], gets: [], listErrors: [], withoutLogs: new Set() };
  const warnings: string[] = [];
  const respond = <T>(value: () => T, error?: unknown): Observable<T> =>
    new Observable<T>((subscriber) => {
      const answer = scheduler.schedule(() => {
        if (error !== undefined) subscriber.error(error);
        else {
          subscriber.next(value());
          subscriber.complete();
        }
      }, LATENCY);
      return () => answer.unsubscribe();
    });
  const poller = new SharedPoller({
    // Both fakes record a request when it is sent, at subscription, as the HTTP client does.
    listRuns: (query) =>
      defer(() => {
        const ids = query.q.split(' OR ').map((term) => term.replace(/^id:/, ''));
        server.listQueries.push({ at: scheduler.now(), ids, fields: query.fields });
        const items = ids.flatMap((id) => {
          const status = server.statuses.get(id);
          if (status === undefined) return [];
          if (query.fields !== undefined) return [runSnapshot(status, { id, logs: undefined, node_runs: undefined })];
          return [runSnapshot(status, server.withoutLogs.has(id) ? { id, logs: undefined, has_logs: true } : { id })];
        });
        return respond((): Page<Run> => ({ items, next: null }), server.listErrors.shift());
      }),
    getRun: (id) =>
      defer(() => {
        server.gets.push({ at: scheduler.now(), id });
        const status = server.statuses.get(id);
        const notFound = new RunflowHttpError('HTTP 404', 404, 'GET', `/v1/runs/${id}`, { code: 'RUN_NOT_FOUND' });
        return respond(() => runSnapshot(status ?? 'queued', { id }), status === undefined ? notFound : undefined);
      }),
    budget: new RequestBudget(budget, scheduler),
    scheduler,
    logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (message) => warnings.push(message) },
    intervalMs: 100,
    idsPerList,
  });
  return { scheduler, server, poller, warnings };
}

describe('SharedPoller', () => {
  it('lists all watched runs in one request and fetches only changed ones', () => {
    const { scheduler, server, poller } = setup();
    const seen: string[] = [];
    scheduler.run(() => {
      server.statuses.set('a', 'queued').set('b', 'queued');
      const a = poller
        .watch('a', runSnapshot('queued', { id: 'a' }))
        .subscribe((run) => seen.push(`a:${run.status_code}`));
      const b = poller
        .watch('b', runSnapshot('queued', { id: 'b' }))
        .subscribe((run) => seen.push(`b:${run.status_code}`));
      scheduler.schedule(() => server.statuses.set('b', 'running'), 150);
      scheduler.schedule(() => {
        a.unsubscribe();
        b.unsubscribe();
      }, 400);
    });
    // Checks start 100 ms apart; each request takes 5 ms, and the second check also fetches b.
    expect(server.listQueries.map((query) => query.at).slice(0, 3)).toEqual([100, 200, 300]);
    expect(server.listQueries[0]!.ids).toEqual(['a', 'b']);
    expect(server.listQueries[0]!.fields).toBe(SUMMARY_FIELDS.join(','));
    expect(server.gets).toEqual([{ at: 205, id: 'b' }]);
    expect(seen).toEqual(['b:running']);
  });

  it('fetches a run without a seed at the first check', () => {
    const { scheduler, server, poller } = setup();
    const seen: string[] = [];
    scheduler.run(() => {
      server.statuses.set('a', 'running');
      const subscription = poller.watch('a').subscribe((run) => seen.push(run.status_code));
      scheduler.schedule(() => subscription.unsubscribe(), 300);
    });
    // A run without a snapshot brings the first check forward to 10 ms.
    expect(server.listQueries[0]?.at).toBe(10);
    expect(server.gets).toEqual([{ at: 15, id: 'a' }]);
    expect(seen).toEqual(['running']);
  });

  it('splits more than 500 ids into several list requests', () => {
    const { scheduler, server, poller } = setup();
    scheduler.run(() => {
      const subscriptions: Subscription[] = [];
      for (let i = 0; i < 1001; i++) {
        const id = `run-${i}`;
        server.statuses.set(id, 'queued');
        subscriptions.push(poller.watch(id, runSnapshot('queued', { id })).subscribe());
      }
      scheduler.schedule(() => subscriptions.forEach((subscription) => subscription.unsubscribe()), 150);
    });
    expect(server.listQueries.map((query) => query.ids.length)).toEqual([500, 500, 1]);
    expect(server.gets).toEqual([]);
  });

  it('ignores a list result older than the last snapshot', () => {
    const { scheduler, server, poller } = setup();
    scheduler.run(() => {
      server.statuses.set('a', 'queued');
      const subscription = poller.watch('a', runSnapshot('running', { id: 'a' })).subscribe();
      scheduler.schedule(() => subscription.unsubscribe(), 250);
    });
    expect(server.listQueries).toHaveLength(2);
    expect(server.gets).toEqual([]);
  });

  it('sends nothing after the last watcher leaves', () => {
    const { scheduler, server, poller } = setup();
    scheduler.run(() => {
      server.statuses.set('a', 'queued');
      const subscription = poller.watch('a', runSnapshot('queued', { id: 'a' })).subscribe();
      scheduler.schedule(() => subscription.unsubscribe(), 102);
    });
    expect(server.listQueries.map((query) => query.at)).toEqual([100]);
    expect(poller.size).toBe(0);
  });

  it('falls back to one GET per run when the filter is rejected', () => {
    const { scheduler, server, poller, warnings } = setup();
    scheduler.run(() => {
      server.statuses.set('a', 'queued').set('b', 'queued');
      server.listErrors.push(new RunflowHttpError('HTTP 400', 400, 'GET', '/v1/runs', { code: 'INVALID_FILTER' }));
      const a = poller.watch('a', runSnapshot('queued', { id: 'a' })).subscribe();
      const b = poller.watch('b', runSnapshot('queued', { id: 'b' })).subscribe();
      scheduler.schedule(() => {
        a.unsubscribe();
        b.unsubscribe();
      }, 300);
    });
    expect(server.listQueries).toHaveLength(1);
    expect(server.gets.map((get) => get.id).sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(warnings.filter((warning) => warning.includes('rejected the id filter'))).toHaveLength(1);
  });

  it('halves the ids per request when the URL is too long', () => {
    const { scheduler, server, poller, warnings } = setup();
    scheduler.run(() => {
      const subscriptions: Subscription[] = [];
      for (let i = 0; i < 8; i++) {
        server.statuses.set(`r${i}`, 'queued');
        subscriptions.push(poller.watch(`r${i}`, runSnapshot('queued', { id: `r${i}` })).subscribe());
      }
      server.listErrors.push(new RunflowHttpError('HTTP 414', 414, 'GET', '/v1/runs'));
      scheduler.schedule(() => subscriptions.forEach((subscription) => subscription.unsubscribe()), 250);
    });
    expect(server.listQueries.map((query) => query.ids.length)).toEqual([8, 4, 4, 4, 4]);
    expect(warnings).toHaveLength(1);
  });

  it('passes other errors to the watchers of the affected runs', () => {
    const { scheduler, server, poller } = setup();
    const errors: unknown[] = [];
    scheduler.run(() => {
      server.statuses.set('a', 'queued');
      const a = poller
        .watch('a', runSnapshot('queued', { id: 'a' }))
        .subscribe({ error: (error: unknown) => errors.push(error) });
      poller
        .watch('gone', runSnapshot('queued', { id: 'gone' }))
        .subscribe({ error: (error: unknown) => errors.push(error) });
      scheduler.schedule(() => a.unsubscribe(), 300);
    });
    expect(errors).toHaveLength(1);
    expect((errors[0] as RunflowHttpError).code).toBe('RUN_NOT_FOUND');
  });

  it('fetches changed runs in full with one list request', () => {
    const { scheduler, server, poller } = setup();
    const seen: string[] = [];
    scheduler.run(() => {
      for (const id of ['a', 'b', 'c']) server.statuses.set(id, 'running');
      server.withoutLogs.add('c');
      const subscriptions = ['a', 'b', 'c'].map((id) =>
        poller.watch(id, runSnapshot('queued', { id })).subscribe((run) => seen.push(run.id)),
      );
      scheduler.schedule(() => subscriptions.forEach((subscription) => subscription.unsubscribe()), 150);
    });
    expect(server.listQueries.map((query) => [query.at, query.fields === undefined ? 'full' : 'summary'])).toEqual([
      [100, 'summary'],
      [105, 'full'],
    ]);
    expect(server.listQueries[1]!.ids).toEqual(['a', 'b', 'c']);
    // c came without its log lines, so it is fetched alone.
    expect(server.gets).toEqual([{ at: 110, id: 'c' }]);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('spreads requests at the budget rate', () => {
    const { scheduler, server, poller } = setup({ requestsPerSecond: 10, burst: 1 });
    scheduler.run(() => {
      for (const id of ['a', 'b', 'c']) server.statuses.set(id, 'running');
      const subscriptions = ['a', 'b', 'c'].map((id) => poller.watch(id, runSnapshot('queued', { id })).subscribe());
      scheduler.schedule(() => subscriptions.forEach((subscription) => subscription.unsubscribe()), 390);
    });
    // One token every 100 ms: the summary list at 100, the full list waits until 200, and the
    // next check, due at once because the first took longer than the interval, waits until 300.
    expect(server.listQueries.map((query) => query.at)).toEqual([100, 200, 300]);
  });
});

describe('RequestBudget', () => {
  it('serves a burst at once and then one token per interval', () => {
    const scheduler = new TestScheduler(() => {});
    const budget = new RequestBudget({ requestsPerSecond: 10, burst: 2 }, scheduler);
    expect([budget.reserve(), budget.reserve(), budget.reserve(), budget.reserve()]).toEqual([0, 0, 100, 200]);
  });

  it('holds every request during a pause', () => {
    const scheduler = new TestScheduler(() => {});
    const budget = new RequestBudget({ requestsPerSecond: 10, burst: 5 }, scheduler);
    budget.pause(3000);
    budget.pause(1000);
    expect(budget.reserve()).toBe(3000);
  });

  it('rejects a rate of zero', () => {
    const scheduler = new TestScheduler(() => {});
    expect(() => new RequestBudget({ requestsPerSecond: 0 }, scheduler)).toThrow('budget.requestsPerSecond 0');
  });
});
