import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { api, createRun, IMAGE_MODEL, VIDEO_MODEL, VIDEO_TIMELINE, type Json } from './helpers.js';

/** A client watches up to 500 runs with one list request. */
const WATCHED = 500;

let simulator: Simulator;
/** Runs created in beforeAll, oldest first: more than are watched, so the filter has to exclude some. */
const runs: Json[] = [];

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 0 });
  for (let index = 0; index < WATCHED + 100; index += 1) {
    const model = index % 2 === 0 ? IMAGE_MODEL : VIDEO_MODEL;
    const outcome = index % 5 === 0 ? 'failed' : 'succeeded';
    runs.push(await createRun(simulator, model, { input: { prompt: `p${index}`, simulate: { outcome } } }));
  }
  // Halfway through the video runs' steps, so nodes_completed varies by model.
  simulator.advanceTime(VIDEO_TIMELINE.stepEnds[1]);
});

afterAll(async () => {
  await simulator.close();
});

function idFilter(ids: readonly string[]): string {
  return ids.map((id) => `id:${id}`).join(' OR ');
}

async function list(query: string): Promise<Json> {
  const response = await api(simulator, `/v1/runs?${query}`);
  expect(response.status, response.text.slice(0, 300)).toBe(200);
  return response.json;
}

describe('list with 500 id terms', () => {
  const watched = (): Json[] => runs.slice(50, 50 + WATCHED);

  it('returns exactly the watched runs', async () => {
    const ids = watched().map((run) => run.id);
    const query = new URLSearchParams({ q: idFilter(ids), limit: String(WATCHED) }).toString();
    // Encoded, the filter alone is longer than Node's default 16 KiB header limit.
    expect(query.length).toBeGreaterThan(16 * 1024);

    const page = await list(query);
    expect(page.items).toHaveLength(WATCHED);
    expect(new Set(page.items.map((item: Json) => item.id))).toEqual(new Set(ids));
    expect(page.next).toBeNull();
  });

  it('projects id, status_code and nodes_completed', async () => {
    const byId = new Map(watched().map((run) => [run.id, run]));
    const query = new URLSearchParams({
      q: idFilter([...byId.keys()]),
      limit: String(WATCHED),
      fields: 'id,status_code,nodes_completed',
    }).toString();

    const page = await list(query);
    expect(page.items).toHaveLength(WATCHED);
    for (const item of page.items) {
      expect(Object.keys(item)).toEqual(['id', 'status_code', 'nodes_completed']);
      const full = simulator.getRun(item.id) as Json;
      expect(item.status_code).toBe(full.status_code);
      expect(item.nodes_completed).toBe(full.nodes_completed);
    }
    const videoItem = page.items.find((item: Json) => byId.get(item.id)?.model_id === runs[1].model_id);
    expect(videoItem.status_code).toBe('running');
    expect(videoItem.nodes_completed).toBe(2);
    const imageItem = page.items.find((item: Json) => byId.get(item.id)?.model_id === runs[0].model_id);
    expect(imageItem.nodes_completed).toBeNull();
  });

  it('pages through with the cursors', async () => {
    const ids = watched().map((run) => run.id);
    const seen: string[] = [];
    let page = await list(new URLSearchParams({ q: idFilter(ids), limit: '200', fields: 'id' }).toString());
    seen.push(...page.items.map((item: Json) => item.id));
    while (page.next !== null) {
      // Each cursor carries the whole filter, so it is as long as the filter.
      page = await list(new URLSearchParams({ pq: page.next, limit: '200', fields: 'id' }).toString());
      seen.push(...page.items.map((item: Json) => item.id));
    }
    expect(seen).toHaveLength(WATCHED);
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  it('combines the ids with other terms', async () => {
    const ids = watched().map((run) => run.id);
    const isFailed = (run: Json): boolean => (simulator.getRun(run.id) as Json).status_code === 'failed';
    const failedIds = watched()
      .filter(isFailed)
      .map((run) => run.id);
    expect(failedIds.length).toBeGreaterThan(0);

    const failed = await list(
      new URLSearchParams({ q: `(${idFilter(ids)}) AND status_code:failed`, limit: '500', fields: 'id' }).toString(),
    );
    expect(new Set(failed.items.map((item: Json) => item.id))).toEqual(new Set(failedIds));

    const excluded = await list(
      new URLSearchParams({ q: `NOT (${idFilter(ids)})`, limit: '500', fields: 'id' }).toString(),
    );
    expect(excluded.items).toHaveLength(runs.length - WATCHED);

    // An OR with a term on another field cannot narrow the list to the ids.
    const first = runs[0].id;
    const union = await list(
      new URLSearchParams({ q: `id:${first} OR status_code:failed`, limit: '500', fields: 'id' }).toString(),
    );
    const expected = new Set([first, ...runs.filter(isFailed).map((run) => run.id)]);
    expect(new Set(union.items.map((item: Json) => item.id))).toEqual(expected);
  });

  it('ignores ids of unknown runs and compares case', async () => {
    const known = runs[3].id;
    const q = `id:${known.toUpperCase()} OR id:0190b6c4-0000-7000-8000-000000000000 OR id:${known}`;
    const page = await list(new URLSearchParams({ q, fields: 'id' }).toString());
    expect(page.items).toEqual([{ id: known }]);
  });
});
