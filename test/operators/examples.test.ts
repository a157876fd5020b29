import { readFileSync, readdirSync } from 'node:fs';

import { lastValueFrom, map, tap, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RunFailedError, type RunflowClient } from '../../src/index.js';
import {
  combineNodeRuns,
  combineRunProgress,
  finalRun,
  isRetryableRunFailure,
  logLines,
  nodeRunChanges,
  outputs,
  retryRun,
  statusChanges,
  withDeadline,
} from '../../src/operators/index.js';
import { startSimulator, type Simulator } from '../../src/testing/index.js';
import { IMAGE_MODEL, collect, simulatorClient } from './helpers.js';

const OPERATORS_DIR = new URL('../../src/operators/', import.meta.url);

/** Returns the code of every `@example` block in the doc comments of src/operators, one entry per block. */
function docExamples(): Array<{ file: string; code: string[] }> {
  const examples: Array<{ file: string; code: string[] }> = [];
  for (const file of readdirSync(OPERATORS_DIR).filter((name) => name.endsWith('.ts'))) {
    const lines = readFileSync(new URL(file, OPERATORS_DIR), 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (line.trim() !== '* @example') return;
      const end = lines.findIndex((candidate, at) => at > index + 1 && candidate.trim() === '* ```');
      const code = lines.slice(index + 2, end).map((codeLine) => codeLine.replace(/^\s*\* ?/, ''));
      examples.push({ file, code });
    });
  }
  return examples;
}

/** Lines without their indentation, so that an example nested in a test still matches. */
const unindented = (lines: readonly string[]): string => lines.map((line) => line.trim()).join('\n');

describe('doc examples', () => {
  it('appear verbatim in this file', () => {
    const examples = docExamples();
    expect(examples.map((example) => example.file).sort()).toEqual([
      'combine-node-runs.ts',
      'combine-run-progress.ts',
      'final-run.ts',
      'log-lines.ts',
      'node-run-changes.ts',
      'outputs.ts',
      'retry-policy.ts',
      'retry-run.ts',
      'status-changes.ts',
      'with-deadline.ts',
    ]);
    const thisFile = unindented(readFileSync(new URL(import.meta.url), 'utf8').split('\n'));
    for (const example of examples) {
      expect(thisFile.includes(unindented(example.code)), `example of ${example.file}`).toBe(true);
    }
  });

  it('appear verbatim in docs/operators.md', () => {
    const guide = unindented(readFileSync(new URL('../../docs/operators.md', import.meta.url), 'utf8').split('\n'));
    for (const example of docExamples()) {
      expect(guide.includes(unindented(example.code)), `example of ${example.file}`).toBe(true);
    }
  });
});

describe('doc examples against the simulator', () => {
  let simulator: Simulator;
  let runflow: RunflowClient;

  beforeAll(async () => {
    simulator = await startSimulator({ timeScale: 50 });
    runflow = simulatorClient(simulator);
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('statusChanges', async () => {
    const seen = await lastValueFrom(
      runflow.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } }).pipe(
        statusChanges(),
        map((event) => event.status),
        toArray(),
      ),
    );
    // seen: ['queued', 'dispatching', 'running', 'succeeded']; a status the poller missed is absent

    expect(seen[0]).toBe('queued');
    expect(seen.at(-1)).toBe('succeeded');
    expect(['queued', 'dispatching', 'running', 'succeeded']).toEqual(expect.arrayContaining(seen));
  });

  it('logLines', async () => {
    const messages = await lastValueFrom(
      runflow.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } }).pipe(
        logLines(),
        map((log) => `${log.level_code}: ${log.message}`),
        toArray(),
      ),
    );

    expect(messages.length).toBeGreaterThan(1);
    expect(messages.every((message) => /^(debug|info|warning|error): ./.test(message))).toBe(true);
  });

  it('nodeRunChanges', async () => {
    const changes = await lastValueFrom(
      runflow.run('bytedance/seedance/2.0/fast/text-to-video', { input: { prompt: 'waves' } }).pipe(
        nodeRunChanges(),
        map(({ nodeRun, previous }) => `${nodeRun.node_id}: ${previous?.state_code ?? 'new'} -> ${nodeRun.state_code}`),
        toArray(),
      ),
    );

    expect(changes.filter((change) => change.endsWith('-> succeeded'))).toHaveLength(4);
  });

  it('finalRun', async () => {
    const run = await lastValueFrom(
      runflow.run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } }).pipe(finalRun()),
    );
    // run.status_code: 'succeeded'; run.output contains the outputs

    expect(run.status_code).toBe('succeeded');
    expect(run.output?.outputs).toHaveLength(1);
  });

  it('outputs', async () => {
    const videos = await lastValueFrom(
      runflow
        .run('bytedance/seedance/2.0/fast/text-to-video', { input: { prompt: 'waves' } })
        .pipe(outputs('video'), toArray()),
    );
    // videos: [{ type: 'video', url: '…/0.mp4', content_type: 'video/mp4', … }]

    expect(videos).toHaveLength(1);
    expect(videos[0]).toMatchObject({ type: 'video', content_type: 'video/mp4' });
  });

  it('combineNodeRuns', async () => {
    const ratios: number[] = [];
    const progress = await lastValueFrom(
      runflow.run('bytedance/seedance/2.0/fast/text-to-video', { input: { prompt: 'waves' } }).pipe(
        combineNodeRuns(),
        tap((snapshot) => ratios.push(snapshot.ratio)),
      ),
    );
    // progress: { status: 'succeeded', completed: 4, total: 4, ratio: 1, counts: { succeeded: 4 }, … }

    expect(progress).toMatchObject({ status: 'succeeded', completed: 4, total: 4, ratio: 1, counts: { succeeded: 4 } });
    expect(ratios.at(-1)).toBe(1);
  });

  it('combineRunProgress', async () => {
    const prompts = ['a fox', 'a heron', 'a moth'];
    const batch = prompts.map((prompt) => runflow.run('openai/gpt-image-1.5', { input: { prompt } }));
    const progress = await lastValueFrom(combineRunProgress(batch, { concurrency: 2 }));
    // progress: { runs: 3, finished: 3, succeeded: 3, failed: 0, ratio: 1, … }

    expect(progress).toMatchObject({ runs: 3, finished: 3, succeeded: 3, failed: 0, ratio: 1 });
  });

  it('retryRun', async () => {
    const events = await lastValueFrom(
      runflow
        .run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } })
        .pipe(retryRun({ maxAttempts: 3, initialDelayMs: 1000 }), toArray()),
    );
    const retries = events.filter((event) => event.type === 'retry');
    // retries: one { type: 'retry', runId, attempt, delayMs, error } per failed attempt that was run again

    expect(retries).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'succeeded' });
  });

  it('isRetryableRunFailure', async () => {
    const retryProviderFailures = retryRun({
      shouldRetry: (error) => isRetryableRunFailure(error) && error.failureCode !== 'PROVIDER_TIMEOUT',
    });

    const runsBefore = simulator.runCount();
    const input = { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_TIMEOUT' } };
    const { values, error } = await collect(runflow.run(IMAGE_MODEL, { input }).pipe(retryProviderFailures));
    expect((error as RunFailedError).failureCode).toBe('PROVIDER_TIMEOUT');
    expect(values.some((event) => event.type === 'retry')).toBe(false);
    expect(simulator.runCount() - runsBefore).toBe(1);
  });

  it('withDeadline', async () => {
    const run = await lastValueFrom(
      runflow
        .run('openai/gpt-image-1.5', { input: { prompt: 'a lighthouse' } })
        .pipe(retryRun({ maxAttempts: 3 }), withDeadline(600_000), finalRun()),
    );
    // rejects with RunTimeoutError if the attempts and their waits take more than 10 minutes

    expect(run.status_code).toBe('succeeded');
  });
});
