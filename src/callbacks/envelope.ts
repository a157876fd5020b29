import * as t from 'io-ts';

import { RunOutputCodec } from '../codecs/output.js';
import { JsonObject, nullable, Timestamp } from '../codecs/primitives.js';
import { RunStatusCodec, type RunStatus } from '../codecs/status.js';

/** Run callback events; `run.cancelled` is spelled the UK way although the status is `canceled`. */
export type RunCallbackEvent = 'run.completed' | 'run.failed' | 'run.cancelled' | 'run.partial_succeeded';

/** Batch callback events. Only `batch.succeeded` is documented; the others follow the run events. */
export type BatchCallbackEvent = 'batch.succeeded' | 'batch.failed' | 'batch.cancelled' | 'batch.partial_succeeded';

export const KNOWN_CALLBACK_EVENTS: ReadonlySet<string> = new Set<RunCallbackEvent | BatchCallbackEvent>([
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.partial_succeeded',
  'batch.succeeded',
  'batch.failed',
  'batch.cancelled',
  'batch.partial_succeeded',
]);

const EnvelopeFieldsCodec = t.intersection(
  [
    t.type({ event: t.string }),
    t.partial({
      run_id: nullable(t.string),
      batch_id: nullable(t.string),
      status: nullable(RunStatusCodec),
      /** A run's normalised output, a failure envelope `{code, message, stage}`, or a batch summary. */
      output: nullable(t.union([RunOutputCodec, JsonObject])),
      duration_ms: nullable(t.number),
      created_at: nullable(Timestamp),
      completed_at: nullable(Timestamp),
      metadata: nullable(JsonObject),
    }),
  ],
  'callback envelope',
);

/**
 * The body Runflow POSTs to a `callback_url` when a run or batch ends. A run envelope names the
 * run in `run_id` (not `id`) and its status in `status` (not `status_code`); a batch envelope has
 * `batch_id` instead. Fields the codec does not name are kept.
 */
export type CallbackEnvelope = t.TypeOf<typeof EnvelopeFieldsCodec> & {
  readonly status?: RunStatus | null;
  readonly [key: string]: unknown;
};

/** Decodes an envelope; it must name a run or a batch. */
export const CallbackEnvelopeCodec = new t.Type<CallbackEnvelope, unknown, unknown>(
  'callback envelope',
  (u): u is CallbackEnvelope => EnvelopeFieldsCodec.is(u),
  (u, context) => {
    const result = EnvelopeFieldsCodec.validate(u, context);
    if (result._tag === 'Left') return result;
    const envelope = result.right as CallbackEnvelope;
    if (!envelope.run_id && !envelope.batch_id) {
      return t.failure(u, context, 'an envelope with run_id or batch_id');
    }
    return t.success(envelope);
  },
  (a) => a,
);
