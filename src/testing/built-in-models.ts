/**
 * The models every simulator starts with. Their ids mirror documented Runflow model paths,
 * but their inputs, timings, outputs and prices are the simulator's own and not Runflow's.
 */
import { onePixelPngBytes } from './files.js';
import { validateFields, type ModelTimeline, type SimulatedModel, type SimulatedOutput } from './models.js';

/** Smallest and largest image side in pixels that the built-in image models accept. */
const MIN_SIDE_PX = 64;
const MAX_SIDE_PX = 4096;

/** Rough size of a generated PNG in bytes per pixel, used for `size_bytes`. */
const PNG_BYTES_PER_PIXEL = 1.3;

/** Rough size of the generated 720p H.264 video in bytes per second, used for `size_bytes`. */
const VIDEO_BYTES_PER_SECOND = 450_000;

function integerOr(input: Readonly<Record<string, unknown>>, field: string, fallback: number): number {
  const value = input[field];
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

function pngOutput(url: string, width: number, height: number): SimulatedOutput {
  return {
    type: 'image',
    url,
    content_type: 'image/png',
    size_bytes: Math.round(width * height * PNG_BYTES_PER_PIXEL),
    width,
    height,
  };
}

/**
 * Single-step text-to-image model, `openai/gpt-image-1.5`.
 *
 * Input: `prompt` (string, required), `width` and `height` (integers 64–4096, default 1024),
 * `num_images` (integer 1–4, default 1), `seed` (integer, echoed as `output.seed`) and
 * `sync_mode` (boolean). With `sync_mode: true` the outputs are `data:` URIs instead of file URLs.
 * Timeline: 400 ms queued, 300 ms dispatching, one 1800 ms step `generate_image`.
 * No node-runs. Price: 0.04 USD per image.
 */
export const gptImageModel: SimulatedModel = {
  id: 'openai/gpt-image-1.5',
  validateInput: validateFields({
    prompt: { type: 'string', required: true, minLength: 1, maxLength: 32_000 },
    width: { type: 'integer', min: MIN_SIDE_PX, max: MAX_SIDE_PX },
    height: { type: 'integer', min: MIN_SIDE_PX, max: MAX_SIDE_PX },
    num_images: { type: 'integer', min: 1, max: 4 },
    seed: { type: 'integer', min: 0, max: 2 ** 32 - 1 },
    sync_mode: { type: 'boolean' },
  }),
  timeline: (input): ModelTimeline => {
    const count = integerOr(input, 'num_images', 1);
    return {
      queuedMs: 400,
      dispatchingMs: 300,
      steps: [
        {
          node: 'generate_image',
          durationMs: 1800,
          logs: [
            'Sending the prompt to the provider',
            { message: 'Provider accepted the request', level: 'debug' },
            count === 1 ? 'Uploading 1 image' : `Uploading ${count} images`,
          ],
        },
      ],
    };
  },
  buildOutputs: ({ input, fileUrl }) => {
    const width = integerOr(input, 'width', 1024);
    const height = integerOr(input, 'height', 1024);
    const count = integerOr(input, 'num_images', 1);
    if (input['sync_mode'] === true) {
      // NOTE: the data URI contains a 1×1 placeholder PNG, but width and height echo the request.
      const png = onePixelPngBytes();
      const url = `data:image/png;base64,${png.toString('base64')}`;
      return Array.from({ length: count }, () => ({ ...pngOutput(url, width, height), size_bytes: png.length }));
    }
    return Array.from({ length: count }, (_, index) => pngOutput(fileUrl(`${index}.png`), width, height));
  },
  costUsd: (input) => 0.04 * integerOr(input, 'num_images', 1),
};

/**
 * Single-step image resize model, `runflow/smart-resize`.
 *
 * Input: `image_url` (string, required; the simulator never downloads it), `width` and
 * `height` (integers 64–4096, required).
 * Timeline: 300 ms queued, 200 ms dispatching, one 700 ms step `resize`. No node-runs.
 * Price: 0.002 USD.
 */
export const smartResizeModel: SimulatedModel = {
  id: 'runflow/smart-resize',
  validateInput: validateFields({
    image_url: { type: 'string', required: true, minLength: 1 },
    width: { type: 'integer', required: true, min: MIN_SIDE_PX, max: MAX_SIDE_PX },
    height: { type: 'integer', required: true, min: MIN_SIDE_PX, max: MAX_SIDE_PX },
  }),
  timeline: (input) => ({
    queuedMs: 300,
    dispatchingMs: 200,
    steps: [
      {
        node: 'resize',
        durationMs: 700,
        logs: [
          'Downloading the source image',
          `Resizing to ${integerOr(input, 'width', 0)}x${integerOr(input, 'height', 0)}`,
        ],
      },
    ],
  }),
  buildOutputs: ({ input, fileUrl }) => [
    pngOutput(fileUrl('0.png'), integerOr(input, 'width', 0), integerOr(input, 'height', 0)),
  ],
  costUsd: 0.002,
};

const VIDEO_SIZES: Readonly<Record<string, { width: number; height: number }>> = {
  '16:9': { width: 1280, height: 720 },
  '9:16': { width: 720, height: 1280 },
  '1:1': { width: 960, height: 960 },
};

function videoSize(input: Readonly<Record<string, unknown>>): { width: number; height: number } {
  const aspectRatio = typeof input['aspect_ratio'] === 'string' ? input['aspect_ratio'] : '16:9';
  return VIDEO_SIZES[aspectRatio] ?? { width: 1280, height: 720 };
}

/**
 * Multi-step text-to-video model, `bytedance/seedance/2.0/fast/text-to-video`, with node-runs.
 *
 * Input: `prompt` (string, required), `duration_s` (integer 1–15, default 5) and
 * `aspect_ratio` (`16:9`, `9:16` or `1:1`, default `16:9`).
 * Timeline: 400 ms queued, 300 ms dispatching, then the steps `encode_prompt` (800 ms),
 * `generate_frames` (1000 ms + 100 ms per second of video, 1500 ms by default),
 * `upscale_frames` (1000 ms) and `encode_video` (900 ms).
 * Outputs: the MP4 video and a PNG poster frame. Price: 0.05 USD per second of video.
 */
export const seedanceVideoModel: SimulatedModel = {
  id: 'bytedance/seedance/2.0/fast/text-to-video',
  reportsNodeRuns: true,
  validateInput: validateFields({
    prompt: { type: 'string', required: true, minLength: 1, maxLength: 4000 },
    duration_s: { type: 'integer', min: 1, max: 15 },
    aspect_ratio: { type: 'string', oneOf: Object.keys(VIDEO_SIZES) },
  }),
  timeline: (input) => {
    const durationS = integerOr(input, 'duration_s', 5);
    const { width, height } = videoSize(input);
    const frameCount = durationS * 24;
    return {
      queuedMs: 400,
      dispatchingMs: 300,
      steps: [
        {
          node: 'encode_prompt',
          durationMs: 800,
          logs: [{ message: 'Tokenizing the prompt', level: 'debug' }, 'Prompt encoded'],
        },
        {
          node: 'generate_frames',
          durationMs: 1000 + 100 * durationS,
          logs: [`Generating ${frameCount} frames`, 'Denoising pass 1 of 2', 'Denoising pass 2 of 2'],
        },
        {
          node: 'upscale_frames',
          durationMs: 1000,
          logs: [`Upscaling ${frameCount} frames to ${width}x${height}`],
        },
        {
          node: 'encode_video',
          durationMs: 900,
          logs: ['Encoding H.264 video', 'Uploading the video and the poster frame'],
        },
      ],
    };
  },
  buildOutputs: ({ input, fileUrl }) => {
    const durationS = integerOr(input, 'duration_s', 5);
    const { width, height } = videoSize(input);
    return [
      {
        type: 'video',
        url: fileUrl('0.mp4'),
        content_type: 'video/mp4',
        size_bytes: durationS * VIDEO_BYTES_PER_SECOND,
        width,
        height,
        duration: durationS,
      },
      pngOutput(fileUrl('1.png'), width, height),
    ];
  },
  costUsd: (input) => 0.05 * integerOr(input, 'duration_s', 5),
};

/** The models every simulator starts with; `SimulatorConfig.models` adds to or replaces them by id. */
export const builtInModels: readonly SimulatedModel[] = [gptImageModel, smartResizeModel, seedanceVideoModel];
