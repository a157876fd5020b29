import { describe, expect, it } from 'vitest';

import { RunflowInputError, encodeModelPath } from '../../src/index.js';

describe('encodeModelPath', () => {
  it('keeps the slashes of a deep model path', () => {
    expect(encodeModelPath('bytedance/seedance/2.0/fast/text-to-video')).toBe(
      'bytedance/seedance/2.0/fast/text-to-video',
    );
  });

  it('percent-encodes each segment on its own', () => {
    expect(encodeModelPath('space owner/has spaces/runs slug')).toBe('space%20owner/has%20spaces/runs%20slug');
    expect(encodeModelPath('a/b#c/d?e')).toBe('a/b%23c/d%3Fe');
  });

  it.each([
    ['', 'expected a slash-separated path'],
    ['/leading', 'segment 1 is empty'],
    ['trailing/', 'segment 2 is empty'],
    ['a//b', 'segment 2 is empty'],
    ['a/./b', 'segment 2 is "."'],
    ['a/../b', 'segment 2 is ".."'],
  ])('rejects %j', (modelId, reason) => {
    expect(() => encodeModelPath(modelId)).toThrow(RunflowInputError);
    expect(() => encodeModelPath(modelId)).toThrow(reason);
  });

  it('rejects a value that is not a string', () => {
    expect(() => encodeModelPath(42)).toThrow('Invalid model id 42');
  });
});
