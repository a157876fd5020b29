import * as t from 'io-ts';
import type { Observable } from 'rxjs';

import { decodeOrThrow } from '../codecs/decode.js';
import { PageCodec, StatusListCodec, type Page, type StatusInfo } from '../codecs/envelope.js';
import { NodeRunCodec, RunCodec, RunLogCodec, type NodeRun, type Run, type RunLog } from '../codecs/run.js';
import { RunflowInputError, describeValue } from '../errors.js';
import { encodeIdSegment, encodeModelPath } from '../http/model-path.js';
import { request, type HttpContext, type QueryValue } from '../http/request.js';
import type { RetryConfig } from '../http/retry.js';

/** The body of a create-run request, in the library's camelCase. */
export interface CreateRunRequest {
  /** Model-specific input; each model documents its own schema. */
  readonly input: Readonly<Record<string, unknown>>;
  /** Arbitrary key/values stored on the run and echoed in callbacks. */
  readonly metadata?: Readonly<Record<string, unknown>> | null;
  /** URL to which Runflow POSTs the terminal event envelope. */
  readonly callbackUrl?: string | null;
  /** Your own reference, stored on the run as `client_ref`. */
  readonly clientRef?: string | null;
}

/** Query parameters shared by the list endpoints. */
export interface ListParams {
  /** Filter expression, e.g. `status_code:succeeded AND created_at>2026-04-01`. Case-sensitive. */
  readonly q?: string;
  /** Page size, 1 to 500. */
  readonly limit?: number;
  /** Cursor from a previous page's `next` or `previous`. */
  readonly pq?: string;
  /** Page backwards from `pq`. */
  readonly fromPrev?: boolean;
  /** Comma-separated projection, e.g. `id,status_code`. */
  readonly fields?: string | readonly string[];
  /** `field:asc|desc`, comma-separated for several keys. */
  readonly sortBy?: string;
}

/** Per-call options of any request. */
export interface RequestOptions {
  /** Transport retry settings for this call, over the client's; `false` sends the request once. */
  readonly retry?: RetryConfig | false;
}

/** Per-call options of a create request. */
export interface CreateOptions extends RequestOptions {
  /** The `Idempotency-Key` header; retries of one logical create reuse it. */
  readonly idempotencyKey?: string;
}

const RunPageCodec = PageCodec(RunCodec);
const RunLogPageCodec = PageCodec(RunLogCodec);
const NodeRunPageCodec = PageCodec(NodeRunCodec);

function decoder<A>(codec: t.Type<A, unknown, unknown>) {
  return (json: unknown, describe: string): A => decodeOrThrow(codec, json, describe);
}

/** Typed endpoint functions for runs; each returns a cold Observable of one value. */
export function runsApi(http: HttpContext) {
  return {
    /** `POST /v1/models/{model_id}/runs`: creates a run, which starts in `queued`. */
    create(modelId: string, body: CreateRunRequest, options: CreateOptions = {}): Observable<Run> {
      const path = `/v1/models/${encodeModelPath(modelId)}/runs`;
      return request(http, {
        method: 'POST',
        path,
        body: createRunBody(body),
        headers: options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey },
        decode: decoder(RunCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/runs/{id}`. */
    get(runId: string, options: RequestOptions = {}): Observable<Run> {
      return request(http, {
        method: 'GET',
        path: `/v1/runs/${encodeIdSegment('run id', runId)}`,
        decode: decoder(RunCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/runs`: one page of runs. */
    list(params: ListParams = {}): Observable<Page<Run>> {
      return request(http, {
        method: 'GET',
        path: '/v1/runs',
        query: listQuery(params),
        decode: decoder(RunPageCodec),
      });
    },

    /** `GET /v1/runs/{run_id}/logs`: one page of log lines. */
    logs(runId: string, params: ListParams = {}, options: RequestOptions = {}): Observable<Page<RunLog>> {
      return request(http, {
        method: 'GET',
        path: `/v1/runs/${encodeIdSegment('run id', runId)}/logs`,
        query: listQuery(params),
        decode: decoder(RunLogPageCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/runs/{run_id}/node-runs`: one page of node-runs (steps). */
    nodeRuns(runId: string, params: ListParams = {}, options: RequestOptions = {}): Observable<Page<NodeRun>> {
      return request(http, {
        method: 'GET',
        path: `/v1/runs/${encodeIdSegment('run id', runId)}/node-runs`,
        query: listQuery(params),
        decode: decoder(NodeRunPageCodec),
        retry: options.retry,
      });
    },

    /** `GET /v1/runs/statuses`: the server's status list. Its shape is undocumented; treat it as advisory. */
    statuses(options: RequestOptions = {}): Observable<StatusInfo[]> {
      return request(http, {
        method: 'GET',
        path: '/v1/runs/statuses',
        retry: options.retry,
        decode: (json, describe) => decodeOrThrow(StatusListCodec, json, describe).items,
      });
    },
  };
}

export type RunsApi = ReturnType<typeof runsApi>;

export function createRunBody(body: CreateRunRequest): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) {
    throw new RunflowInputError(
      `Invalid run request ${describeValue(body)}: expected an object with an "input" object`,
    );
  }
  const { input, metadata, callbackUrl, clientRef } = body;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RunflowInputError(
      `Invalid run input ${describeValue(input)}: expected a JSON object such as { "prompt": "..." }`,
    );
  }
  if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new RunflowInputError(`Invalid run metadata ${describeValue(metadata)}: expected a JSON object or null`);
  }
  if (callbackUrl !== undefined && callbackUrl !== null && !isHttpUrl(callbackUrl)) {
    throw new RunflowInputError(
      `Invalid callbackUrl ${describeValue(callbackUrl)}: expected an absolute http or https URL`,
    );
  }
  if (clientRef !== undefined && clientRef !== null && typeof clientRef !== 'string') {
    throw new RunflowInputError(`Invalid clientRef ${describeValue(clientRef)}: expected a string`);
  }
  const wire: Record<string, unknown> = { input };
  if (metadata !== undefined) wire['metadata'] = metadata;
  if (callbackUrl !== undefined) wire['callback_url'] = callbackUrl;
  if (clientRef !== undefined) wire['client_ref'] = clientRef;
  return wire;
}

/** Turns list parameters into the query string fields; throws RunflowInputError for a bad limit. */
export function listQuery(params: ListParams): Record<string, QueryValue> {
  const { q, limit, pq, fromPrev, fields, sortBy } = params;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) {
    throw new RunflowInputError(`Invalid limit ${describeValue(limit)}: expected an integer from 1 to 500`);
  }
  return {
    q,
    limit,
    pq,
    from_prev: fromPrev,
    fields: Array.isArray(fields) ? fields.join(',') : (fields as string | undefined),
    sort_by: sortBy,
  };
}

export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
