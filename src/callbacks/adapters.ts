import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { RunflowInputError, describeValue } from '../errors.js';
import type { CallbackReceiver, CallbackResponse } from './receiver.js';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** Options shared by the adapters. */
export interface CallbackRouteOptions {
  /** The only URL path served; other paths get 404. Default: every path. */
  readonly path?: string;
}

/**
 * Returns a node:http request listener that passes POSTs to `receiver`. It reads the raw body
 * itself and stops at the receiver's size limit with 413; other methods get 405.
 *
 * @example
 * ```ts
 * http.createServer(nodeCallbackListener(receiver, { path: '/runflow/callbacks' })).listen(8080);
 * ```
 */
export function nodeCallbackListener(
  receiver: CallbackReceiver,
  options: CallbackRouteOptions = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  checkPath(options.path);
  return (request, response) => {
    const send = (result: CallbackResponse): void => {
      if (!response.headersSent) response.writeHead(result.status, JSON_HEADERS);
      response.end(result.body);
    };
    const early = checkRoute(request.method, request.url, options);
    if (early !== undefined) {
      request.resume();
      send(early);
      return;
    }
    readLimited(request, receiver.bodyLimit).then(
      (body) => {
        if (body === undefined) {
          response.setHeader('connection', 'close');
          send(tooLarge(receiver));
          request.destroy();
          return;
        }
        receiver.handle({ body, headers: request.headers }).then(send, (error: unknown) => send(internalError(error)));
      },
      () => response.destroy(),
    );
  };
}

/** A callback endpoint listening on its own port. */
export interface CallbackServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`; append the path to build a `callbackUrl`. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Starts a node:http server whose only job is receiving callbacks. It binds 127.0.0.1 on a free
 * port unless `host` and `port` are given. Runflow reaches it only through a tunnel or a reverse
 * proxy in front of it.
 */
export async function listenForCallbacks(
  receiver: CallbackReceiver,
  options: CallbackRouteOptions & { readonly port?: number; readonly host?: string } = {},
): Promise<CallbackServer> {
  const port = options.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RunflowInputError(
      `Invalid port ${describeValue(port)}: expected a whole number from 0 to 65535 (0 picks a free port)`,
    );
  }
  const server = createServer(nodeCallbackListener(receiver, options));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Returns a fetch-API handler (`Request` in, `Response` out) for Next.js route handlers, Hono,
 * Cloudflare Workers, Deno and Bun. It reads the body as bytes and stops at the size limit.
 */
export function fetchCallbackHandler(
  receiver: CallbackReceiver,
  options: CallbackRouteOptions = {},
): (request: Request) => Promise<Response> {
  checkPath(options.path);
  return async (request) => {
    const early = checkRoute(request.method, new URL(request.url).pathname, options);
    if (early !== undefined) return toResponse(early);
    const declared = Number(request.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > receiver.bodyLimit) return toResponse(tooLarge(receiver));
    const body = await readStreamLimited(request.body, receiver.bodyLimit);
    if (body === undefined) return toResponse(tooLarge(receiver));
    return toResponse(await receiver.handle({ body, headers: request.headers }));
  };
}

/** The parts of an Express request the middleware reads. */
export interface ExpressLikeRequest extends IncomingMessage {
  body?: unknown;
}

/** The parts of an Express response the middleware writes. */
export interface ExpressLikeResponse {
  status(code: number): ExpressLikeResponse;
  type(contentType: string): ExpressLikeResponse;
  send(body: string): unknown;
}

/**
 * Returns Express middleware for a callback route. It works with no body parser on the route, or
 * after `express.raw({ type: 'application/json' })`. When a JSON parser already turned the body
 * into an object, the bytes the signature covers are gone, so it passes a RunflowInputError to
 * `next` with the fix for the route.
 *
 * @example
 * ```ts
 * app.post('/runflow/callbacks', expressCallbackHandler(receiver));
 * ```
 */
export function expressCallbackHandler(
  receiver: CallbackReceiver,
): (request: ExpressLikeRequest, response: ExpressLikeResponse, next: (error?: unknown) => void) => void {
  return (request, response, next) => {
    const send = (result: CallbackResponse): void => {
      response.status(result.status).type('application/json').send(result.body);
    };
    const body = request.body;
    const parsed = body !== undefined && !(body instanceof Uint8Array) && !(typeof body === 'string');
    const empty =
      typeof body === 'object' && body !== null && !(body instanceof Uint8Array) && Object.keys(body).length === 0;
    if (parsed && !(empty && request.readable)) {
      next(
        new RunflowInputError(
          'The callback route received a parsed body: mount expressCallbackHandler before express.json(), or add ' +
            "express.raw({ type: 'application/json' }) to the route, because the signature covers the raw bytes",
        ),
      );
      return;
    }
    const raw =
      body instanceof Uint8Array || typeof body === 'string'
        ? Promise.resolve(body)
        : readLimited(request, receiver.bodyLimit);
    raw.then((bytes) => {
      if (bytes === undefined) {
        send(tooLarge(receiver));
        return;
      }
      receiver.handle({ body: bytes, headers: request.headers }).then(send, next);
    }, next);
  };
}

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string | string[] | RegExp,
    options: { parseAs: 'buffer'; bodyLimit?: number },
    parser: (request: unknown, body: Buffer, done: (error: Error | null, body?: unknown) => void) => void,
  ): void;
  post(
    path: string,
    handler: (
      request: { body: unknown; headers: Record<string, string | string[] | undefined> },
      reply: { code(status: number): { type(contentType: string): { send(body: string): unknown } } },
    ) => Promise<unknown>,
  ): void;
}

/**
 * Returns a Fastify plugin that adds `POST path` for callbacks. Inside the plugin's own scope it
 * parses every content type as a raw buffer, up to the receiver's size limit (Fastify returns 413
 * above it), so other routes keep their JSON parsing.
 *
 * @example
 * ```ts
 * await app.register(fastifyCallbackPlugin(receiver, { path: '/runflow/callbacks' }));
 * ```
 */
export function fastifyCallbackPlugin(
  receiver: CallbackReceiver,
  options: { readonly path: string },
): (instance: FastifyLikeInstance, pluginOptions: unknown, done: (error?: Error) => void) => void {
  return (instance, _pluginOptions, done) => {
    // The default JSON parser would consume the bytes the signature covers.
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: receiver.bodyLimit }, (_request, body, parsed) =>
      parsed(null, body),
    );
    instance.post(options.path, async (request, reply) => {
      const body = request.body === undefined || request.body === null ? '' : request.body;
      const result = await receiver.handle({ body: body as Uint8Array, headers: request.headers });
      return reply.code(result.status).type('application/json').send(result.body);
    });
    done();
  };
}

function checkRoute(
  method: string | undefined,
  url: string | undefined,
  options: CallbackRouteOptions,
): CallbackResponse | undefined {
  const path = (url ?? '/').split('?')[0];
  if (options.path !== undefined && path !== options.path)
    return { status: 404, body: JSON.stringify({ error: 'not found' }) };
  if (method !== 'POST')
    return { status: 405, body: JSON.stringify({ error: 'method not allowed; callbacks are POSTs' }) };
  return undefined;
}

function tooLarge(receiver: CallbackReceiver): CallbackResponse {
  receiver.logger.warn('Rejected a callback larger than the limit', { limit: receiver.bodyLimit });
  return { status: 413, body: JSON.stringify({ error: 'payload too large', limitBytes: receiver.bodyLimit }) };
}

function checkPath(path: unknown): void {
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new RunflowInputError(
      `Invalid path ${describeValue(path)}: expected a URL path starting with "/", such as "/runflow/callbacks"`,
    );
  }
}

function internalError(error: unknown): CallbackResponse {
  return { status: 500, body: JSON.stringify({ error: error instanceof Error ? error.message : 'internal error' }) };
}

function toResponse(result: CallbackResponse): Response {
  return new Response(result.body, { status: result.status, headers: JSON_HEADERS });
}

/** Reads a Node stream into one buffer, or resolves undefined as soon as it passes `limit` bytes. */
function readLimited(stream: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stream.off('data', onData);
        stream.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Reads a web stream into one array, or resolves undefined as soon as it passes `limit` bytes. */
async function readStreamLimited(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (stream === null) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
