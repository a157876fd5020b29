import { defer, filter, map, type OperatorFunction } from 'rxjs';

import type { NodeRun, Run } from '../codecs/run.js';
import type { RunStatus } from '../codecs/status.js';
import type { RunStreamEvent } from './events.js';

/** The step progress of one run, as `combineNodeRuns` emits it. */
export interface NodeRunProgress {
  readonly runId: string;
  /** The last status emitted for the run, or undefined before its first status event. */
  readonly status: RunStatus | undefined;
  /**
   * The latest observation of each step, keyed by `node_id` (or the node-run `id` when `node_id`
   * is absent), in the order the steps first appeared. A step retried by the server keeps its key.
   */
  readonly steps: ReadonlyMap<string, NodeRun>;
  /** The number of steps in each `state_code`; a step without a state counts under `unknown`. */
  readonly counts: Readonly<Record<string, number>>;
  /** Steps completed: the run's `nodes_completed` or the number of succeeded steps, whichever is larger. */
  readonly completed: number;
  /** Steps in all: the run's `nodes_total` or the number of steps seen, whichever is larger. */
  readonly total: number;
  /**
   * `completed / total`, from 0 to 1. It is 1 once the run succeeded. A run with no steps has 0
   * until it ends, then 1 after `succeeded` or `partial_succeeded` and 0 after `failed` or `canceled`.
   */
  readonly ratio: number;
}

/** The state of the fold between events, from which `progress` is derived. */
interface NodeRunProgressState {
  readonly progress: NodeRunProgress;
  /** `nodes_total` of the newest run snapshot, or undefined when no snapshot had it. */
  readonly nodesTotal: number | undefined;
  /** `nodes_completed` of the newest run snapshot, or undefined when no snapshot had it. */
  readonly nodesCompleted: number | undefined;
}

/**
 * Folds a run's `node-run` and `status` events into one progress snapshot per change.
 *
 * Emits after each node-run event and each status event, so a run without node-runs emits one
 * snapshot with zero steps per status, ending with ratio 1 after `succeeded`. Log events and
 * retry events emit nothing. After `retryRun` the first event of a new run id starts a new
 * snapshot, so the steps of a failed attempt do not mix with those of the next one.
 *
 * The run counters `nodes_total` and `nodes_completed` arrive only with status events, whose
 * snapshot is taken when the status changes. Between status changes the number of succeeded
 * steps keeps `completed` current, which is why `completed` is the larger of the two.
 * Completion and errors pass through, so a failed run ends with RunFailedError after the snapshot
 * of its `failed` status.
 *
 * @example
 * ```ts
 * const ratios: number[] = [];
 * const progress = await lastValueFrom(
 *   runflow.run('bytedance/seedance/2.0/fast/text-to-video', { input: { prompt: 'waves' } }).pipe(
 *     combineNodeRuns(),
 *     tap((snapshot) => ratios.push(snapshot.ratio)),
 *   ),
 * );
 * // progress: { status: 'succeeded', completed: 4, total: 4, ratio: 1, counts: { succeeded: 4 }, … }
 * ```
 */
export function combineNodeRuns(): OperatorFunction<RunStreamEvent, NodeRunProgress> {
  return (source) =>
    defer(() => {
      let state: NodeRunProgressState | undefined;
      return source.pipe(
        map((event) => {
          const next = foldNodeRunProgress(state, event);
          const changed = next !== state;
          state = next;
          return changed ? next : undefined;
        }),
        filter((next): next is NodeRunProgressState => next !== undefined),
        map((next) => next.progress),
      );
    });
}

/**
 * Folds one event into the progress state. Returns the same state object when the event changes
 * nothing (log and retry events), and a fresh state for the first event of another run id.
 */
function foldNodeRunProgress(
  state: NodeRunProgressState | undefined,
  event: RunStreamEvent,
): NodeRunProgressState | undefined {
  if (event.type === 'log' || event.type === 'retry') return state;

  const current = state?.progress.runId === event.runId ? state : undefined;
  const steps = new Map(current?.progress.steps);
  let status = current?.progress.status;
  let nodesTotal = current?.nodesTotal;
  let nodesCompleted = current?.nodesCompleted;

  if (event.type === 'node-run') {
    const key = event.nodeRun.node_id ?? event.nodeRun.id;
    if (key === null || key === undefined) return state;
    steps.set(key, event.nodeRun);
  } else {
    status = event.status;
    nodesTotal = counter(event.run, 'nodes_total') ?? nodesTotal;
    nodesCompleted = counter(event.run, 'nodes_completed') ?? nodesCompleted;
  }

  return {
    progress: summarize(event.runId, status, steps, nodesTotal, nodesCompleted),
    nodesTotal,
    nodesCompleted,
  };
}

function summarize(
  runId: string,
  status: RunStatus | undefined,
  steps: ReadonlyMap<string, NodeRun>,
  nodesTotal: number | undefined,
  nodesCompleted: number | undefined,
): NodeRunProgress {
  const counts: Record<string, number> = {};
  for (const step of steps.values()) {
    const state = step.state_code ?? 'unknown';
    counts[state] = (counts[state] ?? 0) + 1;
  }

  const total = Math.max(nodesTotal ?? 0, steps.size);
  const completed = Math.min(Math.max(nodesCompleted ?? 0, counts['succeeded'] ?? 0), total);
  let ratio: number;
  if (status === 'succeeded') ratio = 1;
  else if (total > 0) ratio = completed / total;
  else ratio = status === 'partial_succeeded' ? 1 : 0;

  return { runId, status, steps, counts, completed, total, ratio };
}

/** Reads a step counter of a run; a missing, null or invalid value is undefined. */
function counter(run: Run, field: 'nodes_total' | 'nodes_completed'): number | undefined {
  const value = run[field];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
