/**
 * Callback signing secrets: `POST /v1/callback-secrets` and the reads, updates and deletes of
 * `/v1/callback-secrets/{id}`.
 *
 * The plain text of a secret is returned once, at creation, and is the HMAC-SHA256 key of the
 * `Runflow-Signature` header. At most one secret is current, and the current one signs new
 * deliveries. Secrets are global to one simulator, not scoped by organisation.
 */
import { randomBytes } from 'node:crypto';
import { UuidV7Generator } from './ids.js';
import { isoTime, isoTimeOrNull, type JsonObject } from './run-view.js';

/** Prefix of generated plain secrets, as in the documented example. */
export const PLAIN_SECRET_PREFIX = 'whsec_';

/** Maximum length of a secret `label`, in characters. */
export const MAX_SECRET_LABEL_LENGTH = 255;

/** Number of leading characters of the plain secret shown as `key_prefix`, at most half the secret. */
const KEY_PREFIX_LENGTH = 10;

/** A callback secret as the simulator stores it. */
export interface StoredSecret {
  readonly id: string;
  readonly orgId: string;
  readonly plainSecret: string;
  readonly keyPrefix: string;
  readonly createdAt: number;
  isCurrent: boolean;
  label: string | null;
  updatedAt: number;
  /** Simulated time of the last callback attempt it signed, or null. */
  lastUsedAt: number | null;
}

/** Changes of `PATCH /v1/callback-secrets/{id}`. An absent field stays as it is. */
export interface SecretUpdate {
  readonly label?: string | null;
  readonly isCurrent?: boolean;
}

/** Returns the secret record as the REST API sends it, without secret material. */
export function renderSecret(secret: StoredSecret): JsonObject {
  return {
    id: secret.id,
    org_id: secret.orgId,
    key_prefix: secret.keyPrefix,
    is_current: secret.isCurrent,
    label: secret.label,
    // Not documented: how a secret gets disabled. The simulator never disables one.
    disabled_at: null,
    last_used_at: isoTimeOrNull(secret.lastUsedAt),
    created_at: isoTime(secret.createdAt),
    updated_at: isoTime(secret.updatedAt),
  };
}

/** The callback secrets of one simulator, in creation order. */
export class CallbackSecretStore {
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly ids = new UuidV7Generator();

  /**
   * Creates a secret with `plainSecret`, or a random `whsec_` one. It becomes current when no
   * secret is current.
   */
  create(options: { orgId: string; label: string | null; now: number; plainSecret?: string }): StoredSecret {
    const plainSecret = options.plainSecret ?? `${PLAIN_SECRET_PREFIX}${randomBytes(24).toString('base64url')}`;
    const secret: StoredSecret = {
      id: this.ids.next(options.now),
      orgId: options.orgId,
      plainSecret,
      keyPrefix: plainSecret.slice(0, Math.min(KEY_PREFIX_LENGTH, Math.floor(plainSecret.length / 2))),
      createdAt: options.now,
      isCurrent: this.current() === undefined,
      label: options.label,
      updatedAt: options.now,
      lastUsedAt: null,
    };
    this.secrets.set(secret.id, secret);
    return secret;
  }

  get(id: string): StoredSecret | undefined {
    return this.secrets.get(id.toLowerCase());
  }

  /** Returns the secret that signs new deliveries, or undefined when none is current. */
  current(): StoredSecret | undefined {
    for (const secret of this.secrets.values()) {
      if (secret.isCurrent) return secret;
    }
    return undefined;
  }

  list(): StoredSecret[] {
    return [...this.secrets.values()];
  }

  /** Applies `update` to `secret`. Promoting it demotes the secret that was current. */
  update(secret: StoredSecret, update: SecretUpdate, now: number): void {
    if (update.label !== undefined) {
      secret.label = update.label;
    }
    if (update.isCurrent === true && !secret.isCurrent) {
      const previous = this.current();
      if (previous !== undefined) {
        previous.isCurrent = false;
        previous.updatedAt = now;
      }
      secret.isCurrent = true;
    } else if (update.isCurrent === false) {
      secret.isCurrent = false;
    }
    secret.updatedAt = now;
  }

  /** Deletes the secret. Deleting the current one leaves no secret current. */
  delete(secret: StoredSecret): void {
    this.secrets.delete(secret.id);
  }
}
