import { from, mergeMap, pipe, type OperatorFunction } from 'rxjs';

import { outputItems, type OutputItem, type OutputType } from '../codecs/output.js';
import { RunflowInputError, describeValue } from '../errors.js';
import type { RunStreamEvent } from './events.js';
import { finalRun } from './final-run.js';

/**
 * Emits the output items of the final run, optionally only those of one media type.
 *
 * Waits for the source to complete, like `finalRun`, then emits each entry of the final run's
 * output as `outputItems` lists it (`outputs[]`, the older `image_urls[]`, or a single
 * `image.url`), in order. A canceled run and a run without output emit nothing; a partial success
 * emits the items it kept. A failed run errors with RunFailedError.
 *
 * `type` selects the items to keep:
 * - a kind such as `'image'`, `'video'` or `'audio'` matches the item's `type`;
 * - a MIME type such as `'video/mp4'` matches the item's `content_type`, ignoring case and
 *   parameters;
 * - a wildcard such as `'image/*'` matches the top-level part of `content_type`, or the item's
 *   `type` when `content_type` is absent.
 *
 * Throws RunflowInputError at the call when `type` is not a non-empty string.
 *
 * @example
 * ```ts
 * const videos = await lastValueFrom(
 *   runflow
 *     .run('bytedance/seedance/2.0/fast/text-to-video', { input: { prompt: 'waves' } })
 *     .pipe(outputs('video'), toArray()),
 * );
 * // videos: [{ type: 'video', url: '…/0.mp4', content_type: 'video/mp4', … }]
 * ```
 */
export function outputs(type?: OutputType): OperatorFunction<RunStreamEvent, OutputItem> {
  const matches = outputFilter(type);
  return pipe(
    finalRun(),
    mergeMap((run) => from(outputItems(run.output).filter(matches))),
  );
}

function outputFilter(type: OutputType | undefined): (item: OutputItem) => boolean {
  if (type === undefined) return () => true;
  if (typeof type !== 'string' || type.trim() === '') {
    throw new RunflowInputError(
      `Invalid output type ${describeValue(type)}: expected a kind such as "image", a MIME type such as "video/mp4" or a wildcard such as "image/*", or no argument for every item`,
    );
  }
  const requested = type.trim().toLowerCase();
  if (!requested.includes('/')) return (item) => item.type.toLowerCase() === requested;

  if (requested.endsWith('/*')) {
    const topLevel = requested.slice(0, -2);
    return (item) => {
      const contentType = mediaType(item.content_type);
      return contentType === undefined ? item.type.toLowerCase() === topLevel : contentType.split('/')[0] === topLevel;
    };
  }
  return (item) => mediaType(item.content_type) === requested;
}

/** Returns `content_type` without parameters, in lower case, or undefined when absent. */
function mediaType(contentType: string | null | undefined): string | undefined {
  if (contentType === null || contentType === undefined) return undefined;
  return contentType.split(';')[0]!.trim().toLowerCase();
}
