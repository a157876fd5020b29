/**
 * Scripted models: what a simulated model accepts, how long each phase of its runs takes,
 * what it logs, and what it outputs.
 */

/** Log level of a run log line (`level_code`). */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/** Media type of an output entry. */
export type OutputType = 'image' | 'video' | 'audio';

/** One problem with a run input, reported in a 422 response as `{loc, msg, type}`. */
export interface InputIssue {
  /** Path inside `input`, e.g. `['prompt']`; the response prefixes it with `['body', 'input']`. */
  readonly path: readonly (string | number)[];
  /** Human-readable message naming the field and the expected value. */
  readonly msg: string;
  /** Machine-readable kind, e.g. `missing`, `type_error`, `out_of_range`. */
  readonly type: string;
}

/** A log line that a step writes while it runs. */
export interface StepLogTemplate {
  readonly message: string;
  /** Default: `info`. */
  readonly level?: LogLevel;
}

/** One step of a model run; multi-step models report each step as a node-run. */
export interface ModelStep {
  /** Node name, e.g. `generate_frames`; the node's UUID is derived from it and the model id. */
  readonly node: string;
  /** Time the step runs, in simulated ms. */
  readonly durationMs: number;
  /** Log lines written during the step, spread evenly over its duration. Default: none. */
  readonly logs?: readonly (string | StepLogTemplate)[];
}

/** Phase durations of a successful run, before `input.simulate.slow` is applied. */
export interface ModelTimeline {
  /** Time in `queued`, in simulated ms. */
  readonly queuedMs: number;
  /** Time in `dispatching`, in simulated ms (skipped with the `skipDispatching` drift). */
  readonly dispatchingMs: number;
  /** Steps run one after the other while the run is `running`; at least one. */
  readonly steps: readonly ModelStep[];
}

/** One entry of `output.outputs[]`. */
export interface SimulatedOutput {
  readonly type: OutputType;
  readonly url: string;
  readonly content_type: string;
  readonly size_bytes: number;
  readonly width?: number;
  readonly height?: number;
  /** Length of video or audio, in seconds. */
  readonly duration?: number;
}

/** Arguments that an output builder receives for one run. */
export interface OutputContext {
  readonly runId: string;
  /** The run input without `simulate`. */
  readonly input: Readonly<Record<string, unknown>>;
  /** Returns the URL under which the simulator serves `fileName` for this run, e.g. `0.png`. */
  fileUrl(fileName: string): string;
}

/**
 * A model the simulator can run.
 *
 * @example
 * const upscale: SimulatedModel = {
 *   id: 'acme/upscale/v2',
 *   validateInput: validateFields({ image_url: { type: 'string', required: true, minLength: 1 } }),
 *   timeline: { queuedMs: 100, dispatchingMs: 100, steps: [{ node: 'upscale', durationMs: 500 }] },
 *   buildOutputs: ({ fileUrl }) => [
 *     { type: 'image', url: fileUrl('0.png'), content_type: 'image/png', size_bytes: 2048, width: 2048, height: 2048 },
 *   ],
 * };
 * const simulator = await startSimulator({ models: [upscale] });
 */
export interface SimulatedModel {
  /** Slash-separated model path as used in `POST /v1/models/{model_id}/runs`, any depth. */
  readonly id: string;
  /** UUID reported as the run's `model_id`. Default: a UUIDv5 derived from `id`. */
  readonly uuid?: string;
  /**
   * Whether the steps are reported as node-runs, with `flow_id`, `nodes_total` and
   * `nodes_completed` set on the run. Default: false.
   */
  readonly reportsNodeRuns?: boolean;
  /**
   * Whether `POST /v1/models/{model_id}/batches` accepts the model. Runflow runs batches only
   * for template-backed models and rejects others with 422. Default: true.
   */
  readonly supportsBatches?: boolean;
  /** Returns the problems with `input` (which no longer contains `simulate`); empty when valid. */
  validateInput(input: Readonly<Record<string, unknown>>): readonly InputIssue[];
  /** The phase durations, fixed or computed from the validated input. */
  readonly timeline: ModelTimeline | ((input: Readonly<Record<string, unknown>>) => ModelTimeline);
  /** Returns the outputs of a fully successful run. */
  buildOutputs(context: OutputContext): readonly SimulatedOutput[];
  /** Price of a fully successful run in USD, split evenly across the steps. Default: 0. */
  readonly costUsd?: number | ((input: Readonly<Record<string, unknown>>) => number);
}

/** A check on one input field, used with `validateFields()`. */
export type InputFieldRule =
  | {
      readonly type: 'string';
      readonly required?: boolean;
      readonly minLength?: number;
      readonly maxLength?: number;
      readonly oneOf?: readonly string[];
    }
  | { readonly type: 'integer' | 'number'; readonly required?: boolean; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean'; readonly required?: boolean };

/** Returns whether `value` is a plain JSON object (not null and not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeRange(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

/** Returns the problems of one field value against its rule, or an empty list. */
export function checkField(path: readonly (string | number)[], value: unknown, rule: InputFieldRule): InputIssue[] {
  const name = path.join('.');
  if (value === undefined) {
    return rule.required === true ? [{ path, msg: `${name} is required.`, type: 'missing' }] : [];
  }

  switch (rule.type) {
    case 'string': {
      if (typeof value !== 'string') {
        return [{ path, msg: `${name} must be a string.`, type: 'type_error' }];
      }
      if (rule.oneOf !== undefined && !rule.oneOf.includes(value)) {
        return [{ path, msg: `${name} must be one of ${rule.oneOf.join(', ')}.`, type: 'invalid_choice' }];
      }
      if (rule.minLength !== undefined && value.length < rule.minLength) {
        return [{ path, msg: `${name} must have at least ${rule.minLength} characters.`, type: 'too_short' }];
      }
      if (rule.maxLength !== undefined && value.length > rule.maxLength) {
        return [{ path, msg: `${name} must have at most ${rule.maxLength} characters.`, type: 'too_long' }];
      }
      return [];
    }
    case 'integer':
    case 'number': {
      const kind = rule.type === 'integer' ? 'an integer' : 'a number';
      const range = describeRange(rule.min, rule.max);
      const validType =
        typeof value === 'number' && Number.isFinite(value) && (rule.type === 'number' || Number.isInteger(value));
      if (!validType) {
        return [{ path, msg: `${name} must be ${kind}${range}.`, type: 'type_error' }];
      }
      if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
        return [{ path, msg: `${name} must be ${kind}${range}, got ${value}.`, type: 'out_of_range' }];
      }
      return [];
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : [{ path, msg: `${name} must be true or false.`, type: 'type_error' }];
  }
}

/**
 * Builds an input validator from one rule per field. Fields without a rule are accepted as they are.
 *
 * @example
 * const validatePrompt = validateFields({ prompt: { type: 'string', required: true, minLength: 1 } });
 * validatePrompt({}); // [{ path: ['prompt'], msg: 'prompt is required.', type: 'missing' }]
 */
export function validateFields(
  rules: Readonly<Record<string, InputFieldRule>>,
): (input: Readonly<Record<string, unknown>>) => InputIssue[] {
  return (input) => Object.entries(rules).flatMap(([field, rule]) => checkField([field], input[field], rule));
}
