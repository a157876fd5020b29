/**
 * Watches a multi-step video run and prints a progress line per step change, then the outputs.
 *
 * Run it with `npx tsx examples/progress.ts`. Without RUNFLOW_API_KEY it starts the simulator
 * from runflow-rx/testing, so it needs no network.
 */
import { lastValueFrom, tap } from 'rxjs';

import { combineNodeRuns, createRunflowClient, outputItems, type RunflowClient } from 'runflow-rx';
import { startSimulator } from 'runflow-rx/testing';

const MODEL = 'bytedance/seedance/2.0/fast/text-to-video';

/** Runs the example with `client` and returns the printed lines. */
export async function watchWithProgress(
  client: RunflowClient,
  print: (line: string) => void = console.log,
): Promise<void> {
  const finalProgress = await lastValueFrom(
    client.run(MODEL, { input: { prompt: 'A paper boat drifting down a rainy street', duration_s: 5 } }).pipe(
      tap((event) => {
        if (event.type === 'log') print(`  ${event.log.level_code}: ${event.log.message}`);
      }),
      combineNodeRuns(),
      tap((progress) => {
        const bar = '#'.repeat(Math.round(progress.ratio * 20)).padEnd(20, '.');
        print(`[${bar}] ${progress.completed}/${progress.total} steps, run ${progress.status ?? 'starting'}`);
      }),
    ),
  );
  const run = await lastValueFrom(client.runs.get(finalProgress.runId));
  for (const item of outputItems(run.output)) print(`output: ${item.type} ${item.url}`);
}

async function main(): Promise<void> {
  const apiKey = process.env['RUNFLOW_API_KEY'];
  if (apiKey) {
    await watchWithProgress(createRunflowClient({ apiKey }));
    return;
  }
  const simulator = await startSimulator();
  try {
    await watchWithProgress(
      createRunflowClient({ apiKey: simulator.apiKey, baseUrl: simulator.url, poll: { intervalMs: 250 } }),
    );
  } finally {
    await simulator.close();
  }
}

if (process.argv[1]?.endsWith('progress.ts')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
