import { describe, expect, it } from 'vitest';

import { foldSnapshot, initialRunState, type RunEvent, type RunState } from '../../src/index.js';
import { logLine, nodeRun, runSnapshot } from './fixtures.js';

function foldAll(...snapshots: ReturnType<typeof runSnapshot>[]): { state: RunState; events: RunEvent[] } {
  let state = initialRunState('run-1');
  const events: RunEvent[] = [];
  for (const snapshot of snapshots) {
    const result = foldSnapshot(state, snapshot);
    state = result.state;
    events.push(...result.events);
  }
  return { state, events };
}

const describeEvent = (event: RunEvent): string =>
  event.type === 'status'
    ? `status:${event.status}`
    : event.type === 'log'
      ? `log:${event.log.message}`
      : `node:${event.nodeRun.id}:${event.nodeRun.state_code}`;

describe('foldSnapshot', () => {
  it('emits each distinct status once with its previous status', () => {
    const { events } = foldAll(
      runSnapshot('queued'),
      runSnapshot('queued'),
      runSnapshot('running'),
      runSnapshot('running'),
      runSnapshot('succeeded'),
    );
    expect(events.map(describeEvent)).toEqual(['status:queued', 'status:running', 'status:succeeded']);
    const previous = events.map((event) => (event.type === 'status' ? event.previous : 'n/a'));
    expect(previous).toEqual([undefined, 'queued', 'running']);
  });

  it('ignores a stale snapshot with a lower status', () => {
    let state = foldSnapshot(initialRunState('run-1'), runSnapshot('running')).state;
    const stale = foldSnapshot(state, runSnapshot('queued', { logs: [logLine('l1', 'late')] }));
    expect(stale.stale).toBe(true);
    expect(stale.events).toEqual([]);
    expect(stale.state).toBe(state);
    state = foldSnapshot(state, runSnapshot('succeeded')).state;
    expect(state.status).toBe('succeeded');
  });

  it('does not invent skipped statuses', () => {
    const { events } = foldAll(runSnapshot('queued'), runSnapshot('succeeded'));
    expect(events.map(describeEvent)).toEqual(['status:queued', 'status:succeeded']);
  });

  it('reads cancelled as canceled and ends the run', () => {
    const { state, events } = foldAll(runSnapshot('running'), runSnapshot('cancelled'));
    expect(events.map(describeEvent)).toEqual(['status:running', 'status:canceled']);
    expect(state.terminal).toBe(true);
  });

  it('ignores every snapshot after a terminal one', () => {
    let state = foldSnapshot(initialRunState('run-1'), runSnapshot('partial_succeeded')).state;
    const after = foldSnapshot(state, runSnapshot('failed', { logs: [logLine('l9', 'after the end')] }));
    expect(after.events).toEqual([]);
    expect(after.stale).toBe(false);
    state = after.state;
    expect(state.status).toBe('partial_succeeded');
  });

  it('emits each log line once, oldest first', () => {
    const first = [logLine('b', 'second', '2026-12-04T10:00:02Z'), logLine('a', 'first', '2026-12-04T10:00:01Z')];
    const second = [...first, logLine('c', 'third', '2026-12-04T10:00:03.000+00:00')];
    const { events } = foldAll(runSnapshot('running', { logs: first }), runSnapshot('running', { logs: second }));
    expect(events.map(describeEvent)).toEqual(['log:first', 'log:second', 'status:running', 'log:third']);
  });

  it('keeps identical log lines without ids as separate lines', () => {
    const line = { level_code: 'info', message: 'tick', timestamp: '2026-12-04T10:00:00Z' };
    const { events } = foldAll(
      runSnapshot('running', { logs: [line] }),
      runSnapshot('running', { logs: [line, line] }),
      runSnapshot('running', { logs: [line, line] }),
    );
    expect(events.filter((event) => event.type === 'log')).toHaveLength(2);
  });

  it('orders log lines, then node-runs, then the status', () => {
    const { events } = foldAll(
      runSnapshot('running', { logs: [logLine('l1', 'started')], node_runs: [nodeRun('n1', 'running')] }),
    );
    expect(events.map(describeEvent)).toEqual(['log:started', 'node:n1:running', 'status:running']);
  });

  it('emits node-run changes with the previous record', () => {
    const { events } = foldAll(
      runSnapshot('running', { node_runs: [nodeRun('n1', 'queued'), nodeRun('n2', 'queued')] }),
      runSnapshot('running', { node_runs: [nodeRun('n1', 'running'), nodeRun('n2', 'queued')] }),
      runSnapshot('running', { node_runs: [nodeRun('n1', 'succeeded'), nodeRun('n2', 'running')] }),
    );
    const changes = events.filter((event) => event.type === 'node-run');
    expect(changes.map(describeEvent)).toEqual([
      'node:n1:queued',
      'node:n2:queued',
      'node:n1:running',
      'node:n1:succeeded',
      'node:n2:running',
    ]);
    const third = changes[2];
    expect(third?.type === 'node-run' ? third.previous?.state_code : undefined).toBe('queued');
  });

  it('ignores a node-run that moves back without a retry', () => {
    const { events } = foldAll(
      runSnapshot('running', { node_runs: [nodeRun('n1', 'succeeded')] }),
      runSnapshot('running', { node_runs: [nodeRun('n1', 'running')] }),
      runSnapshot('running', { node_runs: [nodeRun('n1', 'running', { retry_count: 1 })] }),
    );
    expect(events.filter((event) => event.type === 'node-run').map(describeEvent)).toEqual([
      'node:n1:succeeded',
      'node:n1:running',
    ]);
  });

  it('reports an unknown status once and keeps it non-terminal', () => {
    const first = foldSnapshot(initialRunState('run-1'), runSnapshot('paused'));
    expect(first.newUnknownStatus).toBe('paused');
    expect(first.state.terminal).toBe(false);
    expect(first.events.map(describeEvent)).toEqual(['status:paused']);
    const second = foldSnapshot(first.state, runSnapshot('paused'));
    expect(second.newUnknownStatus).toBeUndefined();
    expect(second.events).toEqual([]);
  });

  it('does not change the state it was given', () => {
    const state = initialRunState('run-1');
    foldSnapshot(state, runSnapshot('running', { logs: [logLine('l1', 'x')], node_runs: [nodeRun('n1', 'running')] }));
    expect(state.emittedLogs.size).toBe(0);
    expect(state.nodeRuns.size).toBe(0);
    expect(state.emittedStatuses.size).toBe(0);
  });
});
