import { RunflowInputError, checkKnownKeys, describeValue } from '../errors.js';

/**
 * The largest delay a JavaScript timer can hold (2^31 - 1 ms, about 24.8 days). A longer delay
 * overflows and fires at once, so every configured delay is checked against it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Poll settings of a run. */
export interface PollConfig {
  /** Delay before the next poll after a poll that showed a change, in ms. Default 1000. */
  readonly intervalMs?: number;
  /** Largest delay between polls while nothing changes, in ms. Default 5000. */
  readonly maxIntervalMs?: number;
  /** Factor by which the delay grows after each poll that showed no change. Default 1.5. */
  readonly backoffFactor?: number;
  /**
   * `'shared'`: the run joins the client's shared poller, which checks all watched runs
   * together every `intervalMs` (of the client's settings) without backoff. `'per-run'`: the
   * run polls on its own with the interval and backoff above. Default `'shared'`.
   */
  readonly mode?: 'shared' | 'per-run';
}

export type ResolvedPollConfig = { -readonly [K in keyof PollConfig]-?: NonNullable<PollConfig[K]> };

export const DEFAULT_POLL: Readonly<ResolvedPollConfig> = Object.freeze({
  intervalMs: 1000,
  maxIntervalMs: 5000,
  backoffFactor: 1.5,
  mode: 'shared',
});

/** Merges poll settings over the defaults and checks them; throws RunflowInputError on a bad value. */
export function resolvePollConfig(...layers: ReadonlyArray<PollConfig | undefined>): ResolvedPollConfig {
  const given = layers.map(withoutUndefined);
  const merged = Object.assign({}, DEFAULT_POLL, ...given) as ResolvedPollConfig;
  // A long interval without a maximum of its own raises the default maximum instead of failing.
  if (given.every((layer) => layer.maxIntervalMs === undefined)) {
    merged.maxIntervalMs = Math.max(DEFAULT_POLL.maxIntervalMs, merged.intervalMs);
  }
  checkDelay('poll.intervalMs', merged.intervalMs, 1);
  checkDelay('poll.maxIntervalMs', merged.maxIntervalMs, merged.intervalMs, 'poll.intervalMs');
  if (
    typeof merged.backoffFactor !== 'number' ||
    !(merged.backoffFactor >= 1) ||
    !Number.isFinite(merged.backoffFactor)
  ) {
    throw new RunflowInputError(
      `Invalid poll.backoffFactor ${describeValue(merged.backoffFactor)}: expected a finite number of at least 1`,
    );
  }
  if (merged.mode !== 'shared' && merged.mode !== 'per-run') {
    throw new RunflowInputError(`Invalid poll.mode ${describeValue(merged.mode)}: expected "shared" or "per-run"`);
  }
  return merged;
}

/** Checks a delay in ms: a finite number from `min` to MAX_TIMER_MS. */
export function checkDelay(name: string, value: unknown, min: number, minName?: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    const from = minName === undefined ? `${min}` : `${minName} (${min})`;
    throw new RunflowInputError(
      `Invalid ${name} ${describeValue(value)}: expected a number of milliseconds from ${from} to ${MAX_TIMER_MS}`,
    );
  }
  return value;
}

const POLL_OPTIONS: ReadonlyArray<keyof PollConfig> = ['intervalMs', 'maxIntervalMs', 'backoffFactor', 'mode'];

function withoutUndefined(config: PollConfig | undefined): PollConfig {
  if (config === undefined) return {};
  checkKnownKeys('poll', config, POLL_OPTIONS);
  if (typeof config !== 'object' || config === null) {
    throw new RunflowInputError(
      `Invalid poll settings ${describeValue(config)}: expected an object such as { intervalMs: 1000 }`,
    );
  }
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as PollConfig;
}
