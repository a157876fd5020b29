import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { renderBatch } from '../examples/batch-with-retries.js';
import { renderWithCallbacks } from '../examples/express-callbacks.js';
import { watchWithProgress } from '../examples/progress.js';
import { createRunflowClient, type RunflowClient } from '../src/index.js';
import { startSimulator, type Simulator } from '../src/testing/index.js';

let simulator: Simulator;
let client: RunflowClient;

beforeAll(async () => {
  simulator = await startSimulator({ timeScale: 50 });
  client = createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { intervalMs: 5 },
    budget: { requestsPerSecond: 1000, burst: 100 },
  });
});

afterAll(async () => {
  await simulator.close();
});

describe('examples', () => {
  it('progress prints every step to the end and the outputs', async () => {
    const lines: string[] = [];
    await watchWithProgress(client, (line) => lines.push(line));
    expect(lines.filter((line) => line.startsWith('['))[0]).toMatch(/^\[\.{20}\] 0\/4 steps, run queued$/);
    expect(lines).toContain('[####################] 4/4 steps, run succeeded');
    expect(lines.filter((line) => line.startsWith('output: ')).map((line) => line.split(' ')[1])).toEqual([
      'video',
      'image',
    ]);
  });

  it('batch-with-retries retries the transient failure and summarises', async () => {
    const lines: string[] = [];
    const summary = await renderBatch(client, ['a', 'b', 'c'], (line) => lines.push(line), 1);
    expect(summary).toEqual({ total: 3, succeeded: 2, failed: 1, cancelled: 0, partial: 0 });
    expect(lines.filter((line) => line.startsWith('poster-3: attempt'))).toHaveLength(2);
    expect(lines).toContain('poster-1: succeeded');
    expect(lines.some((line) => line.startsWith('poster-3: failed PROVIDER_TIMEOUT'))).toBe(true);
  });

  it('express-callbacks finishes the run by its signed callback', async () => {
    const lines: string[] = [];
    const urls = await renderWithCallbacks(20, (line) => lines.push(line));
    expect(urls).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('callback: run.completed'))).toHaveLength(1);
    // The callback comes before the final status, which the GET after it reports.
    expect(lines.indexOf(lines.find((line) => line.startsWith('callback:'))!)).toBeLessThan(
      lines.indexOf('status: succeeded'),
    );
  });
});
