import { describe, expect, it } from 'vitest';

import {
  RunFailedError,
  RunflowError,
  RunflowHttpError,
  isRunFailedError,
  isRunflowError,
  isRunflowHttpError,
  type Run,
} from '../../src/index.js';

describe('error guards', () => {
  it('recognise errors by brand, not by class identity', () => {
    // An error built by another copy of the package has the same brand but another class.
    const foreign = Object.assign(new Error('from another copy'), {
      [Symbol.for('runflow-rx.error')]: 'RunflowHttpError',
    });
    expect(foreign instanceof RunflowError).toBe(false);
    expect(isRunflowError(foreign)).toBe(true);
    expect(isRunflowHttpError(foreign)).toBe(true);
    expect(isRunFailedError(foreign)).toBe(false);
  });

  it('reject values that are not errors of this library', () => {
    for (const value of [undefined, null, 'RunflowError', new Error('plain'), { name: 'RunflowHttpError' }]) {
      expect(isRunflowError(value)).toBe(false);
    }
  });

  it('set name to the class name', () => {
    const error = new RunflowHttpError('GET /v1/runs/x failed with HTTP 404', 404, 'GET', 'http://127.0.0.1/v1/runs/x');
    expect(error.name).toBe('RunflowHttpError');
    expect(error).toBeInstanceOf(RunflowError);
  });
});

describe('RunFailedError', () => {
  it('carries the failure code, stage and message of the run', () => {
    const run = {
      id: 'r1',
      status_code: 'failed',
      failure_code: 'PROVIDER_TIMEOUT',
      failure_stage_code: 'provider',
      failure_message: 'The provider did not answer in time',
    } as Run;
    const error = new RunFailedError(run);
    expect(error.failureCode).toBe('PROVIDER_TIMEOUT');
    expect(error.failureStage).toBe('provider');
    expect(error.failureMessage).toBe('The provider did not answer in time');
    expect(error.message).toBe(
      'Run r1 failed with PROVIDER_TIMEOUT at stage provider: The provider did not answer in time',
    );
    expect(error.run).toBe(run);
  });

  it('reads failure_stage when failure_stage_code is absent', () => {
    const error = new RunFailedError({ id: 'r2', status_code: 'failed', failure_stage: 'preprocess' } as Run);
    expect(error.failureStage).toBe('preprocess');
    expect(error.failureCode).toBeUndefined();
    expect(error.message).toBe('Run r2 failed at stage preprocess');
  });

  it('serialises its fields with toJSON', () => {
    const json = JSON.parse(
      JSON.stringify(new RunFailedError({ id: 'r3', status_code: 'failed', failure_code: 'X' } as Run)),
    ) as Record<string, unknown>;
    expect(json).toMatchObject({ name: 'RunFailedError', runId: 'r3', failureCode: 'X' });
  });
});
