export { combineNodeRuns, type NodeRunProgress } from './combine-node-runs.js';
export {
  combineRunProgress,
  type CombineRunProgressConfig,
  type RunItemProgress,
  type RunItemState,
  type RunProgress,
  type RunSources,
} from './combine-run-progress.js';
export type { RunRetryEvent, RunStreamEvent } from './events.js';
export { finalRun } from './final-run.js';
export { logLines } from './log-lines.js';
export { nodeRunChanges } from './node-run-changes.js';
export { outputs } from './outputs.js';
export { DEFAULT_RETRYABLE_FAILURE_CODES, isRetryableRunFailure } from './retry-policy.js';
export { retryRun, type RetryRunConfig } from './retry-run.js';
export { statusChanges } from './status-changes.js';
export { withDeadline } from './with-deadline.js';
