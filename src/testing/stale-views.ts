/**
 * Stale reads for the `stale` fault. Every run read through `GET /v1/runs/{id}` or
 * `GET /v1/runs` is remembered by the lowest-ranked status it was served with, so a stale
 * read can serve that older view again after a newer status has been served.
 */
import { statusRank } from '../codecs/status.js';
import { statusAt } from './run-timeline.js';
import type { StoredRun } from './run-view.js';
import type { SimulatorState } from './state.js';

/** The lowest-ranked status served for a run, and the simulated time it was first served. */
export interface ServedView {
  /** Lifecycle rank: 0 queued, 1 dispatching, 2 running or an undocumented status, 3 terminal. */
  readonly rank: number;
  readonly at: number;
}

/** Remembers that `run` was served as it is at `now`, when that ranks lower than what was served before. */
export function recordServedView(state: SimulatorState, run: StoredRun, now: number): void {
  const rank = statusRank(statusAt(run.plan, now));
  const served = state.servedViews.get(run.id);
  if (served === undefined || rank < served.rank) {
    state.servedViews.set(run.id, { rank, at: now });
  }
}

/**
 * Returns the simulated time whose view a stale read serves: when the lowest-ranked status
 * was first served, or the creation time (status `queued`) for a run that was never read.
 */
export function staleViewTime(state: SimulatorState, run: StoredRun): number {
  return state.servedViews.get(run.id)?.at ?? run.createdAt;
}
