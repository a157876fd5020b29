/**
 * The simulator's clock: simulated time runs at `timeScale` times real time and jumps forward
 * on `advance()`. Run states are computed from it on every read, so the only timers are the
 * ones behind `schedule()`, which `dispose()` clears.
 */
import { performance } from 'node:perf_hooks';

/** Largest delay that setTimeout accepts without firing at once (2^31 - 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

interface ScheduledTask {
  readonly dueAt: number;
  readonly callback: () => void;
}

/** Handle of a task registered with `SimulatedClock.schedule()`. */
export interface ScheduledTaskHandle {
  /** Removes the task; it does nothing when the task has already run. */
  cancel(): void;
}

/** Throws a RangeError unless `timeScale` is a finite number of at least 0. */
export function validateTimeScale(timeScale: number): void {
  if (typeof timeScale !== 'number' || !Number.isFinite(timeScale) || timeScale < 0) {
    throw new RangeError(
      `Invalid timeScale ${String(timeScale)}: expected a finite number >= 0 ` +
        '(simulated ms per real ms, 0 to move time only with advanceTime()).',
    );
  }
}

/** Simulated wall-clock time in ms since the Unix epoch. */
export class SimulatedClock {
  private readonly realStart = performance.now();
  private advancedMs = 0;
  private tasks: ScheduledTask[] = [];
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(
    private readonly startTimeMs: number,
    private readonly timeScale: number,
  ) {
    validateTimeScale(timeScale);
  }

  /** Current simulated time, in whole ms since the Unix epoch. */
  now(): number {
    const realElapsed = performance.now() - this.realStart;
    return Math.floor(this.startTimeMs + realElapsed * this.timeScale + this.advancedMs);
  }

  /** Moves simulated time forward by `ms` and runs the tasks that became due. */
  advance(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Invalid advanceTime(${String(ms)}): expected a finite number of ms >= 0.`);
    }
    this.advancedMs += ms;
    this.runDueTasks();
  }

  /**
   * Runs `callback` once simulated time reaches `dueAt`, either through real time passing
   * (when `timeScale` > 0) or through `advance()`. The callback never runs before
   * `schedule()` returns, even when `dueAt` has already passed.
   */
  schedule(dueAt: number, callback: () => void): ScheduledTaskHandle {
    const task: ScheduledTask = { dueAt, callback };
    if (this.disposed) {
      return { cancel: () => undefined };
    }
    this.tasks.push(task);
    this.armTimer();
    return {
      cancel: () => {
        this.tasks = this.tasks.filter((candidate) => candidate !== task);
        this.armTimer();
      },
    };
  }

  /** Drops every pending task and stops the real-time timer. */
  dispose(): void {
    this.disposed = true;
    this.tasks = [];
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private runDueTasks(): void {
    const now = this.now();
    const due = this.tasks.filter((task) => task.dueAt <= now);
    this.tasks = this.tasks.filter((task) => task.dueAt > now);
    for (const task of due) {
      task.callback();
    }
    this.armTimer();
  }

  /** Sets one real-time timer for the earliest pending task, when real time moves simulated time. */
  private armTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.disposed || this.tasks.length === 0) {
      return;
    }
    const earliest = Math.min(...this.tasks.map((task) => task.dueAt));
    if (this.timeScale === 0) {
      // Only advance() moves time, except for a task that is already due.
      if (earliest <= this.now()) this.timer = setTimeout(() => this.runDueTasks(), 0);
      return;
    }
    if (!Number.isFinite(earliest)) {
      return;
    }
    const realDelayMs = Math.max(0, (earliest - this.now()) / this.timeScale);
    // Add 1 ms because now() floors the time, so the task would otherwise be found not yet due.
    // Cap at the largest delay setTimeout accepts; a timer that fires early simply re-arms.
    const timeoutMs = Math.min(Math.ceil(realDelayMs) + 1, MAX_TIMEOUT_MS);
    this.timer = setTimeout(() => this.runDueTasks(), timeoutMs);
  }
}
