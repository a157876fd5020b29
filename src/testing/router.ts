/**
 * Routes a request to its handler. Paths are matched as received, still percent-encoded.
 * Every `/v1/` route needs `Authorization: Bearer <key>`; the output files under `/files/`
 * stand for presigned URLs and need none.
 */
import { KNOWN_RUN_STATUSES, isTerminalStatus } from '../codecs/status.js';
import { BATCH_ROUTES, CREATE_BATCH_ENDPOINT } from './batch-routes.js';
import { CALLBACK_ROUTES } from './callback-routes.js';
import { createRun } from './create-run.js';
import { placeholderFileBytes } from './files.js';
import { equalityCandidates, type FilterNode } from './filter.js';
import { SimulatorHttpError } from './http-errors.js';
import { listPage, type ListResource } from './listing.js';
import { LOG_FIELDS, NODE_RUN_FIELDS, RUN_FIELDS } from './resources.js';
import {
  decodeParam,
  findRun,
  headerValue,
  type HandlerContext,
  type Route,
  type RouteRequest,
  type RouteResponse,
} from './route-context.js';
import { renderLogs, renderNodeRuns, renderRun, visibleOutputs, type JsonObject, type StoredRun } from './run-view.js';
import { recordServedView, staleViewTime } from './stale-views.js';
import type { SimulatorState } from './state.js';

export type { RouteRequest, RouteResponse } from './route-context.js';

/** Options of `routeRequest()`. */
export interface RouteOptions {
  /** The key that `authenticateRequest()` returned. */
  readonly apiKey: string;
  /** Serve the older views of the `stale` fault on `GET /v1/runs/{id}` and `GET /v1/runs`. Default: false. */
  readonly stale?: boolean;
}

/** Run statuses with whether each is terminal. */
const RUN_STATUSES: readonly { code: string; is_terminal: boolean }[] = KNOWN_RUN_STATUSES.map((code) => ({
  code,
  is_terminal: isTerminalStatus(code),
}));

const ROUTES: readonly Route[] = [
  { pattern: /^\/v1\/health$/, template: '/v1/health', handlers: { GET: () => ({ status: 200, json: { ok: true } }) } },
  { pattern: /^\/v1\/runs\/statuses$/, template: '/v1/runs/statuses', handlers: { GET: listStatuses } },
  { pattern: /^\/v1\/runs$/, template: '/v1/runs', handlers: { GET: listRuns } },
  { pattern: /^\/v1\/runs\/([^/]+)$/, template: '/v1/runs/{id}', handlers: { GET: getRun } },
  { pattern: /^\/v1\/runs\/([^/]+)\/logs$/, template: '/v1/runs/{id}/logs', handlers: { GET: listLogs } },
  {
    pattern: /^\/v1\/runs\/([^/]+)\/logs\/([^/]+)$/,
    template: '/v1/runs/{id}/logs/{log_id}',
    handlers: { GET: getLog },
  },
  {
    pattern: /^\/v1\/runs\/([^/]+)\/node-runs$/,
    template: '/v1/runs/{id}/node-runs',
    handlers: { GET: listNodeRuns },
  },
  {
    pattern: /^\/v1\/runs\/([^/]+)\/node-runs\/([^/]+)$/,
    template: '/v1/runs/{id}/node-runs/{node_run_id}',
    handlers: { GET: getNodeRun },
  },
  // The model path is greedy and may have any depth, e.g. bytedance/seedance/2.0/fast/text-to-video.
  { pattern: /^\/v1\/models\/(.+)\/runs$/, template: '/v1/models/{model_id}/runs', handlers: { POST: postRun } },
  ...CALLBACK_ROUTES,
  ...BATCH_ROUTES,
  { pattern: /^\/files\/([^/]+)\/([^/]+)$/, template: '/files/{run_id}/{file_name}', handlers: { GET: getFile } },
];

/** Endpoint of the create-run route, as `endpointOf()` names it. */
export const CREATE_RUN_ENDPOINT = 'POST /v1/models/{model_id}/runs';

/** Endpoints whose `Idempotency-Key` header deduplicates requests: run and batch creation. */
export const IDEMPOTENT_ENDPOINTS: ReadonlySet<string> = new Set([CREATE_RUN_ENDPOINT, CREATE_BATCH_ENDPOINT]);

/** Endpoints whose run views the `stale` fault can make older. */
export const STALE_READ_ENDPOINTS: ReadonlySet<string> = new Set(['GET /v1/runs/{id}', 'GET /v1/runs']);

/**
 * Returns the endpoint of a request as `<METHOD> <path template>`, e.g. `GET /v1/runs/{id}`.
 * A path that matches no route gives `<METHOD> (unknown route)`.
 */
export function endpointOf(method: string, path: string): string {
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  return `${method} ${route === undefined ? '(unknown route)' : route.template}`;
}

/**
 * Returns the API key of a `/v1/` request, or an empty string for other paths, which need none.
 * Throws 401 UNAUTHORIZED when the key of a `/v1/` request is missing or unknown.
 */
export function authenticateRequest(state: SimulatorState, request: RouteRequest): string {
  const isApi = request.path === '/v1' || request.path.startsWith('/v1/');
  return isApi ? authenticate(state, request) : '';
}

function authenticate(state: SimulatorState, request: RouteRequest): string {
  const authorization = headerValue(request, 'authorization');
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) {
    throw new SimulatorHttpError(
      401,
      'UNAUTHORIZED',
      'Missing bearer token; send the header Authorization: Bearer <api key>.',
    );
  }
  const key = match[1] ?? '';
  if (!state.apiKeys.includes(key)) {
    throw new SimulatorHttpError(
      401,
      'UNAUTHORIZED',
      'Invalid API key; check the key sent in the Authorization header.',
    );
  }
  return key;
}

/**
 * Returns the response for an authenticated `request`; call `authenticateRequest()` first.
 * Throws SimulatorHttpError for every error response.
 */
export function routeRequest(state: SimulatorState, request: RouteRequest, options: RouteOptions): RouteResponse {
  const context: HandlerContext = {
    state,
    now: state.clock.now(),
    apiKey: options.apiKey,
    stale: options.stale === true,
  };
  for (const route of ROUTES) {
    const match = route.pattern.exec(request.path);
    if (match === null) continue;
    const handler = route.handlers[request.method];
    if (handler === undefined) {
      const allowed = Object.keys(route.handlers).join(', ');
      throw new SimulatorHttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `Method ${request.method} is not allowed on ${request.path}; use ${allowed}.`,
        null,
        {
          allow: allowed,
        },
      );
    }
    return handler(request, match.slice(1), context);
  }
  throw new SimulatorHttpError(404, 'NOT_FOUND', `No route for ${request.method} ${request.path}.`);
}

function postRun(request: RouteRequest, params: readonly string[], context: HandlerContext): RouteResponse {
  // Not documented: the status code of run creation. The simulator responds with 201, as batch creation does.
  const run = createRun(context.state, {
    rawModelPath: params[0] ?? '',
    body: request.body,
    organizationId: headerValue(request, 'x-organization-id') || undefined,
    apiKey: context.apiKey,
  });
  return { status: 201, json: run };
}

/** Returns the simulated time at which a run read renders `run`: an older time for a stale read. */
function viewTime(run: StoredRun, { state, now, stale }: HandlerContext): number {
  return stale ? staleViewTime(state, run) : now;
}

function getRun(_request: RouteRequest, params: readonly string[], context: HandlerContext): RouteResponse {
  const { state, now, stale } = context;
  const run = findRun(state, params[0]);
  if (!stale) recordServedView(state, run, now);
  return { status: 200, json: renderRun(run, viewTime(run, context), state.drift) };
}

/**
 * Returns the runs that can match `filter`. A filter that restricts `id` to a set of values,
 * such as `id:a OR id:b`, renders only those runs, so the list cost follows the number of ids.
 */
function candidateRuns(state: SimulatorState, filter: FilterNode | undefined): StoredRun[] {
  const ids = filter === undefined ? undefined : equalityCandidates(filter, 'id');
  if (ids === undefined) {
    return [...state.runs.values()];
  }
  const runs: StoredRun[] = [];
  for (const id of ids) {
    const run = state.runs.get(id);
    if (run !== undefined) runs.push(run);
  }
  return runs;
}

function listRuns(request: RouteRequest, _params: readonly string[], context: HandlerContext): RouteResponse {
  const { state } = context;
  const resource: ListResource = { scope: 'runs', fields: RUN_FIELDS, defaultSort: 'created_at:desc' };
  const page = listPage(
    (filter) => candidateRuns(state, filter).map((run) => renderRun(run, viewTime(run, context), state.drift)),
    request.query,
    resource,
    // Only the runs on the returned page count as served.
    (items) => {
      if (context.stale) return;
      for (const item of items) {
        const run = state.runs.get(String(item['id']));
        if (run !== undefined) recordServedView(state, run, context.now);
      }
    },
  );
  return { status: 200, json: page };
}

/** Not documented: the response shape. The simulator sends `{items: [{code, is_terminal}]}`. */
function listStatuses(_request: RouteRequest, _params: readonly string[], { state }: HandlerContext): RouteResponse {
  const items = RUN_STATUSES.map((status) =>
    status.code === 'canceled' && state.drift.cancelledSpelling ? { ...status, code: 'cancelled' } : status,
  );
  return { status: 200, json: { items } };
}

/** Returns the run's log lines at `now`, each with the run embedded as the logs endpoints send them. */
function logsWithRun(state: SimulatorState, run: StoredRun, now: number): JsonObject[] {
  const snapshot = renderRun(run, now, state.drift);
  return renderLogs(run, now, state.drift).map((log) => ({ ...log, run: snapshot }));
}

function listLogs(request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  // Not documented: whether `any` works as the run id here; the simulator accepts it only for node-runs.
  const run = findRun(state, params[0]);
  const resource: ListResource = { scope: `logs:${run.id}`, fields: LOG_FIELDS, defaultSort: 'timestamp:asc' };
  return { status: 200, json: listPage(logsWithRun(state, run, now), request.query, resource) };
}

function getLog(_request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const run = findRun(state, params[0]);
  const logId = decodeParam(params[1]).toLowerCase();
  const log = logsWithRun(state, run, now).find((candidate) => candidate['id'] === logId);
  if (log === undefined) {
    // Not documented: the code for an unknown log id. The simulator responds with 404 LOG_NOT_FOUND.
    throw new SimulatorHttpError(404, 'LOG_NOT_FOUND', `No log with id "${logId}" in run ${run.id}.`);
  }
  return { status: 200, json: log };
}

/** Returns the node-runs of one run, or of every run when `rawRunId` is `any`. */
function nodeRunsOf(
  state: SimulatorState,
  rawRunId: string | undefined,
  now: number,
): { scope: string; items: JsonObject[] } {
  if (rawRunId === 'any') {
    const items = [...state.runs.values()].flatMap((run) => renderNodeRuns(run, now, state.drift));
    return { scope: 'node-runs:any', items };
  }
  const run = findRun(state, rawRunId);
  return { scope: `node-runs:${run.id}`, items: renderNodeRuns(run, now, state.drift) };
}

function listNodeRuns(request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const { scope, items } = nodeRunsOf(state, params[0], now);
  const resource: ListResource = { scope, fields: NODE_RUN_FIELDS, defaultSort: 'created_at:asc' };
  return { status: 200, json: listPage(items, request.query, resource) };
}

function getNodeRun(_request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const nodeRunId = decodeParam(params[1]).toLowerCase();
  const nodeRun = nodeRunsOf(state, params[0], now).items.find((candidate) => candidate['id'] === nodeRunId);
  if (nodeRun === undefined) {
    // Not documented: the code for an unknown node-run id. The simulator responds with 404 NODE_RUN_NOT_FOUND.
    throw new SimulatorHttpError(404, 'NODE_RUN_NOT_FOUND', `No node-run with id "${nodeRunId}".`);
  }
  return { status: 200, json: nodeRun };
}

/** Serves a placeholder for an output file of a finished run; unknown files and unfinished runs get 404. */
function getFile(request: RouteRequest, params: readonly string[], { state, now }: HandlerContext): RouteResponse {
  const run = state.runs.get(decodeParam(params[0]).toLowerCase());
  const url = `${state.baseUrl}${request.path}`;
  const output = run === undefined ? undefined : visibleOutputs(run, now).find((candidate) => candidate.url === url);
  if (output === undefined) {
    throw new SimulatorHttpError(404, 'NOT_FOUND', `No output file at ${request.path}.`);
  }
  const bytes = placeholderFileBytes(output.content_type, output.size_bytes);
  return { status: 200, bytes, headers: { 'content-type': output.content_type } };
}
