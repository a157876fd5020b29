#!/usr/bin/env node
import { RESTORE_TERMINAL } from './live-view.js';
import { EXIT, OUTPUT_CLOSED, main } from './main.js';

const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (!interrupt.signal.aborted) {
    interrupt.abort();
    return;
  }
  // A second Ctrl-C while the CLI is still closing: leave at once, with the cursor visible.
  if (process.stdout.isTTY) process.stdout.write(RESTORE_TERMINAL);
  process.exit(EXIT.interrupted);
});
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') interrupt.abort(OUTPUT_CLOSED);
  else throw error;
});

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`runflow-rx: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
