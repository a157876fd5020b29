/**
 * Benchmarks of the callback receiver. The first measures verified envelopes per second against a
 * bare node:http handler with an HMAC check. The second measures the delay from a callback's
 * arrival to the run Observable completing, against the delay until a bare handler receives it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { lastValueFrom } from 'rxjs';

import { createCallbackReceiver, createRunflowClient, listenForCallbacks } from '../src/index.js';
import { startSimulator } from '../src/testing/index.js';
import { quantile } from './machine.js';

const SECRET = 'whsec_benchmark_secret';

export interface ThroughputResult {
  readonly handler: string;
  readonly envelopes: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly rejected: number;
}

export interface DelayResult {
  readonly handler: string;
  readonly samples: number;
  readonly medianMs: number;
  readonly p95Ms: number;
}

function envelope(i: number): string {
  return JSON.stringify({
    event: 'run.completed',
    run_id: `0190b5a2-0000-7000-8000-${String(i).padStart(12, '0')}`,
    status: 'succeeded',
    output: { outputs: [{ type: 'image', url: `https://cdn.runflow.test/${i}.png`, width: 1024, height: 1024 }] },
    duration_ms: 2500,
    created_at: '2026-05-06T10:00:00.000+00:00',
    completed_at: '2026-05-06T10:00:02.500+00:00',
    metadata: { job: i },
  });
}

/** A node:http handler that does only what any receiver must: read the body and check the HMAC. */
function bareServer(onRequest: () => void = () => {}): Server {
  return createServer((request, response) => {
    onRequest();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const expected = createHmac('sha256', SECRET).update(Buffer.concat(chunks)).digest();
      const given = Buffer.from(String(request.headers['runflow-signature'] ?? ''), 'hex');
      const valid = given.length === expected.length && timingSafeEqual(given, expected);
      response.writeHead(valid ? 200 : 401).end();
    });
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** POSTs `count` signed envelopes with `concurrency` requests in flight. */
async function blast(url: string, count: number, concurrency: number): Promise<{ seconds: number; rejected: number }> {
  const bodies = Array.from({ length: count }, (_, i) => envelope(i));
  const signatures = bodies.map((body) => createHmac('sha256', SECRET).update(body).digest('hex'));
  let next = 0;
  let rejected = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'runflow-signature': signatures[i]! },
          body: bodies[i]!,
        });
        await response.arrayBuffer();
        if (response.status !== 200) rejected++;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, rejected };
}

export async function benchReceiverThroughput(count: number, concurrency: number): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];

  const bare = bareServer();
  const bareUrl = await listen(bare);
  await blast(bareUrl, Math.min(1000, count), concurrency);
  const bareRun = await blast(bareUrl, count, concurrency);
  await close(bare);
  results.push({ handler: 'bare node:http + HMAC', envelopes: count, ...bareRun, perSecond: count / bareRun.seconds });

  const receiver = createCallbackReceiver({ secrets: [SECRET] });
  const server = await listenForCallbacks(receiver);
  await blast(server.url, Math.min(1000, count), concurrency);
  const receiverRun = await blast(server.url, count, concurrency);
  await server.close();
  receiver.close();
  results.push({
    handler: 'runflow-rx receiver (node:http adapter)',
    envelopes: count,
    ...receiverRun,
    perSecond: count / receiverRun.seconds,
  });
  return results;
}

/**
 * Measures, over `samples` runs, the time from POSTing a run's terminal callback to (a) a bare
 * handler seeing the request and (b) the run Observable, watched with the receiver, completing.
 * The Observable's time includes the GET of the full run that follows each terminal callback.
 */
export async function benchCallbackDelay(samples: number): Promise<DelayResult[]> {
  const simulator = await startSimulator({ timeScale: 0 });
  const receiver = createCallbackReceiver({ secrets: [SECRET] });
  const callbacks = await listenForCallbacks(receiver);
  let seen: (() => void) | undefined;
  const bare = bareServer(() => seen?.());
  const bareUrl = await listen(bare);
  const client = createRunflowClient({
    apiKey: simulator.apiKey,
    baseUrl: simulator.url,
    poll: { mode: 'per-run' },
    budget: { requestsPerSecond: 1_000_000, burst: 1_000_000 },
  });
  const bareDelays: number[] = [];
  const receiverDelays: number[] = [];

  try {
    for (let i = 0; i < samples; i++) {
      const run = await lastValueFrom(client.runs.create('openai/gpt-image-1.5', { input: { prompt: `sample ${i}` } }));
      const body = JSON.stringify({ ...JSON.parse(envelope(i)), run_id: run.id });
      const headers = {
        'content-type': 'application/json',
        'runflow-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
      };

      let started = performance.now();
      const arrived = new Promise<void>((resolve) => (seen = resolve));
      await Promise.all([
        fetch(bareUrl, { method: 'POST', headers, body }).then((response) => response.arrayBuffer()),
        arrived,
      ]);
      bareDelays.push(performance.now() - started);

      // The run is watched while queued, then finishes on the simulator before its callback arrives.
      const done = lastValueFrom(client.watch(run.id, { callbacks: receiver, safetyNetIntervalMs: 600_000 }));
      await new Promise((resolve) => setTimeout(resolve, 5));
      simulator.advanceTime(60_000);
      started = performance.now();
      await fetch(callbacks.url, { method: 'POST', headers, body }).then((response) => response.arrayBuffer());
      await done;
      receiverDelays.push(performance.now() - started);
    }
  } finally {
    await callbacks.close();
    await close(bare);
    await simulator.close();
    receiver.close();
  }
  const summary = (handler: string, delays: number[]): DelayResult => ({
    handler,
    samples: delays.length,
    medianMs: quantile(delays, 0.5),
    p95Ms: quantile(delays, 0.95),
  });
  return [
    summary('bare node:http handler (request seen)', bareDelays),
    summary('run Observable with the receiver (completed)', receiverDelays),
  ];
}
