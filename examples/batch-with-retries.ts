/**
 * Renders several images at most three at a time, retrying transient provider failures, and
 * prints one line per item and a summary.
 *
 * Run it with `npx tsx examples/batch-with-retries.ts`. Without RUNFLOW_API_KEY it starts the
 * simulator from runflow-rx/testing, where one item is steered to fail for good.
 */
import { filter, lastValueFrom, tap, toArray } from 'rxjs';

import { createRunflowClient, retryRun, runBatch, type RunBatchSummary, type RunflowClient } from 'runflow-rx';
import { startSimulator } from 'runflow-rx/testing';

const MODEL = 'openai/gpt-image-1.5';

/** Runs the batch with `client` and resolves to its summary. */
export async function renderBatch(
  client: RunflowClient,
  prompts: readonly string[],
  print: (line: string) => void = console.log,
  retryDelayMs = 2000,
): Promise<RunBatchSummary> {
  const items = prompts.map((prompt, index) => ({
    prompt,
    client_ref: `poster-${index + 1}`,
    // Steers the simulator: the last item fails with a transient error on every attempt, so it
    // is retried and then reported as failed. This input field exists only on the simulator.
    ...(index === prompts.length - 1 ? { simulate: { outcome: 'failed', failureCode: 'PROVIDER_TIMEOUT' } } : {}),
  }));
  const events = await lastValueFrom(
    runBatch(client, MODEL, items, {
      concurrency: 3,
      pipeItem: retryRun({ maxAttempts: 3, initialDelayMs: retryDelayMs }),
    }).pipe(
      tap((event) => {
        if (event.type === 'item-event' && event.event.type === 'retry') {
          print(`${event.clientRef}: attempt ${event.event.attempt} failed, retrying in ${event.event.delayMs} ms`);
        }
        if (event.type !== 'item-outcome') return;
        const { outcome } = event;
        const detail =
          outcome.status === 'failed' ? `${outcome.failureCode ?? 'error'}: ${outcome.failureMessage}` : '';
        print(`${event.clientRef}: ${outcome.status} ${detail}`.trim());
      }),
      filter((event) => event.type === 'summary'),
      toArray(),
    ),
  );
  const summary = events[0]!.type === 'summary' ? events[0]!.summary : undefined;
  print(`summary: ${JSON.stringify(summary)}`);
  return summary!;
}

async function main(): Promise<void> {
  const prompts = ['a red fox in snow', 'an owl at dusk', 'a lighthouse in fog', 'a kite over dunes'];
  const simulator = await startSimulator();
  try {
    await renderBatch(
      createRunflowClient({ apiKey: simulator.apiKey, baseUrl: simulator.url, poll: { intervalMs: 250 } }),
      prompts,
    );
  } finally {
    await simulator.close();
  }
}

if (process.argv[1]?.endsWith('batch-with-retries.ts')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
