/**
 * A callback receiver for the simulator tests: a `node:http` server on 127.0.0.1 that records
 * every request with its raw body and responds with scripted replies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach } from 'vitest';
import type { Json } from './helpers.js';

/** Reply of the receiver to one request: a status with an optional body, or no response at all. */
export type ReceiverReply = { readonly status: number; readonly body?: string } | 'hang';

/** One request that reached the receiver. */
export interface ReceivedCallback {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body bytes exactly as received. */
  readonly raw: Buffer;
  readonly json: Json;
  /** True once the connection of this request has closed. */
  closed: boolean;
}

export interface CallbackReceiver {
  /** `http://127.0.0.1:<port>/hook`. */
  readonly url: string;
  readonly received: ReceivedCallback[];
  /** Queues replies for the next requests, in order; after them every request gets the default reply. */
  reply(...replies: ReceiverReply[]): void;
  /** Closes the server and every connection to it. */
  close(): Promise<void>;
}

/** Starts a receiver whose default reply is `defaultReply` (200 with `ok`). */
export async function startReceiver(
  defaultReply: ReceiverReply = { status: 200, body: 'ok' },
): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const queued: ReceiverReply[] = [];
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const entry: ReceivedCallback = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        raw,
        json: JSON.parse(raw.toString('utf8')),
        closed: false,
      };
      response.on('close', () => {
        entry.closed = true;
        held.delete(response);
      });
      received.push(entry);
      const reply = queued.shift() ?? defaultReply;
      if (reply === 'hang') {
        held.add(response);
        return;
      }
      response.writeHead(reply.status, { 'content-type': 'text/plain' });
      response.end(reply.body ?? '');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The receiver has no TCP address.');

  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    received,
    reply: (...replies) => queued.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * Registers an afterEach hook that closes every receiver a test started, and returns the
 * function that starts one.
 */
export function receiverPerTest(): (defaultReply?: ReceiverReply) => Promise<CallbackReceiver> {
  const receivers: CallbackReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });
  return async (defaultReply) => {
    const receiver = await startReceiver(defaultReply);
    receivers.push(receiver);
    return receiver;
  };
}

/**
 * Returns the URL of a port on 127.0.0.1 that nothing listens on: a receiver is started to
 * get a free port and closed again, so a connection to it is refused.
 */
export async function refusedUrl(): Promise<string> {
  const receiver = await startReceiver();
  await receiver.close();
  return receiver.url;
}

/**
 * Verifies a `Runflow-Signature` header as a receiver should: 64 lowercase hex characters
 * equal to the HMAC-SHA256 of the raw body with the plain secret, compared in constant time.
 */
export function verifySignature(raw: Buffer, header: string | string[] | undefined, plainSecret: string): boolean {
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', plainSecret).update(raw).digest();
  return timingSafeEqual(Buffer.from(header, 'hex'), expected);
}
