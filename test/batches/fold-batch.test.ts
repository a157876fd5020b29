import { describe, expect, it } from 'vitest';

import { INITIAL_BATCH_STATE, foldBatch, summarizeBatch } from '../../src/batches/watch.js';
import type { Batch, BatchEvent } from '../../src/index.js';

function batch(status: string, items: Array<[string, string]>, counters: Partial<Batch> = {}): Batch {
  return {
    id: 'batch-1',
    status_code: status,
    items: items.map(([id, itemStatus], index) => ({
      id,
      sequence_index: index,
      run_id: `run-${id}`,
      status_code: itemStatus,
    })),
    ...counters,
  } as Batch;
}

function foldAll(...snapshots: Batch[]): BatchEvent[] {
  let state = INITIAL_BATCH_STATE;
  const events: BatchEvent[] = [];
  for (const snapshot of snapshots) {
    const result = foldBatch(state, snapshot);
    state = result.state;
    events.push(...result.events);
  }
  return events;
}

const describeEvent = (event: BatchEvent): string =>
  event.type === 'batch-status'
    ? `batch:${event.status}`
    : event.type === 'batch-item'
      ? `item:${event.item.id}:${event.item.status_code}`
      : `summary:${JSON.stringify(event.summary)}`;

describe('foldBatch', () => {
  it('emits item changes, then the status, then the summary at the end', () => {
    const events = foldAll(
      batch('queued', [
        ['a', 'queued'],
        ['b', 'queued'],
      ]),
      batch('running', [
        ['a', 'running'],
        ['b', 'queued'],
      ]),
      batch(
        'partial_succeeded',
        [
          ['a', 'succeeded'],
          ['b', 'failed'],
        ],
        { items_total: 2, items_succeeded: 1, items_failed: 1, items_cancelled: 0 },
      ),
    );
    expect(events.map(describeEvent)).toEqual([
      'item:a:queued',
      'item:b:queued',
      'batch:queued',
      'item:a:running',
      'batch:running',
      'item:a:succeeded',
      'item:b:failed',
      'batch:partial_succeeded',
      'summary:{"total":2,"succeeded":1,"failed":1,"cancelled":0}',
    ]);
  });

  it('ignores a stale snapshot and an item moving back', () => {
    const events = foldAll(
      batch('running', [['a', 'running']]),
      batch('queued', [['a', 'queued']]),
      batch('running', [['a', 'queued']]),
    );
    expect(events.map(describeEvent)).toEqual(['item:a:running', 'batch:running']);
  });

  it('ignores everything after the terminal status', () => {
    const events = foldAll(batch('succeeded', [['a', 'succeeded']]), batch('failed', [['a', 'failed']]));
    expect(events.filter((event) => event.type === 'batch-summary')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'batch-item')).toHaveLength(1);
  });
});

describe('summarizeBatch', () => {
  it('counts lean items where counters are absent', () => {
    expect(
      summarizeBatch(
        batch('partial_succeeded', [
          ['a', 'succeeded'],
          ['b', 'canceled'],
          ['c', 'failed'],
        ]),
      ),
    ).toEqual({
      total: 3,
      succeeded: 1,
      failed: 1,
      cancelled: 1,
    });
  });
});
