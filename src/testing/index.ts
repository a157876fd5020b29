/**
 * `runflow-rx/testing`: a local Runflow simulator for tests and demos.
 *
 * A real HTTP server on 127.0.0.1 that implements the Runflow Runs API: runs with their logs
 * and node-runs, batches, signed callbacks with retries and redelivery, and callback secrets.
 * It has scripted models, steerable outcomes, simulated time, switches for documented API
 * drift, rate limiting, `Idempotency-Key` on run and batch creation and programmable faults.
 * See docs/simulator.md.
 *
 * @example
 * import { startSimulator } from 'runflow-rx/testing';
 *
 * const simulator = await startSimulator({ timeScale: 0 });
 * // ... point a client at simulator.url with simulator.apiKey, then move time:
 * simulator.advanceTime(5_000);
 * await simulator.close();
 */
export { startSimulator } from './server.js';
export type { RecordedRequest, RequestFilter, Simulator } from './server.js';
export { SIMULATOR_API_KEY } from './config.js';
export type { SimulatorConfig, SimulatorDrift } from './config.js';
export type { QueuedResponse } from './response-queue.js';
export type { Fault, FaultRule } from './faults.js';
export type { RateLimitConfig } from './rate-limit.js';
export type { CounterFilter } from './counters.js';
export { IDEMPOTENCY_RETENTION_MS, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency.js';
export { builtInModels, gptImageModel, seedanceVideoModel, smartResizeModel } from './built-in-models.js';
export { checkField, validateFields } from './models.js';
export type {
  InputFieldRule,
  InputIssue,
  LogLevel,
  ModelStep,
  ModelTimeline,
  OutputContext,
  OutputType,
  SimulatedModel,
  SimulatedOutput,
  StepLogTemplate,
} from './models.js';
export type { SimulateOptions, SimulatedOutcome, SimulatedStopState } from './steering.js';
export { UNKNOWN_STATUS_MS } from './run-timeline.js';
export { CALLBACK_MAX_ATTEMPTS, CALLBACK_RETRY_DELAYS_MS, DEFAULT_CALLBACK_TIMEOUT_MS } from './callback-delivery.js';
export type {
  CallbackAttemptRecord,
  CallbackDeliveryRecord,
  CallbackDeliveryStatus,
  CallbackFailureReason,
  CallbackPayload,
} from './callback-delivery.js';
export { MAX_BATCH_ITEMS } from './batch-create.js';
