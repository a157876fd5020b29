/**
 * Configuration of `startSimulator()` and its validation.
 */
import { builtInModels } from './built-in-models.js';
import { validateTimeScale } from './clock.js';
import { validateFaultRule, type FaultRule } from './faults.js';
import type { SimulatedModel } from './models.js';
import { DEFAULT_CALLBACK_TIMEOUT_MS } from './callback-delivery.js';
import { resolveRateLimit, type RateLimitConfig } from './rate-limit.js';
import type { ResolvedDrift } from './state.js';

/** API key that every simulator accepts unless `SimulatorConfig.apiKeys` replaces the list. */
export const SIMULATOR_API_KEY = 'rf_sim_local_key';

/** Switches for documented API drift, to test how clients cope with it. Each defaults to false. */
export interface SimulatorDrift {
  /** Report canceled runs with `status_code: 'cancelled'` (UK spelling) instead of `canceled`. */
  readonly cancelledSpelling?: boolean;
  /** Send the output as `{ image_urls: [...] }` instead of `{ outputs: [...], seed, timing, nsfw_detected }`. */
  readonly legacyImageUrls?: boolean;
  /** Move runs from `queued` straight to `running`, without `dispatching`. */
  readonly skipDispatching?: boolean;
  /** Send callbacks without the `Runflow-Signature` header, even when a callback secret is current. */
  readonly omitSignature?: boolean;
}

/** Options of `startSimulator()`; every field is optional. */
export interface SimulatorConfig {
  /** TCP port on 127.0.0.1. Default: 0, a free port chosen by the system. */
  readonly port?: number;
  /**
   * Simulated ms per real ms. Default: 1. With 0, simulated time moves only through
   * `advanceTime()`, which is what tests should use. Negative and non-finite values are rejected.
   */
  readonly timeScale?: number;
  /** Simulated time at start, in ms since the Unix epoch. Default: the current time. */
  readonly startTimeMs?: number;
  /** Accepted API keys. Default: `[SIMULATOR_API_KEY]`. */
  readonly apiKeys?: readonly string[];
  /** Models added to the built-in ones; a model with the id of a built-in model replaces it. Default: none. */
  readonly models?: readonly SimulatedModel[];
  /** Documented API drift to reproduce. Default: none. */
  readonly drift?: SimulatorDrift;
  /** Token bucket per API key; `Simulator.setRateLimit()` changes it later. Default: false, no rate limit. */
  readonly rateLimit?: RateLimitConfig | false;
  /** Fault rules active from the start, as if passed to `Simulator.injectFault()` in order. Default: none. */
  readonly faults?: readonly FaultRule[];
  /**
   * Keep every request for `Simulator.requests()` and `requestCount()`. Turn it off for long
   * benchmarks; `counters()` keeps counting. Default: true.
   */
  readonly recordRequests?: boolean;
  /**
   * Plain text of a callback signing secret that exists and is current from the start, as if
   * created with `POST /v1/callback-secrets`. Default: none, so callbacks go unsigned until a
   * secret is created.
   */
  readonly callbackSecret?: string;
  /** Time each callback attempt may take before it counts as timed out, in simulated ms. Default: 10 000. */
  readonly callbackTimeoutMs?: number;
}

/** `SimulatorConfig` with defaults applied. */
export interface ResolvedConfig {
  readonly port: number;
  readonly timeScale: number;
  readonly startTimeMs: number;
  readonly apiKeys: readonly string[];
  readonly models: ReadonlyMap<string, SimulatedModel>;
  readonly drift: ResolvedDrift;
  readonly rateLimit: RateLimitConfig | false;
  readonly faults: readonly FaultRule[];
  readonly recordRequests: boolean;
  readonly callbackSecret: string | undefined;
  readonly callbackTimeoutMs: number;
}

const API_KEY_PATTERN = /^\S+$/;

function validateModel(model: SimulatedModel): void {
  const segments = typeof model.id === 'string' ? model.id.split('/') : [];
  if (segments.length === 0 || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new TypeError(
      `Invalid model id ${JSON.stringify(model.id)}: ` +
        'expected a slash-separated path of non-empty segments other than . and ..',
    );
  }
  if (typeof model.validateInput !== 'function' || typeof model.buildOutputs !== 'function') {
    throw new TypeError(`Invalid model ${model.id}: validateInput and buildOutputs must be functions.`);
  }
  if (typeof model.timeline !== 'function' && (typeof model.timeline !== 'object' || model.timeline === null)) {
    throw new TypeError(`Invalid model ${model.id}: timeline must be an object or a function returning one.`);
  }
}

/** Applies the defaults and validates `config`. Throws RangeError or TypeError naming the invalid option. */
export function resolveConfig(config: SimulatorConfig): ResolvedConfig {
  const port = config.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Invalid port ${String(port)}: expected an integer from 0 to 65535 (0 picks a free port).`);
  }

  const timeScale = config.timeScale ?? 1;
  validateTimeScale(timeScale);

  const startTimeMs = config.startTimeMs ?? Date.now();
  if (!Number.isFinite(startTimeMs) || startTimeMs < 0) {
    throw new RangeError(`Invalid startTimeMs ${String(startTimeMs)}: expected ms since the Unix epoch.`);
  }

  const apiKeys = config.apiKeys ?? [SIMULATOR_API_KEY];
  if (apiKeys.length === 0) {
    throw new RangeError('Invalid apiKeys: expected at least one key.');
  }
  for (const key of apiKeys) {
    if (typeof key !== 'string' || !API_KEY_PATTERN.test(key)) {
      throw new TypeError('Invalid apiKeys: every key must be a non-empty string without whitespace.');
    }
  }

  const models = new Map<string, SimulatedModel>();
  for (const model of [...builtInModels, ...(config.models ?? [])]) {
    validateModel(model);
    models.set(model.id, model);
  }

  const rateLimit = config.rateLimit ?? false;
  resolveRateLimit(rateLimit);
  const faults = config.faults ?? [];
  if (!Array.isArray(faults)) {
    throw new TypeError('Invalid faults: expected an array of fault rules.');
  }
  faults.forEach(validateFaultRule);
  if (config.recordRequests !== undefined && typeof config.recordRequests !== 'boolean') {
    throw new TypeError(`Invalid recordRequests ${String(config.recordRequests)}: expected true or false.`);
  }
  if (
    config.callbackSecret !== undefined &&
    (typeof config.callbackSecret !== 'string' || config.callbackSecret === '')
  ) {
    throw new TypeError('Invalid callbackSecret: expected a non-empty string, the plain text that signs callbacks.');
  }
  const callbackTimeoutMs = config.callbackTimeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
  if (typeof callbackTimeoutMs !== 'number' || !Number.isFinite(callbackTimeoutMs) || callbackTimeoutMs <= 0) {
    throw new RangeError(
      `Invalid callbackTimeoutMs ${String(callbackTimeoutMs)}: expected a finite number of simulated ms > 0.`,
    );
  }

  return {
    port,
    timeScale,
    startTimeMs,
    apiKeys: [...apiKeys],
    models,
    drift: {
      cancelledSpelling: config.drift?.cancelledSpelling === true,
      legacyImageUrls: config.drift?.legacyImageUrls === true,
      skipDispatching: config.drift?.skipDispatching === true,
      omitSignature: config.drift?.omitSignature === true,
    },
    rateLimit,
    faults: [...faults],
    recordRequests: config.recordRequests ?? true,
    callbackSecret: config.callbackSecret,
    callbackTimeoutMs,
  };
}
