import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { createCallbackReceiver, type CallbackEnvelope, type LogFields } from '../../src/index.js';

const SECRET = 'whsec_receiver_secret_value';

function envelope(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event: 'run.completed',
    run_id: 'run-1',
    status: 'succeeded',
    output: { outputs: [{ type: 'image', url: 'https://cdn.runflow.test/a.png' }] },
    duration_ms: 1200,
    created_at: '2026-05-06T10:00:00.000+00:00',
    completed_at: '2026-05-06T10:00:01.200+00:00',
    metadata: null,
    ...fields,
  });
}

const signed = (body: string, secret = SECRET) => ({
  body: Buffer.from(body),
  headers: {
    'runflow-signature': createHmac('sha256', secret).update(body).digest('hex'),
    'runflow-request-id': 'req-1',
  },
});

function setup(config: Parameters<typeof createCallbackReceiver>[0] = {}) {
  const lines: Array<{ level: string; message: string; fields: LogFields | undefined }> = [];
  const log = (level: string) => (message: string, fields?: LogFields) => lines.push({ level, message, fields });
  let now = 1_000_000;
  const receiver = createCallbackReceiver({
    secrets: [SECRET],
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    now: () => now,
    ...config,
  });
  return { receiver, lines, advance: (ms: number) => (now += ms) };
}

function collect(receiver: ReturnType<typeof createCallbackReceiver>, runId: string): CallbackEnvelope[] {
  const received: CallbackEnvelope[] = [];
  receiver.runEnvelopes(runId).subscribe((item) => received.push(item));
  return received;
}

describe('CallbackReceiver.handle', () => {
  it('accepts a signed envelope and routes it by run_id', async () => {
    const { receiver } = setup();
    const received = collect(receiver, 'run-1');
    const response = await receiver.handle(signed(envelope()));
    expect(response.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]?.status).toBe('succeeded');
  });

  it('answers 401 for a missing or wrong signature and logs no secret', async () => {
    const { receiver, lines } = setup();
    expect((await receiver.handle({ body: envelope(), headers: {} })).status).toBe(401);
    expect((await receiver.handle(signed(envelope(), 'whsec_wrong'))).status).toBe(401);
    expect(lines.filter((line) => line.message.includes('invalid signature'))).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('accepts unsigned requests when no secret is configured', async () => {
    const { receiver } = setup({ secrets: [] });
    expect((await receiver.handle({ body: envelope(), headers: {} })).status).toBe(200);
  });

  it('answers 413 above the size limit', async () => {
    const { receiver } = setup({ maxBodyBytes: 100 });
    const response = await receiver.handle(signed(envelope({ metadata: { pad: 'x'.repeat(200) } })));
    expect(response.status).toBe(413);
  });

  it('answers 400 for a body that is not JSON or not an envelope', async () => {
    const { receiver } = setup();
    expect((await receiver.handle(signed('{"event":'))).status).toBe(400);
    const noId = await receiver.handle(signed(JSON.stringify({ event: 'run.completed', status: 'succeeded' })));
    expect(noId.status).toBe(400);
    expect(noId.body).toContain('expected an envelope with run_id or batch_id');
    const badStatus = await receiver.handle(signed(envelope({ status: 7 })));
    expect(JSON.parse(badStatus.body)).toMatchObject({
      error: 'invalid envelope',
      issues: ['status: expected run status | null, received 7'],
    });
  });

  it('acknowledges and logs an unknown event name', async () => {
    const { receiver, lines } = setup();
    const response = await receiver.handle(signed(envelope({ event: 'run.archived' })));
    expect(response.status).toBe(200);
    expect(
      lines.some((line) => line.message.includes('unknown event') && line.fields?.['event'] === 'run.archived'),
    ).toBe(true);
  });

  it('drops a repeated delivery', async () => {
    const { receiver } = setup();
    const received = collect(receiver, 'run-1');
    await receiver.handle(signed(envelope()));
    const again = await receiver.handle(signed(envelope()));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ duplicate: true });
    expect(received).toHaveLength(1);
  });

  it('ignores a later terminal status for the same run', async () => {
    const { receiver } = setup();
    const received = collect(receiver, 'run-1');
    await receiver.handle(signed(envelope()));
    const late = await receiver.handle(signed(envelope({ event: 'run.failed', status: 'failed', output: null })));
    expect(JSON.parse(late.body)).toMatchObject({ stale: true });
    expect(received.map((item) => item.status)).toEqual(['succeeded']);
  });

  it('reads run.cancelled with status cancelled as canceled', async () => {
    const { receiver } = setup();
    const received = collect(receiver, 'run-1');
    await receiver.handle(signed(envelope({ event: 'run.cancelled', status: 'cancelled', output: null })));
    expect(received[0]?.status).toBe('canceled');
  });

  it('replays an envelope that arrived before anyone watched', async () => {
    const { receiver } = setup();
    await receiver.handle(signed(envelope({ run_id: 'early' })));
    const first = collect(receiver, 'early');
    const second = collect(receiver, 'early');
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
  });

  it('forgets kept envelopes after retainMs', async () => {
    const { receiver, advance } = setup({ retainMs: 1000 });
    await receiver.handle(signed(envelope({ run_id: 'late' })));
    advance(1001);
    expect(collect(receiver, 'late')).toHaveLength(0);
  });

  it('keeps at most maxRetained envelopes', async () => {
    const { receiver } = setup({ maxRetained: 2 });
    for (const id of ['a', 'b', 'c']) await receiver.handle(signed(envelope({ run_id: id })));
    expect(collect(receiver, 'a')).toHaveLength(0);
    expect(collect(receiver, 'c')).toHaveLength(1);
  });

  it('routes batch envelopes by batch_id', async () => {
    const { receiver } = setup();
    const received: CallbackEnvelope[] = [];
    receiver.batchEnvelopes('batch-1').subscribe((item) => received.push(item));
    const body = JSON.stringify({
      event: 'batch.succeeded',
      batch_id: 'batch-1',
      status: 'succeeded',
      output: { total: 2 },
    });
    expect((await receiver.handle(signed(body))).status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it('rejects a parsed body as a programming error', async () => {
    const { receiver } = setup();
    await expect(receiver.handle({ body: JSON.parse(envelope()) as never, headers: {} })).rejects.toThrow(
      'pass the body before JSON parsing',
    );
  });

  it('rejects invalid settings', () => {
    expect(() => createCallbackReceiver({ maxBodyBytes: 0 })).toThrow('Invalid maxBodyBytes 0');
  });
});
