import { describe, expect, it } from 'vitest';
import { api, createRun, IMAGE_MODEL, IMAGE_TIMELINE, simulatorPerTest, type Json } from './helpers.js';
import { receiverPerTest, verifySignature } from './callback-receiver.js';

const start = simulatorPerTest();
const receiver = receiverPerTest();

const SECRET_KEYS = [
  'id',
  'org_id',
  'key_prefix',
  'is_current',
  'label',
  'disabled_at',
  'last_used_at',
  'created_at',
  'updated_at',
];

describe('callback secrets', () => {
  it('returns the plain secret once, at creation', async () => {
    const sim = await start();
    const created = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'primary' } });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json)).toEqual([...SECRET_KEYS, 'plain_secret']);
    expect(created.json.plain_secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    expect(created.json).toMatchObject({
      key_prefix: created.json.plain_secret.slice(0, 10),
      is_current: true,
      label: 'primary',
      disabled_at: null,
      last_used_at: null,
    });

    const read = await api(sim, `/v1/callback-secrets/${created.json.id}`);
    expect(read.status).toBe(200);
    expect(Object.keys(read.json)).toEqual(SECRET_KEYS);
    expect(read.text).not.toContain(created.json.plain_secret);
  });

  it('makes only the first secret current', async () => {
    const sim = await start();
    const first = await api(sim, '/v1/callback-secrets', { method: 'POST' });
    const second = await api(sim, '/v1/callback-secrets', { method: 'POST', body: {} });
    expect(first.json.is_current).toBe(true);
    expect(second.json.is_current).toBe(false);
    expect(second.json.label).toBeNull();
    expect(second.json.plain_secret).not.toBe(first.json.plain_secret);
  });

  it('lists secrets with the list envelope, newest first', async () => {
    const sim = await start();
    const first = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'a' } });
    sim.advanceTime(1);
    const second = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'b' } });
    const list = await api(sim, '/v1/callback-secrets');
    expect(list.status).toBe(200);
    expect(Object.keys(list.json)).toEqual(['items', 'first', 'next', 'previous']);
    expect(list.json.items.map((item: Json) => item.id)).toEqual([second.json.id, first.json.id]);
    expect(list.text).not.toContain(first.json.plain_secret);
    expect(list.text).not.toContain(second.json.plain_secret);

    const current = await api(sim, '/v1/callback-secrets?q=is_current:true');
    expect(current.json.items.map((item: Json) => item.label)).toEqual(['a']);
  });

  it('rejects labels over 255 characters', async () => {
    const sim = await start();
    const ok = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'é'.repeat(255) } });
    expect(ok.status).toBe(201);
    const tooLong = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'x'.repeat(256) } });
    expect(tooLong.status).toBe(422);
    expect(tooLong.json.errors[0]).toMatchObject({ loc: ['body', 'label'], type: 'string_too_long' });
    const notString = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 5 } });
    expect(notString.status).toBe(422);

    const patched = await api(sim, `/v1/callback-secrets/${ok.json.id}`, {
      method: 'PATCH',
      body: { label: 'y'.repeat(256) },
    });
    expect(patched.status).toBe(422);
    const badFlag = await api(sim, `/v1/callback-secrets/${ok.json.id}`, {
      method: 'PATCH',
      body: { is_current: 'yes' },
    });
    expect(badFlag.status).toBe(422);
    expect(badFlag.json.errors[0].loc).toEqual(['body', 'is_current']);
  });

  it('updates the label and keeps it with null', async () => {
    const sim = await start();
    const created = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'old' } });
    sim.advanceTime(1_000);
    const renamed = await api(sim, `/v1/callback-secrets/${created.json.id}`, {
      method: 'PATCH',
      body: { label: 'new' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({ label: 'new', is_current: true });
    expect(Date.parse(renamed.json.updated_at) - Date.parse(renamed.json.created_at)).toBe(1_000);

    const cleared = await api(sim, `/v1/callback-secrets/${created.json.id}`, {
      method: 'PATCH',
      body: { label: null },
    });
    expect(cleared.json.label).toBeNull();
  });

  it('deletes a secret with 204', async () => {
    const sim = await start();
    const created = await api(sim, '/v1/callback-secrets', { method: 'POST' });
    const deleted = await api(sim, `/v1/callback-secrets/${created.json.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const read = await api(sim, `/v1/callback-secrets/${created.json.id}`);
    expect(read.status).toBe(404);
    expect(read.json.code).toBe('CALLBACK_SECRET_NOT_FOUND');
    expect((await api(sim, `/v1/callback-secrets/${created.json.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('lists the configured secret as current', async () => {
    const sim = await start({ callbackSecret: 'whsec_configured_secret' });
    const list = await api(sim, '/v1/callback-secrets');
    expect(list.json.items).toHaveLength(1);
    expect(list.json.items[0]).toMatchObject({ is_current: true, key_prefix: 'whsec_conf' });
  });
});

describe('secret rotation', () => {
  it('signs with the secret promoted by PATCH', async () => {
    const sim = await start();
    const hook = await receiver();
    const oldSecret = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'old' } });
    const newSecret = await api(sim, '/v1/callback-secrets', { method: 'POST', body: { label: 'new' } });

    await createRun(sim, IMAGE_MODEL, { input: { prompt: 'before' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    const before = hook.received[0];
    expect(verifySignature(before!.raw, before!.headers['runflow-signature'], oldSecret.json.plain_secret)).toBe(true);
    const usedAt = (await api(sim, `/v1/callback-secrets/${oldSecret.json.id}`)).json.last_used_at;
    expect(usedAt).toBe(new Date(sim.now()).toISOString());

    const promoted = await api(sim, `/v1/callback-secrets/${newSecret.json.id}`, {
      method: 'PATCH',
      body: { is_current: true },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.json.is_current).toBe(true);
    expect((await api(sim, `/v1/callback-secrets/${oldSecret.json.id}`)).json.is_current).toBe(false);

    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'after' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    const after = hook.received[1];
    expect(verifySignature(after!.raw, after!.headers['runflow-signature'], newSecret.json.plain_secret)).toBe(true);
    expect(verifySignature(after!.raw, after!.headers['runflow-signature'], oldSecret.json.plain_secret)).toBe(false);
    expect(sim.deliveries(run.id)[0]?.signing_secret_id).toBe(newSecret.json.id);
  });

  it('sends unsigned callbacks once no secret is current', async () => {
    const sim = await start();
    const hook = await receiver();
    const secret = await api(sim, '/v1/callback-secrets', { method: 'POST' });
    await api(sim, `/v1/callback-secrets/${secret.json.id}`, { method: 'DELETE' });

    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    expect(hook.received[0]?.headers['runflow-signature']).toBeUndefined();
    expect(sim.deliveries(run.id)[0]?.signing_secret_id).toBeNull();
  });

  it('signs retries of a deleted secret with the current one', async () => {
    const sim = await start();
    const hook = await receiver();
    hook.reply({ status: 500 });
    const oldSecret = await api(sim, '/v1/callback-secrets', { method: 'POST' });
    const newSecret = await api(sim, '/v1/callback-secrets', { method: 'POST' });
    const run = await createRun(sim, IMAGE_MODEL, { input: { prompt: 'x' }, callback_url: hook.url });
    sim.advanceTime(IMAGE_TIMELINE.endsAt);
    await sim.flushCallbacks();
    expect(sim.deliveries(run.id)[0]?.signing_secret_id).toBe(oldSecret.json.id);

    await api(sim, `/v1/callback-secrets/${newSecret.json.id}`, { method: 'PATCH', body: { is_current: true } });
    await api(sim, `/v1/callback-secrets/${oldSecret.json.id}`, { method: 'DELETE' });
    sim.advanceTime(5_000);
    await sim.flushCallbacks();
    const retry = hook.received[1];
    expect(verifySignature(retry!.raw, retry!.headers['runflow-signature'], newSecret.json.plain_secret)).toBe(true);
    expect(sim.deliveries(run.id)[0]?.signing_secret_id).toBe(newSecret.json.id);
  });
});
