import { RunflowInputError } from '../errors.js';

/** Header that carries the signature: 64 lowercase hex characters of HMAC-SHA256 over the raw body. */
export const SIGNATURE_HEADER = 'runflow-signature';

/** A raw request body as received, before any JSON parsing. */
export type RawBody = Uint8Array | ArrayBuffer | string;

const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

/**
 * Returns the body's bytes. A string is read as UTF-8, which restores the original bytes only
 * when the framework decoded them as UTF-8 without changes, so prefer passing the bytes.
 * Throws RunflowInputError for anything else, such as a body a framework already parsed.
 */
export function rawBodyBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof body === 'string') return encoder.encode(body);
  const kind =
    body === null
      ? 'null'
      : Array.isArray(body)
        ? 'an array'
        : typeof body === 'object'
          ? 'a parsed object'
          : typeof body;
  throw new RunflowInputError(
    `Invalid callback body (${kind}): the signature covers the raw bytes, so pass the body before JSON parsing, ` +
      'e.g. with express.raw({ type: "application/json" }) or request.arrayBuffer()',
  );
}

/**
 * Verifies `Runflow-Signature` values against one or more secrets.
 *
 * Uses Web Crypto (`crypto.subtle`), which Node 18+, browsers, Deno and edge runtimes provide,
 * so the same code runs in a Node server and in a fetch-API handler on an edge runtime.
 * `crypto.subtle.verify` compares the signature in constant time. Each secret's key is imported
 * once and reused. Several secrets are accepted at once so that a secret can be rotated: a
 * signature made with any of them is valid.
 */
export class SignatureVerifier {
  private readonly keys: Promise<CryptoKey[]>;

  constructor(secrets: readonly string[]) {
    if (
      !Array.isArray(secrets) ||
      secrets.length === 0 ||
      secrets.some((secret) => typeof secret !== 'string' || secret === '')
    ) {
      throw new RunflowInputError('Invalid callback secrets: expected a non-empty array of non-empty strings');
    }
    this.keys = Promise.all(
      secrets.map((secret) =>
        globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
          'verify',
        ]),
      ),
    );
  }

  /**
   * Resolves to true when `signature` is a valid HMAC-SHA256 of `body` under any of the secrets.
   * A missing or malformed header (wrong length, uppercase, whitespace, non-hex) is invalid, never
   * an exception.
   */
  async verify(body: Uint8Array, signature: string | null | undefined): Promise<boolean> {
    if (typeof signature !== 'string' || !SIGNATURE_PATTERN.test(signature)) return false;
    const bytes = hexToBytes(signature);
    for (const key of await this.keys) {
      if (await globalThis.crypto.subtle.verify('HMAC', key, bytes as BufferSource, body as BufferSource)) return true;
    }
    return false;
  }
}

/** Computes the lowercase hex HMAC-SHA256 of `body` with `secret`, as Runflow signs a callback. */
export async function signCallbackBody(secret: string, body: RawBody): Promise<string> {
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, rawBodyBytes(body) as BufferSource));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
