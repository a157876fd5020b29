import {
  isRunFailedError,
  isRunflowConnectionError,
  isRunflowError,
  isRunflowHttpError,
  isRunTimeoutError,
} from '../errors.js';
import { UsageError } from './options.js';

/** The model id or run id of the failed command, for messages that name the value at fault. */
export interface ErrorContext {
  readonly modelId?: string;
  readonly runId?: string;
}

/** Describes an error of a command in one message that names the value at fault and the fix. */
export function describeError(error: unknown, context: ErrorContext): string {
  if (isRunFailedError(error)) {
    return (
      `run ${error.runId} failed: ${error.failureCode ?? 'no failure code'}` +
      ` at stage ${error.failureStage ?? 'unknown'}${error.failureMessage ? `: ${error.failureMessage}` : ''}`
    );
  }
  if (isRunflowHttpError(error)) {
    if (error.status === 401) {
      return `the server rejected the API key (HTTP 401 ${error.code ?? ''}); check RUNFLOW_API_KEY`;
    }
    if (error.code === 'MODEL_NOT_FOUND') {
      return `unknown model "${context.modelId ?? ''}" (HTTP 404); check the model id`;
    }
    if (error.status === 404 && context.runId !== undefined) {
      return (
        `run "${context.runId}" not found (HTTP 404 ${error.code ?? ''}); ` +
        'check the run id and that RUNFLOW_BASE_URL or --base-url names the server that created it'
      );
    }
    if (error.status === 422 && error.errors !== undefined && error.errors.length > 0) {
      return `the input was rejected (HTTP 422 ${error.code ?? ''}):\n${error.errors.map((entry) => `  ${describeFieldError(entry)}`).join('\n')}`;
    }
    return error.message;
  }
  if (isRunflowConnectionError(error)) {
    return `cannot reach ${new URL(error.url).origin}: ${error.message}; check --base-url or RUNFLOW_BASE_URL`;
  }
  if (isRunTimeoutError(error)) {
    return error.runId === undefined
      ? `no run was created within --timeout-ms ${error.timeoutMs}`
      : `gave up watching run ${error.runId} after --timeout-ms ${error.timeoutMs}; the run keeps going on the server`;
  }
  if (error instanceof UsageError || isRunflowError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

function describeFieldError(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return JSON.stringify(entry);
  const { loc, msg } = entry as { loc?: unknown; msg?: unknown };
  const where = Array.isArray(loc) ? loc.join('.') : undefined;
  return where !== undefined && typeof msg === 'string' ? `${where}: ${msg}` : JSON.stringify(entry);
}
