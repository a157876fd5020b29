/**
 * The runflow-rx error hierarchy.
 *
 * Every error carries a brand (a symbol registered with `Symbol.for`), so the guards below work
 * when two copies of the package meet in one process, where `instanceof` would fail. Messages are
 * short and name the failing value; details live in fields. No error stores the API key or the
 * request headers.
 */

import type { Run } from './codecs/run.js';

const BRAND = Symbol.for('runflow-rx.error');

/** The kind of a runflow-rx error, also stored in `name`. */
export type RunflowErrorKind =
  | 'RunflowError'
  | 'RunflowHttpError'
  | 'RunflowConnectionError'
  | 'RunflowRequestTimeoutError'
  | 'RunflowDecodeError'
  | 'RunflowInputError'
  | 'RunFailedError'
  | 'RunTimeoutError'
  | 'RunflowBatchCreateError';

/** The base class of every error this library raises. */
export class RunflowError extends Error {
  readonly [BRAND]: RunflowErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this[BRAND] = new.target.name as RunflowErrorKind;
  }

  /** Returns a plain object for logs and JSON. It contains no secrets because no error stores them. */
  toJSON(): Record<string, unknown> {
    const fields: Record<string, unknown> = { name: this.name, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (key !== 'cause') fields[key] = value;
    }
    return fields;
  }
}

/** An HTTP response with a non-2xx status, or a 2xx response whose body could not be used. */
export class RunflowHttpError extends RunflowError {
  /** The error envelope's `code`, or undefined when the body was not an envelope. */
  readonly code: string | undefined;
  /** The envelope's `errors[]` (per-field details of a 422), or undefined. */
  readonly errors: readonly unknown[] | undefined;
  /** Up to 200 characters of a body that was not a JSON envelope, such as an HTML 502 page. */
  readonly bodyExcerpt: string | undefined;
  /** The `Runflow-Request-Id` or `X-Request-Id` response header, when present. */
  readonly requestId: string | undefined;
  /**
   * The delay the server advised before a retry, in ms, from `retry-after-ms` or `Retry-After`
   * (seconds or an HTTP date); undefined when absent or unreadable. Not clamped.
   */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    readonly status: number,
    readonly method: string,
    readonly url: string,
    details: {
      code?: string | undefined;
      errors?: readonly unknown[] | undefined;
      bodyExcerpt?: string | undefined;
      requestId?: string | undefined;
      retryAfterMs?: number | undefined;
    } = {},
  ) {
    super(message);
    this.code = details.code;
    this.errors = details.errors;
    this.bodyExcerpt = details.bodyExcerpt;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** A request that failed before a response arrived: refused, reset or DNS failure. */
export class RunflowConnectionError extends RunflowError {
  constructor(
    message: string,
    readonly method: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A single request that took longer than its per-request timeout. */
export class RunflowRequestTimeoutError extends RunflowError {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} ${url} timed out after ${timeoutMs} ms; raise requestTimeoutMs if the server is slow`);
  }
}

/** One value that failed to decode: where it is, what was expected, what arrived. */
export interface DecodeIssue {
  /** Dotted path from the root, e.g. `items.0.status_code`; empty for the root itself. */
  readonly path: string;
  readonly expected: string;
  readonly received: unknown;
}

/** A response or callback body that does not have the documented shape. */
export class RunflowDecodeError extends RunflowError {
  /**
   * True when the body was empty or not JSON at all, which a proxy or a cut connection can cause,
   * as opposed to JSON of the wrong shape. Transport retry treats only the former as transient.
   */
  readonly unparsable: boolean;

  constructor(
    /** Name of the decoded value, e.g. `run` or `GET /v1/runs/{id} response`. */
    readonly target: string,
    readonly issues: readonly DecodeIssue[],
    /** The value as received. */
    readonly value: unknown,
    options: { unparsable?: boolean } = {},
  ) {
    super(
      `Invalid ${target}:\n` +
        issues
          .map(
            (issue) =>
              `  at ${issue.path === '' ? '<root>' : issue.path}: expected ${issue.expected}, received ${describeValue(issue.received)}`,
          )
          .join('\n'),
    );
    this.unparsable = options.unparsable ?? false;
  }
}

/** An argument that is invalid before any request is sent, such as an empty model id segment. */
export class RunflowInputError extends RunflowError {}

/** A run that ended with status `failed`. */
export class RunFailedError extends RunflowError {
  readonly runId: string;
  readonly failureCode: string | undefined;
  readonly failureStage: string | undefined;
  readonly failureMessage: string | undefined;

  constructor(readonly run: Run) {
    const runId = run.id;
    const code = run.failure_code ?? undefined;
    const stage = run.failure_stage_code ?? run.failure_stage ?? undefined;
    const failureMessage = run.failure_message ?? undefined;
    super(
      `Run ${runId} failed` +
        (code === undefined ? '' : ` with ${code}`) +
        (stage === undefined ? '' : ` at stage ${stage}`) +
        (failureMessage === undefined ? '' : `: ${failureMessage}`),
    );
    this.runId = runId;
    this.failureCode = code;
    this.failureStage = stage;
    this.failureMessage = failureMessage;
  }
}

/** A run that did not reach a terminal status within its `timeoutMs` deadline. */
export class RunTimeoutError extends RunflowError {
  constructor(
    /** Id of the run (or batch) watched, or undefined when it was not created in time. */
    readonly runId: string | undefined,
    readonly timeoutMs: number,
    /** The last snapshot observed before the deadline, if any arrived. */
    readonly lastRun: Run | undefined,
    /** Kind of the watched resource, for the message: `Run` or `Batch`. */
    subject: 'Run' | 'Batch' = 'Run',
  ) {
    super(
      runId === undefined
        ? `No ${subject.toLowerCase()} was created within ${timeoutMs} ms; raise timeoutMs or check the server`
        : `${subject} ${runId} did not finish within ${timeoutMs} ms; it keeps running on the server, ` +
            `so raise timeoutMs or keep watching it with ${subject === 'Run' ? 'watch(runId)' : 'batches.watch(batchId)'}`,
    );
  }
}

/**
 * A split batch create whose request for inputs `firstInput` to `lastInput` failed after earlier
 * requests had created batches. Those batches run on; their ids are in `createdBatchIds`.
 */
export class RunflowBatchCreateError extends RunflowError {
  constructor(
    /** Ids of the batches created before the failure, in input order. */
    readonly createdBatchIds: readonly string[],
    /** Index in the caller's input list of the first input of the failed request. */
    readonly firstInput: number,
    /** Index in the caller's input list of the last input of the failed request. */
    readonly lastInput: number,
    cause: unknown,
  ) {
    super(
      `Batch request for inputs ${firstInput} to ${lastInput} failed after ${createdBatchIds.length} batch(es) were created ` +
        `(${createdBatchIds.join(', ')}); item indexes in the cause count from input ${firstInput}: ` +
        (cause instanceof Error ? cause.message : String(cause)),
      { cause },
    );
  }
}

function brandOf(value: unknown): RunflowErrorKind | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as { [BRAND]?: RunflowErrorKind })[BRAND];
}

/** Shortens a received value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  // JSON would print NaN and Infinity as null, which misnames the value.
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True for any runflow-rx error, from this copy of the package or another. */
export function isRunflowError(value: unknown): value is RunflowError {
  return brandOf(value) !== undefined;
}

export function isRunflowHttpError(value: unknown): value is RunflowHttpError {
  return brandOf(value) === 'RunflowHttpError';
}

export function isRunflowConnectionError(value: unknown): value is RunflowConnectionError {
  return brandOf(value) === 'RunflowConnectionError';
}

export function isRunflowRequestTimeoutError(value: unknown): value is RunflowRequestTimeoutError {
  return brandOf(value) === 'RunflowRequestTimeoutError';
}

export function isRunflowDecodeError(value: unknown): value is RunflowDecodeError {
  return brandOf(value) === 'RunflowDecodeError';
}

export function isRunflowInputError(value: unknown): value is RunflowInputError {
  return brandOf(value) === 'RunflowInputError';
}

export function isRunFailedError(value: unknown): value is RunFailedError {
  return brandOf(value) === 'RunFailedError';
}

export function isRunflowBatchCreateError(value: unknown): value is RunflowBatchCreateError {
  return brandOf(value) === 'RunflowBatchCreateError';
}

export function isRunTimeoutError(value: unknown): value is RunTimeoutError {
  return brandOf(value) === 'RunTimeoutError';
}

/**
 * Throws RunflowInputError when `settings` has a key outside `known`, naming the key and the
 * closest known one, because a misspelled option would otherwise be ignored without a word.
 */
export function checkKnownKeys(name: string, settings: object | undefined, known: readonly string[]): void {
  if (settings === undefined || settings === null || typeof settings !== 'object') return;
  for (const key of Object.keys(settings)) {
    if (known.includes(key)) continue;
    const closest = known.reduce((best, candidate) =>
      editDistance(key, candidate) < editDistance(key, best) ? candidate : best,
    );
    const hint = editDistance(key, closest) <= 3 ? `did you mean "${closest}"? ` : '';
    throw new RunflowInputError(`Unknown ${name} option "${key}": ${hint}expected one of ${known.join(', ')}`);
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
