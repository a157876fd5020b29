import { outputItems, type OutputItem } from '../codecs/output.js';
import type { NodeRun, Run } from '../codecs/run.js';
import type { RunEvent } from '../run/events.js';

/** Turns run events into the plain text lines the CLI prints, one line per event. */
export class EventFormatter {
  private readonly startedAt: number;
  /** Step number (1-based, in order of first appearance) by node-run key. */
  private readonly steps = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  format(event: RunEvent): string {
    const time = `[${((this.now() - this.startedAt) / 1000).toFixed(1).padStart(5)}s]`;
    switch (event.type) {
      case 'status':
        return `${time} run ${event.runId} ${event.status}${progress(event.run)}`;
      case 'log':
        return `${time}   ${(event.log.level_code ?? 'log').padEnd(7)} ${event.log.message ?? ''}`;
      case 'node-run':
        return `${time}   step ${this.stepNumber(event.nodeRun)} ${event.nodeRun.state_code ?? 'changed'}${stepDetail(event.nodeRun)}`;
    }
  }

  private stepNumber(nodeRun: NodeRun): number {
    const key = nodeRun.id ?? nodeRun.node_id ?? '';
    let step = this.steps.get(key);
    if (step === undefined) {
      step = this.steps.size + 1;
      this.steps.set(key, step);
    }
    return step;
  }
}

function progress(run: Run): string {
  const total = run.nodes_total;
  if (typeof total !== 'number' || total <= 0) return '';
  return ` (${run.nodes_completed ?? 0}/${total} steps done)`;
}

function stepDetail(nodeRun: NodeRun): string {
  const parts: string[] = [];
  if (nodeRun.node_id) parts.push(`node ${nodeRun.node_id}`);
  if (typeof nodeRun.duration_ms === 'number') parts.push(`${(nodeRun.duration_ms / 1000).toFixed(1)} s`);
  if (nodeRun.error_message) parts.push(nodeRun.error_message);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** Lines describing a finished run's outputs, one per media item. */
export function formatOutputs(run: Run): string[] {
  const items = outputItems(run.output);
  if (items.length === 0) return ['no outputs'];
  return items.map((item, index) => `output ${index + 1}: ${item.type} ${item.url}${mediaDetail(item)}`);
}

function mediaDetail(item: OutputItem): string {
  const parts: string[] = [];
  if (typeof item.width === 'number' && typeof item.height === 'number') parts.push(`${item.width}x${item.height}`);
  if (typeof item.duration === 'number') parts.push(`${item.duration} s`);
  if (typeof item.size_bytes === 'number') parts.push(`${item.size_bytes} bytes`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
