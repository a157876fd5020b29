/**
 * The mutable state of one simulator: its clock, models, runs and settings.
 */
import type { StoredBatch } from './batch-view.js';
import type { CallbackDispatcher } from './callback-delivery.js';
import type { CallbackSecretStore } from './callback-secrets.js';
import type { SimulatedClock } from './clock.js';
import type { UuidV7Generator } from './ids.js';
import type { SimulatedModel } from './models.js';
import type { StoredRun, ViewDrift } from './run-view.js';
import type { ServedView } from './stale-views.js';

/** Every documented drift switch, resolved to a boolean. */
export interface ResolvedDrift extends ViewDrift {
  /** Runs go from `queued` straight to `running`. */
  readonly skipDispatching: boolean;
  /** Callbacks carry no `Runflow-Signature` header. */
  readonly omitSignature: boolean;
}

/** State shared by the route handlers of one simulator. */
export interface SimulatorState {
  readonly clock: SimulatedClock;
  /** Models by their slash path. */
  readonly models: ReadonlyMap<string, SimulatedModel>;
  /** Runs by id, in creation order. */
  readonly runs: Map<string, StoredRun>;
  readonly runIds: UuidV7Generator;
  readonly apiKeys: readonly string[];
  readonly drift: ResolvedDrift;
  /** `http://127.0.0.1:<port>`; empty until the server listens. */
  baseUrl: string;
  /** Lowest-ranked view served by run reads, by run id; stale reads serve it again. */
  readonly servedViews: Map<string, ServedView>;
  /** Batches by id, in creation order. */
  readonly batches: Map<string, StoredBatch>;
  /** Ids of batches and batch items. */
  readonly batchIds: UuidV7Generator;
  readonly callbackSecrets: CallbackSecretStore;
  /** Deliveries of run and batch callbacks, and the timers that start them. */
  readonly callbacks: CallbackDispatcher;
}
