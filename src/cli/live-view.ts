/**
 * A frame of text lines redrawn in place on a terminal, written with ANSI/VT100 control sequences.
 */

const ESC = '\u001b[';
export const HIDE_CURSOR = `${ESC}?25l`;
export const SHOW_CURSOR = `${ESC}?25h`;
/** DECAWM off: an overlong line is cut at the right edge instead of wrapping onto a second row. */
export const WRAP_OFF = `${ESC}?7l`;
export const WRAP_ON = `${ESC}?7h`;
/** Puts the terminal back as the live view found it: cursor visible, line wrapping on. */
export const RESTORE_TERMINAL = `${SHOW_CURSOR}${WRAP_ON}`;
const ERASE_DOWN = `${ESC}J`;

/** A terminal output stream, as `process.stdout` is when `isTTY` is true. */
export interface TerminalStream {
  write(text: string): unknown;
  /** Width in columns; 80 is assumed when absent. */
  readonly columns?: number;
  /** Height in rows; without it the frame height is not limited. */
  readonly rows?: number;
}

/** The room a frame may take: it is cut to `columns - 1` characters and `rows - 1` lines. */
export interface FrameSize {
  readonly columns: number;
  readonly rows: number | undefined;
}

const DEFAULT_COLUMNS = 80;
/** Redraw period; a frame that did not change is not written again. */
const DEFAULT_INTERVAL_MS = 100;

/**
 * Redraws the lines of `render` in place, every `intervalMs` and after `printAbove`.
 *
 * `start()` hides the cursor and turns line wrapping off, so each frame line takes exactly one
 * row and moving the cursor up by the line count reaches the top of the frame. `stop()` draws the
 * final frame and turns both back on. Callers stop the view in a `finally` block, so an error or
 * Ctrl-C still leaves the last frame on screen and the cursor visible.
 */
export class LiveView {
  private linesOnScreen = 0;
  private lastText: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private state: 'new' | 'live' | 'stopped' = 'new';

  constructor(
    private readonly stream: TerminalStream,
    private readonly render: (size: FrameSize) => readonly string[],
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.state !== 'new') return;
    this.state = 'live';
    this.stream.write(HIDE_CURSOR + WRAP_OFF);
    this.draw();
    this.timer = setInterval(() => this.drawOrRestore(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Draws the frame now when it changed since the last draw. */
  draw(): void {
    if (this.state !== 'live') return;
    const size = this.size();
    const text = fitFrame(this.render(size), size)
      .map((line) => `${line}\n`)
      .join('');
    if (text === this.lastText) return;
    this.stream.write(this.eraseFrame() + text);
    this.lastText = text;
    this.linesOnScreen = text === '' ? 0 : text.split('\n').length - 1;
  }

  /**
   * Runs `write`, which prints text that must stay on screen (on stdout or stderr), above the
   * frame: the frame is erased first and drawn again below the text.
   */
  printAbove(write: () => void): void {
    if (this.state !== 'live') {
      write();
      return;
    }
    this.stream.write(this.eraseFrame());
    this.linesOnScreen = 0;
    this.lastText = undefined;
    write();
    this.draw();
  }

  /** Draws the final frame and restores the cursor and line wrapping. Later calls do nothing. */
  stop(): void {
    if (this.state !== 'live') {
      this.state = 'stopped';
      return;
    }
    clearInterval(this.timer);
    try {
      this.draw();
    } finally {
      this.state = 'stopped';
      this.stream.write(RESTORE_TERMINAL);
    }
  }

  private drawOrRestore(): void {
    try {
      this.draw();
    } catch (error) {
      // A timer callback has no caller to clean up after it, so restore the terminal here.
      clearInterval(this.timer);
      this.state = 'stopped';
      this.stream.write(RESTORE_TERMINAL);
      throw error;
    }
  }

  private eraseFrame(): string {
    return this.linesOnScreen === 0 ? '' : `\r${ESC}${this.linesOnScreen}A${ERASE_DOWN}`;
  }

  private size(): FrameSize {
    const columns = this.stream.columns;
    const rows = this.stream.rows;
    return {
      columns: typeof columns === 'number' && columns > 0 ? columns : DEFAULT_COLUMNS,
      rows: typeof rows === 'number' && rows > 0 ? rows : undefined,
    };
  }
}

/**
 * Cuts a frame to the terminal. It keeps at most `rows - 1` lines, because a frame as tall as the
 * screen scrolls its first line out of reach of the cursor. It keeps at most `columns - 1`
 * characters a line, because some terminals wrap a line that fills the last column. Control
 * characters, which could move the cursor, become spaces.
 */
export function fitFrame(lines: readonly string[], size: FrameSize): string[] {
  const maxLines = size.rows === undefined ? lines.length : Math.max(1, size.rows - 1);
  const maxChars = Math.max(1, size.columns - 1);
  return lines.slice(0, maxLines).map((line) => {
    const characters = Array.from(stripControl(line).trimEnd());
    return characters.length <= maxChars ? characters.join('') : characters.slice(0, maxChars).join('');
  });
}

/** Replaces C0 and C1 control characters (escape, line breaks, tabs) with spaces. */
export function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}
