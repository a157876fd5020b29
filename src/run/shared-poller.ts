import {
  EMPTY,
  Observable,
  catchError,
  from,
  map,
  mergeMap,
  of,
  tap,
  type SchedulerLike,
  Subscription,
  type Subscriber,
} from 'rxjs';

import type { Page } from '../codecs/envelope.js';
import type { Run } from '../codecs/run.js';
import { normalizeStatus, statusRank } from '../codecs/status.js';
import { isRunflowHttpError } from '../errors.js';
import type { RunflowLogger } from '../logger.js';
import type { RequestBudget } from './budget.js';

/** Run fields that a summary list query requests: enough to detect that a run changed. */
export const SUMMARY_FIELDS = [
  'id',
  'status_code',
  'nodes_completed',
  'nodes_total',
  'started_at',
  'completed_at',
  'has_logs',
  'has_node_runs',
] as const;

/** Maximum ids per list query: the documented maximum page size. */
export const MAX_IDS_PER_LIST = 500;

/**
 * Changed runs fetched in full by one list request. Smaller than MAX_IDS_PER_LIST because full
 * runs embed their log lines and node-runs, which makes each item large.
 */
export const FULL_RUNS_PER_LIST = 100;

/** Delay of the check that a run joining without a snapshot brings forward, in ms. */
const JOIN_DELAY_MS = 10;

/** Requests for full runs in flight at once; the request budget still sets their rate. */
const FETCH_CONCURRENCY = 4;

/** Dependencies of the shared poller, provided by the client. */
export interface SharedPollerContext {
  /** Lists runs; without `fields` the items are full runs. */
  readonly listRuns: (query: { q: string; fields?: string; limit: number }) => Observable<Page<Run>>;
  readonly getRun: (runId: string) => Observable<Run>;
  readonly budget: RequestBudget;
  readonly scheduler: SchedulerLike;
  readonly logger: RunflowLogger;
  /** Delay between the end of one check and the start of the next, in ms. */
  readonly intervalMs: number;
  /** Ids per list query, at most MAX_IDS_PER_LIST. */
  readonly idsPerList: number;
}

interface Entry {
  readonly subscribers: Set<Subscriber<Run>>;
  /** Summary of the newest run snapshot delivered, or undefined before the first. */
  fingerprint: string | undefined;
  /** Status rank of that snapshot, so a lagging list result is not mistaken for a change. */
  rank: number;
}

/**
 * Checks every run watched by one client together.
 *
 * Each check lists the watched runs with `q=id:… OR id:…` and `fields` limited to a summary, up
 * to `idsPerList` ids per request. It then fetches the full run only for runs whose summary
 * changed, again by a list query, without `fields`, for up to FULL_RUNS_PER_LIST runs at once. A run that
 * the list leaves out, or whose item lacks the log lines or node-runs it has, is fetched alone
 * with `GET /v1/runs/{id}`.
 * Checks start every `intervalMs` while any run is watched, and a run watched without a first
 * snapshot brings the next check forward. Every request passes the client's request budget.
 *
 * If the server rejects the id filter (HTTP 400 or 422), the poller falls back to one GET per run
 * and logs that once. A URL too long for the server (HTTP 414 or 431) halves the ids per
 * request.
 *
 * NOTE: a log line that appears while a run's summary stays the same is delivered with the next
 * change of the summary (at the latest with the terminal status), not as soon as per-run polling
 * would see it.
 */
export class SharedPoller {
  private readonly entries = new Map<string, Entry>();
  private idsPerList: number;
  private fallback = false;
  /** The timer of the next check, or the check in progress. */
  private pending: Subscription | undefined;
  /** True while `pending` is a check in progress rather than the timer of the next one. */
  private checking = false;
  /** Duration of the last check, in ms. */
  private lastCheckMs = 0;

  constructor(private readonly context: SharedPollerContext) {
    this.idsPerList = Math.max(1, Math.min(context.idsPerList, MAX_IDS_PER_LIST));
  }

  /** Number of runs being watched. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Emits full snapshots of `runId` each time its summary changes; never completes by itself.
   * `seed` is a snapshot the caller already has, so an unchanged run is not fetched again.
   */
  watch(runId: string, seed?: Run): Observable<Run> {
    return new Observable<Run>((subscriber) => {
      let entry = this.entries.get(runId);
      if (entry === undefined) {
        entry = { subscribers: new Set(), fingerprint: undefined, rank: -1 };
        if (seed !== undefined) this.remember(entry, seed);
        this.entries.set(runId, entry);
      }
      entry.subscribers.add(subscriber);
      if (entry.fingerprint === undefined) this.checkSoon();
      else this.scheduleCheck();

      return () => {
        const current = this.entries.get(runId);
        current?.subscribers.delete(subscriber);
        if (current !== undefined && current.subscribers.size === 0) this.entries.delete(runId);
        if (this.entries.size === 0) {
          this.pending?.unsubscribe();
          this.pending = undefined;
          this.checking = false;
        }
      };
    });
  }

  /**
   * Schedules the next check unless one is scheduled or running. Checks start `intervalMs`
   * apart, measured from the start of the previous check, and never overlap: a check that
   * takes longer than the interval is followed at once by the next.
   */
  private scheduleCheck(delayMs = Math.max(0, this.context.intervalMs - this.lastCheckMs)): void {
    if (this.pending !== undefined || this.entries.size === 0) return;
    this.checking = false;
    this.pending = this.context.scheduler.schedule(() => {
      const check = new Subscription();
      const startedAt = this.context.scheduler.now();
      this.pending = check;
      this.checking = true;
      const next = (): void => {
        // A check may finish synchronously, before `check` has its inner subscription.
        if (this.pending !== check) return;
        this.pending = undefined;
        this.lastCheckMs = this.context.scheduler.now() - startedAt;
        this.scheduleCheck();
      };
      check.add(
        this.check().subscribe({
          complete: next,
          error: (error: unknown) => {
            this.context.logger.error('Shared poll check failed', { error: String(error) });
            next();
          },
        }),
      );
    }, delayMs);
  }

  /**
   * Brings the next check forward to JOIN_DELAY_MS from now, for a run that joined without a
   * snapshot. The short delay lets runs that are watched together join one check.
   */
  private checkSoon(): void {
    if (this.checking) return;
    this.pending?.unsubscribe();
    this.pending = undefined;
    this.scheduleCheck(Math.min(JOIN_DELAY_MS, this.context.intervalMs));
  }

  /** Checks every watched run: lists summaries, then fetches the changed runs in full. */
  private check(): Observable<unknown> {
    const ids = [...this.entries.keys()];
    if (this.fallback) return from(ids).pipe(mergeMap((runId) => this.fetchOne(runId), FETCH_CONCURRENCY));
    return from(chunk(ids, this.idsPerList)).pipe(
      mergeMap((group) => this.changedIn(group), 2),
      mergeMap((changed) => from(chunk(changed, FULL_RUNS_PER_LIST))),
      mergeMap((group) => this.fetchMany(group), FETCH_CONCURRENCY),
    );
  }

  /** Lists `group` and returns the ids whose summary changed or that the list did not return. */
  private changedIn(group: readonly string[]): Observable<string[]> {
    const query = {
      q: group.map((id) => `id:${id}`).join(' OR '),
      fields: SUMMARY_FIELDS.join(','),
      limit: MAX_IDS_PER_LIST,
    };
    return this.context.budget.gate(this.context.listRuns(query)).pipe(
      map((page) => {
        const seen = new Set<string>();
        const changed: string[] = [];
        for (const item of page.items) {
          seen.add(item.id);
          const entry = this.entries.get(item.id);
          if (entry === undefined) continue;
          const stale = statusRank(normalizeStatus(item.status_code)) < entry.rank;
          if (!stale && fingerprint(item) !== entry.fingerprint) changed.push(item.id);
        }
        // A run missing from the list is fetched alone, so the GET reports whether it still exists.
        for (const id of group) if (!seen.has(id) && this.entries.has(id)) changed.push(id);
        return changed;
      }),
      catchError((error: unknown) => this.listFailed(group, error)),
    );
  }

  private listFailed(group: readonly string[], error: unknown): Observable<string[]> {
    if (isRunflowHttpError(error) && (error.status === 414 || error.status === 431) && group.length > 1) {
      this.idsPerList = Math.max(1, Math.floor(group.length / 2));
      this.context.logger.warn('The server rejected a long list query; asking for fewer runs per request', {
        status: error.status,
        idsPerList: this.idsPerList,
      });
      return from(chunk(group, this.idsPerList)).pipe(mergeMap((smaller) => this.changedIn(smaller), 1));
    }
    if (isRunflowHttpError(error) && (error.status === 400 || error.status === 422)) {
      if (!this.fallback) {
        this.fallback = true;
        this.context.logger.warn('The server rejected the id filter of the shared poll; polling each run on its own', {
          status: error.status,
          code: error.code,
        });
      }
      return of([...group]);
    }
    for (const runId of group) this.fail(runId, error);
    return EMPTY;
  }

  /** Fetches the runs of `group` in full with one list query, falling back to GETs where needed. */
  private fetchMany(group: readonly string[]): Observable<unknown> {
    const wanted = group.filter((runId) => this.entries.has(runId));
    if (wanted.length === 0) return EMPTY;
    if (this.fallback || wanted.length === 1) {
      return from(wanted).pipe(mergeMap((runId) => this.fetchOne(runId), FETCH_CONCURRENCY));
    }
    const query = { q: wanted.map((id) => `id:${id}`).join(' OR '), limit: MAX_IDS_PER_LIST };
    return this.context.budget.gate(this.context.listRuns(query)).pipe(
      mergeMap((page) => {
        const complete = new Set<string>();
        for (const run of page.items) {
          if (!isComplete(run)) continue;
          complete.add(run.id);
          this.deliver(run.id, run);
        }
        const rest = wanted.filter((runId) => !complete.has(runId));
        return from(rest).pipe(mergeMap((runId) => this.fetchOne(runId), FETCH_CONCURRENCY));
      }),
      catchError(() => from(wanted).pipe(mergeMap((runId) => this.fetchOne(runId), FETCH_CONCURRENCY))),
    );
  }

  private fetchOne(runId: string): Observable<unknown> {
    if (!this.entries.has(runId)) return EMPTY;
    return this.context.budget.gate(this.context.getRun(runId)).pipe(
      tap((run) => this.deliver(runId, run)),
      catchError((error: unknown) => {
        this.fail(runId, error);
        return EMPTY;
      }),
    );
  }

  private deliver(runId: string, run: Run): void {
    const entry = this.entries.get(runId);
    if (entry === undefined) return;
    this.remember(entry, run);
    for (const subscriber of [...entry.subscribers]) subscriber.next(run);
  }

  private remember(entry: Entry, run: Run): void {
    const rank = statusRank(normalizeStatus(run.status_code));
    if (rank < entry.rank) return;
    entry.rank = rank;
    entry.fingerprint = fingerprint(run);
  }

  private fail(runId: string, error: unknown): void {
    const entry = this.entries.get(runId);
    if (entry === undefined) return;
    this.entries.delete(runId);
    for (const subscriber of [...entry.subscribers]) subscriber.error(error);
  }
}

/** True when a listed run carries its log lines and node-runs, or has none of them. */
function isComplete(run: Run): boolean {
  const logs = Array.isArray(run.logs) || run.has_logs === false;
  const nodeRuns = Array.isArray(run.node_runs) || run.has_node_runs === false;
  return logs && nodeRuns;
}

/** Returns a string that changes whenever one of the summary fields of a run changes. */
export function fingerprint(run: Run): string {
  return JSON.stringify(
    SUMMARY_FIELDS.map((field) => (field === 'status_code' ? normalizeStatus(run.status_code) : (run[field] ?? null))),
  );
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
