/**
 * JSON views of a batch and its items at a given simulated time. Like runs, a batch has no
 * state of its own beyond its creation request: its status, counters, cost and output are
 * computed from the runs of its items on every read.
 */
import { statusAt } from './run-timeline.js';
import {
  formatUsd,
  isoTime,
  renderRun,
  runCostUsd,
  spellStatus,
  terminalOutput,
  type JsonObject,
  type StoredRun,
  type ViewDrift,
} from './run-view.js';
import type { SimulatorState } from './state.js';

/** One item of a batch: an input that became a run. */
export interface StoredBatchItem {
  readonly id: string;
  /** 0-based position in the request's `input` array. */
  readonly sequenceIndex: number;
  readonly runId: string;
  readonly clientRef: string | null;
}

/** A batch as the simulator stores it: the create request and its item runs. */
export interface StoredBatch {
  readonly id: string;
  readonly createdAt: number;
  readonly modelPath: string;
  readonly modelUuid: string;
  readonly orgId: string;
  /** The `input` array exactly as sent, `client_ref` included. */
  readonly input: readonly JsonObject[];
  readonly metadata: JsonObject | null;
  readonly callbackUrl: string | null;
  readonly items: readonly StoredBatchItem[];
}

/** Fields of the create-batch response, a subset of the batch object. */
const CREATE_RESPONSE_FIELDS = [
  'id',
  'target_type',
  'target_id',
  'status_code',
  'items_total',
  'items_succeeded',
  'items_failed',
  'items_cancelled',
  'items',
  'created_at',
  'output',
  'cost',
  'metadata',
  'callback_url',
  'started_at',
  'completed_at',
] as const;

/** Returns the run of `item`. The runs of batch items are never removed, so it always exists. */
export function itemRun(state: SimulatorState, item: StoredBatchItem): StoredRun {
  const run = state.runs.get(item.runId);
  if (run === undefined) {
    throw new Error(`The run ${item.runId} of batch item ${item.id} is missing.`);
  }
  return run;
}

/** Returns the time the last item run ends, when the batch reaches its terminal state. */
export function batchTerminalAt(state: SimulatorState, batch: StoredBatch): number {
  return Math.max(...batch.items.map((item) => itemRun(state, item).plan.endsAt));
}

/** Returns the time the first item run leaves `queued`. */
function batchStartedAt(runs: readonly StoredRun[]): number {
  return Math.min(...runs.map((run) => run.plan.statusChanges[1]?.at ?? run.plan.endsAt));
}

/**
 * Returns the terminal status of a batch from its item runs. Runflow documents `succeeded`
 * and `partial_succeeded` only, so the rest is the simulator's choice: `canceled` when every
 * item was canceled, `succeeded` when every item succeeded, `failed` when no item succeeded
 * or partially succeeded, and `partial_succeeded` otherwise.
 */
function terminalBatchStatus(runs: readonly StoredRun[]): string {
  const outcomes = runs.map((run) => run.plan.terminalStatus);
  if (outcomes.every((outcome) => outcome === 'canceled')) return 'canceled';
  if (outcomes.every((outcome) => outcome === 'succeeded')) return 'succeeded';
  if (!outcomes.some((outcome) => outcome === 'succeeded' || outcome === 'partial_succeeded')) return 'failed';
  return 'partial_succeeded';
}

/**
 * Returns the batch status at `now`, without drift spelling: `queued` while every item run
 * is queued, `running` while any item run is not terminal, then the terminal status.
 */
export function batchStatusAt(state: SimulatorState, batch: StoredBatch, now: number): string {
  const runs = batch.items.map((item) => itemRun(state, item));
  if (now < batchStartedAt(runs)) return 'queued';
  if (now < batchTerminalAt(state, batch)) return 'running';
  return terminalBatchStatus(runs);
}

/** Item counters at `now`. A partially succeeded item counts as succeeded, and non-terminal items count nowhere. */
function itemCounts(runs: readonly StoredRun[], now: number): { succeeded: number; failed: number; cancelled: number } {
  const counts = { succeeded: 0, failed: 0, cancelled: 0 };
  for (const run of runs) {
    const status = statusAt(run.plan, now);
    if (status === 'succeeded' || status === 'partial_succeeded') counts.succeeded += 1;
    else if (status === 'failed') counts.failed += 1;
    else if (status === 'canceled') counts.cancelled += 1;
  }
  return counts;
}

/**
 * Returns the output of a terminal batch, the same object its callback carries:
 * `{items: [{id, sequence_index, run_id, client_ref, status_code, output}], succeeded, failed, cancelled, total}`.
 * Each item `output` is the one a run callback would carry. The item shape is the simulator's choice.
 */
export function batchOutput(state: SimulatorState, batch: StoredBatch, drift: ViewDrift): JsonObject {
  const runs = batch.items.map((item) => itemRun(state, item));
  const counts = itemCounts(runs, batchTerminalAt(state, batch));
  return {
    items: batch.items.map((item, index) => {
      const run = runs[index] ?? itemRun(state, item);
      return {
        id: item.id,
        sequence_index: item.sequenceIndex,
        run_id: item.runId,
        client_ref: item.clientRef,
        status_code: spellStatus(run.plan.terminalStatus, drift),
        output: terminalOutput(run, drift),
      };
    }),
    succeeded: counts.succeeded,
    failed: counts.failed,
    cancelled: counts.cancelled,
    total: batch.items.length,
  };
}

/** Returns the batch object at `now` with every documented field and lean items. */
export function renderBatch(state: SimulatorState, batch: StoredBatch, now: number): JsonObject {
  const { drift } = state;
  const runs = batch.items.map((item) => itemRun(state, item));
  const terminalAt = batchTerminalAt(state, batch);
  const terminal = now >= terminalAt;
  const startedAt = batchStartedAt(runs);
  const counts = itemCounts(runs, now);
  const costUsd = runs.reduce((sum, run) => sum + runCostUsd(run.plan), 0);

  return {
    id: batch.id,
    org_id: batch.orgId,
    target_type_code: 'model',
    target_type: 'model',
    target_id: batch.modelUuid,
    status_code: spellStatus(batchStatusAt(state, batch, now), drift),
    source_code: 'api',
    items_total: batch.items.length,
    items_succeeded: counts.succeeded,
    items_failed: counts.failed,
    items_cancelled: counts.cancelled,
    input: batch.input,
    resolved_template_id: null,
    dispatch_provider_link_id: null,
    cost: terminal ? formatUsd(costUsd) : null,
    output: terminal ? batchOutput(state, batch, drift) : null,
    metadata: batch.metadata,
    callback_url: batch.callbackUrl,
    duration_ms: terminal ? terminalAt - batch.createdAt : null,
    // Not documented: when a batch has failure fields. The simulator leaves them null, and each item run has its own.
    failure_code: null,
    failure_message: null,
    failure_stage_code: null,
    created_by: null,
    created_at: isoTime(batch.createdAt),
    started_at: now >= startedAt ? isoTime(startedAt) : null,
    completed_at: terminal ? isoTime(terminalAt) : null,
    links: {},
    items: batch.items.map((item, index) => ({
      id: item.id,
      sequence_index: item.sequenceIndex,
      run_id: item.runId,
      status_code: spellStatus(statusAt((runs[index] ?? itemRun(state, item)).plan, now), drift),
      client_ref: item.clientRef,
    })),
  };
}

/** Returns the create-batch response: the documented subset of the batch object. */
export function renderCreatedBatch(state: SimulatorState, batch: StoredBatch, now: number): JsonObject {
  const full = renderBatch(state, batch, now);
  return Object.fromEntries(CREATE_RESPONSE_FIELDS.map((field) => [field, full[field] ?? null]));
}

/**
 * Returns one full batch item at `now`, with its run embedded. `error` is `{code, message, stage}`
 * for a failed item and null otherwise. Its shape is the simulator's choice.
 */
export function renderBatchItem(
  state: SimulatorState,
  batch: StoredBatch,
  item: StoredBatchItem,
  now: number,
): JsonObject {
  const run = itemRun(state, item);
  const view = renderRun(run, now, state.drift);
  const status = statusAt(run.plan, now);
  const failure = status === 'failed' ? run.plan.failure : null;
  return {
    id: item.id,
    batch_id: batch.id,
    sequence_index: item.sequenceIndex,
    run_id: run.id,
    created_at: isoTime(run.createdAt),
    client_ref: item.clientRef,
    status_code: view['status_code'],
    input: run.input,
    cost: view['cost'],
    output: view['output'],
    error: failure === null ? null : { code: failure.code, message: failure.message, stage: failure.stage },
    started_at: view['started_at'],
    completed_at: view['completed_at'],
    run: view,
  };
}
