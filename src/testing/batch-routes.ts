/**
 * Batch routes: create a batch, read and list batches, and read their items.
 */
import { createBatch } from './batch-create.js';
import { renderBatch, renderBatchItem, type StoredBatch } from './batch-view.js';
import { equalityCandidates } from './filter.js';
import { SimulatorHttpError } from './http-errors.js';
import { listPage, type ListResource } from './listing.js';
import { BATCH_FIELDS, BATCH_ITEM_FIELDS } from './resources.js';
import {
  decodeParam,
  requestOrgId,
  type HandlerContext,
  type Route,
  type RouteRequest,
  type RouteResponse,
} from './route-context.js';
import type { SimulatorState } from './state.js';

/** Endpoint of the create-batch route, as `endpointOf()` names it. */
export const CREATE_BATCH_ENDPOINT = 'POST /v1/models/{model_id}/batches';

export const BATCH_ROUTES: readonly Route[] = [
  // The model path is greedy and may have any depth, as for runs.
  {
    pattern: /^\/v1\/models\/(.+)\/batches$/,
    template: '/v1/models/{model_id}/batches',
    handlers: { POST: postBatch },
  },
  { pattern: /^\/v1\/batches$/, template: '/v1/batches', handlers: { GET: listBatches } },
  { pattern: /^\/v1\/batches\/([^/]+)$/, template: '/v1/batches/{id}', handlers: { GET: getBatch } },
  { pattern: /^\/v1\/batches\/([^/]+)\/items$/, template: '/v1/batches/{id}/items', handlers: { GET: listItems } },
  {
    pattern: /^\/v1\/batches\/([^/]+)\/items\/([^/]+)$/,
    template: '/v1/batches/{id}/items/{item_id}',
    handlers: { GET: getItem },
  },
];

/** Returns the batch with id `rawId`. Throws 404 BATCH_NOT_FOUND for an unknown or malformed id. */
export function findBatch(state: SimulatorState, rawId: string | undefined): StoredBatch {
  const id = decodeParam(rawId);
  const batch = state.batches.get(id.toLowerCase());
  if (batch === undefined) {
    // Not documented: the code for an unknown batch. The simulator responds with 404 BATCH_NOT_FOUND.
    throw new SimulatorHttpError(404, 'BATCH_NOT_FOUND', `No batch with id "${id}".`);
  }
  return batch;
}

function postBatch(request: RouteRequest, params: readonly string[], context: HandlerContext): RouteResponse {
  const batch = createBatch(context.state, {
    rawModelPath: params[0] ?? '',
    body: request.body,
    orgId: requestOrgId(request, context.apiKey),
  });
  return { status: 201, json: batch };
}

function getBatch(_request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  return { status: 200, json: renderBatch(state, findBatch(state, params[0]), now) };
}

/** Not documented: whether `GET /v1/batches` exists. The simulator lists batches with the standard envelope. */
function listBatches(request: RouteRequest, _params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const resource: ListResource = { scope: 'batches', fields: BATCH_FIELDS, defaultSort: 'created_at:desc' };
  const page = listPage(
    (filter) => {
      // A filter that restricts `id` to a set of values renders only those batches.
      const ids = filter === undefined ? undefined : equalityCandidates(filter, 'id');
      const batches =
        ids === undefined ? [...state.batches.values()] : [...ids].flatMap((id) => state.batches.get(id) ?? []);
      return batches.map((batch) => renderBatch(state, batch, now));
    },
    request.query,
    resource,
  );
  return { status: 200, json: page };
}

function listItems(request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const batch = findBatch(state, params[0]);
  const resource: ListResource = {
    scope: `batch-items:${batch.id}`,
    fields: BATCH_ITEM_FIELDS,
    defaultSort: 'sequence_index:asc',
  };
  const items = batch.items.map((item) => renderBatchItem(state, batch, item, now));
  return { status: 200, json: listPage(items, request.query, resource) };
}

function getItem(_request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const batch = findBatch(state, params[0]);
  const itemId = decodeParam(params[1]).toLowerCase();
  const item = batch.items.find((candidate) => candidate.id === itemId);
  if (item === undefined) {
    // Not documented: the code for an unknown item id. The simulator responds with 404 BATCH_ITEM_NOT_FOUND.
    throw new SimulatorHttpError(404, 'BATCH_ITEM_NOT_FOUND', `No item with id "${itemId}" in batch ${batch.id}.`);
  }
  return { status: 200, json: renderBatchItem(state, batch, item, now) };
}
