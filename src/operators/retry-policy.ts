import type { RunFailedError } from '../errors.js';

/** Failure codes that `retryRun` retries by default: failures of the provider or the platform. */
export const DEFAULT_RETRYABLE_FAILURE_CODES: readonly string[] = Object.freeze([
  'PROVIDER_ERROR',
  'PROVIDER_TIMEOUT',
  'INTERNAL_ERROR',
  'MODEL_UNAVAILABLE',
]);

/** Failure codes that are never retried: the same input would fail again. */
const INPUT_FAILURE_CODES: ReadonlySet<string> = new Set(['INPUT_VALIDATION_FAILED', 'CONTENT_POLICY_VIOLATION']);

/**
 * Words that mark an unlisted failure code as a problem of the request rather than of the
 * provider. NOTE: Runflow does not document its full list of failure codes, so this is a guess
 * from the names of the known ones.
 */
const INPUT_CODE_WORDS = /INPUT|INVALID|VALIDATION|POLICY|CREDIT|PERMISSION/;

/** Stages whose failures the provider or the platform caused, unless the code names an input problem. */
const TRANSIENT_STAGES: ReadonlySet<string> = new Set(['dispatch', 'provider']);

/**
 * Decides whether a failed run is worth running again, by its failure code and stage.
 *
 * In order:
 * 1. `INPUT_VALIDATION_FAILED` and `CONTENT_POLICY_VIOLATION` are never retried, nor is any
 *    failure at stage `preprocess`, where the input is checked.
 * 2. A code in `retryableCodes` (default `DEFAULT_RETRYABLE_FAILURE_CODES`) is retried.
 * 3. A failure at stage `dispatch` or `provider` is retried, unless its code contains INPUT,
 *    INVALID, VALIDATION, POLICY, CREDIT or PERMISSION. A missing code counts as retryable here.
 * 4. Everything else, such as a failure at `postprocess` with an unlisted code, is not retried.
 *
 * Codes are compared in upper case and stages in lower case.
 *
 * @example
 * ```ts
 * const retryProviderFailures = retryRun({
 *   shouldRetry: (error) => isRetryableRunFailure(error) && error.failureCode !== 'PROVIDER_TIMEOUT',
 * });
 * ```
 */
export function isRetryableRunFailure(
  error: RunFailedError,
  retryableCodes: readonly string[] = DEFAULT_RETRYABLE_FAILURE_CODES,
): boolean {
  const code = error.failureCode?.toUpperCase();
  const stage = error.failureStage?.toLowerCase();

  if (code !== undefined && INPUT_FAILURE_CODES.has(code)) return false;
  if (stage === 'preprocess') return false;
  if (code !== undefined && retryableCodes.some((retryable) => retryable.toUpperCase() === code)) return true;
  if (stage !== undefined && TRANSIENT_STAGES.has(stage)) return code === undefined || !INPUT_CODE_WORDS.test(code);
  return false;
}
