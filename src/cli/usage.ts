import type { CommandName } from './options.js';

const SERVER_OPTIONS = `  --base-url <url>       API base URL (default: RUNFLOW_BASE_URL, else https://api.runflow.io);
                         needs RUNFLOW_API_KEY.
  --max-attempts <n>     Attempts per request before a network error or 5xx is final (default 5).`;

const OUTPUT_OPTIONS = `  --json                 Print one JSON event per line (NDJSON) instead of text.
  --plain                Print plain text lines even when stdout is a terminal.
  --verbose              Also log debug and info lines (each HTTP request) to stderr.`;

const SIMULATOR_OPTIONS = `  --simulate             Use the embedded simulator even when RUNFLOW_API_KEY is set.
  --time-scale <n>       Embedded simulator speed: simulated ms per real ms (default 1).`;

const ENVIRONMENT = `Environment:
  RUNFLOW_API_KEY        API key; without it the embedded simulator is used (watch needs it).
  RUNFLOW_BASE_URL       API base URL.`;

const OUTPUT_NOTE = `On a terminal the progress is redrawn in place; otherwise each event is one text line.`;

const EXIT_CODES = `Exit codes: 0 succeeded (also partial success), 1 failed (a run, a request, or --timeout-ms),
2 usage error, 3 canceled, 130 interrupted (Ctrl-C).`;

const GENERAL = `Usage: runflow-rx <command> [options]

Commands:
  run <model_id> --input <json|@file>    Create a run and watch it to its end.
  watch <run_id>                         Watch an existing run on a server to its end.
  batch <model_id> --inputs <file.jsonl> Run the model once per input line, several at a time.
  simulator [--port N] [--time-scale N]  Start the Runflow simulator until Ctrl-C.
  demo                                   Watch a multi-step video run on the embedded simulator.

Run "runflow-rx <command> --help" for the options of one command.

${ENVIRONMENT}

${EXIT_CODES}
`;

const COMMAND_USAGE: Readonly<Record<CommandName, string>> = {
  run: `Usage: runflow-rx run <model_id> --input <json|@file.json> [options]

Creates a run of <model_id> and prints its status changes, steps and log lines until it ends,
then the URLs of its outputs. Without RUNFLOW_API_KEY the run goes to the embedded simulator.

Options:
  --input <json|@file>   Model input as an inline JSON object or @path to a JSON file (required).
${SIMULATOR_OPTIONS}
${SERVER_OPTIONS}
  --timeout-ms <ms>      Stop watching after this many milliseconds and exit with 1.
${OUTPUT_OPTIONS}
  -h, --help             Show this help.

${OUTPUT_NOTE}

${ENVIRONMENT}

${EXIT_CODES}
`,
  watch: `Usage: runflow-rx watch <run_id> [options]

Attaches to an existing run and prints its events until it ends, then the URLs of its outputs.
A run that already ended prints its logs, steps and final status at once. Stopping the watch
does not cancel the run.

watch needs RUNFLOW_API_KEY: an embedded simulator would start with no runs to watch. To watch
a simulated run, start "runflow-rx simulator" in another terminal and set the
RUNFLOW_BASE_URL and RUNFLOW_API_KEY lines it prints.

Options:
${SERVER_OPTIONS}
  --timeout-ms <ms>      Stop watching after this many milliseconds and exit with 1.
${OUTPUT_OPTIONS}
  -h, --help             Show this help.

${OUTPUT_NOTE}

${ENVIRONMENT}

${EXIT_CODES}
`,
  batch: `Usage: runflow-rx batch <model_id> --inputs <file.jsonl> [options]

Creates one run of <model_id> per line of the JSONL file, at most --concurrency at a time, and
prints how each item ended and a summary {total, succeeded, failed, cancelled, partial}. Each
line is one JSON object, the model input; blank lines are skipped. A "client_ref" string in a
line is sent as the run's client reference instead of as input. Without RUNFLOW_API_KEY the runs
go to the embedded simulator.

Options:
  --inputs <file.jsonl>  The model inputs, one JSON object per line (required).
  --concurrency <n>      Runs in flight at once, a whole number of at least 1 (default 4).
  --retries <n>          Run a failed item again up to n times (0 to 99, default 0). Only
                         provider and platform failures (such as PROVIDER_ERROR) are retried;
                         each retry creates a new run.
  --retry-delay-ms <ms>  Wait before the first retry, doubled for each later one, plus up to half
                         of it at random (default 2000).
${SIMULATOR_OPTIONS}
${SERVER_OPTIONS}
  --timeout-ms <ms>      Stop watching an item's run after this many milliseconds; the item fails.
${OUTPUT_OPTIONS}
  -h, --help             Show this help.

With --json each line is one event of runBatch: item-event, item-outcome, then summary.
${OUTPUT_NOTE}

${ENVIRONMENT}

Exit codes: 0 every item succeeded or partially succeeded, 1 at least one item failed,
2 usage error, 3 no item failed but at least one was canceled, 130 interrupted (Ctrl-C).
`,
  simulator: `Usage: runflow-rx simulator [--port N] [--time-scale N]

Starts the Runflow simulator on 127.0.0.1 and prints two lines to stdout:
  RUNFLOW_BASE_URL=http://127.0.0.1:<port>
  RUNFLOW_API_KEY=<key>
Set both in another shell to point runflow-rx (or your own code) at it. The simulator keeps
running until Ctrl-C, then closes every connection and exits with 0.

Options:
  --port <n>             TCP port on 127.0.0.1, 0 to 65535 (default 0: a free port).
  --time-scale <n>       Simulated ms per real ms, greater than 0 (default 1).
  -h, --help             Show this help.

Exit codes: 0 stopped with Ctrl-C, 1 could not listen (such as a port in use), 2 usage error.
`,
  demo: `Usage: runflow-rx demo [options]

Starts the embedded Runflow simulator and watches a multi-step video run of
bytedance/seedance/2.0/fast/text-to-video to its end. No API key or network is needed.

Options:
  --time-scale <n>       Simulator speed: simulated ms per real ms (default 1).
  --timeout-ms <ms>      Stop watching after this many milliseconds and exit with 1.
  --max-attempts <n>     Attempts per request before a network error or 5xx is final (default 5).
${OUTPUT_OPTIONS}
  -h, --help             Show this help.

${OUTPUT_NOTE}

${EXIT_CODES}
`,
};

/** Returns the help text of one command, or the general help for undefined. */
export function usageText(command: CommandName | undefined): string {
  return command === undefined ? GENERAL : COMMAND_USAGE[command];
}
