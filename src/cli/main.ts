import { batchCommand } from './batch-command.js';
import { EXIT, type CliIo } from './io.js';
import { UsageError, parseCommand, type ParsedCommand } from './options.js';
import { runCommand } from './run-command.js';
import { simulatorCommand } from './simulator-command.js';
import { usageText } from './usage.js';

export { EXIT, OUTPUT_CLOSED, type CliIo } from './io.js';

/** Runs the CLI with `argv` (without the node and script paths) and resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ParsedCommand;
  try {
    parsed = await parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError || isParseArgsError(error))) throw error;
    const command = error instanceof UsageError ? error.command : undefined;
    io.stderr.write(
      `runflow-rx: ${error.message}\nRun "runflow-rx${command === undefined ? '' : ` ${command}`} --help" for usage.\n`,
    );
    return EXIT.usage;
  }

  switch (parsed.command) {
    case 'help':
      io.stdout.write(usageText(parsed.topic));
      return EXIT.succeeded;
    case 'simulator':
      return simulatorCommand(parsed, io);
    case 'batch':
      return batchCommand(parsed, io);
    case 'run':
    case 'demo':
    case 'watch':
      return runCommand(parsed, io);
  }
}

/** Checks for an error of `util.parseArgs`, such as an unknown option or a missing option value. */
function isParseArgsError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
