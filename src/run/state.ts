import type { NodeRun, Run, RunLog } from '../codecs/run.js';
import { isKnownRunStatus, isTerminalStatus, normalizeStatus, statusRank, type RunStatus } from '../codecs/status.js';
import type { RunEvent } from './events.js';

/**
 * Record of what a run Observable has emitted so far. Treat it as immutable: `foldSnapshot` returns a new
 * state and never changes the one it was given.
 */
export interface RunState {
  readonly runId: string;
  /** The last status emitted, or undefined before the first. */
  readonly status: RunStatus | undefined;
  /** Every status emitted so far; a status is emitted at most once. */
  readonly emittedStatuses: ReadonlySet<string>;
  /** Keys of the log lines emitted so far (see `logKeys`). */
  readonly emittedLogs: ReadonlySet<string>;
  /** Node-runs as last emitted, by `id` (or `node_id` when the id is absent). */
  readonly nodeRuns: ReadonlyMap<string, NodeRun>;
  /** Unknown status strings seen so far, so that each is reported once. */
  readonly unknownStatuses: ReadonlySet<string>;
  /** The newest snapshot accepted, or undefined before the first. */
  readonly lastRun: Run | undefined;
  /** True once a terminal status was emitted; later snapshots are ignored. */
  readonly terminal: boolean;
}

/** The result of folding one snapshot into a state. */
export interface FoldResult {
  readonly state: RunState;
  /** Events in emission order: new log lines, then node-run changes, then the status change. */
  readonly events: readonly RunEvent[];
  /** True when the snapshot was older than the state (lower status rank) and was ignored. */
  readonly stale: boolean;
  /** An unknown status seen for the first time in this snapshot, to be reported once. */
  readonly newUnknownStatus: string | undefined;
}

export function initialRunState(runId: string): RunState {
  return {
    runId,
    status: undefined,
    emittedStatuses: new Set(),
    emittedLogs: new Set(),
    nodeRuns: new Map(),
    unknownStatuses: new Set(),
    lastRun: undefined,
    terminal: false,
  };
}

/**
 * Folds a run snapshot into the state and returns the events it adds.
 *
 * A snapshot whose status ranks below the current one (queued < dispatching < running <
 * terminal) is stale, for example from a lagging replica, and is ignored whole. A status already
 * emitted is not emitted again, and skipped statuses are not invented. After a terminal status
 * the state is final and every later snapshot is ignored.
 */
export function foldSnapshot(state: RunState, snapshot: Run): FoldResult {
  const status = normalizeStatus(snapshot.status_code);
  if (state.terminal || (state.status !== undefined && statusRank(status) < statusRank(state.status))) {
    return { state, events: [], stale: !state.terminal, newUnknownStatus: undefined };
  }

  const events: RunEvent[] = [];
  const runId = state.runId;

  const emittedLogs = new Set(state.emittedLogs);
  for (const { key, log } of logKeys(orderedLogs(snapshot.logs ?? []))) {
    if (emittedLogs.has(key)) continue;
    emittedLogs.add(key);
    events.push({ type: 'log', runId, log });
  }

  const nodeRuns = new Map(state.nodeRuns);
  for (const nodeRun of snapshot.node_runs ?? []) {
    const key = nodeRun.id ?? nodeRun.node_id;
    if (key === null || key === undefined) continue;
    const previous = nodeRuns.get(key);
    if (previous !== undefined && !nodeRunAdvanced(previous, nodeRun)) continue;
    nodeRuns.set(key, nodeRun);
    events.push({ type: 'node-run', runId, nodeRun, previous });
  }

  let emittedStatuses = state.emittedStatuses;
  let current = state.status;
  if (!emittedStatuses.has(status)) {
    emittedStatuses = new Set(emittedStatuses).add(status);
    events.push({ type: 'status', runId, status, previous: current, run: snapshot });
    current = status;
  }

  const unknown = !isKnownRunStatus(status) && !state.unknownStatuses.has(status);
  return {
    state: {
      runId,
      status: current,
      emittedStatuses,
      emittedLogs,
      nodeRuns,
      unknownStatuses: unknown ? new Set(state.unknownStatuses).add(status) : state.unknownStatuses,
      lastRun: snapshot,
      terminal: isTerminalStatus(status),
    },
    events,
    stale: false,
    newUnknownStatus: unknown ? status : undefined,
  };
}

/**
 * Sorts log lines by timestamp, oldest first; lines without a timestamp keep their place
 * relative to each other. The docs do not state the order the server uses.
 */
function orderedLogs(logs: readonly RunLog[]): RunLog[] {
  return logs
    .map((log, index) => ({ log, index, time: log.timestamp ? Date.parse(log.timestamp) : Number.NaN }))
    .sort((a, b) =>
      Number.isNaN(a.time) || Number.isNaN(b.time) ? a.index - b.index : a.time - b.time || a.index - b.index,
    )
    .map(({ log }) => log);
}

/**
 * Gives each log line a key for deduplication: its `id`, or for a line without one, its
 * timestamp, level and message plus a count, so that two identical lines stay two lines.
 */
function logKeys(logs: readonly RunLog[]): Array<{ key: string; log: RunLog }> {
  const counts = new Map<string, number>();
  return logs.map((log) => {
    if (log.id) return { key: `id:${log.id}`, log };
    const base = `line:${log.timestamp ?? ''}|${log.level_code ?? ''}|${log.message ?? ''}`;
    const count = (counts.get(base) ?? 0) + 1;
    counts.set(base, count);
    return { key: `${base}#${count}`, log };
  });
}

/** Fields whose change makes a node-run event; timestamps and costs alone are not a change. */
const NODE_RUN_FIELDS = [
  'state_code',
  'retry_count',
  'error_message',
  'preview_type',
  'preview_value',
  'output',
] as const;

/**
 * True when `next` is a newer observation of the node-run than `previous`. A lower state rank
 * with the same retry count is a stale read, not a change.
 */
function nodeRunAdvanced(previous: NodeRun, next: NodeRun): boolean {
  const changed = NODE_RUN_FIELDS.some(
    (field) => JSON.stringify(previous[field] ?? null) !== JSON.stringify(next[field] ?? null),
  );
  if (!changed) return false;
  const retried = (next.retry_count ?? 0) > (previous.retry_count ?? 0);
  const previousRank = previous.state_code ? statusRank(normalizeStatus(previous.state_code)) : -1;
  const nextRank = next.state_code ? statusRank(normalizeStatus(next.state_code)) : -1;
  return retried || nextRank >= previousRank;
}
