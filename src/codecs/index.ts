export { decodeOrThrow, toIssues } from './decode.js';
export {
  ErrorEnvelopeCodec,
  PageCodec,
  StatusListCodec,
  nextCursor,
  type ErrorEnvelope,
  type Page,
  type StatusInfo,
} from './envelope.js';
export {
  OutputItemCodec,
  RunOutputCodec,
  outputItems,
  type OutputItem,
  type OutputType,
  type RunOutput,
} from './output.js';
export { Decimal, Timestamp, nullable } from './primitives.js';
export { NodeRunCodec, RunCodec, RunLogCodec, type NodeRun, type Run, type RunLog } from './run.js';
export {
  KNOWN_RUN_STATUSES,
  RunStatusCodec,
  isKnownRunStatus,
  isTerminalStatus,
  normalizeStatus,
  statusRank,
  type KnownRunStatus,
  type RunStatus,
  type TerminalRunStatus,
} from './status.js';
