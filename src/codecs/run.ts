import * as t from 'io-ts';

import { RunOutputCodec } from './output.js';
import { Decimal, JsonObject, nullable, Timestamp } from './primitives.js';
import { RunStatusCodec, type RunStatus } from './status.js';

/** One log line of a run. Each line fetched from the logs endpoint also embeds a run snapshot. */
export const RunLogCodec = t.partial(
  {
    id: nullable(t.string),
    run_id: nullable(t.string),
    /** Documented as a string; the simulator uses debug, info, warning and error. */
    level_code: nullable(t.string),
    message: nullable(t.string),
    timestamp: nullable(Timestamp),
    meta: nullable(JsonObject),
    run: nullable(JsonObject),
  },
  'run log',
);

export type RunLog = t.TypeOf<typeof RunLogCodec> & { readonly [key: string]: unknown };

/**
 * One step of a multi-step model. `state_code` values are undocumented and assumed to mirror run
 * statuses, so `cancelled` is read as `canceled` here too.
 */
export const NodeRunCodec = t.partial(
  {
    id: nullable(t.string),
    run_id: nullable(t.string),
    node_id: nullable(t.string),
    flow_id: nullable(t.string),
    state_code: nullable(RunStatusCodec),
    input: nullable(JsonObject),
    output: nullable(JsonObject),
    input_signature: nullable(t.string),
    preview_type: nullable(t.string),
    preview_value: nullable(t.string),
    duration_ms: nullable(t.number),
    cost: nullable(Decimal),
    retry_count: nullable(t.number),
    error_message: nullable(t.string),
    created_at: nullable(Timestamp),
    started_at: nullable(Timestamp),
    completed_at: nullable(Timestamp),
  },
  'node run',
);

export type NodeRun = t.TypeOf<typeof NodeRunCodec> & { readonly [key: string]: unknown };

const RunFieldsCodec = t.intersection(
  [
    t.type({ id: t.string, status_code: RunStatusCodec }),
    t.partial({
      /** The internal model UUID, not the slash path used in URLs. */
      model_id: nullable(t.string),
      flow_id: nullable(t.string),
      flow_version_id: nullable(t.string),
      comfyui_workflow_id: nullable(t.string),
      target_type: nullable(t.string),
      target_version: nullable(t.string),
      resolved_template_id: nullable(t.string),
      org_id: nullable(t.string),
      source_code: nullable(t.string),
      input: nullable(JsonObject),
      output: nullable(RunOutputCodec),
      context: nullable(JsonObject),
      duration_ms: nullable(t.number),
      cost: nullable(Decimal),
      cost_breakdown: nullable(JsonObject),
      nodes_total: nullable(t.number),
      nodes_completed: nullable(t.number),
      batch_id: nullable(t.string),
      client_ref: nullable(t.string),
      jurisdiction_code: nullable(t.string),
      request_id: nullable(t.string),
      created_by: nullable(t.string),
      created_at: nullable(Timestamp),
      started_at: nullable(Timestamp),
      completed_at: nullable(Timestamp),
      callback_url: nullable(t.string),
      metadata: nullable(JsonObject),
      has_logs: nullable(t.boolean),
      has_node_runs: nullable(t.boolean),
      links: nullable(JsonObject),
      failure_code: nullable(t.string),
      failure_message: nullable(t.string),
      failure_stage_code: nullable(t.string),
      /** The name one docs page uses for `failure_stage_code`; copied into it when that is absent. */
      failure_stage: nullable(t.string),
      feedback_is_positive: nullable(t.boolean),
      feedback_reason: nullable(t.string),
      source_chat_message_id: nullable(t.string),
      current_evaluation_summary: nullable(JsonObject),
      node_runs: nullable(t.array(NodeRunCodec)),
      logs: nullable(t.array(RunLogCodec)),
    }),
  ],
  'run',
);

/**
 * A run as returned by create, get and list. Fields the codec does not name are kept as they
 * arrived, so a newer server's fields stay readable.
 */
export type Run = t.TypeOf<typeof RunFieldsCodec> & {
  readonly status_code: RunStatus;
  readonly [key: string]: unknown;
};

/**
 * Decodes a run. Only `id` and a status are required. Two documented drifts are read too: a
 * `status` field where `status_code` is absent, and `failure_stage` where `failure_stage_code` is
 * absent.
 */
export const RunCodec = new t.Type<Run, unknown, unknown>(
  'run',
  (u): u is Run => RunFieldsCodec.is(u),
  (u, context) => RunFieldsCodec.validate(withDocumentedAliases(u), context) as t.Validation<Run>,
  (a) => a,
);

function withDocumentedAliases(u: unknown): unknown {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return u;
  const record = u as Record<string, unknown>;
  const statusAlias = record['status_code'] == null && typeof record['status'] === 'string';
  const stageAlias = record['failure_stage_code'] == null && typeof record['failure_stage'] === 'string';
  if (!statusAlias && !stageAlias) return u;
  return {
    ...record,
    ...(statusAlias ? { status_code: record['status'] } : {}),
    ...(stageAlias ? { failure_stage_code: record['failure_stage'] } : {}),
  };
}
