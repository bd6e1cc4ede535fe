/**
 * Which ThingsBoard device each live connection is announced as (`v1/gateway/connect` /
 * `disconnect` records), the identity a BootNotification gives it, and the records of what the
 * gateway itself reports about a device outside its mapping (security events, certificate
 * signing, log uploads). Renames and deletions made in ThingsBoard change the announced device.
 */
import type { ChargePointConfig } from '../config/types.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { DeviceIdentity, NewRecord, Outbox } from '../outbox/types.js';
import { bootAliases } from './answers.js';
import { DEFAULT_DEVICE_TYPE, type DeviceRegistry } from './registry.js';
import type { DeviceRenames } from './renames.js';

/** What presence needs of a live connection. */
export interface Announceable {
  session: ChargePointSession;
  /** The identity announced to ThingsBoard with v1/gateway/connect on this connection, if any. */
  announced: DeviceIdentity | undefined;
}

export interface DevicePresenceDeps {
  registry: DeviceRegistry;
  live: ReadonlyMap<string, Announceable>;
  outbox: Outbox;
  warnings: LogSummary;
  logger: Logger;
  renames?: DeviceRenames | undefined;
}

export class DevicePresence {
  private readonly deps: DevicePresenceDeps;

  constructor(deps: DevicePresenceDeps) {
    this.deps = deps;
  }

  /** The device name data of this connection goes to now. */
  deviceOf(live: Announceable): string {
    return live.announced?.name ?? this.deps.registry.identityOf(live.session.id).name;
  }

  /** Records that make `identity` the announced device of this connection. */
  announce(live: Announceable, identity: DeviceIdentity): NewRecord[] {
    const { registry } = this.deps;
    const records: NewRecord[] = [];
    const old = live.announced;
    if (old && old.name === identity.name && old.type === identity.type) return records;
    if (old) {
      registry.markGone(live.session.id, old.name);
      if (old.name !== identity.name) records.push({ kind: 'disconnect', device: old.name, body: '{}' });
    }
    live.announced = identity;
    registry.markLive(live.session.id, identity.name);
    records.push({ kind: 'connect', device: identity.name, body: JSON.stringify({ type: identity.type }) });
    return records;
  }

  /** `records`, preceded by a connect when they are the first of a device not yet announced. */
  withAnnounce(live: Announceable, records: NewRecord[]): NewRecord[] {
    if (records.length === 0 || live.announced) return records;
    return [...this.announce(live, this.deps.registry.identityOf(live.session.id)), ...records];
  }

  /**
   * Telemetry the gateway itself produces for a charge point's device, live or not; `live` is the
   * connection it concerns (default: the charge point's current one).
   */
  telemetry(
    chargePointId: string,
    ts: number,
    values: Record<string, unknown>,
    live: Announceable | undefined = this.deps.live.get(chargePointId),
  ): NewRecord[] {
    const device = live ? this.deviceOf(live) : this.deps.registry.identityOf(chargePointId).name;
    const record: NewRecord = { kind: 'telemetry', device, body: JSON.stringify({ ts, values }) };
    return live ? this.withAnnounce(live, [record]) : [record];
  }

  /** Stores records no charge point waits for (connect/disconnect, SEND data); failures are logged. */
  persist(records: NewRecord[], chargePointId: string): void {
    if (records.length === 0) return;
    this.deps.outbox.append(records).catch((err: unknown) => {
      this.deps.warnings.error(
        'persist-failed',
        { chargePointId, reason: err instanceof Error ? err.message : String(err) },
        'could not store records in the outbox',
      );
    });
  }

  /** The identity a BootNotification gives the charge point (remembered for later connections). */
  bootIdentity(
    live: Announceable,
    entry: ChargePointConfig,
    payload: Record<string, unknown>,
  ): DeviceIdentity {
    const id = live.session.id;
    const scope = { ...payload, ...bootAliases(live.session.spec.version, payload), ChargePointId: id };
    const name = entry.deviceNameExpression.render(scope);
    const type = entry.deviceTypeExpression.render(scope);
    const rendered = name.ok && String(name.value).trim() !== '' ? String(name.value) : id;
    const identity: DeviceIdentity = {
      name: this.deps.renames ? this.deps.renames.resolve(rendered) : rendered,
      type: type.ok && String(type.value).trim() !== '' ? String(type.value) : DEFAULT_DEVICE_TYPE,
    };
    if (!name.ok) {
      this.deps.logger.warn(
        { chargePointId: id, unresolved: name.missing },
        'deviceNameExpression did not resolve on BootNotification: device named after the charge point id',
      );
    }
    this.deps.registry.remember(id, identity);
    return identity;
  }

  /**
   * ThingsBoard renamed device `from` to `to`: every charge point remembered or live under the old
   * name takes the new one (a live one is announced under it, so its RPCs reach this gateway).
   */
  rename(from: string, to: string): number {
    const { registry, live } = this.deps;
    const ids = new Set(registry.idsNamed(from));
    for (const l of live.values()) if (l.announced?.name === from) ids.add(l.session.id);
    for (const id of ids) {
      const type = registry.identityOf(id).type;
      registry.remember(id, { name: to, type });
      const l = live.get(id);
      if (l?.announced?.name === from) {
        registry.markGone(id, from);
        l.announced = undefined;
        this.persist(this.announce(l, { name: to, type }), id);
      }
    }
    return ids.size;
  }

  /** ThingsBoard deleted `name`: a live charge point under it announces it again with its next data. */
  deleted(name: string): number {
    let n = 0;
    for (const l of this.deps.live.values()) {
      if (l.announced?.name !== name) continue;
      this.deps.registry.markGone(l.session.id, name);
      l.announced = undefined;
      n++;
    }
    return n;
  }
}
