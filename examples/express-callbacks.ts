/**
 * An Express app that receives Runflow callbacks and finishes runs by them.
 *
 * Run it with `npx tsx examples/express-callbacks.ts`. It starts the simulator from
 * runflow-rx/testing with a callback secret, serves the callback route on 127.0.0.1, and renders
 * one image whose completion arrives as a signed callback. Against Runflow, the route must be
 * reachable from the internet (a tunnel in development) and the secret is the `plain_secret` of
 * your callback secret.
 */
import type { AddressInfo } from 'node:net';

import express from 'express';
import { lastValueFrom, tap } from 'rxjs';

import { createCallbackReceiver, createRunflowClient, expressCallbackHandler, finalRun, outputItems } from 'runflow-rx';
import { startSimulator } from 'runflow-rx/testing';

const CALLBACK_PATH = '/runflow/callbacks';

/** Starts the app and renders one image; resolves to the output URLs. */
export async function renderWithCallbacks(
  timeScale = 1,
  print: (line: string) => void = console.log,
): Promise<string[]> {
  const secret = 'whsec_example_secret';
  const simulator = await startSimulator({ timeScale, callbackSecret: secret });
  const receiver = createCallbackReceiver({ secrets: [secret] });

  const app = express();
  // The callback route comes before any JSON body parser: the signature covers the raw bytes.
  app.post(CALLBACK_PATH, expressCallbackHandler(receiver));
  app.use(express.json());
  app.get('/health', (_request, response) => {
    response.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;
  receiver.envelopes.subscribe((envelope) => print(`callback: ${envelope.event} for run ${envelope.run_id}`));

  try {
    const runflow = createRunflowClient({ apiKey: simulator.apiKey, baseUrl: simulator.url });
    const run = await lastValueFrom(
      runflow
        .run(
          'openai/gpt-image-1.5',
          { input: { prompt: 'a lighthouse at dusk' }, callbackUrl },
          { callbacks: receiver },
        )
        .pipe(
          tap((event) => {
            if (event.type === 'status') print(`status: ${event.status}`);
          }),
          finalRun(),
        ),
    );
    return outputItems(run.output).map((item) => item.url);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    receiver.close();
    await simulator.close();
  }
}

if (process.argv[1]?.endsWith('express-callbacks.ts')) {
  renderWithCallbacks().then(
    (urls) => console.log(urls.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
