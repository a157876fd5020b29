/**
 * Request counters per endpoint, such as `GET /v1/runs/{id}`. They count every request,
 * including rejected ones, and keep counting when `recordRequests` is off.
 */

/** Filter of `Simulator.counters()`. */
export interface CounterFilter {
  /**
   * Count only the requests whose response has this HTTP status. A request whose response is
   * pending, or whose connection was reset, has no status and counts only without this filter.
   */
  readonly status?: number;
}

/** A request as counted: its endpoint and the counter generation it arrived in. */
export interface CountedRequest {
  readonly endpoint: string;
  readonly generation: number;
}

/** Counts of requests by endpoint, and by endpoint and final status. */
export class RequestCounters {
  private received = new Map<string, number>();
  private byStatus = new Map<number, Map<string, number>>();
  /** Incremented by `reset()`, so a response to a request from before the reset is not counted after it. */
  private generation = 0;

  /** Counts a request that arrived for `endpoint`. */
  countReceived(endpoint: string): CountedRequest {
    this.received.set(endpoint, (this.received.get(endpoint) ?? 0) + 1);
    return { endpoint, generation: this.generation };
  }

  /** Counts the status of the response to `request`. */
  countStatus(request: CountedRequest, status: number): void {
    if (request.generation !== this.generation) {
      return;
    }
    const counts = this.byStatus.get(status) ?? new Map<string, number>();
    counts.set(request.endpoint, (counts.get(request.endpoint) ?? 0) + 1);
    this.byStatus.set(status, counts);
  }

  /** Returns the counts by endpoint, as a new object, for every request or for one final status. */
  snapshot(filter: CounterFilter = {}): Record<string, number> {
    const counts = filter.status === undefined ? this.received : this.byStatus.get(filter.status);
    return Object.fromEntries(counts ?? []);
  }

  /** Sets every count back to zero. */
  reset(): void {
    this.received = new Map();
    this.byStatus = new Map();
    this.generation += 1;
  }
}
