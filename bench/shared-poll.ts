/**
 * Benchmark: 1,000 runs watched at once, with the shared poll scheduler and with per-run polling
 * at the same interval. Measures HTTP requests per poll interval and the delay between a run's
 * terminal transition on the simulator and its Observable completing.
 */
import { lastValueFrom, mergeMap, range, toArray } from 'rxjs';

import { createRunflowClient, type PollConfig } from '../src/index.js';
import { startSimulator, validateFields, type SimulatedModel } from '../src/testing/index.js';
import { quantile } from './machine.js';

export interface SharedPollResult {
  readonly mode: 'shared' | 'per-run';
  readonly runs: number;
  readonly intervalMs: number;
  readonly watchSeconds: number;
  readonly requests: number;
  /** Requests by endpoint, e.g. `GET /v1/runs`. */
  readonly byEndpoint: Readonly<Record<string, number>>;
  readonly requestsPerInterval: number;
  readonly delayMedianMs: number;
  readonly delayP95Ms: number;
  readonly delayMaxMs: number;
  readonly failures: number;
}

/**
 * A model with a long queue and three steps, like a video model on a busy provider. Each run's
 * queue time comes from its input so that terminal transitions are spread over several seconds.
 */
const benchModel: SimulatedModel = {
  id: 'bench/queued-video',
  reportsNodeRuns: true,
  validateInput: validateFields({ queue_ms: { type: 'integer', required: true, min: 0, max: 600_000 } }),
  timeline: (input) => ({
    queuedMs: Number(input['queue_ms']),
    dispatchingMs: 1000,
    steps: [
      { node: 'encode', durationMs: 3000, logs: ['Encoding the prompt'] },
      { node: 'generate', durationMs: 6000, logs: ['Generating frames', 'Denoising'] },
      { node: 'mux', durationMs: 2000, logs: ['Writing the video'] },
    ],
  }),
  buildOutputs: ({ fileUrl }) => [{ type: 'video', url: fileUrl('0.mp4'), content_type: 'video/mp4', size_bytes: 1 }],
};

export async function benchSharedPoll(
  mode: 'shared' | 'per-run',
  runs: number,
  intervalMs: number,
): Promise<SharedPollResult> {
  const simulator = await startSimulator({ models: [benchModel], recordRequests: false });
  try {
    // No budget limit and no backoff: both modes poll at exactly `intervalMs`.
    const poll: PollConfig = { mode, intervalMs, maxIntervalMs: intervalMs, backoffFactor: 1 };
    const client = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      poll,
      budget: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
      requestTimeoutMs: 60_000,
    });

    // Create every run first (not measured): queue times spread from 5 s to 15 s.
    const ids = await lastValueFrom(
      range(0, runs).pipe(
        mergeMap(
          (i) => client.runs.create(benchModel.id, { input: { queue_ms: 5000 + Math.round((10_000 * i) / runs) } }),
          50,
        ),
        toArray(),
      ),
    );
    simulator.resetCounters();
    const started = Date.now();

    const delays: number[] = [];
    let failures = 0;
    await Promise.all(
      ids.map(
        (run) =>
          new Promise<void>((resolve) => {
            client.watch(run.id).subscribe({
              next: (event) => {
                if (event.type !== 'status' || event.status !== 'succeeded') return;
                const finishedAt = Date.parse(event.run.completed_at ?? '');
                delays.push(simulator.now() - finishedAt);
              },
              complete: () => resolve(),
              error: () => {
                failures++;
                resolve();
              },
            });
          }),
      ),
    );

    const watchMs = Date.now() - started;
    const byEndpoint = simulator.counters();
    const requests = Object.values(byEndpoint).reduce((sum, count) => sum + count, 0);
    return {
      mode,
      runs,
      intervalMs,
      watchSeconds: watchMs / 1000,
      requests,
      byEndpoint,
      requestsPerInterval: requests / (watchMs / intervalMs),
      delayMedianMs: quantile(delays, 0.5),
      delayP95Ms: quantile(delays, 0.95),
      delayMaxMs: quantile(delays, 1),
      failures,
    };
  } finally {
    await simulator.close();
  }
}
