import { describe, expect, it } from 'vitest';

import {
  RunCodec,
  RunflowDecodeError,
  decodeOrThrow,
  isRunflowDecodeError,
  outputItems,
  type Run,
} from '../../src/index.js';

const decodeRun = (value: unknown): Run => decodeOrThrow(RunCodec, value, 'run');

describe('RunCodec', () => {
  it('accepts null and absent optional fields', () => {
    const run = decodeRun({ id: 'r1', status_code: 'queued', output: null, cost: null, logs: null });
    expect(run.id).toBe('r1');
    expect(run.output).toBeNull();
  });

  it('keeps fields it does not name', () => {
    const run = decodeRun({ id: 'r1', status_code: 'queued', future_field: { a: 1 } });
    expect(run['future_field']).toEqual({ a: 1 });
  });

  it('keeps unknown fields beside decoded nested values', () => {
    const run = decodeRun({ id: 'r1', status_code: 'cancelled', cost: 0.25, extra: 'kept' });
    expect(run.status_code).toBe('canceled');
    expect(run.cost).toBe('0.25');
    expect(run['extra']).toBe('kept');
  });

  it('reads cancelled as canceled', () => {
    expect(decodeRun({ id: 'r1', status_code: 'cancelled' }).status_code).toBe('canceled');
  });

  it('passes unknown statuses through', () => {
    expect(decodeRun({ id: 'r1', status_code: 'paused' }).status_code).toBe('paused');
  });

  it('reads the documented status and failure_stage aliases', () => {
    const run = decodeRun({
      id: 'r1',
      status: 'failed',
      failure_stage: 'preprocess',
      failure_code: 'INPUT_VALIDATION_FAILED',
    });
    expect(run.status_code).toBe('failed');
    expect(run.failure_stage_code).toBe('preprocess');
  });

  it('accepts both timestamp offsets', () => {
    const run = decodeRun({
      id: 'r1',
      status_code: 'succeeded',
      created_at: '2026-05-06T10:00:00Z',
      completed_at: '2026-05-06T10:00:00.000+00:00',
    });
    expect(Date.parse(run.completed_at!)).toBe(Date.parse(run.created_at!));
  });

  it('decodes outputs with optional media fields', () => {
    const run = decodeRun({
      id: 'r1',
      status_code: 'succeeded',
      output: {
        outputs: [
          { type: 'video', url: 'https://cdn.example/v.mp4', duration: 5, width: 1280, height: 720, size_bytes: 10 },
          { type: 'image', url: 'https://cdn.example/i.png' },
        ],
        seed: 42,
      },
    });
    expect(outputItems(run.output).map((item) => item.type)).toEqual(['video', 'image']);
    expect(run.output?.outputs?.[0]?.duration).toBe(5);
  });

  it('falls back to the legacy image_urls shape', () => {
    const run = decodeRun({
      id: 'r1',
      status_code: 'succeeded',
      output: { image_urls: ['https://cdn.example/a.png'] },
    });
    expect(outputItems(run.output)).toEqual([{ type: 'image', url: 'https://cdn.example/a.png' }]);
  });

  it('falls back to a single image url', () => {
    const run = decodeRun({
      id: 'r1',
      status_code: 'succeeded',
      output: { image: { url: 'https://cdn.example/b.png' } },
    });
    expect(outputItems(run.output)).toEqual([{ type: 'image', url: 'https://cdn.example/b.png' }]);
  });
});

describe('RunflowDecodeError', () => {
  it('names each failing path with expected and received values', () => {
    let error: unknown;
    try {
      decodeRun({ id: 7, status_code: 'running', duration_ms: 'slow', output: { outputs: [{ type: 'image' }] } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RunflowDecodeError);
    expect(isRunflowDecodeError(error)).toBe(true);
    const decodeError = error as RunflowDecodeError;
    const lines = decodeError.message.split('\n');
    expect(lines[0]).toBe('Invalid run:');
    expect(lines).toContain('  at id: expected string, received 7');
    expect(lines).toContain('  at duration_ms: expected number | null, received "slow"');
    expect(lines).toContain('  at output.outputs.0.url: expected string, received undefined');
    expect(decodeError.issues).toHaveLength(3);
    expect(decodeError.value).toMatchObject({ id: 7 });
  });

  it('reports a body that is not an object at the root', () => {
    expect(() => decodeRun('<html>')).toThrow('at <root>: expected run, received "<html>"');
  });
});
