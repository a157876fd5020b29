import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, UNKNOWN_STATUS_MS, type Simulator } from '../../src/testing/index.js';
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

/** Returns the status at each of `offsets` ms after creation. */
async function statusesAt(run: Json, offsets: readonly number[]): Promise<string[]> {
  const statuses: string[] = [];
  for (const offset of offsets) {
    statuses.push((await runAt(simulator, run, offset)).status_code);
  }
  return statuses;
}

describe('status lifecycle', () => {
  it('stands still without advanceTime at timeScale 0', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const again = await getRun(simulator, run.id);
    expect(again.status_code).toBe('queued');
    expect(again.created_at).toBe(run.created_at);
  });

  it('steps through every status at the timeline boundaries', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const { dispatchingAt, runningAt, endsAt } = IMAGE_TIMELINE;
    const offsets = [dispatchingAt - 1, dispatchingAt, runningAt - 1, runningAt, endsAt - 1, endsAt];
    expect(await statusesAt(run, offsets)).toEqual([
      'queued',
      'dispatching',
      'dispatching',
      'running',
      'running',
      'succeeded',
    ]);
  });

  it('sets started_at, completed_at and duration_ms', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const created = Date.parse(run.created_at);

    const running = await runAt(simulator, run, IMAGE_TIMELINE.runningAt);
    expect(Date.parse(running.started_at)).toBe(created + IMAGE_TIMELINE.runningAt);
    expect(running.completed_at).toBeNull();
    expect(running.duration_ms).toBeNull();
    expect(running.cost).toBeNull();

    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt + 10_000);
    expect(Date.parse(done.completed_at)).toBe(created + IMAGE_TIMELINE.endsAt);
    expect(done.duration_ms).toBe(IMAGE_TIMELINE.endsAt);
    expect(done.cost).toBe('0.0400');
  });

  it('never changes a terminal run', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x' } });
    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt);
    simulator.advanceTime(3_600_000);
    expect(await getRun(simulator, run.id)).toEqual(done);
  });
});

describe('terminal outcomes', () => {
  it('succeeds with outputs under the simulator url', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, {
      input: { prompt: 'x', width: 512, height: 256, num_images: 2, seed: 42 },
    });
    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt);
    expect(done.status_code).toBe('succeeded');
    expect(done.output.seed).toBe(42);
    expect(done.output.outputs).toHaveLength(2);
    expect(done.output.outputs[0]).toEqual({
      type: 'image',
      url: `${simulator.url}/files/${run.id}/0.png`,
      content_type: 'image/png',
      size_bytes: Math.round(512 * 256 * 1.3),
      width: 512,
      height: 256,
    });
    expect(done.output.outputs[1].url).toBe(`${simulator.url}/files/${run.id}/1.png`);
    expect(done.failure_code).toBeNull();
  });

  it('serves the output files once the run is done', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, { input: { prompt: 'x', duration_s: 2 } });
    const early = await api(simulator, `/files/${run.id}/0.mp4`, { headers: { authorization: null } });
    expect(early.status).toBe(404);

    const done = await runAt(simulator, run, 10_000);
    const video = done.output.outputs[0];
    expect(video).toMatchObject({ type: 'video', content_type: 'video/mp4', duration: 2, width: 1280, height: 720 });
    const response = await fetch(video.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBe(video.size_bytes);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
  });

  it('returns data URIs with sync_mode', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x', sync_mode: true } });
    const done = await runAt(simulator, run, IMAGE_TIMELINE.endsAt);
    const output = done.output.outputs[0];
    expect(output.url.startsWith('data:image/png;base64,')).toBe(true);
    const png = Buffer.from(output.url.slice('data:image/png;base64,'.length), 'base64');
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(output.size_bytes).toBe(png.length);
  });

  it('fails while running at the last step by default', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x', simulate: { outcome: 'failed' } } });
    const running = await runAt(simulator, run, IMAGE_TIMELINE.runningAt);
    expect(running.status_code).toBe('running');
    expect(running.failure_code).toBeNull();

    // The failing step stops halfway through its 1800 ms.
    const done = await runAt(simulator, run, IMAGE_TIMELINE.runningAt + 900);
    expect(done.status_code).toBe('failed');
    expect(done.output).toBeNull();
    expect(done.failure_code).toBe('PROVIDER_ERROR');
    expect(done.failure_stage_code).toBe('provider');
    expect(done.failure_message).toBe('Step generate_image failed at the provider stage (PROVIDER_ERROR).');
    expect(done.started_at).not.toBeNull();
    expect(done.duration_ms).toBe(IMAGE_TIMELINE.runningAt + 900);
    expect(done.cost).toBe('0.0000');
  });

  it('fails in queued with the dispatch stage', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'failed', at: 'queued' } },
    });
    expect(await statusesAt(run, [399, 400, 5000])).toEqual(['queued', 'failed', 'failed']);
    const done = await getRun(simulator, run.id);
    expect(done.failure_stage_code).toBe('dispatch');
    expect(done.started_at).toBeNull();
    expect(done.logs.map((log: Json) => log.meta.status_code)).not.toContain('running');
  });

  it('fails in dispatching with custom failure fields', async () => {
    const simulate = {
      outcome: 'failed',
      at: 'dispatching',
      failureCode: 'MODEL_UNAVAILABLE',
      failureStage: 'preprocess',
      failureMessage: 'No GPU left.',
    };
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x', simulate } });
    expect(await statusesAt(run, [400, 699, 700])).toEqual(['dispatching', 'dispatching', 'failed']);
    const done = await getRun(simulator, run.id);
    expect(done.failure_code).toBe('MODEL_UNAVAILABLE');
    expect(done.failure_stage_code).toBe('preprocess');
    expect(done.failure_message).toBe('No GPU left.');
    expect(done.started_at).toBeNull();
  });

  it('fails at a chosen step of the video model', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'failed', step: 1 } },
    });
    // generate_frames runs from 1500 to 3000 ms and fails halfway, at 2250 ms.
    expect(await statusesAt(run, [2249, 2250])).toEqual(['running', 'failed']);
    const done = await getRun(simulator, run.id);
    expect(done.nodes_completed).toBe(1);
    expect(done.cost).toBe('0.0625');
  });

  it('is canceled in each stop state', async () => {
    const cases: [string, number][] = [
      ['queued', 400],
      ['dispatching', 700],
      ['running', VIDEO_TIMELINE.stepEnds[2] + 450],
    ];
    for (const [at, endsAt] of cases) {
      const run = await createRun(simulator, VIDEO_MODEL, {
        input: { prompt: 'x', simulate: { outcome: 'canceled', at } },
      });
      expect(await statusesAt(run, [endsAt - 1, endsAt]), at).toEqual([
        expect.not.stringMatching(/^cancel/),
        'canceled',
      ]);
      const done = await getRun(simulator, run.id);
      expect(done.output, at).toBeNull();
      expect(done.failure_code, at).toBeNull();
      expect(done.completed_at, at).not.toBeNull();
    }
  });

  it('keeps half the outputs on partial success', async () => {
    const run = await createRun(simulator, VIDEO_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'partial_succeeded' } },
    });
    const done = await runAt(simulator, run, VIDEO_TIMELINE.endsAt);
    expect(done.status_code).toBe('partial_succeeded');
    expect(done.output.outputs).toHaveLength(1);
    expect(done.output.outputs[0].type).toBe('video');
    expect(done.failure_code).toBeNull();
    expect(done.logs.at(-1).level_code).toBe('warning');
  });

  it('multiplies every duration with slow', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, { input: { prompt: 'x', simulate: { slow: 20 } } });
    expect(await statusesAt(run, [IMAGE_TIMELINE.dispatchingAt * 20 - 1, IMAGE_TIMELINE.dispatchingAt * 20])).toEqual([
      'queued',
      'dispatching',
    ]);
    expect(await statusesAt(run, [IMAGE_TIMELINE.endsAt * 20 - 1, IMAGE_TIMELINE.endsAt * 20])).toEqual([
      'running',
      'succeeded',
    ]);
  });

  it('reports an unknown status between running and the end', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, {
      input: { prompt: 'x', simulate: { unknownStatus: 'awaiting_gpu' } },
    });
    const { endsAt } = IMAGE_TIMELINE;
    expect(
      await statusesAt(run, [endsAt - 1, endsAt, endsAt + UNKNOWN_STATUS_MS - 1, endsAt + UNKNOWN_STATUS_MS]),
    ).toEqual(['running', 'awaiting_gpu', 'awaiting_gpu', 'succeeded']);
    const done = await getRun(simulator, run.id);
    expect(done.duration_ms).toBe(endsAt + UNKNOWN_STATUS_MS);
  });

  it('reports an unknown status before a failure', async () => {
    const run = await createRun(simulator, IMAGE_MODEL, {
      input: { prompt: 'x', simulate: { outcome: 'failed', unknownStatus: 'retrying_upstream' } },
    });
    const failAt = IMAGE_TIMELINE.runningAt + 900;
    expect(await statusesAt(run, [failAt, failAt + UNKNOWN_STATUS_MS])).toEqual(['retrying_upstream', 'failed']);
  });
});

describe('real-time clock', () => {
  it('moves runs forward at a large timeScale', async () => {
    // One HTTP round trip takes far more than 10 µs of real time, which is 10 simulated seconds here.
    const fast = await startSimulator({ timeScale: 1_000_000 });
    try {
      const run = await createRun(fast, IMAGE_MODEL, { input: { prompt: 'x' } });
      const later = await getRun(fast, run.id);
      expect(later.status_code).toBe('succeeded');
    } finally {
      await fast.close();
    }
  });

  it('starts at startTimeMs', async () => {
    const fixed = await startSimulator({ timeScale: 0, startTimeMs: Date.UTC(2026, 0, 2, 3, 4, 5) });
    try {
      const run = await createRun(fixed, IMAGE_MODEL, { input: { prompt: 'x' } });
      expect(run.created_at).toBe('2026-01-02T03:04:05.000Z');
      fixed.advanceTime(1234);
      expect(fixed.now()).toBe(Date.UTC(2026, 0, 2, 3, 4, 6, 234));
    } finally {
      await fixed.close();
    }
  });
});
