export { createRunflowClient, type RunflowClient, type RunflowClientConfig } from './client.js';
export type { CreateOptions, CreateRunRequest, ListParams, RunsApi } from './api/runs.js';
export * from './codecs/index.js';
export * from './errors.js';
export type { FetchLike, FetchRequestInit, FetchResponseLike } from './http/request.js';
export { encodeModelPath } from './http/model-path.js';
export { silentLogger, type LogFields, type RunflowLogger } from './logger.js';
export { DEFAULT_POLL, MAX_TIMER_MS, type PollConfig } from './run/config.js';
export type { RunEvent, RunLogEvent, RunNodeRunEvent, RunStatusEvent } from './run/events.js';
export { foldSnapshot, initialRunState, type FoldResult, type RunState } from './run/state.js';
export { runEvents, type RunSource, type WatchContext, type WatchOptions } from './run/watch.js';
export {
  CallbackEnvelopeCodec,
  KNOWN_CALLBACK_EVENTS,
  type BatchCallbackEvent,
  type CallbackEnvelope,
  type RunCallbackEvent,
} from './callbacks/envelope.js';
export {
  CallbackReceiver,
  DEFAULT_MAX_CALLBACK_BYTES,
  createCallbackReceiver,
  type CallbackHeaders,
  type CallbackReceiverConfig,
  type CallbackRequest,
  type CallbackResponse,
} from './callbacks/receiver.js';
export {
  SIGNATURE_HEADER,
  SignatureVerifier,
  rawBodyBytes,
  signCallbackBody,
  type RawBody,
} from './callbacks/verify.js';
export {
  expressCallbackHandler,
  fastifyCallbackPlugin,
  fetchCallbackHandler,
  listenForCallbacks,
  nodeCallbackListener,
  type CallbackRouteOptions,
  type CallbackServer,
  type ExpressLikeRequest,
  type ExpressLikeResponse,
  type FastifyLikeInstance,
} from './callbacks/adapters.js';
export { DEFAULT_SAFETY_NET_INTERVAL_MS } from './run/watch.js';
export type { BudgetConfig } from './run/budget.js';
export type { RetryConfig, RetryNotice } from './http/retry.js';
export {
  runBatch,
  type RunBatchClient,
  type RunBatchEvent,
  type RunBatchItem,
  type RunBatchOptions,
  type RunBatchOutcome,
  type RunBatchSummary,
} from './batches/run-batch.js';
export {
  MAX_BATCH_ITEMS,
  splitBatch,
  type BatchesApi,
  type CreateBatchOptions,
  type CreateBatchRequest,
} from './batches/api.js';
export {
  BatchCodec,
  BatchItemCodec,
  BatchItemSummaryCodec,
  type Batch,
  type BatchItem,
  type BatchItemSummary,
} from './batches/codecs.js';
export {
  batchEvents,
  foldBatch,
  summarizeBatch,
  type BatchEvent,
  type BatchSummary,
  type WatchBatchContext,
  type WatchBatchOptions,
} from './batches/watch.js';
export * from './operators/index.js';
