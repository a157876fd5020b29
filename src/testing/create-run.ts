/**
 * `POST /v1/models/{model_id}/runs`: validates the request, plans the run and stores it.
 */
import { runCallbackTarget } from './callback-envelope.js';
import { stableUuid } from './ids.js';
import { SimulatorHttpError, validationError, type ErrorDetail } from './http-errors.js';
import { isJsonObject, type InputIssue, type ModelTimeline, type SimulatedModel } from './models.js';
import { planRun, validateTimeline } from './run-timeline.js';
import { renderRun, type JsonObject, type StoredRun } from './run-view.js';
import type { SimulatorState } from './state.js';
import { parseSteering, type RunSteering } from './steering.js';

/** Parts of the HTTP request that the create handler reads. */
export interface CreateRunRequest {
  /** The model path as it appears in the URL, percent-encoded, e.g. `bytedance/seedance/2.0/fast/text-to-video`. */
  readonly rawModelPath: string;
  readonly body: string;
  /** Value of `X-Organization-Id`, if sent. */
  readonly organizationId: string | undefined;
  /** The API key the request was authorised with. */
  readonly apiKey: string;
}

/**
 * Finds the model of a percent-encoded path. Each segment is decoded on its own, so an
 * encoded slash (`%2F`) stays inside its segment and never matches a deeper model path.
 */
export function findModel(state: SimulatorState, rawModelPath: string): SimulatedModel {
  const segments = rawModelPath.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new SimulatorHttpError(400, 'BAD_REQUEST', `Invalid percent-encoding in model path segment "${segment}".`);
    }
  });
  const model = segments.some(
    (segment) => segment.includes('/') || segment === '' || segment === '.' || segment === '..',
  )
    ? undefined
    : state.models.get(segments.join('/'));
  if (model === undefined) {
    // Not documented: the error for an unknown model. The simulator responds with 404 MODEL_NOT_FOUND.
    throw new SimulatorHttpError(404, 'MODEL_NOT_FOUND', `No model with id "${segments.join('/')}".`);
  }
  return model;
}

/** Parses a JSON object body; throws 400 BAD_REQUEST for invalid JSON and 422 for another JSON value. */
export function parseBody(body: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SimulatorHttpError(
      400,
      'BAD_REQUEST',
      body.trim() === '' ? 'The request body is empty; send a JSON object.' : 'The request body is not valid JSON.',
    );
  }
  if (!isJsonObject(parsed)) {
    throw validationError([{ loc: ['body'], msg: 'The request body must be a JSON object.', type: 'type_error' }]);
  }
  return parsed;
}

/** Checks `callback_url`: absent, null, or an http(s) URL of at most `maxLength` characters. */
export function checkCallbackUrl(callbackUrl: unknown, maxLength = Infinity): ErrorDetail[] {
  if (callbackUrl === undefined || callbackUrl === null) {
    return [];
  }
  if (typeof callbackUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(callbackUrl)) {
    return [{ loc: ['body', 'callback_url'], msg: 'callback_url must be an http or https URL.', type: 'url_type' }];
  }
  if (callbackUrl.length > maxLength) {
    return [
      {
        loc: ['body', 'callback_url'],
        msg: `callback_url must have at most ${maxLength} characters, got ${callbackUrl.length}.`,
        type: 'string_too_long',
      },
    ];
  }
  return [];
}

/** Checks `metadata`: absent, null, or an object. */
export function checkMetadata(metadata: unknown): ErrorDetail[] {
  if (metadata !== undefined && metadata !== null && !isJsonObject(metadata)) {
    return [{ loc: ['body', 'metadata'], msg: 'metadata must be an object or null.', type: 'type_error' }];
  }
  return [];
}

/** Checks the documented top-level body fields other than `input`; unknown fields are ignored. */
function checkEnvelope(body: JsonObject): ErrorDetail[] {
  const errors = [...checkCallbackUrl(body['callback_url']), ...checkMetadata(body['metadata'])];
  const clientRef = body['client_ref'];
  if (clientRef !== undefined && clientRef !== null && typeof clientRef !== 'string') {
    errors.push({ loc: ['body', 'client_ref'], msg: 'client_ref must be a string.', type: 'type_error' });
  }
  return errors;
}

/** Turns problems inside one run input into error details under `loc`, e.g. `['body', 'input', 3]`. */
export function inputErrors(issues: readonly InputIssue[], loc: readonly (string | number)[]): ErrorDetail[] {
  return issues.map((issue) => ({ loc: [...loc, ...issue.path], msg: issue.msg, type: issue.type }));
}

function resolveTimeline(model: SimulatedModel, input: Readonly<Record<string, unknown>>): ModelTimeline {
  const timeline = typeof model.timeline === 'function' ? model.timeline(input) : model.timeline;
  validateTimeline(model.id, timeline);
  return timeline;
}

/** A valid run input with the model timeline and steering it leads to. */
export interface PreparedInput {
  /** The input as sent, `simulate` included. */
  readonly input: JsonObject;
  /** The input without `simulate`, as the model receives it. */
  readonly modelInput: JsonObject;
  readonly timeline: ModelTimeline;
  readonly steering: RunSteering;
}

/**
 * Validates one run input: the model validates it without `simulate`, and `simulate` is
 * validated on its own. Returns every problem, with paths inside the input, or the prepared input.
 */
export function prepareInput(
  model: SimulatedModel,
  input: JsonObject,
): { readonly prepared: PreparedInput } | { readonly issues: readonly InputIssue[] } {
  // The model validates the input without `simulate`; its timeline is known only for a valid input.
  const { simulate, ...modelInput } = input;
  const modelIssues = model.validateInput(modelInput);
  const timeline = modelIssues.length === 0 ? resolveTimeline(model, modelInput) : undefined;
  const steering = parseSteering(simulate, timeline?.steps.length);
  const issues = 'issues' in steering ? [...modelIssues, ...steering.issues] : modelIssues;
  if (issues.length > 0 || !('steering' in steering) || timeline === undefined) {
    return { issues };
  }
  return { prepared: { input, modelInput, timeline, steering: steering.steering } };
}

/** Everything `storeRun()` needs besides the prepared input. */
export interface NewRun {
  readonly model: SimulatedModel;
  readonly prepared: PreparedInput;
  readonly orgId: string;
  readonly callbackUrl: string | null;
  readonly metadata: JsonObject | null;
  readonly clientRef: string | null;
  readonly batchId: string | null;
  /** Simulated creation time. */
  readonly now: number;
}

/** Plans a run, stores it and returns it. It does not schedule callbacks. */
export function storeRun(state: SimulatorState, options: NewRun): StoredRun {
  const { model, prepared, now } = options;
  const id = state.runIds.next(now);
  const run: StoredRun = {
    id,
    createdAt: now,
    modelPath: model.id,
    modelUuid: model.uuid ?? stableUuid(`model:${model.id}`),
    flowId: model.reportsNodeRuns === true ? stableUuid(`flow:${model.id}`) : null,
    orgId: options.orgId,
    input: structuredClone(prepared.input),
    callbackUrl: options.callbackUrl,
    metadata: options.metadata === null ? null : structuredClone(options.metadata),
    clientRef: options.clientRef,
    batchId: options.batchId,
    plan: planRun({
      runId: id,
      createdAt: now,
      model,
      timeline: prepared.timeline,
      modelInput: prepared.modelInput,
      steering: prepared.steering,
      skipDispatching: state.drift.skipDispatching,
      baseUrl: state.baseUrl,
    }),
  };
  state.runs.set(id, run);
  return run;
}

/**
 * Creates a run, schedules its callback when it has a `callback_url`, and returns it as JSON
 * in `queued`. Throws SimulatorHttpError for an invalid request.
 */
export function createRun(state: SimulatorState, request: CreateRunRequest): JsonObject {
  const model = findModel(state, request.rawModelPath);
  const body = parseBody(request.body);

  const input = body['input'];
  const errors = checkEnvelope(body);
  if (input === undefined) {
    errors.unshift({ loc: ['body', 'input'], msg: 'input is required.', type: 'missing' });
  } else if (!isJsonObject(input)) {
    errors.unshift({ loc: ['body', 'input'], msg: 'input must be an object.', type: 'type_error' });
  }
  if (errors.length > 0 || !isJsonObject(input)) {
    throw validationError(errors);
  }

  const result = prepareInput(model, input);
  if ('issues' in result) {
    throw validationError(inputErrors(result.issues, ['body', 'input']));
  }

  const now = state.clock.now();
  const run = storeRun(state, {
    model,
    prepared: result.prepared,
    // Any X-Organization-Id is accepted; without one, the run belongs to the key's own organisation.
    orgId: request.organizationId ?? stableUuid(`org:${request.apiKey}`),
    callbackUrl: typeof body['callback_url'] === 'string' ? body['callback_url'] : null,
    metadata: isJsonObject(body['metadata']) ? body['metadata'] : null,
    clientRef: typeof body['client_ref'] === 'string' ? body['client_ref'] : null,
    batchId: null,
    now,
  });
  state.callbacks.watch(runCallbackTarget(state, run));
  return renderRun(run, now, state.drift);
}
