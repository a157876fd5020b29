/**
 * A test of user code written against the simulator from runflow-rx/testing: the function under
 * test renders a thumbnail and turns a failed run into a message for the user.
 */
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRunflowClient, finalRun, isRunFailedError, outputItems, type RunflowClient } from 'runflow-rx';
import { startSimulator, type Simulator } from 'runflow-rx/testing';

/** The user code under test: returns the thumbnail URL, or throws an Error fit for the user. */
async function renderThumbnail(client: RunflowClient, prompt: string, simulate?: object): Promise<string> {
  try {
    const run = await lastValueFrom(
      client
        .run('openai/gpt-image-1.5', { input: { prompt, width: 256, height: 256, ...(simulate ? { simulate } : {}) } })
        .pipe(finalRun()),
    );
    const image = outputItems(run.output).find((item) => item.type === 'image');
    if (image === undefined) throw new Error('The render produced no image; try again');
    return image.url;
  } catch (error) {
    if (isRunFailedError(error) && error.failureCode === 'CONTENT_POLICY_VIOLATION') {
      throw new Error('This prompt is not allowed; change it and try again');
    }
    throw error;
  }
}

describe('renderThumbnail', () => {
  let simulator: Simulator;
  let client: RunflowClient;

  beforeAll(async () => {
    // 50 simulated ms per real ms: a 2.5 s render takes about 50 ms.
    simulator = await startSimulator({ timeScale: 50 });
    client = createRunflowClient({
      apiKey: simulator.apiKey,
      baseUrl: simulator.url,
      poll: { intervalMs: 5 },
      budget: { requestsPerSecond: 1000, burst: 100 },
    });
  });

  afterAll(async () => {
    await simulator.close();
  });

  it('returns the image URL', async () => {
    const url = await renderThumbnail(client, 'a lighthouse');
    expect(url.startsWith(`${simulator.url}/files/`)).toBe(true);
  });

  it('explains a content policy failure', async () => {
    await expect(
      renderThumbnail(client, 'something not allowed', { outcome: 'failed', failureCode: 'CONTENT_POLICY_VIOLATION' }),
    ).rejects.toThrow('This prompt is not allowed');
  });

  it('reports a partial success without an image', async () => {
    // Partial success keeps half of the outputs, rounded down: none of a single image.
    await expect(renderThumbnail(client, 'x', { outcome: 'partial_succeeded' })).rejects.toThrow('produced no image');
  });
});
