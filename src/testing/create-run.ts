/**
 * `POST /v1/models/{model_id}/runs`: validates the request, plans the run and stores it.
 */
import { stableUuid } from './ids.js';
import { SimulatorHttpError, validationError, type ErrorDetail } from './http-errors.js';
import { isJsonObject, type InputIssue, type ModelTimeline, type SimulatedModel } from './models.js';
import { planRun, validateTimeline } from './run-timeline.js';
import { renderRun, type JsonObject, type StoredRun } from './run-view.js';
import type { SimulatorState } from './state.js';
import { parseSteering } from './steering.js';

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
function findModel(state: SimulatorState, rawModelPath: string): SimulatedModel {
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

function parseBody(body: string): JsonObject {
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

/** Checks the documented top-level body fields other than `input`; unknown fields are ignored. */
function checkEnvelope(body: JsonObject): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const callbackUrl = body['callback_url'];
  if (callbackUrl !== undefined && callbackUrl !== null) {
    if (typeof callbackUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(callbackUrl)) {
      errors.push({
        loc: ['body', 'callback_url'],
        msg: 'callback_url must be an http or https URL.',
        type: 'url_type',
      });
    }
  }
  const metadata = body['metadata'];
  if (metadata !== undefined && metadata !== null && !isJsonObject(metadata)) {
    errors.push({ loc: ['body', 'metadata'], msg: 'metadata must be an object or null.', type: 'type_error' });
  }
  const clientRef = body['client_ref'];
  if (clientRef !== undefined && clientRef !== null && typeof clientRef !== 'string') {
    errors.push({ loc: ['body', 'client_ref'], msg: 'client_ref must be a string.', type: 'type_error' });
  }
  return errors;
}

function inputErrors(issues: readonly InputIssue[]): ErrorDetail[] {
  return issues.map((issue) => ({ loc: ['body', 'input', ...issue.path], msg: issue.msg, type: issue.type }));
}

function resolveTimeline(model: SimulatedModel, input: Readonly<Record<string, unknown>>): ModelTimeline {
  const timeline = typeof model.timeline === 'function' ? model.timeline(input) : model.timeline;
  validateTimeline(model.id, timeline);
  return timeline;
}

/** Creates a run and returns it as JSON in `queued`. Throws SimulatorHttpError for an invalid request. */
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

  // The model validates the input without `simulate`; its timeline is known only for a valid input.
  const { simulate, ...modelInput } = input;
  const modelIssues = model.validateInput(modelInput);
  const timeline = modelIssues.length === 0 ? resolveTimeline(model, modelInput) : undefined;
  const steering = parseSteering(simulate, timeline?.steps.length);
  const issues = 'issues' in steering ? [...modelIssues, ...steering.issues] : modelIssues;
  if (issues.length > 0 || !('steering' in steering) || timeline === undefined) {
    throw validationError(inputErrors(issues));
  }

  const now = state.clock.now();
  const id = state.runIds.next(now);
  const storedInput = structuredClone(input);
  const run: StoredRun = {
    id,
    createdAt: now,
    modelPath: model.id,
    modelUuid: model.uuid ?? stableUuid(`model:${model.id}`),
    flowId: model.reportsNodeRuns === true ? stableUuid(`flow:${model.id}`) : null,
    // Any X-Organization-Id is accepted; without one, the run belongs to the key's own organisation.
    orgId: request.organizationId ?? stableUuid(`org:${request.apiKey}`),
    input: storedInput,
    callbackUrl: typeof body['callback_url'] === 'string' ? body['callback_url'] : null,
    metadata: isJsonObject(body['metadata']) ? structuredClone(body['metadata']) : null,
    clientRef: typeof body['client_ref'] === 'string' ? body['client_ref'] : null,
    plan: planRun({
      runId: id,
      createdAt: now,
      model,
      timeline,
      modelInput,
      steering: steering.steering,
      skipDispatching: state.drift.skipDispatching,
      baseUrl: state.baseUrl,
    }),
  };
  state.runs.set(id, run);
  return renderRun(run, now, state.drift);
}
