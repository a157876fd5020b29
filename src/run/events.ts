import type { NodeRun, Run, RunLog } from '../codecs/run.js';
import type { RunStatus } from '../codecs/status.js';

/** A status transition. Emitted once per distinct status, never backwards; the terminal one is last. */
export interface RunStatusEvent {
  readonly type: 'status';
  readonly runId: string;
  readonly status: RunStatus;
  /** The status emitted before this one, or undefined for the first. */
  readonly previous: RunStatus | undefined;
  /** The full run snapshot in which the status was observed. */
  readonly run: Run;
}

/** A log line, emitted once. */
export interface RunLogEvent {
  readonly type: 'log';
  readonly runId: string;
  readonly log: RunLog;
}

/** A node-run (step) that appeared or changed. */
export interface RunNodeRunEvent {
  readonly type: 'node-run';
  readonly runId: string;
  readonly nodeRun: NodeRun;
  /** The same node-run as last emitted, or undefined when it is new. */
  readonly previous: NodeRun | undefined;
}

/** Everything a run Observable emits. */
export type RunEvent = RunStatusEvent | RunLogEvent | RunNodeRunEvent;
