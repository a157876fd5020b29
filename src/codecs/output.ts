import * as t from 'io-ts';

import { nullable } from './primitives.js';

/** The media kind of one output entry: documented as image, video or audio. */
export type OutputType = 'image' | 'video' | 'audio' | (string & {});

/** One entry of `output.outputs[]`. Only `type` and `url` are documented; the rest may be absent. */
export const OutputItemCodec = t.intersection(
  [
    t.type({ type: t.string, url: t.string }),
    t.partial({
      width: nullable(t.number),
      height: nullable(t.number),
      /** Seconds, for video and audio. */
      duration: nullable(t.number),
      content_type: nullable(t.string),
      size_bytes: nullable(t.number),
    }),
  ],
  'output item',
);

export type OutputItem = t.TypeOf<typeof OutputItemCodec> & { readonly type: OutputType };

/**
 * A run's normalised output. `outputs[]` is the documented shape; `image_urls[]` is an older
 * shape that one callback example still shows, so it is accepted too.
 */
export const RunOutputCodec = t.partial(
  {
    outputs: nullable(t.array(OutputItemCodec)),
    image_urls: nullable(t.array(t.string)),
    seed: t.unknown,
    timing: t.unknown,
    nsfw_detected: t.unknown,
  },
  'run output',
);

export type RunOutput = t.TypeOf<typeof RunOutputCodec> & { readonly [key: string]: unknown };

/**
 * Lists a run's output media in one shape, whichever shape the server used: `outputs[]` first,
 * then the older `image_urls[]`, then a single `image.url`. Returns an empty array for no output.
 */
export function outputItems(output: RunOutput | null | undefined): OutputItem[] {
  if (output === null || output === undefined) return [];
  if (output.outputs) return output.outputs;
  if (output.image_urls) return output.image_urls.map((url) => ({ type: 'image', url }));
  const image = output['image'];
  if (typeof image === 'object' && image !== null && typeof (image as { url?: unknown }).url === 'string') {
    return [{ type: 'image', url: (image as { url: string }).url }];
  }
  return [];
}
