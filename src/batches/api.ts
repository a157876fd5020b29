import * as t from 'io-ts';
import { catchError, concat, defer, tap, throwError, toArray, type Observable } from 'rxjs';

import { isHttpUrl, listQuery, type ListParams, type RequestOptions } from '../api/runs.js';
import { decodeOrThrow } from '../codecs/decode.js';
import { PageCodec, type Page } from '../codecs/envelope.js';
import { RunflowBatchCreateError, RunflowInputError, describeValue } from '../errors.js';
import { encodeIdSegment, encodeModelPath } from '../http/model-path.js';
import { request, type HttpContext } from '../http/request.js';
import { BatchCodec, BatchItemCodec, type Batch, type BatchItem } from './codecs.js';

/** Most items one batch request may carry, as documented. */
export const MAX_BATCH_ITEMS = 100;

/** A server-side batch request: one model input per item. */
export interface CreateBatchRequest {
  /** Model inputs; an item may carry `client_ref` (at most 255 characters). More than 100 are split. */
  readonly input: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly metadata?: Readonly<Record<string, unknown>> | null;
  /** URL to which Runflow POSTs the batch callback when every item has ended; at most 2048 characters. */
  readonly callbackUrl?: string | null;
}

/** Per-call options of a batch create. */
export interface CreateBatchOptions extends RequestOptions {
  /**
   * Base of the `Idempotency-Key` headers: request N of a split batch sends `<key>-<N>`. Default:
   * a new random key per subscription, reused by transport retries.
   */
  readonly idempotencyKey?: string;
}

const BatchPageCodec = PageCodec(BatchCodec);
const BatchItemPageCodec = PageCodec(BatchItemCodec);

function decoder<A>(codec: t.Type<A, unknown, unknown>) {
  return (json: unknown, describe: string): A => decodeOrThrow(codec, json, describe);
}

/** Typed endpoint functions for server-side batches; each returns a cold Observable. */
export function batchesApi(http: HttpContext) {
  return {
    /**
     * `POST /v1/models/{model_id}/batches`, split into requests of at most 100 items, sent one
     * after the other. Emits the created batches once, in input order. Invalid arguments throw
     * RunflowInputError before any request.
     */
    create(modelId: string, body: CreateBatchRequest, options: CreateBatchOptions = {}): Observable<Batch[]> {
      const path = `/v1/models/${encodeModelPath(modelId)}/batches`;
      const chunks = splitBatch(body);
      return defer(() => {
        const baseKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
        const requests = chunks.map((chunk, index) =>
          request(http, {
            method: 'POST',
            path,
            body: chunk,
            headers: { 'idempotency-key': chunks.length === 1 ? baseKey : `${baseKey}-${index}` },
            decode: decoder(BatchCodec),
            retry: options.retry,
          }),
        );
        const created: Batch[] = [];
        return concat(...requests).pipe(
          tap((batch) => created.push(batch)),
          toArray(),
          catchError((error: unknown) => {
            // A failure after earlier requests succeeded leaves batches running that the caller
            // could not otherwise find. When the first request fails, none exist, so its error passes as is.
            if (created.length === 0) return throwError(() => error);
            const first = created.length * MAX_BATCH_ITEMS;
            const last = Math.min(first + MAX_BATCH_ITEMS, body.input.length) - 1;
            return throwError(
              () =>
                new RunflowBatchCreateError(
                  created.map((batch) => batch.id),
                  first,
                  last,
                  error,
                ),
            );
          }),
        );
      });
    },

    /** `GET /v1/batches/{id}`: the batch with its lean `items[]`. */
    get(batchId: string, options: RequestOptions = {}): Observable<Batch> {
      return request(http, {
        method: 'GET',
        path: `/v1/batches/${encodeIdSegment('batch id', batchId)}`,
        decode: decoder(BatchCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/batches`: one page of batches. */
    list(params: ListParams = {}, options: RequestOptions = {}): Observable<Page<Batch>> {
      return request(http, {
        method: 'GET',
        path: '/v1/batches',
        query: listQuery(params),
        decode: decoder(BatchPageCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/batches/{batch_id}/items`: one page of full items, each with its run. */
    items(batchId: string, params: ListParams = {}, options: RequestOptions = {}): Observable<Page<BatchItem>> {
      return request(http, {
        method: 'GET',
        path: `/v1/batches/${encodeIdSegment('batch id', batchId)}/items`,
        query: listQuery(params),
        decode: decoder(BatchItemPageCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/batches/{batch_id}/items/{id}`. */
    item(batchId: string, itemId: string, options: RequestOptions = {}): Observable<BatchItem> {
      return request(http, {
        method: 'GET',
        path: `/v1/batches/${encodeIdSegment('batch id', batchId)}/items/${encodeIdSegment('item id', itemId)}`,
        decode: decoder(BatchItemCodec),
        retry: options.retry,
      });
    },
  };
}

export type BatchesApi = ReturnType<typeof batchesApi>;

/** Checks a batch request and splits it into wire bodies of at most MAX_BATCH_ITEMS items. */
export function splitBatch(body: CreateBatchRequest): Array<Record<string, unknown>> {
  if (typeof body !== 'object' || body === null || !Array.isArray(body.input) || body.input.length === 0) {
    throw new RunflowInputError(
      `Invalid batch request ${describeValue(body)}: expected { input: [...] } with at least one model input`,
    );
  }
  body.input.forEach((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new RunflowInputError(`Invalid batch input ${index} ${describeValue(item)}: expected a JSON object`);
    }
    const ref = (item as Record<string, unknown>)['client_ref'];
    if (ref !== undefined && (typeof ref !== 'string' || ref.length > 255)) {
      throw new RunflowInputError(
        `Invalid client_ref of batch input ${index} ${describeValue(ref)}: expected a string of at most 255 characters`,
      );
    }
  });
  const { callbackUrl, metadata } = body;
  if (callbackUrl !== undefined && callbackUrl !== null && (!isHttpUrl(callbackUrl) || callbackUrl.length > 2048)) {
    throw new RunflowInputError(
      `Invalid callbackUrl ${describeValue(callbackUrl)}: expected an absolute http or https URL of at most 2048 characters`,
    );
  }
  if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new RunflowInputError(`Invalid batch metadata ${describeValue(metadata)}: expected a JSON object or null`);
  }
  const bodies: Array<Record<string, unknown>> = [];
  for (let start = 0; start < body.input.length; start += MAX_BATCH_ITEMS) {
    const wire: Record<string, unknown> = { input: body.input.slice(start, start + MAX_BATCH_ITEMS) };
    if (metadata !== undefined) wire['metadata'] = metadata;
    if (callbackUrl !== undefined) wire['callback_url'] = callbackUrl;
    bodies.push(wire);
  }
  return bodies;
}
