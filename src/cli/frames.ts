import { Subject } from 'rxjs';

import type { RunBatchEvent } from '../batches/run-batch.js';
import type { NodeRun } from '../codecs/run.js';
import { combineNodeRuns, type NodeRunProgress } from '../operators/combine-node-runs.js';
import type { RunStreamEvent } from '../operators/events.js';
import type { FrameSize } from './live-view.js';

/** Log lines kept for the tail under the frame. */
const LOG_TAIL_LINES = 5;
const BAR_WIDTH = 16;
const ITEM_BAR_WIDTH = 12;
const MAX_STEP_NAME = 28;

/** Feeds run events through `combineNodeRuns` and keeps its latest snapshot. */
class StepProgress {
  private readonly events = new Subject<RunStreamEvent>();
  latest: NodeRunProgress | undefined;

  constructor() {
    this.events.pipe(combineNodeRuns()).subscribe((progress) => {
      this.latest = progress;
    });
  }

  push(event: RunStreamEvent): void {
    this.events.next(event);
  }
}

/** The last few log lines, oldest first. */
class LogTail {
  readonly lines: string[] = [];

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LOG_TAIL_LINES) this.lines.shift();
  }
}

/** The state behind the live view of one run (`run`, `watch`, `demo`). */
export class RunFrame {
  private readonly steps = new StepProgress();
  private readonly logs = new LogTail();
  private runId: string | undefined;
  private status: string | undefined;
  private retry: string | undefined;
  private readonly startedAt: number;

  constructor(
    private readonly title: string,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  push(event: RunStreamEvent): void {
    this.runId = event.runId;
    this.steps.push(event);
    if (event.type === 'status') {
      this.status = event.status;
      this.retry = undefined;
    } else if (event.type === 'log') {
      this.logs.add(
        `${seconds(this.now() - this.startedAt)} ${(event.log.level_code ?? 'log').padEnd(7)} ${event.log.message ?? ''}`,
      );
    } else if (event.type === 'retry') {
      this.retry = `retrying: attempt ${event.attempt + 1} of ${event.maxAttempts}`;
    }
  }

  render(size: FrameSize): string[] {
    const elapsedMs = this.now() - this.startedAt;
    const progress = this.steps.latest;
    const ratio = progress?.ratio ?? 0;
    const counts =
      progress === undefined || progress.total === 0 ? '' : `  ${progress.completed}/${progress.total} steps`;
    const lines = [
      `run ${this.runId ?? '(creating)'}  ${this.retry ?? this.status ?? 'creating'}  ${seconds(elapsedMs)}  ${this.title}`,
      `  total   ${bar(ratio, BAR_WIDTH)} ${percent(ratio)}${counts}`,
    ];

    const steps = [...(progress?.steps.values() ?? [])];
    const nameWidth = Math.min(MAX_STEP_NAME, Math.max(0, ...steps.map((step) => stepName(step).length)));
    const logRoom = this.logs.lines.length === 0 ? 0 : this.logs.lines.length + 1;
    const stepRoom = size.rows === undefined ? steps.length : Math.max(1, size.rows - 1 - lines.length - logRoom);
    const shown = steps.length <= stepRoom ? steps : steps.slice(steps.length - (stepRoom - 1));
    if (shown.length < steps.length) lines.push(`  … ${steps.length - shown.length} earlier steps`);
    for (const step of shown) {
      const number = steps.indexOf(step) + 1;
      const state = step.state_code ?? 'unknown';
      const duration = typeof step.duration_ms === 'number' ? `  ${(step.duration_ms / 1000).toFixed(1)} s` : '';
      lines.push(
        `  step ${String(number).padEnd(2)} ${stepBar(state, elapsedMs)} ${state.padEnd(17)} ` +
          `${stepName(step).slice(0, nameWidth).padEnd(nameWidth)}${duration}`,
      );
    }

    if (this.logs.lines.length > 0) {
      lines.push('  log:');
      for (const line of this.logs.lines) lines.push(`    ${line}`);
    }
    return lines;
  }
}

/** The state of one batch item in the live view. */
interface ItemView {
  readonly number: number;
  readonly line: number;
  readonly clientRef: string | undefined;
  steps: StepProgress;
  /** `waiting` before its first event, then the latest run status, then the outcome. */
  state: string;
  /** The failure code (or message) after a failure or a retry, else empty. */
  detail: string;
  ended: boolean;
  /** The order in which the item ended or last changed, for choosing what fits on screen. */
  touched: number;
}

/** The state behind the live view of `batch`. */
export class BatchFrame {
  private readonly items: ItemView[];
  private readonly logs = new LogTail();
  private readonly counts = { succeeded: 0, partial: 0, failed: 0, cancelled: 0 };
  private changes = 0;
  private readonly startedAt: number;

  constructor(
    private readonly modelId: string,
    lines: ReadonlyArray<{ readonly line: number; readonly clientRef: string | undefined }>,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    this.items = lines.map(({ line, clientRef }, index) => ({
      number: index + 1,
      line,
      clientRef,
      steps: new StepProgress(),
      state: 'waiting',
      detail: '',
      ended: false,
      touched: 0,
    }));
  }

  push(event: RunBatchEvent<RunStreamEvent>): void {
    if (event.type === 'summary') return;
    const item = this.items[event.index];
    if (item === undefined) return;
    item.touched = ++this.changes;

    if (event.type === 'item-outcome') {
      item.ended = true;
      item.state = event.outcome.status;
      item.detail =
        event.outcome.status === 'failed' ? (event.outcome.failureCode ?? event.outcome.failureMessage) : '';
      if (event.outcome.status === 'succeeded') this.counts.succeeded++;
      else if (event.outcome.status === 'partial_succeeded') this.counts.partial++;
      else if (event.outcome.status === 'canceled') this.counts.cancelled++;
      else this.counts.failed++;
      return;
    }

    const runEvent = event.event;
    if (runEvent.type === 'retry') {
      // The next attempt is a new run, so its steps start from nothing.
      item.steps = new StepProgress();
      item.state = `retrying (attempt ${runEvent.attempt + 1} of ${runEvent.maxAttempts})`;
      item.detail = runEvent.error.failureCode ?? '';
      return;
    }
    item.steps.push(runEvent);
    if (runEvent.type === 'status') {
      item.state = runEvent.status;
      item.detail = '';
    } else if (runEvent.type === 'log') {
      this.logs.add(
        `item ${item.number}: ${(runEvent.log.level_code ?? 'log').padEnd(7)} ${runEvent.log.message ?? ''}`,
      );
    }
  }

  render(size: FrameSize): string[] {
    const ended = this.items.filter((item) => item.ended).length;
    const ratio =
      this.items.length === 0 ? 1 : this.items.reduce((sum, item) => sum + itemRatio(item), 0) / this.items.length;
    const { succeeded, partial, failed, cancelled } = this.counts;
    const lines = [
      `batch of ${this.items.length} items  ${ended}/${this.items.length} ended  ${seconds(this.now() - this.startedAt)}  ${this.modelId}`,
      `  total   ${bar(ratio, BAR_WIDTH)} ${percent(ratio)}  ` +
        `succeeded ${succeeded}, partial ${partial}, failed ${failed}, cancelled ${cancelled}`,
    ];

    const logRoom = this.logs.lines.length === 0 ? 0 : this.logs.lines.length + 1;
    const itemRoom = size.rows === undefined ? this.items.length : Math.max(2, size.rows - 1 - lines.length - logRoom);
    const shown = this.itemsThatFit(itemRoom);
    const labelWidth = Math.max(...shown.map((item) => itemLabel(item).length), 0);
    for (const item of shown) {
      const progress = item.steps.latest;
      const steps =
        !item.ended && progress !== undefined && progress.total > 0
          ? ` ${progress.completed}/${progress.total} steps`
          : '';
      const state = `${item.state}${item.detail === '' ? '' : ` ${item.detail}`}${steps}`;
      lines.push(`  ${itemLabel(item).padEnd(labelWidth)}  ${bar(itemRatio(item), ITEM_BAR_WIDTH)} ${state}`);
    }
    const hidden = this.items.length - shown.length;
    if (hidden > 0) lines.push(`  … ${hidden} more items not shown`);

    if (this.logs.lines.length > 0) {
      lines.push('  log:');
      for (const line of this.logs.lines) lines.push(`    ${line}`);
    }
    return lines;
  }

  /**
   * Chooses at most `room` items (one line is kept for the "more items" note when some are left
   * out): the items in flight first, then the ones that changed last, shown in file order.
   */
  private itemsThatFit(room: number): ItemView[] {
    if (this.items.length <= room) return this.items;
    const ranked = [...this.items].sort((a, b) => {
      const activeA = !a.ended && a.state !== 'waiting';
      const activeB = !b.ended && b.state !== 'waiting';
      if (activeA !== activeB) return activeA ? -1 : 1;
      return b.touched - a.touched || a.number - b.number;
    });
    return ranked.slice(0, Math.max(1, room - 1)).sort((a, b) => a.number - b.number);
  }
}

function itemLabel(item: ItemView): string {
  return `item ${item.number} (line ${item.line})${item.clientRef === undefined ? '' : ` ${item.clientRef}`}`;
}

/** Returns an item's share of the total bar: 1 once it ended, else the step ratio of its run. */
function itemRatio(item: ItemView): number {
  if (item.ended) return 1;
  return item.steps.latest?.ratio ?? 0;
}

/**
 * Returns the label of a step: `input.node_name` when the node-run has one, else the first 8 characters
 * of its node id. NOTE: the Runflow docs name no field for a step's name; the simulator sends
 * `input.node_name`, and a real server may not.
 */
function stepName(step: NodeRun): string {
  const name = step.input?.['node_name'];
  if (typeof name === 'string' && name !== '') return name;
  return (step.node_id ?? step.id ?? '').slice(0, 8);
}

/** Returns a bar such as `[######......]` filled to `ratio` (clamped to 0..1). */
export function bar(ratio: number, width: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(ratio) ? ratio : 0));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * Returns the bar of one step. A step reports no fraction of its own, so a succeeded step is
 * full, a failed or canceled one is crossed out and a waiting one is empty. A running step shows
 * a block that moves with `elapsedMs`, which shows that the step is busy without claiming how
 * far it got.
 */
export function stepBar(state: string, elapsedMs: number): string {
  if (state === 'succeeded' || state === 'partial_succeeded') return bar(1, BAR_WIDTH);
  if (state === 'failed' || state === 'canceled') return `[${'x'.repeat(BAR_WIDTH)}]`;
  if (state !== 'running') return bar(0, BAR_WIDTH);
  const block = 4;
  const offset = Math.floor(elapsedMs / 100) % (BAR_WIDTH - block + 1);
  return `[${'.'.repeat(offset)}${'='.repeat(block)}${'.'.repeat(BAR_WIDTH - block - offset)}]`;
}

function percent(ratio: number): string {
  return `${String(Math.round(Math.min(1, Math.max(0, ratio)) * 100)).padStart(3)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
