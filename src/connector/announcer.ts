/**
 * Which ThingsBoard device each live connection is, and the connect/disconnect records that tell
 * ThingsBoard: a remembered identity at once; before a boot, the provisional identity (at once
 * when it is complete, else after `announceUnbootedAfter` seconds of silence); the boot's
 * identity when it comes (the provisional device disconnected if the name changed). A name
 * ThingsBoard renamed is announced under its current name (DeviceRenames). Also the records of
 * what the gateway itself reports about a device outside its mapping (security events, …).
 */
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { DeviceIdentity, NewRecord, Outbox } from '../outbox/types.js';
import { bootIdentity, provisionalIdentity } from './identity.js';
import type { DeviceRegistry } from './registry.js';
import type { DeviceRenames } from './renames.js';
import type { ChargePointConfig } from '../config/types.js';

/** What the announcer keeps on a connection (the connector's Live). */
export interface Announced {
  session: ChargePointSession;
  route: { entry: ChargePointConfig };
  /** The identity announced to ThingsBoard with v1/gateway/connect on this connection, if any. */
  announced: DeviceIdentity | undefined;
  /** Before a boot: the name and type it would be announced under (never remembered). */
  provisional?: DeviceIdentity;
  booted?: boolean;
  unbootedTimer?: NodeJS.Timeout;
}

export class DeviceAnnouncer {
  private readonly registry: DeviceRegistry;
  private readonly outbox: Outbox;
  private readonly logger: Logger;
  private readonly warnings: LogSummary;
  private readonly unbootedAfterS: number;
  private readonly isCurrent: (live: Announced) => boolean;
  private readonly renames: DeviceRenames | undefined;

  constructor(deps: {
    registry: DeviceRegistry;
    outbox: Outbox;
    logger: Logger;
    warnings: LogSummary;
    announceUnbootedAfter: number;
    isCurrent(live: Announced): boolean;
    /** Devices ThingsBoard renamed: a name that renders an old name gets the current one. */
    renames?: DeviceRenames | undefined;
  }) {
    this.registry = deps.registry;
    this.renames = deps.renames;
    this.outbox = deps.outbox;
    this.logger = deps.logger;
    this.warnings = deps.warnings;
    this.unbootedAfterS = deps.announceUnbootedAfter;
    this.isCurrent = deps.isCurrent;
  }

  /** A new connection: announced now if its device is known, else when it can be. */
  connected(live: Announced): void {
    const id = live.session.id;
    const remembered = this.registry.remembered(id);
    if (remembered) {
      this.persist(this.announce(live, remembered), id);
      return;
    }
    const provisional = provisionalIdentity(live.route.entry, id);
    const identity = this.current(provisional.identity);
    const { complete } = provisional;
    if (complete || this.unbootedAfterS === 0) {
      this.persist(this.announce(live, identity), id);
      return;
    }
    // Not at once: a charge point that boots right away would otherwise create its device with a
    // provisional type, and ThingsBoard keeps the type a device was created with.
    live.provisional = identity;
    this.registry.markLive(id, identity.name);
    live.unbootedTimer = setTimeout(() => {
      live.unbootedTimer = undefined;
      if (!this.isCurrent(live) || live.announced || live.booted) return;
      const provisional = live.provisional ?? identity; // renamed in ThingsBoard meanwhile?
      this.logger.info(
        { chargePointId: id, device: provisional.name },
        'charge point has not booted: announced under its provisional name',
      );
      this.persist(this.announce(live, provisional), id);
    }, this.unbootedAfterS * 1000);
    live.unbootedTimer.unref();
  }

  /** The connection closed (and was not replaced): its device is disconnected. */
  closed(live: Announced): void {
    const announced = live.announced;
    this.forget(live);
    if (announced)
      this.persist([{ kind: 'disconnect', device: announced.name, body: '{}' }], live.session.id);
  }

  /** Releases what a connection holds in the registry (routing) and its timer. */
  forget(live: Announced): void {
    if (live.unbootedTimer) clearTimeout(live.unbootedTimer);
    if (live.announced) this.registry.markGone(live.session.id, live.announced.name);
    if (live.provisional) this.registry.markGone(live.session.id, live.provisional.name);
  }

  /** A BootNotification: the records that make its identity this connection's device. */
  booted(live: Announced, payload: Record<string, unknown>): NewRecord[] {
    live.booted = true;
    if (live.unbootedTimer) clearTimeout(live.unbootedTimer);
    const id = live.session.id;
    const boot = bootIdentity(live.route.entry, live.session.spec.version, id, payload);
    if (boot.unresolved !== undefined) {
      this.logger.warn(
        { chargePointId: id, unresolved: boot.unresolved },
        'deviceNameExpression did not resolve on BootNotification: device named after the charge point id',
      );
    }
    const identity = this.current(boot.identity);
    this.registry.remember(id, identity);
    return this.announce(live, identity);
  }

  /**
   * ThingsBoard renamed device `from` to `to`: every charge point remembered under the old name
   * (the registry's name index) and every live connection under it take the new one. Returns how
   * many charge points that concerned.
   */
  renameAll(live: Iterable<Announced>, from: string, to: string): number {
    const ids = new Set(this.registry.idsNamed(from));
    for (const id of ids) this.registry.remember(id, { name: to, type: this.registry.identityOf(id).type });
    for (const l of live) if (this.renamed(l, from, to)) ids.add(l.session.id);
    return ids.size;
  }

  /**
   * ThingsBoard renamed device `from` to `to`: a live connection under the old name (announced,
   * or waiting under a provisional one) takes the new one, announced at once if it was. Returns
   * whether this connection was under the old name.
   */
  renamed(live: Announced, from: string, to: string): boolean {
    const id = live.session.id;
    let under = false;
    if (live.provisional?.name === from) {
      this.registry.markGone(id, from);
      live.provisional = { name: to, type: live.provisional.type };
      this.registry.markLive(id, to);
      under = true;
    }
    if (live.announced?.name !== from) return under;
    const { type } = live.announced;
    this.registry.markGone(id, from);
    live.announced = undefined;
    // No disconnect of the old name: ThingsBoard has no device by that name any more.
    this.persist(this.announce(live, { name: to, type }), id);
    return true;
  }

  /** ThingsBoard deleted `name`: a live connection under it announces it again with its next data. */
  deleted(live: Announced, name: string): boolean {
    if (live.announced?.name !== name) return false;
    this.registry.markGone(live.session.id, name);
    live.announced = undefined;
    return true;
  }

  private current(identity: DeviceIdentity): DeviceIdentity {
    if (!this.renames || this.renames.size === 0) return identity;
    const name = this.renames.resolve(identity.name);
    return name === identity.name ? identity : { name, type: identity.type };
  }

  /** The identity this connection's data goes to now. */
  identityFor(live: Announced): DeviceIdentity {
    return live.announced ?? live.provisional ?? this.registry.identityOf(live.session.id);
  }

  /** `data`, preceded by a connect when the device is not announced yet. */
  withAnnouncement(live: Announced, data: NewRecord[]): NewRecord[] {
    if (data.length === 0 || live.announced) return data;
    return [...this.announce(live, this.identityFor(live)), ...data];
  }

  /**
   * Telemetry the gateway itself produces for a charge point's device (security events,
   * certificate signing, log uploads): of `live`, its current connection if any, announced first
   * if needed; else of the device it is remembered as.
   */
  telemetry(
    chargePointId: string,
    ts: number,
    values: Record<string, unknown>,
    live: Announced | undefined,
  ): NewRecord[] {
    const device = live ? this.identityFor(live).name : this.registry.identityOf(chargePointId).name;
    const record: NewRecord = { kind: 'telemetry', device, body: JSON.stringify({ ts, values }) };
    return live ? this.withAnnouncement(live, [record]) : [record];
  }

  /** Stores records no charge point waits for (connect/disconnect, SEND data); failures are logged. */
  persist(records: NewRecord[], chargePointId: string): void {
    if (records.length === 0) return;
    this.outbox.append(records).catch((err: unknown) => {
      this.warnings.error(
        'persist-failed',
        { chargePointId, reason: err instanceof Error ? err.message : String(err) },
        'could not store records in the outbox',
      );
    });
  }

  /** Records that make `identity` the announced device of this connection. */
  private announce(live: Announced, identity: DeviceIdentity): NewRecord[] {
    const records: NewRecord[] = [];
    const old = live.announced;
    if (old && old.name === identity.name && old.type === identity.type) return records;
    if (old) {
      this.registry.markGone(live.session.id, old.name);
      if (old.name !== identity.name) records.push({ kind: 'disconnect', device: old.name, body: '{}' });
    }
    if (live.provisional) {
      this.registry.markGone(live.session.id, live.provisional.name);
      delete live.provisional;
    }
    live.announced = identity;
    this.registry.markLive(live.session.id, identity.name);
    records.push({ kind: 'connect', device: identity.name, body: JSON.stringify({ type: identity.type }) });
    return records;
  }
}
