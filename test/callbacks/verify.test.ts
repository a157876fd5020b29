import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { RunflowInputError, SignatureVerifier, rawBodyBytes, signCallbackBody } from '../../src/index.js';

const SECRET = 'whsec_test_current_0123456789';
const OLD_SECRET = 'whsec_test_previous_9876543210';
const BODY =
  '{"event":"run.completed","run_id":"0190b5a2-0000-7000-8000-000000000001","status":"succeeded","completed_at":"2026-05-06T10:00:00.000+00:00"}';
const bytes = new TextEncoder().encode(BODY);

/** Signs with node:crypto, an implementation independent of the one under test. */
const sign = (secret: string, body: string | Uint8Array): string =>
  createHmac('sha256', secret).update(body).digest('hex');

describe('SignatureVerifier', () => {
  const verifier = new SignatureVerifier([SECRET]);

  it('accepts a valid signature', async () => {
    expect(await verifier.verify(bytes, sign(SECRET, BODY))).toBe(true);
  });

  it('rejects a signature made with another secret', async () => {
    expect(await verifier.verify(bytes, sign('whsec_other', BODY))).toBe(false);
  });

  it('rejects a body with one byte changed', async () => {
    const changed = Uint8Array.from(bytes);
    changed[10] = changed[10]! ^ 1;
    expect(await verifier.verify(changed, sign(SECRET, BODY))).toBe(false);
  });

  it('rejects a re-serialised body', async () => {
    const reserialised = new TextEncoder().encode(JSON.stringify(JSON.parse(BODY), null, 1));
    expect(await verifier.verify(reserialised, sign(SECRET, BODY))).toBe(false);
  });

  it.each([
    ['uppercase hex', sign(SECRET, BODY).toUpperCase()],
    ['a short value', sign(SECRET, BODY).slice(0, 63)],
    ['a long value', `${sign(SECRET, BODY)}0`],
    ['non-hex characters', `${sign(SECRET, BODY).slice(0, 63)}g`],
    ['surrounding whitespace', ` ${sign(SECRET, BODY)}`],
    ['a scheme prefix', `sha256=${sign(SECRET, BODY)}`],
    ['multibyte characters', `${sign(SECRET, BODY).slice(0, 62)}é`],
    ['an empty value', ''],
  ])('treats %s as invalid', async (_case, signature) => {
    expect(await verifier.verify(bytes, signature)).toBe(false);
  });

  it('treats a missing header as invalid', async () => {
    expect(await verifier.verify(bytes, undefined)).toBe(false);
    expect(await verifier.verify(bytes, null)).toBe(false);
  });

  it('accepts either secret during a rotation', async () => {
    const rotating = new SignatureVerifier([SECRET, OLD_SECRET]);
    expect(await rotating.verify(bytes, sign(SECRET, BODY))).toBe(true);
    expect(await rotating.verify(bytes, sign(OLD_SECRET, BODY))).toBe(true);
    expect(await rotating.verify(bytes, sign('whsec_third', BODY))).toBe(false);
  });

  it('verifies a body with multibyte characters', async () => {
    const body = '{"event":"run.completed","run_id":"r1","metadata":{"title":"Bateau en papier — 紙の船"}}';
    expect(await verifier.verify(new TextEncoder().encode(body), sign(SECRET, body))).toBe(true);
  });

  it('rejects an empty secret list', () => {
    expect(() => new SignatureVerifier([])).toThrow(RunflowInputError);
    expect(() => new SignatureVerifier([''])).toThrow('non-empty strings');
  });
});

describe('signCallbackBody', () => {
  it('matches node:crypto', async () => {
    expect(await signCallbackBody(SECRET, BODY)).toBe(sign(SECRET, BODY));
  });
});

describe('rawBodyBytes', () => {
  it('rejects a parsed object with a fix in the message', () => {
    expect(() => rawBodyBytes(JSON.parse(BODY))).toThrow(RunflowInputError);
    expect(() => rawBodyBytes(JSON.parse(BODY))).toThrow('pass the body before JSON parsing');
  });

  it('accepts a Buffer, an ArrayBuffer and a string', () => {
    const expected = Array.from(bytes);
    expect(Array.from(rawBodyBytes(Buffer.from(BODY)))).toEqual(expected);
    expect(Array.from(rawBodyBytes(bytes.buffer))).toEqual(expected);
    expect(Array.from(rawBodyBytes(BODY))).toEqual(expected);
  });
});
