/** Structured fields attached to a log line, such as `runId` or `attempt`. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * A destination for the library's diagnostics. The library never writes to the console; it calls
 * this logger, which is silent unless the caller passes one.
 */
export interface RunflowLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ignore = (): void => undefined;

/** The default logger: drops everything. */
export const silentLogger: RunflowLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
