/**
 * Error responses. Every error body is the documented envelope `{code, message, errors}`.
 * `errors` is null or lists per-field problems as `{loc, msg, type}`. The docs leave the
 * element shape open, so that shape is the simulator's choice.
 */

/** One per-field problem in the `errors` array of an error response. */
export interface ErrorDetail {
  /** Location of the problem, e.g. `['body', 'input', 'prompt']` or `['query', 'limit']`. */
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly type: string;
  /** Documented category of the problem; only callback redelivery guards set it, to `conflict`. */
  readonly error_type?: string;
}

/** An error response to send; route handlers throw it and the server writes the envelope. */
export class SimulatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: readonly ErrorDetail[] | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'SimulatorHttpError';
  }

  /** Returns the JSON body `{code, message, errors}`. */
  toBody(): { code: string; message: string; errors: readonly ErrorDetail[] | null } {
    return { code: this.code, message: this.message, errors: this.errors };
  }
}

/** Returns a 422 VALIDATION_ERROR whose message lists every problem. */
export function validationError(errors: readonly ErrorDetail[]): SimulatorHttpError {
  const summary = errors.map((error) => `${error.loc.join('.')}: ${error.msg}`).join(' ');
  return new SimulatorHttpError(422, 'VALIDATION_ERROR', `Request validation failed. ${summary}`, errors);
}

/** Returns a 422 VALIDATION_ERROR for one invalid query parameter. */
export function invalidQueryParameter(name: string, msg: string, type = 'invalid_value'): SimulatorHttpError {
  return validationError([{ loc: ['query', name], msg, type }]);
}
