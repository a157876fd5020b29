/**
 * The fields of the listable resources (runs, run logs, node-runs, batches, batch items and
 * callback secrets), in the order the simulator sends them, with the kind that decides how `q` and `sort_by` compare them.
 * Fields of kind `json` (objects and arrays) can only be projected with `fields`.
 */
import type { FilterFieldKind } from './filter.js';

type FieldKinds = Readonly<Record<string, FilterFieldKind | 'json'>>;

/** Fields of the run object. */
export const RUN_FIELDS: FieldKinds = {
  id: 'string',
  status_code: 'string',
  model_id: 'string',
  flow_id: 'string',
  flow_version_id: 'string',
  comfyui_workflow_id: 'string',
  target_type: 'string',
  target_version: 'string',
  resolved_template_id: 'string',
  org_id: 'string',
  source_code: 'string',
  input: 'json',
  output: 'json',
  context: 'json',
  duration_ms: 'number',
  // A decimal string, so filters compare it as text.
  cost: 'string',
  cost_breakdown: 'json',
  nodes_total: 'number',
  nodes_completed: 'number',
  batch_id: 'string',
  client_ref: 'string',
  jurisdiction_code: 'string',
  request_id: 'string',
  created_by: 'string',
  created_at: 'date',
  started_at: 'date',
  completed_at: 'date',
  callback_url: 'string',
  metadata: 'json',
  has_logs: 'boolean',
  has_node_runs: 'boolean',
  links: 'json',
  failure_code: 'string',
  failure_message: 'string',
  failure_stage_code: 'string',
  feedback_is_positive: 'boolean',
  feedback_reason: 'string',
  source_chat_message_id: 'string',
  current_evaluation_summary: 'json',
  node_runs: 'json',
  logs: 'json',
};

/** Fields of a log line from the logs endpoints, which embed the run. */
export const LOG_FIELDS: FieldKinds = {
  id: 'string',
  run_id: 'string',
  level_code: 'string',
  message: 'string',
  timestamp: 'date',
  meta: 'json',
  run: 'json',
};

/** Fields of a node-run. */
export const NODE_RUN_FIELDS: FieldKinds = {
  id: 'string',
  run_id: 'string',
  node_id: 'string',
  flow_id: 'string',
  state_code: 'string',
  input: 'json',
  output: 'json',
  input_signature: 'string',
  preview_type: 'string',
  preview_value: 'string',
  duration_ms: 'number',
  cost: 'string',
  retry_count: 'number',
  error_message: 'string',
  created_at: 'date',
  started_at: 'date',
  completed_at: 'date',
};

/** Fields of a batch from `GET /v1/batches/{id}` and `GET /v1/batches`. */
export const BATCH_FIELDS: FieldKinds = {
  id: 'string',
  org_id: 'string',
  target_type_code: 'string',
  target_type: 'string',
  target_id: 'string',
  status_code: 'string',
  source_code: 'string',
  items_total: 'number',
  items_succeeded: 'number',
  items_failed: 'number',
  items_cancelled: 'number',
  input: 'json',
  resolved_template_id: 'string',
  dispatch_provider_link_id: 'string',
  cost: 'string',
  output: 'json',
  metadata: 'json',
  callback_url: 'string',
  duration_ms: 'number',
  failure_code: 'string',
  failure_message: 'string',
  failure_stage_code: 'string',
  created_by: 'string',
  created_at: 'date',
  started_at: 'date',
  completed_at: 'date',
  links: 'json',
  items: 'json',
};

/** Fields of a full batch item from `GET /v1/batches/{id}/items`. */
export const BATCH_ITEM_FIELDS: FieldKinds = {
  id: 'string',
  batch_id: 'string',
  sequence_index: 'number',
  run_id: 'string',
  created_at: 'date',
  client_ref: 'string',
  status_code: 'string',
  input: 'json',
  cost: 'string',
  output: 'json',
  error: 'json',
  started_at: 'date',
  completed_at: 'date',
  run: 'json',
};

/** Fields of a callback secret record. */
export const CALLBACK_SECRET_FIELDS: FieldKinds = {
  id: 'string',
  org_id: 'string',
  key_prefix: 'string',
  is_current: 'boolean',
  label: 'string',
  disabled_at: 'date',
  last_used_at: 'date',
  created_at: 'date',
  updated_at: 'date',
};
