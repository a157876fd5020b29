/**
 * Benchmark: a 1,000-item client-side fan-out with `runBatch` at concurrency 32 on the simulator,
 * against the ideal makespan (total run time divided by the concurrency).
 */
import { filter, lastValueFrom } from 'rxjs';

import { createRunflowClient, runBatch, type RunBatchSummary } from '../src/index.js';
import { startSimulator } from '../src/testing/index.js';

export interface FanOutResult {
  readonly items: number;
  readonly concurrency: number;
  readonly timeScale: number;
  /** Simulated time of one run from create to its terminal status, in ms. */
  readonly runMs: number;
  readonly idealMakespanMs: number;
  readonly makespanMs: number;
  readonly summary: RunBatchSummary;
  readonly requests: number;
}

/** Simulated length of an `openai/gpt-image-1.5` run: 400 queued, 300 dispatching, 1800 running. */
const IMAGE_RUN_MS = 2500;

export async function benchFanOut(items: number, concurrency: number, timeScale: number, intervalMs: number): Promise<FanOutResult> {
  const simulator = await startSimulator({ timeScale, recordRequests: false });
  try {
    const client = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      poll: { intervalMs },
      budget: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
    });
    const inputs = Array.from({ length: items }, (_, i) => ({ prompt: `item ${i}` }));
    const started = simulator.now();
    const last = await lastValueFrom(
      runBatch(client, 'openai/gpt-image-1.5', inputs, { concurrency }).pipe(filter((event) => event.type === 'summary')),
    );
    const makespanMs = simulator.now() - started;
    const requests = Object.values(simulator.counters()).reduce((sum, count) => sum + count, 0);
    return {
      items,
      concurrency,
      timeScale,
      runMs: IMAGE_RUN_MS,
      idealMakespanMs: (items * IMAGE_RUN_MS) / concurrency,
      makespanMs,
      summary: last.type === 'summary' ? last.summary : { total: 0, succeeded: 0, failed: 0, cancelled: 0, partial: 0 },
      requests,
    };
  } finally {
    await simulator.close();
  }
}
