/**
 * The timeline of one run, fixed when the run is created: when each status begins, when each
 * step starts and ends, every log line with its id, and the final output or failure.
 * Views of the run at a given time (run-view.ts) only read this plan.
 */
import { stableUuid, UuidV7Generator } from './ids.js';
import type { LogLevel, ModelTimeline, SimulatedModel, SimulatedOutput } from './models.js';
import type { RunSteering, SimulatedOutcome } from './steering.js';

/** Time a run spends in `input.simulate.unknownStatus` before its terminal status, in simulated ms. */
export const UNKNOWN_STATUS_MS = 1000;

/** Status that a run enters at `at`, in simulated ms since the epoch. */
export interface StatusChange {
  readonly status: string;
  readonly at: number;
}

/** A log line with its time and id. */
export interface PlannedLog {
  readonly id: string;
  readonly at: number;
  readonly level: LogLevel;
  readonly message: string;
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Final state of a step, applied when the run reaches its terminal status unless the step succeeded earlier. */
export type StepFinalState = 'succeeded' | 'failed' | 'canceled';

/** A step of the run, reported as a node-run when the model reports node-runs. */
export interface PlannedStep {
  readonly node: string;
  readonly nodeId: string;
  readonly nodeRunId: string;
  /** Time the step starts running, or null when the run ends before it. */
  readonly startAt: number | null;
  /** Time the step succeeds, or null when it does not. */
  readonly succeededAt: number | null;
  readonly finalState: StepFinalState;
  /** Price of the step in USD, charged when it succeeds. */
  readonly costUsd: number;
  readonly errorMessage: string | null;
}

/** The failure fields of a failed run. */
export interface PlannedFailure {
  readonly code: string;
  readonly message: string;
  readonly stage: string;
}

/** The complete timeline of one run. */
export interface RunPlan {
  /** Status changes in time order: `queued` at creation first, the terminal status last. */
  readonly statusChanges: readonly StatusChange[];
  readonly terminalStatus: SimulatedOutcome;
  readonly endsAt: number;
  /** Time the run enters `running`, or null when it never runs. */
  readonly startedAt: number | null;
  /** Time the node-runs appear, or null when the model reports none or the run never runs. */
  readonly nodeRunsCreatedAt: number | null;
  readonly steps: readonly PlannedStep[];
  /** Log lines in time order, with increasing ids. */
  readonly logs: readonly PlannedLog[];
  readonly failure: PlannedFailure | null;
  /** Outputs of a `succeeded` or `partial_succeeded` run, else null. */
  readonly outputs: readonly SimulatedOutput[] | null;
}

/** Everything `planRun()` needs to know about a new run. */
export interface PlanRunOptions {
  readonly runId: string;
  readonly createdAt: number;
  readonly model: SimulatedModel;
  readonly timeline: ModelTimeline;
  /** The run input without `simulate`. */
  readonly modelInput: Readonly<Record<string, unknown>>;
  readonly steering: RunSteering;
  /** Whether the run goes from `queued` straight to `running`. */
  readonly skipDispatching: boolean;
  /** Base URL of the simulator, for output file URLs. */
  readonly baseUrl: string;
}

/** Adds a log line at simulated time `at`. */
type AddLog = (at: number, level: LogLevel, message: string, meta?: Record<string, unknown>) => void;

interface LogDraft {
  readonly at: number;
  readonly level: LogLevel;
  readonly message: string;
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Throws unless every duration of `timeline` is a finite number of ms >= 0 and it has a step. */
export function validateTimeline(modelId: string, timeline: ModelTimeline): void {
  const durations: [string, number][] = [
    ['queuedMs', timeline.queuedMs],
    ['dispatchingMs', timeline.dispatchingMs],
    ...timeline.steps.map((step, index): [string, number] => [`steps[${index}].durationMs`, step.durationMs]),
  ];
  for (const [name, value] of durations) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `Invalid timeline of model ${modelId}: ${name} is ${String(value)}, expected a finite number >= 0.`,
      );
    }
  }
  if (timeline.steps.length === 0) {
    throw new RangeError(`Invalid timeline of model ${modelId}: it has no steps, expected at least one.`);
  }
}

/** Returns the model's price for `input` in USD. */
function modelCostUsd(model: SimulatedModel, input: Readonly<Record<string, unknown>>): number {
  const cost = typeof model.costUsd === 'function' ? model.costUsd(input) : (model.costUsd ?? 0);
  return Number.isFinite(cost) && cost > 0 ? cost : 0;
}

/** Builds the full timeline of a new run from its model, input and steering. */
export function planRun(options: PlanRunOptions): RunPlan {
  const { runId, createdAt, model, timeline, modelInput, steering } = options;
  const scale = (ms: number): number => Math.round(ms * steering.slow);
  const reportsNodeRuns = model.reportsNodeRuns === true;
  const stops = steering.outcome === 'failed' || steering.outcome === 'canceled';
  const stopState = stops ? steering.at : undefined;
  const stopStep = stopState === 'running' ? (steering.step ?? timeline.steps.length - 1) : undefined;

  const statusChanges: StatusChange[] = [{ status: 'queued', at: createdAt }];
  const logs: LogDraft[] = [];
  const addLog: AddLog = (at, level, message, meta = {}) => {
    logs.push({ at, level, message, meta });
  };
  addLog(createdAt, 'info', `Run queued for model ${model.id}`, { status_code: 'queued' });

  // Queued, then dispatching unless the drift skips it.
  const queuedEnd = createdAt + scale(timeline.queuedMs);
  let dispatchingEnd = queuedEnd;
  if (stopState !== 'queued' && !options.skipDispatching) {
    statusChanges.push({ status: 'dispatching', at: queuedEnd });
    addLog(queuedEnd, 'info', 'Dispatching the run to the provider', { status_code: 'dispatching' });
    dispatchingEnd = queuedEnd + scale(timeline.dispatchingMs);
  }

  let runningEnd: number;
  let startedAt: number | null = null;
  let steps: PlannedStep[] = [];
  let stoppedStep: PlannedStep | undefined;
  if (stopState === 'queued') {
    runningEnd = queuedEnd;
  } else if (stopState === 'dispatching') {
    runningEnd = dispatchingEnd;
  } else {
    startedAt = dispatchingEnd;
    statusChanges.push({ status: 'running', at: startedAt });
    addLog(startedAt, 'info', 'Run started', { status_code: 'running' });
    ({ steps, stoppedStep, runningEnd } = planSteps(options, startedAt, stopStep, addLog));
  }

  // The undocumented status, when requested, sits between running and the terminal status.
  let endsAt = runningEnd;
  if (steering.unknownStatus !== undefined && startedAt !== null) {
    statusChanges.push({ status: steering.unknownStatus, at: runningEnd });
    addLog(runningEnd, 'info', 'Post-processing the results', { status_code: steering.unknownStatus });
    endsAt = runningEnd + scale(UNKNOWN_STATUS_MS);
  }
  statusChanges.push({ status: steering.outcome, at: endsAt });

  const failure = steering.outcome === 'failed' ? planFailure(steering, stoppedStep) : null;
  const outputs = planOutputs(options);
  if (reportsNodeRuns && stoppedStep !== undefined) {
    const stepMeta = { node_id: stoppedStep.nodeId, node_name: stoppedStep.node };
    if (failure !== null) addLog(endsAt, 'error', `Step ${stoppedStep.node} failed`, stepMeta);
    else addLog(endsAt, 'warning', `Step ${stoppedStep.node} was canceled`, stepMeta);
  }
  addTerminalLog(addLog, endsAt, steering.outcome, failure, outputs);

  return {
    statusChanges,
    terminalStatus: steering.outcome,
    endsAt,
    startedAt,
    nodeRunsCreatedAt: reportsNodeRuns ? startedAt : null,
    steps: steps.map((step) =>
      step.finalState === 'failed' ? { ...step, errorMessage: failure?.message ?? null } : step,
    ),
    logs: assignLogIds(logs),
    failure,
    outputs: outputs.reported,
  };
}

interface StepsPlan {
  readonly steps: PlannedStep[];
  /** The step that fails or is canceled, if any. */
  readonly stoppedStep: PlannedStep | undefined;
  /** Time the last step that runs ends, or stops. */
  readonly runningEnd: number;
}

/** Plans the steps from `startedAt` on and adds their log lines; `stopStep` stops halfway. */
function planSteps(
  options: PlanRunOptions,
  startedAt: number,
  stopStep: number | undefined,
  addLog: AddLog,
): StepsPlan {
  const { model, timeline, steering } = options;
  const reportsNodeRuns = model.reportsNodeRuns === true;
  const scale = (ms: number): number => Math.round(ms * steering.slow);
  const stepCostUsd = modelCostUsd(model, options.modelInput) / timeline.steps.length;
  const nodeRunIds = new UuidV7Generator();
  const steps: PlannedStep[] = [];
  let stoppedStep: PlannedStep | undefined;
  let cursor = startedAt;

  for (const [index, step] of timeline.steps.entries()) {
    const base = {
      node: step.node,
      nodeId: stableUuid(`node:${model.id}#${step.node}`),
      nodeRunId: nodeRunIds.next(startedAt),
      errorMessage: null,
    };
    if (stopStep !== undefined && index > stopStep) {
      steps.push({ ...base, startAt: null, succeededAt: null, finalState: 'canceled', costUsd: 0 });
      continue;
    }

    const nodeMeta = reportsNodeRuns ? { node_id: base.nodeId, node_name: step.node } : { node_name: step.node };
    const start = cursor;
    const durationMs = scale(step.durationMs);
    // A failing or canceled step stops halfway, so it writes only the logs of its first half.
    const stopsHere = index === stopStep;
    const endAt = stopsHere ? start + Math.round(durationMs / 2) : start + durationMs;
    if (reportsNodeRuns) addLog(start, 'info', `Step ${step.node} started`, nodeMeta);
    const templates = step.logs ?? [];
    templates.forEach((template, position) => {
      const at = start + Math.round((durationMs * (position + 1)) / (templates.length + 1));
      if (stopsHere && at >= endAt) return;
      const { message, level } = typeof template === 'string' ? { message: template, level: undefined } : template;
      addLog(at, level ?? 'info', message, nodeMeta);
    });
    cursor = endAt;

    if (stopsHere) {
      const finalState = steering.outcome === 'failed' ? 'failed' : 'canceled';
      stoppedStep = { ...base, startAt: start, succeededAt: null, finalState, costUsd: 0 };
      steps.push(stoppedStep);
      continue;
    }
    if (reportsNodeRuns) addLog(endAt, 'info', `Step ${step.node} succeeded`, nodeMeta);
    steps.push({ ...base, startAt: start, succeededAt: endAt, finalState: 'succeeded', costUsd: stepCostUsd });
  }
  return { steps, stoppedStep, runningEnd: cursor };
}

function planFailure(steering: RunSteering, failedStep: PlannedStep | undefined): PlannedFailure {
  const defaultMessage =
    failedStep === undefined
      ? `The run failed at the ${steering.failureStage} stage (${steering.failureCode}) before it started.`
      : `Step ${failedStep.node} failed at the ${steering.failureStage} stage (${steering.failureCode}).`;
  return {
    code: steering.failureCode,
    message: steering.failureMessage ?? defaultMessage,
    stage: steering.failureStage,
  };
}

interface OutputPlan {
  /** Outputs that the run reports, or null when it reports none. */
  readonly reported: readonly SimulatedOutput[] | null;
  /** Number of outputs of a fully successful run. */
  readonly fullCount: number;
}

/** Builds the outputs; a partial success keeps the first half, rounded down. */
function planOutputs(options: PlanRunOptions): OutputPlan {
  const { outcome } = options.steering;
  if (outcome !== 'succeeded' && outcome !== 'partial_succeeded') {
    return { reported: null, fullCount: 0 };
  }
  const all = options.model.buildOutputs({
    runId: options.runId,
    input: options.modelInput,
    fileUrl: (fileName) => `${options.baseUrl}/files/${options.runId}/${encodeURIComponent(fileName)}`,
  });
  const reported = outcome === 'partial_succeeded' ? all.slice(0, Math.floor(all.length / 2)) : all;
  return { reported, fullCount: all.length };
}

function addTerminalLog(
  addLog: AddLog,
  at: number,
  outcome: SimulatedOutcome,
  failure: PlannedFailure | null,
  outputs: OutputPlan,
): void {
  const status = { status_code: outcome };
  const reportedCount = outputs.reported?.length ?? 0;
  switch (outcome) {
    case 'succeeded':
      addLog(at, 'info', `Run succeeded with ${reportedCount} ${reportedCount === 1 ? 'output' : 'outputs'}`, status);
      return;
    case 'partial_succeeded':
      addLog(
        at,
        'warning',
        `Run partially succeeded: ${reportedCount} of ${outputs.fullCount} outputs were produced`,
        status,
      );
      return;
    case 'failed':
      addLog(at, 'error', `Run failed: ${failure?.message ?? 'no failure message'}`, {
        ...status,
        failure_code: failure?.code ?? null,
        failure_stage_code: failure?.stage ?? null,
      });
      return;
    case 'canceled':
      addLog(at, 'warning', 'Run canceled by an administrator', status);
      return;
  }
}

/** Sorts the log drafts by time, keeping the order of equal times, and gives them increasing UUIDv7 ids. */
function assignLogIds(drafts: readonly LogDraft[]): PlannedLog[] {
  const ids = new UuidV7Generator();
  return drafts
    .map((draft, index) => ({ draft, index }))
    .sort((left, right) => left.draft.at - right.draft.at || left.index - right.index)
    .map(({ draft }) => ({ id: ids.next(draft.at), ...draft }));
}

/** Returns the status of the run at `now`: the last status change at or before it. */
export function statusAt(plan: RunPlan, now: number): string {
  let status = 'queued';
  for (const change of plan.statusChanges) {
    if (change.at > now) break;
    status = change.status;
  }
  return status;
}
