import type { Run } from '../codecs/run.js';
import { isRunflowInputError } from '../errors.js';
import type { RunEvent } from '../run/events.js';
import { SIMULATOR_API_KEY } from '../testing/index.js';
import { apiKeyOf, connect, type Connection } from './connect.js';
import { describeError, type ErrorContext } from './describe-error.js';
import { EventFormatter, formatOutputs } from './format.js';
import { RunFrame } from './frames.js';
import { EXIT, OUTPUT_CLOSED, type CliIo } from './io.js';
import { LiveView } from './live-view.js';
import { createStderrLogger } from './logger.js';
import { UsageError, type ClientOptions } from './options.js';
import { Printer, follow, outputMode } from './printer.js';

/** The options of `run`, `demo` (a run of a fixed model and input) and `watch`. */
export type RunCommandOptions = ClientOptions &
  (
    | { readonly command: 'run' | 'demo'; readonly modelId: string; readonly input: Record<string, unknown> }
    | { readonly command: 'watch'; readonly runId: string }
  );

/**
 * Creates a run (`run`, `demo`) or attaches to one (`watch`), prints its events until it ends and
 * resolves to the exit code. Every error is printed here, so the promise never rejects.
 */
export async function runCommand(options: RunCommandOptions, io: CliIo): Promise<number> {
  const printer = new Printer(io);
  const logger = createStderrLogger({
    write: (line) => printer.err(line),
    verbose: options.verbose,
    secrets: [apiKeyOf(io) ?? '', SIMULATOR_API_KEY],
  });
  const context: ErrorContext = options.command === 'watch' ? { runId: options.runId } : { modelId: options.modelId };
  let connection: Connection | undefined;
  let view: LiveView | undefined;

  try {
    connection = await connect(options.command, options, io, logger);
    const watchOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    const events$ =
      options.command === 'watch'
        ? connection.client.watch(options.runId, watchOptions)
        : connection.client.run(options.modelId, { input: options.input }, watchOptions);

    let print: (event: RunEvent) => void;
    const mode = outputMode(options, io);
    if (mode === 'json') {
      print = (event) => printer.out(JSON.stringify(event));
    } else if (mode === 'plain') {
      const formatter = new EventFormatter();
      print = (event) => printer.out(formatter.format(event));
    } else {
      const frame = new RunFrame(options.command === 'watch' ? 'watch' : options.modelId);
      view = new LiveView(io.stdout, (size) => frame.render(size));
      printer.attach(view);
      view.start();
      print = (event) => frame.push(event);
    }

    let runId: string | undefined;
    let finalRun: Run | undefined;
    const ending = await follow(events$, io.signal, (event) => {
      runId = event.runId;
      if (event.type === 'status') finalRun = event.run;
      print(event);
    });
    view?.stop();

    if (ending.kind === 'aborted') {
      if (ending.reason === OUTPUT_CLOSED) return EXIT.succeeded;
      printer.err(
        `runflow-rx: interrupted; stopped watching${runId ? ` run ${runId}` : ''} (the run itself is not canceled)`,
      );
      return EXIT.interrupted;
    }
    if (ending.kind === 'errored') throw ending.error;
    return reportEnd(finalRun, mode === 'json', printer);
  } catch (error) {
    view?.stop();
    printer.err(`runflow-rx: ${describeError(error, context)}`);
    if (error instanceof UsageError) printer.err(`Run "runflow-rx ${options.command} --help" for usage.`);
    return isRunflowInputError(error) || error instanceof UsageError ? EXIT.usage : EXIT.failed;
  } finally {
    view?.stop();
    await connection?.close();
  }
}

/** Prints how a run that completed ended (its outputs, or why it counts as not succeeded). */
function reportEnd(run: Run | undefined, json: boolean, printer: Printer): number {
  if (run === undefined) {
    printer.err('runflow-rx: the run ended without any status; the server sent no run to report');
    return EXIT.failed;
  }
  if (run.status_code === 'canceled') {
    printer.err(`runflow-rx: run ${run.id} was canceled`);
    return EXIT.canceled;
  }
  if (!json) for (const line of formatOutputs(run)) printer.out(line);
  if (run.status_code === 'partial_succeeded') {
    printer.err(`runflow-rx: run ${run.id} partially succeeded: only some outputs were produced`);
  }
  return EXIT.succeeded;
}
