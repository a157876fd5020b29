/**
 * Helpers for the simulator tests: plain `fetch` calls against a started simulator.
 */
import { afterEach, expect } from 'vitest';
import { startSimulator, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';

/** A JSON value as the tests read it; the shape is checked by the assertions. */
export type Json = any;

export const IMAGE_MODEL = 'openai/gpt-image-1.5';
export const VIDEO_MODEL = 'bytedance/seedance/2.0/fast/text-to-video';

/** Phase boundaries of an image-model run with default input, in ms after creation. */
export const IMAGE_TIMELINE = { dispatchingAt: 400, runningAt: 700, endsAt: 2500 } as const;

/** Phase boundaries of a video-model run with default input, in ms after creation. */
export const VIDEO_TIMELINE = {
  dispatchingAt: 400,
  runningAt: 700,
  stepEnds: [1500, 3000, 4000, 4900],
  endsAt: 4900,
} as const;

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Json;
}

export interface ApiRequestOptions {
  readonly method?: string;
  /** Serialised as JSON unless `rawBody` is given. */
  readonly body?: unknown;
  readonly rawBody?: string;
  /** Extra headers; `authorization` defaults to the simulator's key, pass null to leave it out. */
  readonly headers?: Record<string, string | null>;
}

/** Sends one request to the simulator and parses a JSON body when there is one. */
export async function api(simulator: Simulator, path: string, options: ApiRequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  const merged = { authorization: `Bearer ${simulator.apiKey}`, ...options.headers };
  for (const [name, value] of Object.entries(merged)) {
    if (value !== null) headers[name] = value;
  }
  let body: string | undefined = options.rawBody;
  if (body === undefined && options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${simulator.url}${path}`, { method: options.method ?? 'GET', headers, body });
  const text = await response.text();
  let json: Json = undefined;
  if ((response.headers.get('content-type') ?? '').includes('application/json') && text !== '') {
    json = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Returns the create-run path of `modelId`, each segment percent-encoded. */
export function runsPath(modelId: string): string {
  return `/v1/models/${modelId.split('/').map(encodeURIComponent).join('/')}/runs`;
}

/** Creates a run, checks for 201, and returns the run JSON. */
export async function createRun(simulator: Simulator, modelId: string, body: Record<string, unknown>): Promise<Json> {
  const response = await api(simulator, runsPath(modelId), { method: 'POST', body });
  expect(response.status, response.text).toBe(201);
  return response.json;
}

/** Fetches a run with `GET /v1/runs/{id}`, checks for 200, and returns it. */
export async function getRun(simulator: Simulator, id: string): Promise<Json> {
  const response = await api(simulator, `/v1/runs/${id}`);
  expect(response.status, response.text).toBe(200);
  return response.json;
}

/** Moves the simulator to `ms` after `run` was created and returns the run as the API reports it then. */
export async function runAt(simulator: Simulator, run: Json, ms: number): Promise<Json> {
  const target = Date.parse(run.created_at) + ms;
  const delta = target - simulator.now();
  expect(delta, `time ${ms} ms after creation is already past`).toBeGreaterThanOrEqual(0);
  simulator.advanceTime(delta);
  return getRun(simulator, run.id);
}

/**
 * Registers an afterEach hook that closes the simulator a test started, and returns the function
 * that starts it: with time stopped (timeScale 0) unless `config` sets another timeScale.
 */
export function simulatorPerTest(): (config?: SimulatorConfig) => Promise<Simulator> {
  let simulator: Simulator | undefined;
  afterEach(async () => {
    await simulator?.close();
    simulator = undefined;
  });
  return async (config = {}) => {
    simulator = await startSimulator({ timeScale: 0, ...config });
    return simulator;
  };
}
