/**
 * `POST /v1/models/{model_id}/batches`: validates the request, creates one run per input item
 * and stores the batch.
 *
 * The body is `{input: [...], metadata?, callback_url?}` as the API reference documents it.
 * The guide's shape `{items: [{input}], callback_url}` is rejected with 422, so a client test
 * sees at once which shape the client sends.
 */
import { batchCallbackTarget } from './callback-envelope.js';
import {
  checkCallbackUrl,
  checkMetadata,
  findModel,
  inputErrors,
  parseBody,
  prepareInput,
  storeRun,
  type PreparedInput,
} from './create-run.js';
import { renderCreatedBatch, type StoredBatch, type StoredBatchItem } from './batch-view.js';
import { validationError, type ErrorDetail } from './http-errors.js';
import { stableUuid } from './ids.js';
import { isJsonObject, type SimulatedModel } from './models.js';
import type { JsonObject } from './run-view.js';
import type { SimulatorState } from './state.js';

/** Maximum number of items in one batch. */
export const MAX_BATCH_ITEMS = 100;

/** Maximum length of the `client_ref` of a batch item, in characters. */
export const MAX_CLIENT_REF_LENGTH = 255;

/** Maximum length of a batch `callback_url`, in characters. */
export const MAX_BATCH_CALLBACK_URL_LENGTH = 2048;

/** Parts of the HTTP request that the create-batch handler reads. */
export interface CreateBatchRequest {
  /** The model path as it appears in the URL, percent-encoded. */
  readonly rawModelPath: string;
  readonly body: string;
  /** Organisation of the request, from `X-Organization-Id` or the API key. */
  readonly orgId: string;
}

interface ValidItem {
  readonly prepared: PreparedInput;
  readonly clientRef: string | null;
}

/** Checks the `input` array itself and returns its problems, none when it contains 1 to 100 entries. */
function checkInputArray(body: JsonObject): ErrorDetail[] {
  const input = body['input'];
  const loc = ['body', 'input'];
  if (input === undefined) {
    const shapeHint =
      body['items'] !== undefined
        ? ' The body shape {items: [{input}]} is not accepted; send {input: [<run input>, ...]} instead.'
        : '';
    return [
      { loc, msg: `input is required: an array of 1 to ${MAX_BATCH_ITEMS} run inputs.${shapeHint}`, type: 'missing' },
    ];
  }
  if (!Array.isArray(input)) {
    return [{ loc, msg: `input must be an array of 1 to ${MAX_BATCH_ITEMS} run inputs.`, type: 'type_error' }];
  }
  if (input.length === 0) {
    return [{ loc, msg: 'input must contain at least 1 item, got 0.', type: 'too_short' }];
  }
  if (input.length > MAX_BATCH_ITEMS) {
    return [
      { loc, msg: `input must contain at most ${MAX_BATCH_ITEMS} items, got ${input.length}.`, type: 'too_long' },
    ];
  }
  return [];
}

/** Returns the `client_ref` of an item, or the problem with it. */
function checkClientRef(value: unknown, index: number): { clientRef: string | null } | { error: ErrorDetail } {
  if (value === undefined || value === null) {
    return { clientRef: null };
  }
  const loc = ['body', 'input', index, 'client_ref'];
  if (typeof value !== 'string') {
    return { error: { loc, msg: 'client_ref must be a string.', type: 'type_error' } };
  }
  const length = [...value].length;
  if (length > MAX_CLIENT_REF_LENGTH) {
    return {
      error: {
        loc,
        msg: `client_ref must have at most ${MAX_CLIENT_REF_LENGTH} characters, got ${length}.`,
        type: 'string_too_long',
      },
    };
  }
  return { clientRef: value };
}

/**
 * Validates every item on its own: `client_ref` is removed before the model and `simulate`
 * validate the rest. Problems carry the item index, e.g. `["body", "input", 3, "prompt"]`.
 */
function validateItems(
  model: SimulatedModel,
  items: readonly unknown[],
): { items: ValidItem[]; errors: ErrorDetail[] } {
  const valid: ValidItem[] = [];
  const errors: ErrorDetail[] = [];
  items.forEach((item, index) => {
    if (!isJsonObject(item)) {
      errors.push({ loc: ['body', 'input', index], msg: `input[${index}] must be an object.`, type: 'type_error' });
      return;
    }
    const { client_ref: rawClientRef, ...runInput } = item;
    const clientRef = checkClientRef(rawClientRef, index);
    const result = prepareInput(model, runInput);
    if ('error' in clientRef) errors.push(clientRef.error);
    if ('issues' in result) errors.push(...inputErrors(result.issues, ['body', 'input', index]));
    if ('clientRef' in clientRef && 'prepared' in result) {
      valid.push({ prepared: result.prepared, clientRef: clientRef.clientRef });
    }
  });
  return { items: valid, errors };
}

/**
 * Creates a batch and one run per item, schedules the batch callback when there is a
 * `callback_url`, and returns the create response. Throws SimulatorHttpError for an invalid
 * request, reporting every problem of every item together.
 */
export function createBatch(state: SimulatorState, request: CreateBatchRequest): JsonObject {
  const model = findModel(state, request.rawModelPath);
  if (model.supportsBatches === false) {
    throw validationError([
      {
        loc: ['path', 'model_id'],
        msg: `Model ${model.id} does not support batches; create its runs one by one.`,
        type: 'batch_not_supported',
      },
    ]);
  }
  const body = parseBody(request.body);
  const errors = [
    ...checkInputArray(body),
    ...checkMetadata(body['metadata']),
    ...checkCallbackUrl(body['callback_url'], MAX_BATCH_CALLBACK_URL_LENGTH),
  ];
  const input = body['input'];
  if (errors.length > 0 || !Array.isArray(input)) {
    throw validationError(errors);
  }
  const validated = validateItems(model, input);
  if (validated.errors.length > 0) {
    throw validationError(validated.errors);
  }

  const now = state.clock.now();
  const batchId = state.batchIds.next(now);
  const items: StoredBatchItem[] = validated.items.map((item, index) => {
    const run = storeRun(state, {
      model,
      prepared: item.prepared,
      orgId: request.orgId,
      // Items fire no callbacks of their own. The batch fires one when every item has ended.
      callbackUrl: null,
      metadata: null,
      clientRef: item.clientRef,
      batchId,
      now,
    });
    return { id: state.batchIds.next(now), sequenceIndex: index, runId: run.id, clientRef: item.clientRef };
  });
  const batch: StoredBatch = {
    id: batchId,
    createdAt: now,
    modelPath: model.id,
    modelUuid: model.uuid ?? stableUuid(`model:${model.id}`),
    orgId: request.orgId,
    input: structuredClone(input as JsonObject[]),
    metadata: isJsonObject(body['metadata']) ? structuredClone(body['metadata']) : null,
    callbackUrl: typeof body['callback_url'] === 'string' ? body['callback_url'] : null,
    items,
  };
  state.batches.set(batchId, batch);
  state.callbacks.watch(batchCallbackTarget(state, batch));
  return renderCreatedBatch(state, batch, now);
}
