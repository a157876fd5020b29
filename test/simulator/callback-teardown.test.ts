import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorConfig } from '../../src/testing/index.js';
import { createRun, IMAGE_MODEL, IMAGE_TIMELINE } from './helpers.js';
import { receiverPerTest } from './callback-receiver.js';

const receiver = receiverPerTest();

/** Returns the number of active resources of `type`, e.g. `TCPSocketWrap` or `Timeout` (ref'd timers only). */
function countOf(type: string): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === type).length;
}

/**
 * Yields to the event loop, one turn at a time, until `done()` returns true or 5 s have passed.
 * It sets no timer, so unlike `expect.poll()` it does not change the timer count it may wait on.
 */
async function waitFor(done: () => boolean): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!done() && performance.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits until the sockets of earlier tests are closed, so that every open socket belongs to this test. */
async function waitForNoSockets(): Promise<void> {
  await waitFor(() => countOf('TCPSocketWrap') === 0);
  expect(countOf('TCPSocketWrap')).toBe(0);
}

/** Starts a simulator, runs `body` with it, and closes it even when `body` throws. */
async function withSimulator(config: SimulatorConfig, body: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator(config);
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

describe('close with callbacks', () => {
  it('aborts attempts in flight and cancels pending retries', async () => {
    const hanging = await receiver('hang');
    const failing = await receiver({ status: 500 });
    await waitForNoSockets();

    const sim = await startSimulator({ timeScale: 0 });
    const hung = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hanging.url });
    const failed = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'y' }, callback_url: failing.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await waitFor(() => hanging.received.length === 1 && sim.deliveries(failed.id)[0]?.status_code === 'retrying');
    expect(hanging.received).toHaveLength(1);
    expect(sim.deliveries(failed.id)[0]?.status_code).toBe('retrying');
    // The hanging attempt is in flight, with its timeout and the other delivery's retry pending on the clock.
    const flushed = sim.flushCallbacks();

    await sim.close();
    await flushed;
    await waitFor(() => hanging.received[0]?.closed === true && countOf('TCPSocketWrap') === 0);
    expect(hanging.received[0]?.closed).toBe(true);
    expect(countOf('TCPSocketWrap')).toBe(0);

    expect(sim.deliveries(hung.id)[0]).toMatchObject({ status_code: 'pending', attempt_count: 0 });
    sim.advanceTime(3_600_000);
    await sim.flushCallbacks();
    expect(hanging.received).toHaveLength(1);
    expect(failing.received).toHaveLength(1);
  });

  it('clears the real-time retry timer with a timeScale above 0', async () => {
    const failing = await receiver({ status: 500 });
    await waitForNoSockets();

    // At timeScale 1 the retry, 5 simulated seconds after the failed attempt, waits on a 5 s real timer.
    const sim = await startSimulator({ timeScale: 1 });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: failing.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await waitFor(() => sim.deliveries(run.id)[0]?.status_code === 'retrying');
    expect(sim.deliveries(run.id)[0]?.status_code).toBe('retrying');
    const timersWhilePending = countOf('Timeout');

    await sim.close();
    expect(countOf('Timeout')).toBeLessThan(timersWhilePending);
    await waitFor(() => countOf('TCPSocketWrap') === 0);
    expect(countOf('TCPSocketWrap')).toBe(0);
    expect(failing.received).toHaveLength(1);
  });

  it('creates no delivery for a run that ends after close', async () => {
    const hook = await receiver();
    await withSimulator({ timeScale: 0 }, async (sim) => {
      const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
      await sim.close();
      sim.advanceTime(IMAGE_TIMELINE.endsAt);
      await sim.flushCallbacks();
      expect(sim.deliveries(run.id)).toEqual([]);
      expect(hook.received).toHaveLength(0);
    });
  });
});
