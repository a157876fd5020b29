import * as t from 'io-ts';

import { Decimal, JsonObject, nullable, Timestamp } from '../codecs/primitives.js';
import { RunCodec } from '../codecs/run.js';
import { RunStatusCodec, type RunStatus } from '../codecs/status.js';

/** The lean item entry of a batch, meant for polling. */
export const BatchItemSummaryCodec = t.partial(
  {
    id: nullable(t.string),
    sequence_index: nullable(t.number),
    run_id: nullable(t.string),
    status_code: nullable(RunStatusCodec),
    client_ref: nullable(t.string),
  },
  'batch item summary',
);

export type BatchItemSummary = t.TypeOf<typeof BatchItemSummaryCodec> & { readonly [key: string]: unknown };

/** A full batch item, with its input, output and the embedded run. */
export const BatchItemCodec = t.intersection(
  [
    BatchItemSummaryCodec,
    t.partial({
      batch_id: nullable(t.string),
      input: nullable(JsonObject),
      output: nullable(JsonObject),
      /** Shape not documented. */
      error: nullable(JsonObject),
      cost: nullable(Decimal),
      created_at: nullable(Timestamp),
      started_at: nullable(Timestamp),
      completed_at: nullable(Timestamp),
      run: nullable(RunCodec),
    }),
  ],
  'batch item',
);

export type BatchItem = t.TypeOf<typeof BatchItemCodec> & { readonly [key: string]: unknown };

/**
 * A server-side batch. Its counters spell `cancelled` the UK way, as Runflow does; its status is
 * read like a run status (`cancelled` becomes `canceled`).
 */
export const BatchCodec = t.intersection(
  [
    t.type({ id: t.string, status_code: RunStatusCodec }),
    t.partial({
      org_id: nullable(t.string),
      target_type: nullable(t.string),
      target_type_code: nullable(t.string),
      target_id: nullable(t.string),
      source_code: nullable(t.string),
      items_total: nullable(t.number),
      items_succeeded: nullable(t.number),
      items_failed: nullable(t.number),
      items_cancelled: nullable(t.number),
      input: nullable(t.array(t.unknown)),
      items: nullable(t.array(BatchItemSummaryCodec)),
      resolved_template_id: nullable(t.string),
      cost: nullable(Decimal),
      output: nullable(JsonObject),
      metadata: nullable(JsonObject),
      callback_url: nullable(t.string),
      duration_ms: nullable(t.number),
      failure_code: nullable(t.string),
      failure_message: nullable(t.string),
      failure_stage_code: nullable(t.string),
      created_by: nullable(t.string),
      created_at: nullable(Timestamp),
      started_at: nullable(Timestamp),
      completed_at: nullable(Timestamp),
      links: nullable(JsonObject),
    }),
  ],
  'batch',
);

export type Batch = t.TypeOf<typeof BatchCodec> & { readonly status_code: RunStatus; readonly [key: string]: unknown };
