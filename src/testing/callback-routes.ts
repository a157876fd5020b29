/**
 * Callback routes: the delivery history and manual redelivery of run and batch callbacks,
 * and the callback signing secrets.
 */
import { findBatch } from './batch-routes.js';
import { batchStatusAt } from './batch-view.js';
import { batchCallbackTarget, runCallbackTarget } from './callback-envelope.js';
import type { CallbackTarget } from './callback-delivery.js';
import { MAX_SECRET_LABEL_LENGTH, renderSecret, type SecretUpdate, type StoredSecret } from './callback-secrets.js';
import { parseBody } from './create-run.js';
import { SimulatorHttpError, validationError, type ErrorDetail } from './http-errors.js';
import { listPage, type ListResource } from './listing.js';
import { CALLBACK_SECRET_FIELDS } from './resources.js';
import {
  decodeParam,
  findRun,
  requestOrgId,
  type HandlerContext,
  type Route,
  type RouteRequest,
  type RouteResponse,
} from './route-context.js';
import { statusAt } from './run-timeline.js';
import type { JsonObject } from './run-view.js';
import type { SimulatorState } from './state.js';

export const CALLBACK_ROUTES: readonly Route[] = [
  { pattern: /^\/v1\/runs\/([^/]+)\/callback$/, template: '/v1/runs/{id}/callback', handlers: { GET: runHistory } },
  {
    pattern: /^\/v1\/runs\/([^/]+)\/callback-redeliveries$/,
    template: '/v1/runs/{id}/callback-redeliveries',
    handlers: { POST: redeliverRun },
  },
  {
    pattern: /^\/v1\/batches\/([^/]+)\/callback$/,
    template: '/v1/batches/{id}/callback',
    handlers: { GET: batchHistory },
  },
  {
    pattern: /^\/v1\/batches\/([^/]+)\/callback-redeliveries$/,
    template: '/v1/batches/{id}/callback-redeliveries',
    handlers: { POST: redeliverBatch },
  },
  {
    pattern: /^\/v1\/callback-secrets$/,
    template: '/v1/callback-secrets',
    handlers: { GET: listSecrets, POST: createSecret },
  },
  {
    pattern: /^\/v1\/callback-secrets\/([^/]+)$/,
    template: '/v1/callback-secrets/{id}',
    handlers: { GET: getSecret, PATCH: updateSecret, DELETE: deleteSecret },
  },
];

function runHistory(_request: RouteRequest, params: readonly string[], { state }: HandlerContext): RouteResponse {
  const run = findRun(state, params[0]);
  return { status: 200, json: state.callbacks.records(run.id) };
}

function batchHistory(_request: RouteRequest, params: readonly string[], { state }: HandlerContext): RouteResponse {
  const batch = findBatch(state, params[0]);
  return { status: 200, json: state.callbacks.records(batch.id) };
}

/**
 * Returns a 422 for a refused redelivery. Runflow documents the lowercase code
 * `validation_error` with `error_type: "conflict"` for batch redeliveries. `type` names the
 * guard that failed.
 */
function redeliveryRefused(kind: 'run' | 'batch', message: string, type: string): SimulatorHttpError {
  const loc = ['path', kind === 'run' ? 'run_id' : 'batch_id'];
  return new SimulatorHttpError(422, 'validation_error', message, [
    { loc, msg: message, type, error_type: 'conflict' },
  ]);
}

/**
 * Creates a manual delivery of `target` and responds 201 with it. The guards are documented
 * for batches, and the simulator applies them to runs too: the run or batch must be terminal
 * and have a `callback_url`, and none of its deliveries may be pending or retrying.
 */
function redeliver(state: SimulatorState, target: CallbackTarget, status: string, now: number): RouteResponse {
  const name = `${target.kind} ${target.id}`;
  if (now < target.terminalAt) {
    throw redeliveryRefused(
      target.kind,
      `Cannot redeliver the callback of ${name}: it is ${status}, and callbacks are sent only once it has ended.`,
      'not_terminal',
    );
  }
  if (target.callbackUrl === null) {
    throw redeliveryRefused(
      target.kind,
      `Cannot redeliver the callback of ${name}: it was created without a callback_url.`,
      'callback_url_missing',
    );
  }
  if (state.callbacks.hasDeliveryInFlight(target.id)) {
    throw redeliveryRefused(
      target.kind,
      `Cannot redeliver the callback of ${name}: another delivery is still pending or retrying. ` +
        'Wait until it has succeeded or failed.',
      'delivery_in_flight',
    );
  }
  // Not documented: the status of a redelivery response. The simulator responds 201 because a delivery is created.
  return { status: 201, json: state.callbacks.redeliver(target) };
}

function redeliverRun(
  _request: RouteRequest,
  params: readonly string[],
  { state, now }: HandlerContext,
): RouteResponse {
  const run = findRun(state, params[0]);
  return redeliver(state, runCallbackTarget(state, run), statusAt(run.plan, now), now);
}

function redeliverBatch(
  _request: RouteRequest,
  params: readonly string[],
  { state, now }: HandlerContext,
): RouteResponse {
  const batch = findBatch(state, params[0]);
  return redeliver(state, batchCallbackTarget(state, batch), batchStatusAt(state, batch, now), now);
}

/** Returns the secret with id `rawId`. Throws 404 CALLBACK_SECRET_NOT_FOUND for an unknown id. */
function findSecret(state: SimulatorState, rawId: string | undefined): StoredSecret {
  const id = decodeParam(rawId);
  const secret = state.callbackSecrets.get(id);
  if (secret === undefined) {
    // Not documented: the code for an unknown secret. The simulator responds with 404 CALLBACK_SECRET_NOT_FOUND.
    throw new SimulatorHttpError(404, 'CALLBACK_SECRET_NOT_FOUND', `No callback secret with id "${id}".`);
  }
  return secret;
}

/** Parses a body that may be empty, which counts as `{}`. */
function parseOptionalBody(body: string): JsonObject {
  return body.trim() === '' ? {} : parseBody(body);
}

function checkLabel(value: unknown): ErrorDetail[] {
  if (value === undefined || value === null) return [];
  const loc = ['body', 'label'];
  if (typeof value !== 'string') {
    return [{ loc, msg: 'label must be a string or null.', type: 'type_error' }];
  }
  const length = [...value].length;
  if (length > MAX_SECRET_LABEL_LENGTH) {
    return [
      {
        loc,
        msg: `label must have at most ${MAX_SECRET_LABEL_LENGTH} characters, got ${length}.`,
        type: 'string_too_long',
      },
    ];
  }
  return [];
}

/** Not documented: the status of secret creation. The simulator responds 201, as for runs and batches. */
function createSecret(request: RouteRequest, _params: readonly string[], context: HandlerContext): RouteResponse {
  const { state, now } = context;
  const body = parseOptionalBody(request.body);
  const errors = checkLabel(body['label']);
  if (errors.length > 0) {
    throw validationError(errors);
  }
  const label = typeof body['label'] === 'string' ? body['label'] : null;
  const secret = state.callbackSecrets.create({ orgId: requestOrgId(request, context.apiKey), label, now });
  // The plain secret appears in this response only. Reads return the record without it.
  return { status: 201, json: { ...renderSecret(secret), plain_secret: secret.plainSecret } };
}

/** Not documented: the list endpoint. The simulator lists secrets with the standard envelope, newest first. */
function listSecrets(request: RouteRequest, _params: readonly string[], { state }: HandlerContext): RouteResponse {
  const resource: ListResource = {
    scope: 'callback-secrets',
    fields: CALLBACK_SECRET_FIELDS,
    defaultSort: 'created_at:desc',
  };
  const records = state.callbackSecrets.list().map(renderSecret);
  return { status: 200, json: listPage(records, request.query, resource) };
}

function getSecret(_request: RouteRequest, params: readonly string[], { state }: HandlerContext): RouteResponse {
  return { status: 200, json: renderSecret(findSecret(state, params[0])) };
}

/** Applies `{label?, is_current?}`. `is_current: true` promotes the secret and demotes the current one. */
function updateSecret(request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const secret = findSecret(state, params[0]);
  const body = parseOptionalBody(request.body);
  const isCurrent = body['is_current'];
  const errors = checkLabel(body['label']);
  if (isCurrent !== undefined && isCurrent !== null && typeof isCurrent !== 'boolean') {
    errors.push({ loc: ['body', 'is_current'], msg: 'is_current must be true, false or null.', type: 'type_error' });
  }
  if (errors.length > 0) {
    throw validationError(errors);
  }
  const update: SecretUpdate = {
    ...(body['label'] === undefined ? {} : { label: typeof body['label'] === 'string' ? body['label'] : null }),
    ...(typeof isCurrent === 'boolean' ? { isCurrent } : {}),
  };
  state.callbackSecrets.update(secret, update, now);
  return { status: 200, json: renderSecret(secret) };
}

/** Not documented: the delete endpoint. The simulator deletes the secret and responds 204 without a body. */
function deleteSecret(_request: RouteRequest, params: readonly string[], { state }: HandlerContext): RouteResponse {
  state.callbackSecrets.delete(findSecret(state, params[0]));
  return { status: 204, bytes: Buffer.alloc(0), headers: {} };
}
