import * as t from 'io-ts';

/** The documented run statuses, in lifecycle order, terminal ones last. */
export const KNOWN_RUN_STATUSES = [
  'queued',
  'dispatching',
  'running',
  'succeeded',
  'failed',
  'canceled',
  'partial_succeeded',
] as const;

export type KnownRunStatus = (typeof KNOWN_RUN_STATUSES)[number];

/** A run status: one of the documented ones, or any other string the server may add later. */
export type RunStatus = KnownRunStatus | (string & {});

export type TerminalRunStatus = 'succeeded' | 'failed' | 'canceled' | 'partial_succeeded';

const TERMINAL: ReadonlySet<string> = new Set<TerminalRunStatus>([
  'succeeded',
  'failed',
  'canceled',
  'partial_succeeded',
]);

/** Lifecycle rank: a status never moves to a lower rank. Unknown statuses rank as `running`. */
const RANK: Readonly<Record<KnownRunStatus, number>> = {
  queued: 0,
  dispatching: 1,
  running: 2,
  succeeded: 3,
  failed: 3,
  canceled: 3,
  partial_succeeded: 3,
};

export function isKnownRunStatus(status: string): status is KnownRunStatus {
  return Object.prototype.hasOwnProperty.call(RANK, status);
}

export function isTerminalStatus(status: string): status is TerminalRunStatus {
  return TERMINAL.has(status);
}

/**
 * Returns the lifecycle rank of a status: 0 queued, 1 dispatching, 2 running, 3 terminal.
 *
 * An unknown status ranks with `running`: it is not terminal, and the server only reports
 * statuses outside the documented set for a run that has been accepted.
 */
export function statusRank(status: string): number {
  return isKnownRunStatus(status) ? RANK[status] : RANK.running;
}

/** Maps the UK spelling `cancelled`, used by one version of the docs, to `canceled`. */
export function normalizeStatus(status: string): RunStatus {
  return status === 'cancelled' ? 'canceled' : status;
}

/** Decodes any status string; `cancelled` becomes `canceled`. */
export const RunStatusCodec = new t.Type<RunStatus, string, unknown>(
  'run status',
  (u): u is RunStatus => typeof u === 'string',
  (u, context) => (typeof u === 'string' && u !== '' ? t.success(normalizeStatus(u)) : t.failure(u, context)),
  (a) => a,
);
