/**
 * Identifiers issued by the simulator: lowercase UUIDv7 strings for runs, logs and node-runs,
 * and name-based UUIDv5 strings for the stable ids of models, flows and nodes (RFC 9562).
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';

/** Largest value of the 12-bit counter that UUIDv7 keeps in its `rand_a` field. */
const MAX_COUNTER = 0xfff;

/** Namespace of the UUIDv5 ids that the simulator derives from model ids and node names. */
const SIMULATOR_NAMESPACE = 'b3c1f0a2-5d7e-4f8a-9b6c-2e4d6f8a0c1e';

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Formats a UUIDv7 from a Unix timestamp in ms, a 12-bit counter and random bits.
 * Ids with a later timestamp, or the same timestamp and a larger counter, sort after earlier ones.
 */
function formatUuidV7(timestampMs: number, counter: number): string {
  const bytes = new Uint8Array(16);
  let remaining = timestampMs;
  for (let index = 5; index >= 0; index -= 1) {
    bytes[index] = remaining % 256;
    remaining = Math.floor(remaining / 256);
  }
  bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
  bytes[7] = counter & 0xff;
  const random = randomBytes(8);
  bytes[8] = 0x80 | ((random[0] ?? 0) & 0x3f);
  bytes.set(random.subarray(1), 9);
  return formatUuid(bytes);
}

/**
 * Issues UUIDv7 ids in increasing order.
 *
 * Two ids requested for the same millisecond (common when simulated time does not move) differ
 * in the counter, so the later id still sorts after the earlier one. A timestamp lower than
 * the last one is treated as the last one, which keeps the order.
 */
export class UuidV7Generator {
  private lastTimestampMs = -1;
  private counter = 0;

  /** Returns a new id whose timestamp is `timestampMs`, or slightly later when needed to keep the order. */
  next(timestampMs: number): string {
    const timestamp = Math.max(0, Math.floor(timestampMs));
    if (timestamp > this.lastTimestampMs) {
      this.lastTimestampMs = timestamp;
      // Start low in the counter space, so that many ids fit into the same millisecond.
      this.counter = randomInt(0, 0x200);
    } else {
      this.counter += 1;
      if (this.counter > MAX_COUNTER) {
        this.lastTimestampMs += 1;
        this.counter = 0;
      }
    }
    return formatUuidV7(this.lastTimestampMs, this.counter);
  }
}

/** Returns the name-based UUIDv5 of `name` in the simulator's namespace, the same on every call. */
export function stableUuid(name: string): string {
  const namespace = Buffer.from(SIMULATOR_NAMESPACE.replace(/-/g, ''), 'hex');
  const digest = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  const bytes = new Uint8Array(digest.subarray(0, 16));
  bytes[6] = 0x50 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  return formatUuid(bytes);
}
