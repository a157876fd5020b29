import { main, type CliIo } from '../../src/cli/main.js';
import { startRawServer } from '../integration/helpers.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs main() in-process with captured stdout and stderr (no terminal). */
export async function cli(
  argv: string[],
  env: Record<string, string | undefined> = {},
  signal?: AbortSignal,
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    ...(signal === undefined ? {} : { signal }),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Simulated speed for every test that uses the embedded simulator. */
export const FAST = ['--time-scale', '50'];

/**
 * A minimal model of a terminal screen, enough to replay what the live view writes. It handles
 * text, line feeds, carriage returns, cursor up (CSI n A), erase below (CSI J) and the private
 * modes for the cursor (?25) and line wrapping (?7). Any other control sequence fails the test,
 * so the view cannot rely on one this model does not check.
 */
export class FakeTerminal {
  readonly lines: string[] = [''];
  row = 0;
  column = 0;
  cursorVisible = true;
  wrapping = true;
  /** Everything written to the terminal, by stdout and stderr alike. */
  raw = '';

  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {}

  write(text: string): void {
    this.raw += text;
    let index = 0;
    while (index < text.length) {
      const char = text[index]!;
      if (char === '\u001b') {
        const match = /^\u001b\[(\??)(\d*)([A-Za-z])/.exec(text.slice(index));
        if (match === null)
          throw new Error(`unsupported escape sequence at ${JSON.stringify(text.slice(index, index + 8))}`);
        this.control(match[1] === '?', match[2] === '' ? 1 : Number(match[2]), match[3]!);
        index += match[0].length;
        continue;
      }
      if (char === '\n') {
        this.row++;
        this.column = 0;
        if (this.lines.length <= this.row) this.lines.push('');
      } else if (char === '\r') {
        this.column = 0;
      } else {
        const line = this.lines[this.row]!.padEnd(this.column);
        this.lines[this.row] = line.slice(0, this.column) + char + line.slice(this.column + 1);
        this.column++;
      }
      index++;
    }
  }

  /** Returns the screen's text, one string per line, without the empty line under the cursor. */
  screen(): string[] {
    const lines = [...this.lines];
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  private control(isPrivate: boolean, count: number, command: string): void {
    if (isPrivate && count === 25 && (command === 'h' || command === 'l')) {
      this.cursorVisible = command === 'h';
    } else if (isPrivate && count === 7 && (command === 'h' || command === 'l')) {
      this.wrapping = command === 'h';
    } else if (!isPrivate && command === 'A') {
      this.row = Math.max(0, this.row - count);
    } else if (!isPrivate && command === 'J') {
      this.lines[this.row] = this.lines[this.row]!.slice(0, this.column);
      this.lines.length = this.row + 1;
    } else {
      throw new Error(`unsupported control sequence ${isPrivate ? '?' : ''}${count}${command}`);
    }
  }
}

/** Runs main() with stdout and stderr both on one fake terminal, as in an interactive shell. */
export async function cliOnTerminal(
  argv: string[],
  options: {
    env?: Record<string, string | undefined>;
    columns?: number;
    rows?: number;
    signal?: AbortSignal;
    /** Called after each write to stdout, with everything written so far. */
    onStdout?: (stdout: string) => void;
  } = {},
): Promise<{ code: number; terminal: FakeTerminal; stdout: string; stderr: string }> {
  const terminal = new FakeTerminal(options.columns ?? 120, options.rows ?? 40);
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: {
      isTTY: true,
      columns: terminal.columns,
      rows: terminal.rows,
      write: (text: string) => {
        stdout += text;
        terminal.write(text);
        options.onStdout?.(stdout);
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        terminal.write(text);
      },
    },
    env: options.env ?? {},
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const code = await main(argv, io);
  return { code, terminal, stdout, stderr };
}

/** Lines of the last frame the live view drew: from its last erase (or its start) to the terminal restore. */
export function finalFrame(stdout: string): string[] {
  const end = stdout.lastIndexOf('\u001b[?25h');
  if (end === -1) throw new Error('the cursor was never shown again');
  const erase = stdout.lastIndexOf('\u001b[J', end);
  const start = erase === -1 ? stdout.indexOf('\u001b[?7l') + '\u001b[?7l'.length : erase + '\u001b[J'.length;
  return stdout
    .slice(start, end)
    .split('\n')
    .filter((line) => line !== '');
}

/**
 * Starts a server on 127.0.0.1 for tests whose command must stop before any request: a client
 * that got through by mistake reaches this server instead of a real host, and gets a 400 that
 * is not retried.
 */
export async function startGuardServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = await startRawServer((_request, response) => {
    requests++;
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ code: 'BAD_REQUEST', message: 'guard server: no request was expected', errors: null }),
    );
  });
  return { url: server.url, requests: () => requests, close: server.close };
}

/** Replaces each `<guard>` in `argv` with `url`. */
export function withGuard(argv: readonly string[], url: string): string[] {
  return argv.map((arg) => (arg === '<guard>' ? url : arg));
}
