/**
 * What the gateway remembers about each charge point's security, in the state store (never in
 * process memory, so that every gateway sharing one store sees a rotated password or a recorded
 * profile at the next handshake): the password it must now present, and the highest security
 * profile it has connected with.
 *
 * Records are read as untrusted JSON (another instance or an older version may have written
 * them): a record that does not have the expected shape counts as absent and is logged.
 */
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';

export const PASSWORD_NAMESPACE = 'security.password';
export const PROFILE_NAMESPACE = 'security.profile';

export type SecurityProfile = 1 | 2 | 3;

export interface StoredPassword {
  /** Verifiers of the password in use; absent while the configured password is still the one. */
  current?: string[];
  /**
   * A change the station was asked to make but never answered (timeout, lost connection): it may
   * or may not have applied it, so its verifiers admit too until the station presents one of the
   * two, which then decides. With `untilUsed` the station said it applies it later (RebootRequired,
   * or a password for another network connection profile: OCPP 2.1 B09.FR.14/28): a login with
   * the old password decides nothing, the new one is admitted beside it until the station uses it.
   */
  pending?: { verifiers: string[]; since: string; untilUsed?: boolean };
  updatedAt: string;
}

export interface StoredProfile {
  /** The highest profile it connected with; a lower one is refused (1.6 A05.FR.09, 2.x A05.FR.07). */
  profile: 2 | 3;
  since: string;
  /** The connector (ocpp.json) it connected through. */
  connector: string;
}

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.length <= 4 && v.every((x) => typeof x === 'string');

function parsePassword(value: unknown): StoredPassword | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const out: StoredPassword = { updatedAt: typeof v.updatedAt === 'string' ? v.updatedAt : '' };
  if (v.current !== undefined) {
    if (!isStringList(v.current)) return undefined;
    out.current = v.current;
  }
  if (v.pending !== undefined) {
    const p = v.pending as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || !isStringList(p.verifiers)) return undefined;
    out.pending = {
      verifiers: p.verifiers,
      since: typeof p.since === 'string' ? p.since : '',
      ...(p.untilUsed === true ? { untilUsed: true } : {}),
    };
  }
  return out;
}

function parseProfile(value: unknown): StoredProfile | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.profile !== 2 && v.profile !== 3) return undefined;
  return {
    profile: v.profile,
    since: typeof v.since === 'string' ? v.since : '',
    connector: typeof v.connector === 'string' ? v.connector : '',
  };
}

export class SecurityState {
  private readonly store: RecordStore;
  private readonly logger: Logger;
  /** Read-modify-write of one charge point's password record, one at a time (in this process). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(store: RecordStore, logger: Logger) {
    this.store = store;
    this.logger = logger;
  }

  async password(chargePointId: string): Promise<StoredPassword | undefined> {
    const raw = await this.store.getRecord(PASSWORD_NAMESPACE, chargePointId);
    if (raw === undefined) return undefined;
    const parsed = parsePassword(raw);
    if (!parsed) this.logger.warn({ chargePointId }, 'stored password record is unreadable: ignored');
    return parsed;
  }

  /**
   * Changes the password record under a per-charge-point lock; `change` returns the new record,
   * or null to delete it, or undefined to leave it as it is.
   */
  updatePassword(
    chargePointId: string,
    change: (current: StoredPassword | undefined) => StoredPassword | null | undefined,
  ): Promise<void> {
    const previous = this.locks.get(chargePointId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const updated = change(await this.password(chargePointId));
        if (updated === null) await this.store.deleteRecord(PASSWORD_NAMESPACE, chargePointId);
        else if (updated !== undefined)
          await this.store.putRecord(PASSWORD_NAMESPACE, chargePointId, updated);
      });
    this.locks.set(chargePointId, next);
    const release = (): void => {
      if (this.locks.get(chargePointId) === next) this.locks.delete(chargePointId);
    };
    next.then(release, release);
    return next;
  }

  async profile(chargePointId: string): Promise<StoredProfile | undefined> {
    const raw = await this.store.getRecord(PROFILE_NAMESPACE, chargePointId);
    if (raw === undefined) return undefined;
    const parsed = parseProfile(raw);
    if (!parsed) this.logger.warn({ chargePointId }, 'stored security profile record is unreadable: ignored');
    return parsed;
  }

  putProfile(chargePointId: string, profile: StoredProfile): Promise<void> {
    return this.store.putRecord(PROFILE_NAMESPACE, chargePointId, profile);
  }

  deleteProfile(chargePointId: string): Promise<void> {
    return this.store.deleteRecord(PROFILE_NAMESPACE, chargePointId);
  }
}
