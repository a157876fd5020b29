import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';
import { api, createRun, getRun, IMAGE_MODEL, IMAGE_TIMELINE, runAt, VIDEO_MODEL, type Json } from './helpers.js';

let simulator: Simulator | undefined;

async function start(config: SimulatorConfig): Promise<Simulator> {
  simulator = await startSimulator({ timeScale: 0, ...config });
  return simulator;
}

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

describe('drift: cancelledSpelling', () => {
  it('spells the canceled status cancelled', async () => {
    const sim = await start({ drift: { cancelledSpelling: true } });
    const run = await createRun(sim, VIDEO_MODEL, { input: { prompt: 'x', simulate: { outcome: 'canceled' } } });
    const done = await runAt(sim, run, 60_000);
    expect(done.status_code).toBe('cancelled');
    expect(done.node_runs.at(-1).state_code).toBe('cancelled');
    expect(done.logs.at(-1).meta.status_code).toBe('cancelled');
  });

  it('lists cancelled in the statuses endpoint', async () => {
    const sim = await start({ drift: { cancelledSpelling: true } });
    const response = await api(sim, '/v1/runs/statuses');
    const codes = response.json.items.map((item: Json) => item.code);
    expect(codes).toContain('cancelled');
    expect(codes).not.toContain('canceled');
  });

  it('filters on the drifted spelling', async () => {
    const sim = await start({ drift: { cancelledSpelling: true } });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x', simulate: { outcome: 'canceled' } } });
    sim.advanceTime(60_000);
    const uk = await api(sim, `/v1/runs?q=${encodeURIComponent('status_code:cancelled')}`);
    expect(uk.json.items.map((item: Json) => item.id)).toEqual([run.id]);
    const us = await api(sim, `/v1/runs?q=${encodeURIComponent('status_code:canceled')}`);
    expect(us.json.items).toEqual([]);
  });

  it('keeps canceled without the switch', async () => {
    const sim = await start({});
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x', simulate: { outcome: 'canceled' } } });
    expect((await runAt(sim, run, 60_000)).status_code).toBe('canceled');
  });
});

describe('drift: legacyImageUrls', () => {
  it('sends output.image_urls instead of outputs', async () => {
    const sim = await start({ drift: { legacyImageUrls: true } });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x', num_images: 2 } });
    const done = await runAt(sim, run, IMAGE_TIMELINE.endsAt);
    expect(done.output).toEqual({
      image_urls: [`${sim.url}/files/${run.id}/0.png`, `${sim.url}/files/${run.id}/1.png`],
    });
  });

  it('still serves the files', async () => {
    const sim = await start({ drift: { legacyImageUrls: true } });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    const done = await runAt(sim, run, IMAGE_TIMELINE.endsAt);
    const response = await fetch(done.output.image_urls[0]);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
  });
});

describe('drift: skipDispatching', () => {
  it('goes from queued straight to running', async () => {
    const sim = await start({ drift: { skipDispatching: true } });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    expect((await runAt(sim, run, 399)).status_code).toBe('queued');
    const running = await runAt(sim, run, 400);
    expect(running.status_code).toBe('running');
    expect(Date.parse(running.started_at) - Date.parse(run.created_at)).toBe(400);
    expect(running.logs.map((log: Json) => log.meta.status_code).filter(Boolean)).toEqual(['queued', 'running']);
  });

  it('ends 300 ms earlier than with dispatching', async () => {
    const sim = await start({ drift: { skipDispatching: true } });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' } });
    expect((await runAt(sim, run, IMAGE_TIMELINE.endsAt - 301)).status_code).toBe('running');
    expect((await runAt(sim, run, IMAGE_TIMELINE.endsAt - 300)).status_code).toBe('succeeded');
    expect((await getRun(sim, run.id)).duration_ms).toBe(IMAGE_TIMELINE.endsAt - 300);
  });
});
