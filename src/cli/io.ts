/** Exit codes of the runflow-rx command. */
export const EXIT = {
  succeeded: 0,
  /** A run failed, a request to the API failed, or a batch item failed. */
  failed: 1,
  usage: 2,
  /** The run was canceled, or no batch item failed but some were canceled. */
  canceled: 3,
  /** Interrupted by Ctrl-C (SIGINT), as shells report 128 + 2. */
  interrupted: 130,
} as const;

/**
 * Abort reason for a closed stdout, as when the output is piped into `head`: the CLI stops
 * watching and exits quietly with 0.
 */
export const OUTPUT_CLOSED = 'output closed';

/** Output streams, environment and interrupt signal of one CLI invocation. */
export interface CliIo {
  readonly stdout: {
    write(text: string): unknown;
    /** True for a terminal: run, watch, batch and demo then redraw their progress in place. */
    readonly isTTY?: boolean;
    /** Terminal width in columns, read at each redraw. */
    readonly columns?: number;
    /** Terminal height in rows, read at each redraw; the live view stays below it. */
    readonly rows?: number;
  };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted on Ctrl-C: the CLI stops watching, closes the simulator and exits with 130 (the
   * simulator command exits with 0). Aborted with the reason OUTPUT_CLOSED, it does the same
   * silently and exits with 0. The simulator command runs until this signal aborts.
   */
  readonly signal?: AbortSignal;
}
