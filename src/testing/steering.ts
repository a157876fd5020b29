/**
 * `input.simulate`: the knobs in a run input that decide how a simulated run ends.
 */
import { KNOWN_RUN_STATUSES } from '../codecs/status.js';
import { checkField, isJsonObject, type InputIssue } from './models.js';

/** Terminal status that a simulated run reaches. */
export type SimulatedOutcome = 'succeeded' | 'failed' | 'canceled' | 'partial_succeeded';

/** Status in which a failed or canceled run stops. */
export type SimulatedStopState = 'queued' | 'dispatching' | 'running';

/**
 * The `input.simulate` object of a create-run request. Every field is optional, and a field
 * that has no effect on the chosen outcome is rejected with 422.
 *
 * @example
 * const simulate: SimulateOptions = { outcome: 'failed', at: 'running', step: 1, failureCode: 'PROVIDER_TIMEOUT' };
 * const body = { input: { prompt: 'a fox', simulate } };
 */
export interface SimulateOptions {
  /** Terminal status. Default: `succeeded`. */
  readonly outcome?: SimulatedOutcome;
  /** Status in which a failed or canceled run stops. Default: `running`. */
  readonly at?: SimulatedStopState;
  /** 0-based step that fails or is canceled halfway, when `at` is `running`. Default: the last step. */
  readonly step?: number;
  /** `failure_code` of a failed run. Default: `PROVIDER_ERROR`. */
  readonly failureCode?: string;
  /**
   * `failure_stage_code` of a failed run.
   * Default: `dispatch` when stopping in `queued` or `dispatching`, else `provider`.
   */
  readonly failureStage?: string;
  /** `failure_message` of a failed run. Default: a message naming the stage and the step. */
  readonly failureMessage?: string;
  /** Factor applied to every duration of the run, e.g. 20 for a slow run. Default: 1. */
  readonly slow?: number;
  /** Undocumented status that the run reports between `running` and its terminal status. Default: none. */
  readonly unknownStatus?: string;
}

/** `input.simulate` with every default applied. */
export interface RunSteering {
  readonly outcome: SimulatedOutcome;
  readonly at: SimulatedStopState;
  /** Step that fails or is canceled, or undefined for the last step. */
  readonly step: number | undefined;
  readonly failureCode: string;
  readonly failureStage: string;
  readonly failureMessage: string | undefined;
  readonly slow: number;
  readonly unknownStatus: string | undefined;
}

/** The seven documented run statuses plus the UK spelling of `canceled`. */
const DOCUMENTED_STATUSES = new Set<string>([...KNOWN_RUN_STATUSES, 'cancelled']);

const STATUS_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

const OUTCOMES: readonly SimulatedOutcome[] = ['succeeded', 'failed', 'canceled', 'partial_succeeded'];
const STOP_STATES: readonly SimulatedStopState[] = ['queued', 'dispatching', 'running'];
const KNOWN_KEYS = new Set([
  'outcome',
  'at',
  'step',
  'failureCode',
  'failureStage',
  'failureMessage',
  'slow',
  'unknownStatus',
]);

/** Largest `slow` factor; it keeps every scaled duration a safe integer. */
const MAX_SLOW_FACTOR = 10_000;

/** Result of `parseSteering()`: the steering, or the problems with `input.simulate`. */
export type SteeringResult = { readonly steering: RunSteering } | { readonly issues: readonly InputIssue[] };

/**
 * Validates `input.simulate` (undefined when absent) and applies the defaults.
 * `stepCount` is the number of steps of the model's timeline for this input. It is undefined
 * when the input is invalid and the timeline unknown, and then `step` is checked for its type only.
 */
export function parseSteering(value: unknown, stepCount: number | undefined): SteeringResult {
  if (value === undefined) {
    return { steering: defaultSteering('running', undefined) };
  }
  if (!isJsonObject(value)) {
    return { issues: [{ path: ['simulate'], msg: 'simulate must be an object.', type: 'type_error' }] };
  }

  const issues: InputIssue[] = [];
  for (const key of Object.keys(value)) {
    if (!KNOWN_KEYS.has(key)) {
      issues.push({
        path: ['simulate', key],
        msg: `simulate.${key} is not a known option; expected one of ${[...KNOWN_KEYS].join(', ')}.`,
        type: 'unknown_field',
      });
    }
  }
  issues.push(
    ...checkField(['simulate', 'outcome'], value['outcome'], { type: 'string', oneOf: OUTCOMES }),
    ...checkField(['simulate', 'at'], value['at'], { type: 'string', oneOf: STOP_STATES }),
    ...checkField(['simulate', 'step'], value['step'], {
      type: 'integer',
      min: 0,
      max: stepCount === undefined ? undefined : stepCount - 1,
    }),
    ...checkField(['simulate', 'failureCode'], value['failureCode'], { type: 'string', minLength: 1, maxLength: 100 }),
    ...checkField(['simulate', 'failureStage'], value['failureStage'], {
      type: 'string',
      minLength: 1,
      maxLength: 100,
    }),
    ...checkField(['simulate', 'failureMessage'], value['failureMessage'], {
      type: 'string',
      minLength: 1,
      maxLength: 1000,
    }),
    ...checkField(['simulate', 'slow'], value['slow'], { type: 'number', min: 0.001, max: MAX_SLOW_FACTOR }),
    ...checkUnknownStatus(value['unknownStatus']),
  );
  if (issues.length > 0) {
    return { issues };
  }

  const outcome = (value['outcome'] as SimulatedOutcome | undefined) ?? 'succeeded';
  const at = (value['at'] as SimulatedStopState | undefined) ?? 'running';
  issues.push(...checkCombinations(value, outcome, at));
  if (issues.length > 0) {
    return { issues };
  }

  const defaults = defaultSteering(at, value['failureStage'] as string | undefined);
  return {
    steering: {
      ...defaults,
      outcome,
      step: value['step'] as number | undefined,
      failureCode: (value['failureCode'] as string | undefined) ?? defaults.failureCode,
      failureMessage: value['failureMessage'] as string | undefined,
      slow: (value['slow'] as number | undefined) ?? 1,
      unknownStatus: value['unknownStatus'] as string | undefined,
    },
  };
}

function defaultSteering(at: SimulatedStopState, failureStage: string | undefined): RunSteering {
  return {
    outcome: 'succeeded',
    at,
    step: undefined,
    failureCode: 'PROVIDER_ERROR',
    failureStage: failureStage ?? (at === 'running' ? 'provider' : 'dispatch'),
    failureMessage: undefined,
    slow: 1,
    unknownStatus: undefined,
  };
}

function checkUnknownStatus(value: unknown): InputIssue[] {
  const path = ['simulate', 'unknownStatus'];
  if (value === undefined) return [];
  if (typeof value !== 'string' || !STATUS_NAME_PATTERN.test(value)) {
    return [{ path, msg: 'simulate.unknownStatus must be a lowercase snake_case status name.', type: 'type_error' }];
  }
  if (DOCUMENTED_STATUSES.has(value)) {
    return [
      { path, msg: `simulate.unknownStatus must not be a documented status, got ${value}.`, type: 'invalid_choice' },
    ];
  }
  return [];
}

/** Rejects options that would have no effect, so that a mistyped scenario fails at create. */
function checkCombinations(
  value: Readonly<Record<string, unknown>>,
  outcome: SimulatedOutcome,
  at: SimulatedStopState,
): InputIssue[] {
  const issues: InputIssue[] = [];
  const stops = outcome === 'failed' || outcome === 'canceled';

  for (const key of ['at', 'step']) {
    if (value[key] !== undefined && !stops) {
      issues.push({
        path: ['simulate', key],
        msg: `simulate.${key} applies only to the outcomes failed and canceled, not ${outcome}.`,
        type: 'not_applicable',
      });
    }
  }
  for (const key of ['failureCode', 'failureStage', 'failureMessage']) {
    if (value[key] !== undefined && outcome !== 'failed') {
      issues.push({
        path: ['simulate', key],
        msg: `simulate.${key} applies only to the outcome failed, not ${outcome}.`,
        type: 'not_applicable',
      });
    }
  }
  if (stops && value['step'] !== undefined && at !== 'running') {
    issues.push({
      path: ['simulate', 'step'],
      msg: `simulate.step applies only when simulate.at is running, not ${at}.`,
      type: 'not_applicable',
    });
  }
  if (stops && value['unknownStatus'] !== undefined && at !== 'running') {
    issues.push({
      path: ['simulate', 'unknownStatus'],
      msg: `simulate.unknownStatus needs a run that reaches running, but it stops in ${at}.`,
      type: 'not_applicable',
    });
  }
  return issues;
}
