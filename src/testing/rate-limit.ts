/**
 * Rate limiting: a token bucket per API key, refilled in simulated time.
 *
 * The Runflow docs give no numbers, and their page versions disagree on headers: one sends
 * `X-RateLimit-*` on every response and `Retry-After` on 429, the other sends no rate-limit
 * headers at all. The simulator sends none unless `headers: true`.
 */

/**
 * Rate limit of `SimulatorConfig.rateLimit` and `Simulator.setRateLimit()`.
 *
 * @example
 * const simulator = await startSimulator({ timeScale: 0, rateLimit: { requestsPerSecond: 2, burst: 5, headers: true } });
 */
export interface RateLimitConfig {
  /** Tokens added to each key's bucket per second of simulated time; a finite number > 0. */
  readonly requestsPerSecond: number;
  /** Bucket size: the most requests a key can send at once. An integer >= 1. Default: `requestsPerSecond` rounded up, at least 1. */
  readonly burst?: number;
  /**
   * Send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` on every response
   * to an authenticated `/v1/` request, and `Retry-After` on 429. Default: false, so no response
   * carries them.
   */
  readonly headers?: boolean;
}

/** `RateLimitConfig` with its defaults applied. */
export interface ResolvedRateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly headers: boolean;
}

/** Rounding slack when comparing token counts, which refills accumulate as fractions. */
const TOKEN_EPSILON = 1e-9;

interface Bucket {
  tokens: number;
  /** Simulated time of the last refill, in ms since the Unix epoch. */
  updatedAt: number;
}

/** Result of `RateLimiter.take()`. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** The rate-limit headers to send; empty unless the config sets `headers: true`. */
  readonly headers: Readonly<Record<string, string>>;
  /** `requestsPerSecond` and `burst` in force, for the 429 message. */
  readonly limit: ResolvedRateLimit;
}

/**
 * Applies the defaults to `config` and validates it; false turns rate limiting off.
 * Throws RangeError or TypeError naming the invalid field.
 */
export function resolveRateLimit(config: RateLimitConfig | false | undefined): ResolvedRateLimit | undefined {
  if (config === undefined || config === false) {
    return undefined;
  }
  if (typeof config !== 'object' || config === null) {
    throw new TypeError('Invalid rateLimit: expected { requestsPerSecond, burst?, headers? } or false.');
  }
  const { requestsPerSecond } = config;
  if (typeof requestsPerSecond !== 'number' || !Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0) {
    throw new RangeError(
      `Invalid rateLimit.requestsPerSecond ${String(requestsPerSecond)}: expected a finite number > 0.`,
    );
  }
  const burst = config.burst ?? Math.max(1, Math.ceil(requestsPerSecond));
  if (!Number.isInteger(burst) || burst < 1) {
    throw new RangeError(`Invalid rateLimit.burst ${String(burst)}: expected an integer >= 1.`);
  }
  if (config.headers !== undefined && typeof config.headers !== 'boolean') {
    throw new TypeError(`Invalid rateLimit.headers ${String(config.headers)}: expected true or false.`);
  }
  return { requestsPerSecond, burst, headers: config.headers === true };
}

/** Token buckets of every API key under one rate limit. */
export class RateLimiter {
  private limit: ResolvedRateLimit | undefined;
  private readonly buckets = new Map<string, Bucket>();

  /** `timeScale` of the simulator, to convert a simulated wait into the real seconds of `Retry-After`. */
  constructor(
    config: RateLimitConfig | false | undefined,
    private readonly timeScale: number,
  ) {
    this.limit = resolveRateLimit(config);
  }

  /** Replaces the rate limit, or turns it off with false. Every bucket starts full again. */
  configure(config: RateLimitConfig | false): void {
    this.limit = resolveRateLimit(config);
    this.buckets.clear();
  }

  /**
   * Takes a token from the bucket of `apiKey` at simulated time `now`. Returns undefined when
   * rate limiting is off; otherwise whether the request may proceed, with its headers.
   */
  take(apiKey: string, now: number): RateLimitDecision | undefined {
    const limit = this.limit;
    if (limit === undefined) {
      return undefined;
    }
    const bucket = this.refill(apiKey, now, limit);
    const allowed = bucket.tokens >= 1 - TOKEN_EPSILON;
    if (allowed) {
      bucket.tokens = Math.max(0, bucket.tokens - 1);
    }
    return { allowed, headers: limit.headers ? this.headersFor(bucket, now, limit, allowed) : {}, limit };
  }

  private refill(apiKey: string, now: number, limit: ResolvedRateLimit): Bucket {
    let bucket = this.buckets.get(apiKey);
    if (bucket === undefined) {
      // A key's bucket starts full at its first request.
      bucket = { tokens: limit.burst, updatedAt: now };
      this.buckets.set(apiKey, bucket);
    }
    const elapsedMs = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (elapsedMs * limit.requestsPerSecond) / 1000);
    bucket.updatedAt = now;
    return bucket;
  }

  /**
   * Builds the rate-limit headers. `X-RateLimit-Reset` is the simulated time, in Unix seconds
   * rounded up, at which the bucket is full again. `Retry-After` is real seconds until the
   * next token: the simulated wait divided by `timeScale` (taken as 1 when it is 0), rounded
   * up, at least 1.
   */
  private headersFor(bucket: Bucket, now: number, limit: ResolvedRateLimit, allowed: boolean): Record<string, string> {
    const msPerToken = 1000 / limit.requestsPerSecond;
    const fullAt = now + (limit.burst - bucket.tokens) * msPerToken;
    const headers: Record<string, string> = {
      'x-ratelimit-limit': String(limit.burst),
      'x-ratelimit-remaining': String(Math.floor(bucket.tokens + TOKEN_EPSILON)),
      'x-ratelimit-reset': String(Math.ceil(fullAt / 1000)),
    };
    if (!allowed) {
      const simulatedWaitMs = Math.max(0, 1 - bucket.tokens) * msPerToken;
      const realWaitMs = this.timeScale > 0 ? simulatedWaitMs / this.timeScale : simulatedWaitMs;
      headers['retry-after'] = String(Math.max(1, Math.ceil(realWaitMs / 1000)));
    }
    return headers;
  }
}
