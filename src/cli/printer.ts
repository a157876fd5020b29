import type { Observable } from 'rxjs';

import type { CliIo } from './io.js';
import type { LiveView } from './live-view.js';

/** The output format of a command. */
export type OutputMode = 'json' | 'plain' | 'live';

/**
 * Chooses the output: `--json` or `--plain` when given, else the live view on a terminal (one
 * that is not `TERM=dumb`), else plain lines.
 */
export function outputMode(options: { readonly json: boolean; readonly plain: boolean }, io: CliIo): OutputMode {
  if (options.json) return 'json';
  if (options.plain) return 'plain';
  return io.stdout.isTTY === true && io.env['TERM'] !== 'dumb' ? 'live' : 'plain';
}

/** Writes lines to stdout and stderr, above the live frame while one is shown. */
export class Printer {
  private view: LiveView | undefined;

  constructor(private readonly io: CliIo) {}

  /** Routes later lines above `view`, so they do not tear its frame. */
  attach(view: LiveView): void {
    this.view = view;
  }

  out(line: string): void {
    this.write(this.io.stdout, `${line}\n`);
  }

  /** Writes `text` to stderr, adding a line break when it has none at its end. */
  err(text: string): void {
    this.write(this.io.stderr, text.endsWith('\n') ? text : `${text}\n`);
  }

  private write(stream: { write(text: string): unknown }, text: string): void {
    if (this.view === undefined) stream.write(text);
    else this.view.printAbove(() => stream.write(text));
  }
}

/** The end of a `follow` call: completion, an error, or an abort with its reason. */
export type Ending =
  | { readonly kind: 'completed' }
  | { readonly kind: 'errored'; readonly error: unknown }
  | { readonly kind: 'aborted'; readonly reason: unknown };

/**
 * Subscribes to `source`, passes each value to `next`, and resolves once the source completes
 * or errors, or `signal` aborts. An abort unsubscribes at once, which stops every request and
 * timer of the source. An exception thrown by `next` unsubscribes and resolves as `errored`.
 */
export function follow<T>(
  source: Observable<T>,
  signal: AbortSignal | undefined,
  next: (value: T) => void,
): Promise<Ending> {
  return new Promise<Ending>((resolve) => {
    let settled = false;
    let subscription: { unsubscribe(): void } | undefined;
    const settle = (ending: Ending): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(ending);
    };
    const onAbort = (): void => {
      subscription?.unsubscribe();
      settle({ kind: 'aborted', reason: signal?.reason });
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    subscription = source.subscribe({
      next: (value) => {
        try {
          next(value);
        } catch (error) {
          subscription?.unsubscribe();
          settle({ kind: 'errored', error });
        }
      },
      complete: () => settle({ kind: 'completed' }),
      error: (error: unknown) => settle({ kind: 'errored', error }),
    });
    if (settled) subscription.unsubscribe();
  });
}
