import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, validateFields, type SimulatedModel, type Simulator } from '../../src/testing/index.js';
import { LOG_FIELDS, NODE_RUN_FIELDS, RUN_FIELDS } from '../../src/testing/resources.js';
import { api, createRun, IMAGE_MODEL, runsPath, VIDEO_MODEL } from './helpers.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A model whose path has spaces and a segment named `runs slug`. */
const spacedModel: SimulatedModel = {
  id: 'space owner/has spaces/runs slug',
  validateInput: validateFields({}),
  timeline: { queuedMs: 10, dispatchingMs: 10, steps: [{ node: 'only', durationMs: 10 }] },
  buildOutputs: () => [],
};

let simulator: Simulator;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 0, models: [spacedModel] });
});

afterAll(async () => {
  await simulator.close();
});

async function postRun(modelPath: string, body: unknown) {
  return api(simulator, modelPath, { method: 'POST', body });
}

describe('create run', () => {
  it('returns 201 with the full run in queued', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), {
      input: { prompt: 'a lighthouse' },
      callback_url: 'https://example.invalid/hook',
      metadata: { job: 7 },
      client_ref: 'ref-1',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    const run = response.json;

    expect(run.id).toMatch(UUID_V7);
    expect(run.status_code).toBe('queued');
    expect(run.model_id).toMatch(UUID);
    expect(run.model_id).not.toBe(IMAGE_MODEL);
    expect(run.flow_id).toBeNull();
    expect(run.target_type).toBe('model');
    expect(run.source_code).toBe('api');
    expect(run.input).toEqual({ prompt: 'a lighthouse' });
    expect(run.output).toBeNull();
    expect(run.duration_ms).toBeNull();
    expect(run.cost).toBeNull();
    expect(run.cost_breakdown).toEqual({});
    expect(run.nodes_total).toBeNull();
    expect(run.nodes_completed).toBeNull();
    expect(run.batch_id).toBeNull();
    expect(run.client_ref).toBe('ref-1');
    expect(run.created_at).toMatch(ISO_Z);
    expect(Date.parse(run.created_at)).toBe(simulator.now());
    expect(run.started_at).toBeNull();
    expect(run.completed_at).toBeNull();
    expect(run.callback_url).toBe('https://example.invalid/hook');
    expect(run.metadata).toEqual({ job: 7 });
    expect(run.has_logs).toBe(true);
    expect(run.has_node_runs).toBe(false);
    expect(run.links).toEqual({});
    expect(run.context).toEqual({});
    expect(run.failure_code).toBeNull();
    expect(run.failure_message).toBeNull();
    expect(run.failure_stage_code).toBeNull();
    expect(run.node_runs).toEqual([]);
    expect(run.logs).toHaveLength(1);
    expect(run.logs[0].run).toBeUndefined();
    for (const field of [
      'flow_version_id',
      'comfyui_workflow_id',
      'target_version',
      'resolved_template_id',
      'jurisdiction_code',
      'request_id',
      'created_by',
      'feedback_is_positive',
      'feedback_reason',
      'source_chat_message_id',
      'current_evaluation_summary',
    ]) {
      expect(run, field).toHaveProperty(field, null);
    }
  });

  it('sends the listed fields in order', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x' } });
    simulator.advanceTime(1000);
    const response = await api(simulator, `/v1/runs/${run.id}/logs?limit=1`);
    const nodeRuns = await api(simulator, `/v1/runs/${run.id}/node-runs?limit=1`);
    expect(Object.keys(run)).toEqual(Object.keys(RUN_FIELDS));
    expect(Object.keys(response.json.items[0])).toEqual(Object.keys(LOG_FIELDS));
    expect(Object.keys(nodeRuns.json.items[0])).toEqual(Object.keys(NODE_RUN_FIELDS));
  });

  it('uses the same model_id for every run of a model', async () => {
    const first = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'a' } });
    const second = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'b' } });
    const video = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'c' } });
    expect(second.model_id).toBe(first.model_id);
    expect(video.model_id).not.toBe(first.model_id);
  });

  it('issues increasing ids at a frozen clock', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      ids.push((await createRun(simulator, IMAGE_MODEL, { input: { prompt: `p${index}` } })).id);
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(5);
  });

  it('reports nodes_total for the video model', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'waves' } });
    expect(run.nodes_total).toBe(4);
    expect(run.nodes_completed).toBe(0);
    expect(run.flow_id).toMatch(UUID);
  });
});

describe('create run validation', () => {
  it('rejects a missing input with 422', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), { metadata: {} });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('VALIDATION_ERROR');
    expect(response.json.errors).toEqual([{ loc: ['body', 'input'], msg: 'input is required.', type: 'missing' }]);
  });

  it('rejects a non-object input with 422', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), { input: ['prompt'] });
    expect(response.status).toBe(422);
    expect(response.json.errors[0].loc).toEqual(['body', 'input']);
    expect(response.json.errors[0].type).toBe('type_error');
  });

  it('rejects a non-object body with 422', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), 'prompt');
    expect(response.status).toBe(422);
    expect(response.json.errors[0].loc).toEqual(['body']);
  });

  it('reports the model validator errors with loc', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), { input: { width: 12 } });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('VALIDATION_ERROR');
    expect(response.json.errors).toEqual([
      { loc: ['body', 'input', 'prompt'], msg: 'prompt is required.', type: 'missing' },
      {
        loc: ['body', 'input', 'width'],
        msg: 'width must be an integer from 64 to 4096, got 12.',
        type: 'out_of_range',
      },
    ]);
    expect(response.json.message).toContain('body.input.prompt');
  });

  it('checks the video duration range', async () => {
    const response = await postRun(runsPath(VIDEO_MODEL), { input: { prompt: 'x', duration_s: 16 } });
    expect(response.status).toBe(422);
    expect(response.json.errors[0].loc).toEqual(['body', 'input', 'duration_s']);
  });

  it('checks callback_url, metadata and client_ref', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), {
      input: { prompt: 'x' },
      callback_url: 'not a url',
      metadata: 'tag',
      client_ref: 5,
    });
    expect(response.status).toBe(422);
    expect(response.json.errors.map((error: { loc: string[] }) => error.loc.join('.'))).toEqual([
      'body.callback_url',
      'body.metadata',
      'body.client_ref',
    ]);
  });

  const simulateCases: [string, Record<string, unknown>, string, string][] = [
    ['unknown outcome', { outcome: 'exploded' }, 'outcome', 'invalid_choice'],
    ['unknown stop state', { outcome: 'failed', at: 'succeeded' }, 'at', 'invalid_choice'],
    ['step out of range', { outcome: 'failed', step: 4 }, 'step', 'out_of_range'],
    ['negative slow', { slow: -2 }, 'slow', 'out_of_range'],
    ['unknown option', { outcom: 'failed' }, 'outcom', 'unknown_field'],
    ['failureCode on success', { failureCode: 'X' }, 'failureCode', 'not_applicable'],
    ['step on partial success', { outcome: 'partial_succeeded', step: 0 }, 'step', 'not_applicable'],
    ['step before running', { outcome: 'canceled', at: 'queued', step: 0 }, 'step', 'not_applicable'],
    ['documented unknownStatus', { unknownStatus: 'cancelled' }, 'unknownStatus', 'invalid_choice'],
    [
      'unknownStatus before running',
      { outcome: 'failed', at: 'queued', unknownStatus: 'held' },
      'unknownStatus',
      'not_applicable',
    ],
  ];
  it.each(simulateCases)('rejects simulate with %s', async (_name, simulate, field, type) => {
    const response = await postRun(runsPath(VIDEO_MODEL), { input: { prompt: 'x', simulate } });
    expect(response.status).toBe(422);
    expect(response.json.code).toBe('VALIDATION_ERROR');
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0].loc).toEqual(['body', 'input', 'simulate', field]);
    expect(response.json.errors[0].type).toBe(type);
  });

  it('rejects a non-object simulate', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), { input: { prompt: 'x', simulate: 'fail' } });
    expect(response.status).toBe(422);
    expect(response.json.errors[0].loc).toEqual(['body', 'input', 'simulate']);
  });

  it('reports model and simulate errors together', async () => {
    const response = await postRun(runsPath(IMAGE_MODEL), { input: { simulate: { outcome: 'lost' } } });
    expect(response.status).toBe(422);
    expect(response.json.errors.map((error: { loc: string[] }) => error.loc.at(-1))).toEqual(['prompt', 'outcome']);
  });
});

describe('model paths', () => {
  it('rejects an unknown model with 404', async () => {
    const response = await postRun('/v1/models/acme/nothing/runs', { input: {} });
    expect(response.status).toBe(404);
    expect(response.json.code).toBe('MODEL_NOT_FOUND');
    expect(response.json.message).toContain('acme/nothing');
  });

  it('finds a deep model path', async () => {
    const response = await postRun('/v1/models/bytedance/seedance/2.0/fast/text-to-video/runs', {
      input: { prompt: 'x' },
    });
    expect(response.status).toBe(201);
  });

  it('decodes each segment on its own', async () => {
    const response = await postRun('/v1/models/bytedance/seed%61nce/2%2E0/fast/text-to-video/runs', {
      input: { prompt: 'x' },
    });
    expect(response.status).toBe(201);
    expect(simulator.requests().at(-1)?.path).toBe('/v1/models/bytedance/seed%61nce/2%2E0/fast/text-to-video/runs');
  });

  it('keeps an encoded slash inside its segment', async () => {
    const response = await postRun('/v1/models/bytedance%2Fseedance/2.0/fast/text-to-video/runs', {
      input: { prompt: 'x' },
    });
    expect(response.status).toBe(404);
    expect(response.json.code).toBe('MODEL_NOT_FOUND');
  });

  it('matches a model with spaces and a runs segment', async () => {
    const path = runsPath('space owner/has spaces/runs slug');
    expect(path).toBe('/v1/models/space%20owner/has%20spaces/runs%20slug/runs');
    const response = await postRun(path, { input: {} });
    expect(response.status).toBe(201);
  });

  it('rejects dot segments', async () => {
    const response = await postRun('/v1/models/openai/%2E%2E/gpt-image-1.5/runs', { input: { prompt: 'x' } });
    expect(response.status).toBe(404);
  });

  it('lets a config model replace a built-in one', async () => {
    const replaced = await startSimulator({
      timeScale: 0,
      models: [{ ...spacedModel, id: IMAGE_MODEL, uuid: '00000000-0000-4000-8000-000000000001' }],
    });
    try {
      const run = await createRun(replaced, IMAGE_MODEL, { input: {} });
      expect(run.model_id).toBe('00000000-0000-4000-8000-000000000001');
    } finally {
      await replaced.close();
    }
  });
});
