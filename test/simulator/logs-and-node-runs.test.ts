import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import {
  api,
  createRun,
  getRun,
  IMAGE_MODEL,
  IMAGE_TIMELINE,
  runAt,
  VIDEO_MODEL,
  VIDEO_TIMELINE,
  type Json,
} from './helpers.js';

let simulator: Simulator;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 0 });
});

afterAll(async () => {
  await simulator.close();
});

/** Reads every page of a list endpoint with `limit`, following `next`. */
async function readAllPages(path: string, limit: number): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page += 1) {
    const separator = path.includes('?') ? '&' : '?';
    const query = `limit=${limit}${cursor === null ? '' : `&pq=${encodeURIComponent(cursor)}`}`;
    const response = await api(simulator, `${path}${separator}${query}`);
    expect(response.status, response.text).toBe(200);
    items.push(...response.json.items);
    cursor = response.json.next;
    if (cursor === null) return items;
  }
  throw new Error(`More than 100 pages at ${path}`);
}

describe('inline logs', () => {
  it('grow in order with stable ids and no duplicates', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    const seen = new Map<string, Json>();
    let previousIds: string[] = [];

    for (let offset = 0; offset <= VIDEO_TIMELINE.endsAt + 100; offset += 100) {
      const logs: Json[] = (await runAt(simulator, run, offset)).logs;
      const ids = logs.map((log) => log.id);
      expect(new Set(ids).size, `duplicate ids at ${offset} ms`).toBe(ids.length);
      expect(ids.slice(0, previousIds.length), `earlier lines changed at ${offset} ms`).toEqual(previousIds);
      expect([...ids].sort(), `ids out of order at ${offset} ms`).toEqual(ids);
      const times = logs.map((log) => Date.parse(log.timestamp));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      for (const log of logs) {
        if (seen.has(log.id)) expect(log).toEqual(seen.get(log.id));
        seen.set(log.id, log);
      }
      previousIds = ids;
    }

    const final = await getRun(simulator, run.id);
    expect(final.logs.length).toBe(seen.size);
    expect(final.logs[0].message).toContain('queued');
    expect(final.logs.at(-1).message).toBe('Run succeeded with 2 outputs');
  });

  it('have the documented fields', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt);
    for (const log of done.logs) {
      expect(Object.keys(log)).toEqual(['id', 'run_id', 'level_code', 'message', 'timestamp', 'meta']);
      expect(log.run_id).toBe(run.id);
      expect(['debug', 'info', 'warning', 'error']).toContain(log.level_code);
      expect(Date.parse(log.timestamp)).toBeLessThanOrEqual(simulator.now());
    }
    expect(done.logs.map((log: Json) => log.meta.status_code).filter(Boolean)).toEqual([
      'queued',
      'dispatching',
      'running',
      'succeeded',
    ]);
    expect(done.logs.some((log: Json) => log.level_code === 'debug')).toBe(true);
  });

  it('end with an error line on failure', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'CONTENT_POLICY_VIOLATION' } },
    });
    const done = await runAt(simulator, run, 60_000);
    const last = done.logs.at(-1);
    expect(last.level_code).toBe('error');
    expect(last.meta).toEqual({
      status_code: 'failed',
      failure_code: 'CONTENT_POLICY_VIOLATION',
      failure_stage_code: 'provider',
    });
  });
});

describe('logs endpoints', () => {
  it('list the inline lines with the run embedded', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    const snapshot = await runAt(simulator, run, 2000);
    const response = await api(simulator, `/v1/runs/${run.id}/logs`);
    expect(response.status).toBe(200);
    expect(response.json.next).toBeNull();
    expect(response.json.previous).toBeNull();
    expect(response.json.items.map((log: Json) => log.id)).toEqual(snapshot.logs.map((log: Json) => log.id));
    const first = response.json.items[0];
    expect(first.run.id).toBe(run.id);
    expect(first.run.status_code).toBe('running');
    expect(first.run.logs[0].run).toBeUndefined();
  });

  it('page through every line', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    const done = await runAt(simulator, run, VIDEO_TIMELINE.endsAt);
    const paged = await readAllPages(`/v1/runs/${run.id}/logs?fields=id,message`, 3);
    expect(paged.map((log) => log.id)).toEqual(done.logs.map((log: Json) => log.id));
    expect(Object.keys(paged[0])).toEqual(['id', 'message']);
  });

  it('filter by level', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    await runAt(simulator, run, VIDEO_TIMELINE.endsAt);
    const response = await api(simulator, `/v1/runs/${run.id}/logs?q=level_code:debug`);
    expect(response.json.items.map((log: Json) => log.message)).toEqual(['Tokenizing the prompt']);
  });

  it('get one line by id', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const snapshot = await runAt(simulator, run, 1000);
    const line = snapshot.logs[1];
    const response = await api(simulator, `/v1/runs/${run.id}/logs/${line.id}`);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject(line);
    expect(response.json.run.id).toBe(run.id);
  });

  it('return 404 for another run and any', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt);
    const other = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'y' } });
    const wrongRun = await api(simulator, `/v1/runs/${other.id}/logs/${done.logs.at(-1).id}`);
    expect(wrongRun.status).toBe(404);
    expect(wrongRun.json.code).toBe('LOG_NOT_FOUND');
    const unknownRun = await api(simulator, `/v1/runs/any/logs`);
    expect(unknownRun.status).toBe(404);
    expect(unknownRun.json.code).toBe('RUN_NOT_FOUND');
  });
});

describe('node-runs', () => {
  it('are absent for the image model', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt);
    expect(done.has_node_runs).toBe(false);
    expect(done.node_runs).toEqual([]);
    const response = await api(simulator, `/v1/runs/${run.id}/node-runs`);
    expect(response.json.items).toEqual([]);
  });

  it('progress step by step', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    expect(run.node_runs).toEqual([]);

    const states = async (offset: number): Promise<string[]> =>
      (await runAt(simulator, run, offset)).node_runs.map((nodeRun: Json) => nodeRun.state_code);
    expect(await states(VIDEO_TIMELINE.runningAt - 1)).toEqual([]);
    expect(await states(VIDEO_TIMELINE.runningAt)).toEqual(['running', 'queued', 'queued', 'queued']);
    expect(await states(1500)).toEqual(['succeeded', 'running', 'queued', 'queued']);
    expect(await states(3999)).toEqual(['succeeded', 'succeeded', 'running', 'queued']);
    expect(await states(4900)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);

    const done = await getRun(simulator, run.id);
    expect(done.has_node_runs).toBe(true);
    expect(done.nodes_total).toBe(4);
    expect(done.nodes_completed).toBe(4);
    expect(done.node_runs.map((nodeRun: Json) => nodeRun.input.node_name)).toEqual([
      'encode_prompt',
      'generate_frames',
      'upscale_frames',
      'encode_video',
    ]);
    const [first] = done.node_runs;
    expect(first.run_id).toBe(run.id);
    expect(first.flow_id).toBe(done.flow_id);
    expect(first.duration_ms).toBe(800);
    expect(first.cost).toBe('0.0625');
    expect(first.retry_count).toBe(0);
    expect(Date.parse(first.completed_at) - Date.parse(first.started_at)).toBe(800);
  });

  it('count nodes_completed as steps finish', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    const counts: number[] = [];
    for (const offset of [700, 1500, 3000, 4000, 4900]) {
      counts.push((await runAt(simulator, run, offset)).nodes_completed);
    }
    expect(counts).toEqual([0, 1, 2, 3, 4]);
  });

  it('mark the failing step failed and later ones canceled', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'failed', step: 1 } },
    });
    const done = await runAt(simulator, run, 60_000);
    expect(done.node_runs.map((nodeRun: Json) => nodeRun.state_code)).toEqual([
      'succeeded',
      'failed',
      'canceled',
      'canceled',
    ]);
    expect(done.node_runs[1].error_message).toBe(done.failure_message);
    expect(done.node_runs[2].started_at).toBeNull();
  });

  it('mark the steps canceled on cancellation', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'canceled', step: 2 } },
    });
    const done = await runAt(simulator, run, 60_000);
    expect(done.node_runs.map((nodeRun: Json) => nodeRun.state_code)).toEqual([
      'succeeded',
      'succeeded',
      'canceled',
      'canceled',
    ]);
  });

  it('are served by the node-run endpoints', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    const snapshot = await runAt(simulator, run, 2000);

    const list = await api(simulator, `/v1/runs/${run.id}/node-runs`);
    expect(list.status).toBe(200);
    expect(list.json.items).toEqual(snapshot.node_runs);

    const byId = await api(simulator, `/v1/runs/${run.id}/node-runs/${snapshot.node_runs[1].id}`);
    expect(byId.json).toEqual(snapshot.node_runs[1]);

    const viaAny = await api(simulator, `/v1/runs/any/node-runs/${snapshot.node_runs[1].id}`);
    expect(viaAny.json).toEqual(snapshot.node_runs[1]);

    const running = await api(
      simulator,
      `/v1/runs/any/node-runs?q=${encodeURIComponent(`run_id:${run.id} AND state_code:running`)}`,
    );
    expect(running.json.items.map((nodeRun: Json) => nodeRun.input.node_name)).toEqual(['generate_frames']);

    const missing = await api(simulator, `/v1/runs/${run.id}/node-runs/0190b6c4-0000-7000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('NODE_RUN_NOT_FOUND');
  });

  it('page across every run with any', async () => {
    for (let index = 0; index < 3; index += 1) {
      await createRun(simulator, VIDEO_MODEL, { input: { prompt: `p${index}` } });
    }
    simulator.advanceTime(60_000);
    const all = (await api(simulator, '/v1/runs/any/node-runs?limit=500')).json.items;
    const paged = await readAllPages('/v1/runs/any/node-runs', 5);
    expect(paged.map((nodeRun) => nodeRun.id)).toEqual(all.map((nodeRun: Json) => nodeRun.id));
    expect(new Set(paged.map((nodeRun) => nodeRun.id)).size).toBe(paged.length);
    expect(paged.length).toBeGreaterThanOrEqual(12);
  });
});
