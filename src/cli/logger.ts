import type { FetchLike } from '../http/request.js';
import type { LogFields, RunflowLogger } from '../logger.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Field names whose values are never printed, whatever they contain. */
const SECRET_FIELD = /authorization|api[-_]?key|secret|token|password/i;
const REDACTED = '[redacted]';

/** Settings of `createStderrLogger`. */
export interface StderrLoggerConfig {
  /** Writes one finished line, newline included. */
  readonly write: (line: string) => void;
  /** Also print `debug` and `info` entries; `warn` and `error` are always printed. */
  readonly verbose: boolean;
  /** Strings that must never appear in a line, such as the API key; each is replaced by [redacted]. */
  readonly secrets: readonly string[];
}

/**
 * Creates the CLI's logger: one line per entry, `runflow-rx <level>: <message> key=value …`.
 * Values with spaces, quotes or line breaks are printed as JSON strings, objects as JSON, and
 * errors as their message, so an entry never spans two lines.
 */
export function createStderrLogger(config: StderrLoggerConfig): RunflowLogger {
  const secrets = config.secrets.filter((secret) => secret !== '');
  const log =
    (level: Level) =>
    (message: string, fields?: LogFields): void => {
      if (!config.verbose && (level === 'debug' || level === 'info')) return;
      let line = `runflow-rx ${level}: ${oneLine(message)}${formatFields(fields)}`;
      for (const secret of secrets) line = line.split(secret).join(REDACTED);
      config.write(`${line}\n`);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function formatFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let text = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    text += ` ${key}=${SECRET_FIELD.test(key) ? REDACTED : formatValue(value)}`;
  }
  return text;
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return JSON.stringify(String(value));
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * Wraps `fetch` to log each HTTP request at debug level with its method, URL, status and time
 * in ms. Headers are never logged, because they carry the API key.
 */
export function loggingFetch(fetch: FetchLike, logger: RunflowLogger, now: () => number = Date.now): FetchLike {
  return async (url, init) => {
    const startedAt = now();
    try {
      const response = await fetch(url, init);
      logger.debug('HTTP request', {
        method: init.method,
        url,
        status: response.status,
        durationMs: now() - startedAt,
      });
      return response;
    } catch (error) {
      logger.debug('HTTP request failed', { method: init.method, url, error, durationMs: now() - startedAt });
      throw error;
    }
  };
}
