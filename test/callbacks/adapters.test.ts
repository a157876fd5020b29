import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';

import {
  createCallbackReceiver,
  expressCallbackHandler,
  fastifyCallbackPlugin,
  fetchCallbackHandler,
  listenForCallbacks,
  type CallbackEnvelope,
  type CallbackReceiver,
} from '../../src/index.js';

const SECRET = 'whsec_adapter_secret';
const PATH = '/runflow/callbacks';
const BODY = JSON.stringify({
  event: 'run.completed',
  run_id: 'run-42',
  status: 'succeeded',
  output: { outputs: [] },
  metadata: { note: 'ünïcödé ✓' },
  completed_at: '2026-05-06T10:00:00.000+00:00',
});
const signature = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function receiverWithLog(): { receiver: CallbackReceiver; received: CallbackEnvelope[] } {
  const receiver = createCallbackReceiver({ secrets: [SECRET], maxBodyBytes: 64 * 1024 });
  const received: CallbackEnvelope[] = [];
  receiver.runEnvelopes('run-42').subscribe((item) => received.push(item));
  return { receiver, received };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'runflow-signature': signature(body), ...headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/** Checks an adapter end to end: accepts a signed body, rejects a forged one, limits the size. */
async function expectAdapterBehaviour(url: string, received: CallbackEnvelope[]): Promise<void> {
  expect((await post(url, BODY)).status).toBe(200);
  expect(received.map((item) => item.run_id)).toEqual(['run-42']);
  expect((await post(url, BODY, { 'runflow-signature': signature(`${BODY} `) })).status).toBe(401);
  const big = JSON.stringify({ event: 'run.completed', run_id: 'run-43', pad: 'x'.repeat(70 * 1024) });
  expect((await post(url, big)).status).toBe(413);
}

describe('callback adapters with real servers', () => {
  it('node:http listener', async () => {
    const { receiver, received } = receiverWithLog();
    const server = await listenForCallbacks(receiver, { path: PATH });
    cleanups.push(() => server.close());
    await expectAdapterBehaviour(`${server.url}${PATH}`, received);
    expect((await fetch(`${server.url}${PATH}`)).status).toBe(405);
    expect((await post(`${server.url}/other`, BODY)).status).toBe(404);
  });

  it('fetch-API handler served through node:http', async () => {
    const { receiver, received } = receiverWithLog();
    const handle = fetchCallbackHandler(receiver, { path: PATH });
    // A minimal bridge from node:http to the fetch API, as edge runtimes would call the handler.
    const server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers))
        if (typeof value === 'string') headers.set(name, value);
      const answer = await handle(
        new Request(`http://127.0.0.1${request.url}`, {
          method: request.method,
          headers,
          ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        }),
      );
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' });
      response.end(await answer.text());
    });
    await expectAdapterBehaviour(`${await listen(server)}${PATH}`, received);
  });

  it('Express route without a body parser', async () => {
    const { receiver, received } = receiverWithLog();
    const app = express();
    app.post(PATH, expressCallbackHandler(receiver));
    await expectAdapterBehaviour(`${await listen(createServer(app))}${PATH}`, received);
  });

  it('Express route after express.raw', async () => {
    const { receiver, received } = receiverWithLog();
    const app = express();
    app.post(PATH, express.raw({ type: 'application/json', limit: '1mb' }), expressCallbackHandler(receiver));
    await expectAdapterBehaviour(`${await listen(createServer(app))}${PATH}`, received);
  });

  it('Express route after express.json fails with a clear error', async () => {
    const { receiver } = receiverWithLog();
    const app = express();
    const errors: string[] = [];
    app.use(express.json());
    app.post(PATH, expressCallbackHandler(receiver));
    app.use((error: Error, _request: express.Request, response: express.Response, _next: express.NextFunction) => {
      errors.push(error.message);
      response.status(500).send('misconfigured');
    });
    const url = `${await listen(createServer(app))}${PATH}`;
    expect((await post(url, BODY)).status).toBe(500);
    expect(errors[0]).toContain("express.raw({ type: 'application/json' })");
  });

  it('Fastify plugin keeps JSON parsing on other routes', async () => {
    const { receiver, received } = receiverWithLog();
    const app = Fastify();
    await app.register(fastifyCallbackPlugin(receiver, { path: PATH }) as never);
    app.post('/echo', async (request) => ({ parsed: request.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await expectAdapterBehaviour(`${url}${PATH}`, received);
    const echo = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await echo.json()).toEqual({ parsed: { a: 1 } });
  });
});
