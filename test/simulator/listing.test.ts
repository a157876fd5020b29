import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { api, createRun, IMAGE_MODEL, VIDEO_MODEL, type Json } from './helpers.js';

let simulator: Simulator;
/** Runs created in beforeAll, oldest first. */
const runs: Json[] = [];

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 0 });
  const outcomes = ['succeeded', 'failed', 'succeeded', 'canceled', 'partial_succeeded', 'succeeded', 'failed'];
  for (const [index, outcome] of outcomes.entries()) {
    const model = index % 2 === 0 ? IMAGE_MODEL : VIDEO_MODEL;
    runs.push(
      await createRun(simulator, model, {
        input: { prompt: `p${index}`, simulate: { outcome } },
        client_ref: `ref-${index}`,
      }),
    );
    // Spread the creation times, so created_at filters have something to compare.
    simulator.advanceTime(1000);
  }
  // Five more runs at one frozen instant, so only the id breaks the created_at tie.
  for (let index = 7; index < 12; index += 1) {
    runs.push(await createRun(simulator, IMAGE_MODEL, { input: { prompt: `p${index}` }, client_ref: `ref-${index}` }));
  }
  simulator.advanceTime(60_000);
});

afterAll(async () => {
  await simulator.close();
});

async function list(query: string): Promise<Json> {
  const response = await api(simulator, `/v1/runs?${query}`);
  expect(response.status, response.text).toBe(200);
  return response.json;
}

function ids(page: Json): string[] {
  return page.items.map((item: Json) => item.id);
}

const q = (filter: string): string => `q=${encodeURIComponent(filter)}`;

describe('list runs', () => {
  it('returns every run newest first by default', async () => {
    const page = await list('');
    expect(ids(page)).toEqual(runs.map((run) => run.id).reverse());
    expect(page.next).toBeNull();
    expect(page.previous).toBeNull();
    expect(typeof page.first).toBe('string');
  });

  it('filters id:a OR id:b', async () => {
    const [a, , b] = runs;
    const page = await list(q(`id:${a.id} OR id:${b.id}`));
    expect(ids(page).sort()).toEqual([a.id, b.id].sort());
  });

  it('filters status_code=succeeded AND model_id', async () => {
    const imageModelId = runs[0].model_id;
    const page = await list(q(`status_code=succeeded AND model_id=${imageModelId}`));
    const expected = [0, 2, 7, 8, 9, 10, 11].map((index) => runs[index].id);
    expect(ids(page).sort()).toEqual(expected.sort());
    for (const item of page.items) {
      expect(item.status_code).toBe('succeeded');
      expect(item.model_id).toBe(imageModelId);
    }
  });

  it('binds AND tighter than OR', async () => {
    const page = await list(q(`client_ref:ref-1 OR status_code:canceled AND client_ref:ref-0`));
    expect(ids(page)).toEqual([runs[1].id]);
  });

  it('groups with parentheses', async () => {
    const page = await list(q(`(client_ref:ref-1 OR client_ref:ref-3) AND status_code:canceled`));
    expect(ids(page)).toEqual([runs[3].id]);
  });

  it('negates with NOT', async () => {
    const page = await list(q(`NOT status_code:succeeded AND NOT status_code:partial_succeeded`));
    expect(ids(page).sort()).toEqual([runs[1].id, runs[3].id, runs[6].id].sort());
  });

  it('compares created_at', async () => {
    const cutoff = runs[5].created_at;
    const page = await list(q(`created_at>=${cutoff}`));
    expect(ids(page).sort()).toEqual(
      runs
        .slice(5)
        .map((run) => run.id)
        .sort(),
    );
    const before = await list(q(`created_at<${cutoff}`));
    expect(ids(before).sort()).toEqual(
      runs
        .slice(0, 5)
        .map((run) => run.id)
        .sort(),
    );
  });

  it('matches quoted values and null', async () => {
    const quoted = await list(q(`client_ref:"ref-2"`));
    expect(ids(quoted)).toEqual([runs[2].id]);
    const nullBatch = await list(q('batch_id:null'));
    expect(nullBatch.items).toHaveLength(runs.length);
  });

  it('rejects a syntax error with 400 INVALID_FILTER naming the token', async () => {
    const response = await api(simulator, `/v1/runs?${q('status_code:succeeded AMD id:x')}`);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INVALID_FILTER');
    expect(response.json.message).toContain('"AMD"');
    expect(response.json.errors[0].loc).toEqual(['query', 'q']);
  });

  it('rejects an unknown filter field', async () => {
    const response = await api(simulator, `/v1/runs?${q('colour:red')}`);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INVALID_FILTER');
    expect(response.json.message).toContain('"colour:red"');
  });

  it('rejects an invalid date', async () => {
    const response = await api(simulator, `/v1/runs?${q('created_at>yesterday')}`);
    expect(response.status).toBe(400);
    expect(response.json.message).toContain('"yesterday"');
  });

  it('rejects an unclosed parenthesis', async () => {
    const response = await api(simulator, `/v1/runs?${q('(id:a OR id:b')}`);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INVALID_FILTER');
  });
});

describe('list limit, fields and sort', () => {
  it.each(['0', '501', 'ten', '2.5', '-1'])('rejects limit=%s with 422', async (limit) => {
    const response = await api(simulator, `/v1/runs?limit=${limit}`);
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('VALIDATION_ERROR');
    expect(response.json.errors[0].loc).toEqual(['query', 'limit']);
  });

  it('accepts limit 1 and 500', async () => {
    expect((await list('limit=1')).items).toHaveLength(1);
    expect((await list('limit=500')).items).toHaveLength(runs.length);
  });

  it('projects fields', async () => {
    const page = await list('fields=id,status_code,model_id&limit=3');
    for (const item of page.items) {
      expect(Object.keys(item)).toEqual(['id', 'status_code', 'model_id']);
    }
  });

  it('rejects an unknown projected field', async () => {
    const response = await api(simulator, '/v1/runs?fields=id,colour');
    expect(response.status).toBe(422);
    expect(response.json.errors[0].loc).toEqual(['query', 'fields']);
    expect(response.json.message).toContain('colour');
  });

  it('sorts by several keys', async () => {
    const page = await list('sort_by=status_code:asc,created_at:asc&fields=status_code,created_at');
    const keys = page.items.map((item: Json) => `${item.status_code} ${item.created_at}`);
    expect(keys).toEqual([...keys].sort());
  });

  it('sorts ascending by created_at with ties by id', async () => {
    const page = await list('sort_by=created_at:asc');
    expect(ids(page)).toEqual(runs.map((run) => run.id));
  });

  it('rejects an invalid sort', async () => {
    const unknown = await api(simulator, '/v1/runs?sort_by=colour:asc');
    expect(unknown.status).toBe(422);
    expect(unknown.json.errors[0].loc).toEqual(['query', 'sort_by']);
    const direction = await api(simulator, '/v1/runs?sort_by=created_at:up');
    expect(direction.status).toBe(422);
  });
});

describe('list pagination', () => {
  it('pages forward through every run without loss or duplicates', async () => {
    const seen: string[] = [];
    let page = await list('limit=5');
    seen.push(...ids(page));
    while (page.next !== null) {
      page = await list(`limit=5&pq=${encodeURIComponent(page.next)}`);
      seen.push(...ids(page));
    }
    expect(seen).toEqual(runs.map((run) => run.id).reverse());
  });

  it('pages back with previous', async () => {
    const first = await list('limit=4');
    const second = await list(`limit=4&pq=${encodeURIComponent(first.next)}`);
    expect(second.previous).not.toBeNull();
    const back = await list(`limit=4&pq=${encodeURIComponent(second.previous)}`);
    expect(ids(back)).toEqual(ids(first));
    expect(back.previous).toBeNull();

    const backExplicit = await list(`limit=4&from_prev=true&pq=${encodeURIComponent(second.previous)}`);
    expect(ids(backExplicit)).toEqual(ids(first));
  });

  it('keeps the filter and sort in the cursor', async () => {
    const filter = 'status_code:succeeded';
    const all = await list(`${q(filter)}&sort_by=created_at:asc`);
    const seen: string[] = [];
    let page = await list(`${q(filter)}&sort_by=created_at:asc&limit=2`);
    seen.push(...ids(page));
    while (page.next !== null) {
      // The cursor alone carries the query.
      page = await list(`limit=2&pq=${encodeURIComponent(page.next)}`);
      seen.push(...ids(page));
    }
    expect(seen).toEqual(ids(all));
  });

  it('returns to the first page with first', async () => {
    const first = await list('limit=3');
    const again = await list(`limit=3&pq=${encodeURIComponent(first.first)}`);
    expect(ids(again)).toEqual(ids(first));
  });

  it('neither repeats nor skips when runs are created between pages', async () => {
    const isolated = await startSimulator({ timeScale: 0 });
    try {
      const created: string[] = [];
      for (let index = 0; index < 6; index += 1) {
        created.push((await createRun(isolated, IMAGE_MODEL, { input: { prompt: `p${index}` } })).id);
      }
      const first = await api(isolated, '/v1/runs?limit=3');
      await createRun(isolated, IMAGE_MODEL, { input: { prompt: 'late' } });
      const second = await api(isolated, `/v1/runs?limit=3&pq=${encodeURIComponent(first.json.next)}`);
      expect([...ids(first.json), ...ids(second.json)]).toEqual([...created].reverse());
      expect(second.json.next).toBeNull();
    } finally {
      await isolated.close();
    }
  });

  it('rejects a cursor with a different filter', async () => {
    const first = await list(`${q('status_code:succeeded')}&limit=2`);
    const response = await api(simulator, `/v1/runs?${q('status_code:failed')}&pq=${encodeURIComponent(first.next)}`);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INVALID_CURSOR');
  });

  it('rejects a garbage cursor', async () => {
    const response = await api(simulator, '/v1/runs?pq=not-a-cursor');
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INVALID_CURSOR');
  });

  it('rejects a cursor from another list', async () => {
    const logs = await api(simulator, `/v1/runs/${runs[0].id}/logs?limit=1`);
    const response = await api(simulator, `/v1/runs?pq=${encodeURIComponent(logs.json.next)}`);
    expect(response.status).toBe(400);
    expect(response.json.code).toBe('INVALID_CURSOR');
  });
});

describe('run statuses', () => {
  it('lists the seven statuses', async () => {
    const response = await api(simulator, '/v1/runs/statuses');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      items: [
        { code: 'queued', is_terminal: false },
        { code: 'dispatching', is_terminal: false },
        { code: 'running', is_terminal: false },
        { code: 'succeeded', is_terminal: true },
        { code: 'failed', is_terminal: true },
        { code: 'canceled', is_terminal: true },
        { code: 'partial_succeeded', is_terminal: true },
      ],
    });
  });
});
