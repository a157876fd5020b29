import type { Observable } from 'rxjs';

import { runBatch, type RunBatchEvent, type RunBatchOutcome, type RunBatchSummary } from '../batches/run-batch.js';
import { isRunFailedError, isRunflowInputError } from '../errors.js';
import type { RunStreamEvent } from '../operators/events.js';
import { retryRun } from '../operators/retry-run.js';
import type { RunflowLogger } from '../logger.js';
import type { RunEvent } from '../run/events.js';
import { SIMULATOR_API_KEY } from '../testing/index.js';
import { apiKeyOf, connect, type Connection } from './connect.js';
import { describeError } from './describe-error.js';
import { formatOutputs } from './format.js';
import { BatchFrame } from './frames.js';
import { EXIT, OUTPUT_CLOSED, type CliIo } from './io.js';
import { LiveView } from './live-view.js';
import { createStderrLogger } from './logger.js';
import { UsageError, type BatchLine, type ClientOptions } from './options.js';
import { Printer, follow, outputMode } from './printer.js';

/** The options of `batch`. */
export interface BatchCommandOptions extends ClientOptions {
  readonly command: 'batch';
  readonly modelId: string;
  readonly items: readonly BatchLine[];
  readonly concurrency: number;
  readonly retries: number;
  readonly retryDelayMs: number;
}

type BatchEvent = RunBatchEvent<RunStreamEvent>;

const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'partial_succeeded', 'canceled', 'failed']);

/**
 * Runs the model once per input line with `runBatch` and prints how each item ended and the
 * summary. Resolves to the exit code: 0 when every item succeeded or partially succeeded, 1 when
 * any failed, 3 when none failed but some were canceled. Never rejects.
 */
export async function batchCommand(options: BatchCommandOptions, io: CliIo): Promise<number> {
  const printer = new Printer(io);
  const logger = createStderrLogger({
    write: (line) => printer.err(line),
    verbose: options.verbose,
    secrets: [apiKeyOf(io) ?? '', SIMULATOR_API_KEY],
  });
  let connection: Connection | undefined;
  let view: LiveView | undefined;

  try {
    connection = await connect('batch', options, io, logger);
    const events$ = batchEvents(connection, options, logger);
    const labels = options.items.map((item) => ({ line: item.line, clientRef: clientRefOf(item) }));
    const outcomes: Array<RunBatchOutcome | undefined> = options.items.map(() => undefined);
    let summary: RunBatchSummary | undefined;

    const mode = outputMode(options, io);
    let print: (event: BatchEvent) => void;
    if (mode === 'json') {
      print = (event) => printer.out(JSON.stringify(event));
    } else if (mode === 'plain') {
      const startedAt = Date.now();
      print = (event) => {
        for (const line of plainLines(event, labels, options.modelId)) {
          printer.out(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${line}`);
        }
      };
    } else {
      const frame = new BatchFrame(options.modelId, labels);
      view = new LiveView(io.stdout, (size) => frame.render(size));
      printer.attach(view);
      view.start();
      print = (event) => frame.push(event);
    }

    const ending = await follow(events$, io.signal, (event) => {
      if (event.type === 'item-outcome') outcomes[event.index] = event.outcome;
      if (event.type === 'summary') summary = event.summary;
      print(event);
    });
    view?.stop();

    if (ending.kind === 'aborted') {
      if (ending.reason === OUTPUT_CLOSED) return EXIT.succeeded;
      const ended = outcomes.filter((outcome) => outcome !== undefined).length;
      printer.err(
        `runflow-rx: interrupted after ${ended} of ${options.items.length} items ended; ` +
          'stopped watching the rest (runs already created are not canceled)',
      );
      return EXIT.interrupted;
    }
    if (ending.kind === 'errored') throw ending.error;
    if (summary === undefined) throw new Error('the batch ended without a summary');

    if (mode === 'live') {
      for (const [index, outcome] of outcomes.entries()) {
        const label = labels[index];
        if (outcome === undefined || label === undefined) continue;
        for (const line of outcomeLines(index, label, outcome, options.modelId)) printer.out(line);
      }
    }
    if (mode !== 'json') printer.out(formatSummary(summary));
    return reportSummary(summary, printer);
  } catch (error) {
    view?.stop();
    printer.err(`runflow-rx: ${describeError(error, { modelId: options.modelId })}`);
    if (error instanceof UsageError) printer.err('Run "runflow-rx batch --help" for usage.');
    return isRunflowInputError(error) || error instanceof UsageError ? EXIT.usage : EXIT.failed;
  } finally {
    view?.stop();
    await connection?.close();
  }
}

function batchEvents(
  connection: Connection,
  options: BatchCommandOptions,
  logger: RunflowLogger,
): Observable<BatchEvent> {
  const pipeItem =
    options.retries > 0
      ? retryRun({
          maxAttempts: options.retries + 1,
          initialDelayMs: options.retryDelayMs,
          jitterMs: options.retryDelayMs / 2,
          logger,
        })
      : (source: Observable<RunEvent>): Observable<RunStreamEvent> => source;
  return runBatch(
    connection.client,
    options.modelId,
    options.items.map((item) => item.input),
    {
      concurrency: options.concurrency,
      runOptions: options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
      pipeItem,
    },
  );
}

interface ItemLabel {
  readonly line: number;
  readonly clientRef: string | undefined;
}

function clientRefOf(item: BatchLine): string | undefined {
  const clientRef = item.input['client_ref'];
  return typeof clientRef === 'string' ? clientRef : undefined;
}

function itemName(index: number, label: ItemLabel): string {
  return `item ${index + 1} (line ${label.line}${label.clientRef === undefined ? '' : `, ${label.clientRef}`})`;
}

/** Formats the plain text lines of one batch event: status changes, retries and outcomes. */
function plainLines(event: BatchEvent, labels: readonly ItemLabel[], modelId: string): string[] {
  if (event.type === 'summary') return [];
  const label = labels[event.index];
  if (label === undefined) return [];
  if (event.type === 'item-outcome') return outcomeLines(event.index, label, event.outcome, modelId);

  const runEvent = event.event;
  // A terminal status is left to the outcome line or the retry line that follows it.
  if (runEvent.type === 'status' && !TERMINAL_STATUSES.has(runEvent.status)) {
    return [`${itemName(event.index, label)} run ${runEvent.runId} ${runEvent.status}`];
  }
  if (runEvent.type === 'retry') {
    return [
      `${itemName(event.index, label)} run ${runEvent.runId} failed with ${runEvent.error.failureCode ?? 'no failure code'}; ` +
        `attempt ${runEvent.attempt + 1} of ${runEvent.maxAttempts} starts in ${(runEvent.delayMs / 1000).toFixed(1)} s`,
    ];
  }
  return [];
}

/** Formats the line saying how one item ended, then one line per output of a (partially) succeeded run. */
function outcomeLines(index: number, label: ItemLabel, outcome: RunBatchOutcome, modelId: string): string[] {
  const name = itemName(index, label);
  switch (outcome.status) {
    case 'succeeded':
      return [`${name} succeeded (run ${outcome.run.id})`, ...formatOutputs(outcome.run).map((line) => `  ${line}`)];
    case 'partial_succeeded':
      return [
        `${name} partially succeeded (run ${outcome.run.id})`,
        ...formatOutputs(outcome.run).map((line) => `  ${line}`),
      ];
    case 'canceled':
      return [`${name} canceled (run ${outcome.run.id})`];
    case 'failed':
      if (isRunFailedError(outcome.error)) {
        const { runId, failureCode, failureStage, failureMessage } = outcome.error;
        return [
          `${name} failed (run ${runId}): ${failureCode ?? 'no failure code'} at stage ${failureStage ?? 'unknown'}` +
            (failureMessage ? `: ${failureMessage}` : ''),
        ];
      }
      return [`${name} failed: ${describeError(outcome.error, { modelId })}`];
  }
}

function formatSummary(summary: RunBatchSummary): string {
  return (
    `summary total=${summary.total} succeeded=${summary.succeeded} failed=${summary.failed} ` +
    `cancelled=${summary.cancelled} partial=${summary.partial}`
  );
}

function reportSummary(summary: RunBatchSummary, printer: Printer): number {
  if (summary.failed > 0) {
    printer.err(`runflow-rx: ${summary.failed} of ${summary.total} items failed`);
    return EXIT.failed;
  }
  if (summary.cancelled > 0) {
    printer.err(`runflow-rx: ${summary.cancelled} of ${summary.total} items were canceled and none failed`);
    return EXIT.canceled;
  }
  return EXIT.succeeded;
}
