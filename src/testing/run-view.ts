/**
 * JSON views of a run, its logs and its node-runs at a given simulated time, as the REST API
 * returns them. Each view is computed from the run's plan on every read, so a run needs no
 * timers and two reads at the same time return the same JSON.
 */
import { createHash } from 'node:crypto';
import { statusAt, type PlannedLog, type PlannedStep, type RunPlan } from './run-timeline.js';

/** A JSON object as the simulator sends it. */
export type JsonObject = Record<string, unknown>;

/** A run as the simulator stores it: the create request and the plan. */
export interface StoredRun {
  readonly id: string;
  readonly createdAt: number;
  /** Slash path of the model, e.g. `openai/gpt-image-1.5`. */
  readonly modelPath: string;
  readonly modelUuid: string;
  /** Flow UUID of models that report node-runs, else null. */
  readonly flowId: string | null;
  readonly orgId: string;
  /** The input exactly as sent, including `simulate`. */
  readonly input: JsonObject;
  readonly callbackUrl: string | null;
  readonly metadata: JsonObject | null;
  readonly clientRef: string | null;
  /** Batch that created the run as one of its items, or null. */
  readonly batchId: string | null;
  readonly plan: RunPlan;
}

/** Documented API drift that changes how runs read. */
export interface ViewDrift {
  /** Spell the canceled status `cancelled`. */
  readonly cancelledSpelling: boolean;
  /** Send the output as `{ image_urls: [...] }` instead of `{ outputs: [...] }`. */
  readonly legacyImageUrls: boolean;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoTimeOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}

/** Formats a price in USD as a decimal string with 4 digits after the point. */
export function formatUsd(amount: number): string {
  return amount.toFixed(4);
}

export function spellStatus(status: string, drift: ViewDrift): string {
  return drift.cancelledSpelling && status === 'canceled' ? 'cancelled' : status;
}

/** Returns the log lines written up to `now`, oldest first, without the embedded run. */
export function renderLogs(run: StoredRun, now: number, drift: ViewDrift): JsonObject[] {
  return visibleLogs(run.plan, now).map((log) => renderLog(run.id, log, drift));
}

function visibleLogs(plan: RunPlan, now: number): PlannedLog[] {
  return plan.logs.filter((log) => log.at <= now);
}

function renderLog(runId: string, log: PlannedLog, drift: ViewDrift): JsonObject {
  const meta =
    typeof log.meta['status_code'] === 'string'
      ? { ...log.meta, status_code: spellStatus(log.meta['status_code'], drift) }
      : { ...log.meta };
  return {
    id: log.id,
    run_id: runId,
    level_code: log.level,
    message: log.message,
    timestamp: isoTime(log.at),
    meta,
  };
}

/** Returns the node-runs at `now` in step order; empty before the run starts or for models without node-runs. */
export function renderNodeRuns(run: StoredRun, now: number, drift: ViewDrift): JsonObject[] {
  const createdAt = run.plan.nodeRunsCreatedAt;
  if (createdAt === null || now < createdAt) {
    return [];
  }
  return run.plan.steps.map((step) => renderNodeRun(run, step, createdAt, now, drift));
}

/** Returns the state of a step at `now` and the time it reached that state when it is final. */
function stepStateAt(plan: RunPlan, step: PlannedStep, now: number): { state: string; completedAt: number | null } {
  if (step.succeededAt !== null && now >= step.succeededAt) {
    return { state: 'succeeded', completedAt: step.succeededAt };
  }
  if (now >= plan.endsAt) {
    return { state: step.finalState, completedAt: plan.endsAt };
  }
  if (step.startAt !== null && now >= step.startAt) {
    return { state: 'running', completedAt: null };
  }
  return { state: 'queued', completedAt: null };
}

function renderNodeRun(
  run: StoredRun,
  step: PlannedStep,
  createdAt: number,
  now: number,
  drift: ViewDrift,
): JsonObject {
  const { state, completedAt } = stepStateAt(run.plan, step, now);
  const startedAt = step.startAt !== null && now >= step.startAt ? step.startAt : null;
  // Not documented: what input_signature contains. The simulator sends a SHA-256 over the node and the run input.
  const inputSignature = createHash('sha256').update(step.nodeId).update(JSON.stringify(run.input)).digest('hex');
  return {
    id: step.nodeRunId,
    run_id: run.id,
    node_id: step.nodeId,
    flow_id: run.flowId,
    state_code: spellStatus(state, drift),
    input: { node_name: step.node },
    output: state === 'succeeded' ? { node_name: step.node } : null,
    input_signature: inputSignature,
    preview_type: null,
    preview_value: null,
    duration_ms: completedAt !== null && startedAt !== null ? completedAt - startedAt : null,
    cost: completedAt === null ? null : formatUsd(state === 'succeeded' ? step.costUsd : 0),
    retry_count: 0,
    error_message: state === 'failed' ? step.errorMessage : null,
    created_at: isoTime(createdAt),
    started_at: isoTimeOrNull(startedAt),
    completed_at: isoTimeOrNull(completedAt),
  };
}

function renderOutput(run: StoredRun, drift: ViewDrift): JsonObject | null {
  const outputs = run.plan.outputs;
  if (outputs === null) {
    return null;
  }
  if (drift.legacyImageUrls) {
    return { image_urls: outputs.map((output) => output.url) };
  }
  const seed = run.input['seed'];
  return {
    outputs: outputs.map((output) => ({ ...output })),
    seed: typeof seed === 'number' ? seed : null,
    timing: null,
    nsfw_detected: null,
  };
}

/** Returns the price of a finished run in USD: the steps that succeeded. */
export function runCostUsd(plan: RunPlan): number {
  return plan.steps.reduce((sum, step) => sum + (step.succeededAt !== null ? step.costUsd : 0), 0);
}

/**
 * Returns the run object at `now`, with every documented field. Undocumented contents are
 * the simulator's choice: `links`, `context` and `cost_breakdown` are empty objects, and
 * `duration_ms` runs from `created_at` to `completed_at`.
 */
export function renderRun(run: StoredRun, now: number, drift: ViewDrift): JsonObject {
  const plan = run.plan;
  const status = statusAt(plan, now);
  const terminal = now >= plan.endsAt;
  const started = plan.startedAt !== null && now >= plan.startedAt;
  const nodeRuns = renderNodeRuns(run, now, drift);
  const logs = renderLogs(run, now, drift);
  const reportsNodeRuns = run.flowId !== null;
  const failure = terminal ? plan.failure : null;
  const costUsd = runCostUsd(plan);

  return {
    id: run.id,
    status_code: spellStatus(status, drift),
    model_id: run.modelUuid,
    flow_id: run.flowId,
    flow_version_id: null,
    comfyui_workflow_id: null,
    target_type: 'model',
    target_version: null,
    resolved_template_id: null,
    org_id: run.orgId,
    source_code: 'api',
    input: run.input,
    output: terminal ? renderOutput(run, drift) : null,
    context: {},
    duration_ms: terminal ? plan.endsAt - run.createdAt : null,
    cost: terminal ? formatUsd(costUsd) : null,
    cost_breakdown: {},
    nodes_total: reportsNodeRuns ? plan.steps.length : null,
    nodes_completed: reportsNodeRuns
      ? nodeRuns.filter((nodeRun) => nodeRun['state_code'] === 'succeeded').length
      : null,
    batch_id: run.batchId,
    client_ref: run.clientRef,
    jurisdiction_code: null,
    request_id: null,
    created_by: null,
    created_at: isoTime(run.createdAt),
    started_at: started ? isoTimeOrNull(plan.startedAt) : null,
    completed_at: terminal ? isoTime(plan.endsAt) : null,
    callback_url: run.callbackUrl,
    metadata: run.metadata,
    has_logs: logs.length > 0,
    has_node_runs: nodeRuns.length > 0,
    links: {},
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    failure_stage_code: failure?.stage ?? null,
    feedback_is_positive: null,
    feedback_reason: null,
    source_chat_message_id: null,
    current_evaluation_summary: null,
    node_runs: nodeRuns,
    logs,
  };
}

/**
 * Returns the `output` that callbacks and batch outputs carry for a terminal run: the
 * normalised output on success and partial success, `{code, message, stage}` on failure, and
 * null on cancellation. The failure shape is not documented; it is the simulator's choice.
 */
export function terminalOutput(run: StoredRun, drift: ViewDrift): unknown {
  switch (run.plan.terminalStatus) {
    case 'succeeded':
    case 'partial_succeeded':
      return renderOutput(run, drift);
    case 'failed': {
      const failure = run.plan.failure;
      return failure === null ? null : { code: failure.code, message: failure.message, stage: failure.stage };
    }
    case 'canceled':
      return null;
  }
}

/** Returns the outputs that the run reports at `now`, or an empty list before it ends. */
export function visibleOutputs(run: StoredRun, now: number): NonNullable<RunPlan['outputs']> {
  return now >= run.plan.endsAt ? (run.plan.outputs ?? []) : [];
}
