import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../src/cli/main.js';
import { HIDE_CURSOR, LiveView, RESTORE_TERMINAL, fitFrame } from '../../src/cli/live-view.js';
import { FAST, FakeTerminal, cliOnTerminal, finalFrame } from './helpers.js';

const FULL_BAR = `[${'#'.repeat(16)}]`;

describe('live view on a terminal', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runflow-rx-tty-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('redraws demo and keeps final frame', async () => {
    const { code, terminal, stdout } = await cliOnTerminal(['demo', ...FAST]);

    expect(code).toBe(EXIT.succeeded);
    expect(stdout.startsWith(HIDE_CURSOR)).toBe(true);
    const frame = finalFrame(stdout);
    expect(frame[0]).toMatch(/^run \S+ {2}succeeded {2}\d+\.\ds {2}bytedance\/seedance\/2\.0\/fast\/text-to-video$/);
    expect(frame[1]).toBe(`  total   ${FULL_BAR} 100%  4/4 steps`);
    const steps = frame.filter((line) => line.startsWith('  step '));
    expect(steps).toHaveLength(4);
    for (const step of steps) expect(step).toMatch(/^ {2}step \d +\[#{16}\] succeeded +\w+ +\d+\.\d s$/);
    expect(frame).toContain('  log:');
    expect(frame.at(-1)).toMatch(/info +Run succeeded with 2 outputs$/);

    // What stays on screen: the last frame once, then the outputs, with the terminal restored.
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.slice(stdout.lastIndexOf(RESTORE_TERMINAL))).not.toContain('\u001b[?25l');
    expect(terminal.cursorVisible).toBe(true);
    expect(terminal.wrapping).toBe(true);
    const screen = terminal.screen();
    const frameStart = screen.indexOf(frame[0]!);
    expect(screen.slice(frameStart, frameStart + frame.length)).toEqual(frame);
    expect(screen.slice(frameStart + frame.length).map((line) => line.replace(/ http\S+.*/, ''))).toEqual([
      'output 1: video',
      'output 2: image',
    ]);
    expect(screen.filter((line) => line.startsWith('run '))).toHaveLength(1);
  });

  it('restores the terminal when interrupted', async () => {
    const interrupt = new AbortController();
    const { code, terminal, stdout } = await cliOnTerminal(['demo'], {
      signal: interrupt.signal,
      onStdout: (written) => {
        if (written.includes('running')) interrupt.abort();
      },
    });

    expect(code).toBe(EXIT.interrupted);
    expect(terminal.cursorVisible).toBe(true);
    expect(terminal.wrapping).toBe(true);
    expect(finalFrame(stdout)[0]).toMatch(/^run \S+ {2}running /);
    expect(terminal.screen().at(-1)).toMatch(
      /^runflow-rx: interrupted; stopped watching run \S+ \(the run itself is not canceled\)$/,
    );
  });

  it('restores the terminal after a failed run', async () => {
    const input = JSON.stringify({ prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } });
    const { code, terminal, stdout } = await cliOnTerminal(['run', 'openai/gpt-image-1.5', '--input', input, ...FAST]);

    expect(code).toBe(EXIT.failed);
    expect(terminal.cursorVisible).toBe(true);
    expect(finalFrame(stdout)[0]).toMatch(/^run \S+ {2}failed /);
    expect(terminal.screen().at(-1)).toMatch(/^runflow-rx: run \S+ failed: PROVIDER_ERROR at stage provider/);
  });

  it('shows batch items and total bar', async () => {
    const path = join(dir, 'inputs.jsonl');
    const lines = [
      { prompt: 'a fox', client_ref: 'fox' },
      { prompt: 'x', simulate: { outcome: 'failed', failureCode: 'PROVIDER_ERROR' } },
      { prompt: 'x', simulate: { outcome: 'canceled' } },
    ];
    await writeFile(path, lines.map((line) => JSON.stringify(line)).join('\n'));
    const { code, terminal, stdout } = await cliOnTerminal([
      'batch',
      'openai/gpt-image-1.5',
      '--inputs',
      path,
      ...FAST,
    ]);

    expect(code).toBe(EXIT.failed);
    expect(terminal.cursorVisible).toBe(true);
    const frame = finalFrame(stdout);
    expect(frame[0]).toMatch(/^batch of 3 items {2}3\/3 ended {2}\d+\.\ds {2}openai\/gpt-image-1\.5$/);
    expect(frame[1]).toBe(`  total   ${FULL_BAR} 100%  succeeded 1, partial 0, failed 1, cancelled 1`);
    expect(frame.slice(2, 5)).toEqual([
      '  item 1 (line 1) fox  [############] succeeded',
      '  item 2 (line 2)      [############] failed PROVIDER_ERROR',
      '  item 3 (line 3)      [############] canceled',
    ]);
    const screen = terminal.screen();
    expect(screen.at(-2)).toBe('summary total=3 succeeded=1 failed=1 cancelled=1 partial=0');
    expect(screen).toContainEqual(expect.stringMatching(/^item 2 \(line 2\) failed \(run \S+\): PROVIDER_ERROR/));
    expect(screen).toContainEqual(expect.stringMatching(/^item 3 \(line 3\) canceled \(run \S+\)$/));
  });

  it('fits batch frame to terminal height', async () => {
    const path = join(dir, 'many.jsonl');
    await writeFile(path, Array.from({ length: 30 }, (_, index) => JSON.stringify({ prompt: `p${index}` })).join('\n'));
    const rows = 12;
    const { code, stdout } = await cliOnTerminal(['batch', 'openai/gpt-image-1.5', '--inputs', path, ...FAST], {
      rows,
    });

    expect(code).toBe(EXIT.succeeded);
    const frame = finalFrame(stdout);
    expect(frame.length).toBeLessThanOrEqual(rows - 1);
    expect(frame).toContainEqual(expect.stringMatching(/^ {2}… \d+ more items not shown$/));
  });

  it('prints plain lines with --plain', async () => {
    const { code, stdout } = await cliOnTerminal(['demo', '--plain', ...FAST]);
    expect(code).toBe(EXIT.succeeded);
    expect(stdout).not.toContain('\u001b[');
    expect(stdout).toMatch(/run \S+ succeeded \(4\/4 steps done\)/);
  });
});

describe('LiveView', () => {
  it('keeps stderr lines above the frame', () => {
    const terminal = new FakeTerminal(40, 10);
    let frame = ['progress 1'];
    const view = new LiveView({ write: (text) => terminal.write(text), columns: 40, rows: 10 }, () => frame);
    view.start();
    view.printAbove(() => terminal.write('warning one\n'));
    frame = ['progress 2', 'step a'];
    view.draw();
    view.printAbove(() => terminal.write('warning two\n'));
    view.stop();

    expect(terminal.screen()).toEqual(['warning one', 'warning two', 'progress 2', 'step a']);
    expect(terminal.cursorVisible).toBe(true);
  });

  it('restores terminal when rendering throws', () => {
    const terminal = new FakeTerminal(40, 10);
    let fail = false;
    const view = new LiveView({ write: (text) => terminal.write(text) }, () => {
      if (fail) throw new Error('render failed');
      return ['frame'];
    });
    view.start();
    fail = true;
    expect(() => view.stop()).toThrow('render failed');
    expect(terminal.cursorVisible).toBe(true);
    expect(terminal.wrapping).toBe(true);
  });

  it('cuts lines and removes control characters', () => {
    const lines = fitFrame(['0123456789abc', 'bell\u0007 and \u001b[2J escape'], { columns: 10, rows: undefined });
    expect(lines).toEqual(['012345678', 'bell  and']);
    expect(fitFrame(['a', 'b', 'c', 'd'], { columns: 10, rows: 3 })).toEqual(['a', 'b']);
  });
});
