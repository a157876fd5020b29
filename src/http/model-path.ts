import { RunflowInputError, describeValue } from '../errors.js';

/**
 * Encodes a model id such as `bytedance/seedance/2.0/fast/text-to-video` for a URL path.
 *
 * Model ids are slash-separated paths of any depth. Each segment is percent-encoded on its own,
 * so a space or `#` inside a segment cannot change the route. Empty, `.` and `..` segments are
 * rejected because a URL parser would collapse them into a different path.
 */
export function encodeModelPath(modelId: unknown): string {
  if (typeof modelId !== 'string' || modelId.trim() === '') {
    throw new RunflowInputError(
      `Invalid model id ${describeValue(modelId)}: expected a slash-separated path such as "openai/gpt-image-1.5"`,
    );
  }
  const segments = modelId.split('/');
  segments.forEach((segment, index) => {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new RunflowInputError(
        `Invalid model id ${describeValue(modelId)}: segment ${index + 1} is ${segment === '' ? 'empty' : `"${segment}"`}; ` +
          'remove leading, trailing or doubled slashes and "." or ".." segments',
      );
    }
  });
  return segments.map(encodeURIComponent).join('/');
}

/** Encodes a run, log or node-run id as one path segment; rejects empty or non-string ids. */
export function encodeIdSegment(kind: string, id: unknown): string {
  if (typeof id !== 'string' || id.trim() === '') {
    throw new RunflowInputError(`Invalid ${kind} ${describeValue(id)}: expected a non-empty string`);
  }
  return encodeURIComponent(id);
}
