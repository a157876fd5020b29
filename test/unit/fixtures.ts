import type { NodeRun, Run, RunLog } from '../../src/index.js';

/** Builds a run snapshot for pure tests; only the fields a test names differ from the defaults. */
export function runSnapshot(status: string, fields: Partial<Run> = {}): Run {
  return { id: 'run-1', status_code: status, logs: [], node_runs: [], ...fields } as Run;
}

export function logLine(id: string, message: string, timestamp = '2026-12-04T10:00:00.000Z'): RunLog {
  return { id, run_id: 'run-1', level_code: 'info', message, timestamp };
}

export function nodeRun(id: string, state: string, fields: Partial<NodeRun> = {}): NodeRun {
  return { id, run_id: 'run-1', node_id: `node-${id}`, state_code: state, ...fields };
}
