/**
 * Which ThingsBoard device each charge point is. The identity is remembered per charge point id
 * (and persisted through the StateStore), so a charge point that reconnects without booting keeps
 * its device; before any boot is ever seen the device is named after the charge point id.
 */
import type { Logger } from '../log.js';
import type { DeviceIdentity, StateStore } from '../outbox/types.js';

export const DEFAULT_DEVICE_TYPE = 'default';

export class DeviceRegistry {
  private identities = new Map<string, DeviceIdentity>();
  /**
   * Device name → charge point ids remembered under it: ThingsBoard may send any number of updates
   * for devices that are not live, and each must not cost a scan of every charge point ever seen.
   */
  private byName = new Map<string, Set<string>>();
  /** Device name → charge point ids that are live under that name (for downlink routing). */
  private readonly liveByDevice = new Map<string, Set<string>>();
  private readonly state: StateStore;
  private readonly logger: Logger;

  constructor(state: StateStore, logger: Logger) {
    this.state = state;
    this.logger = logger;
  }

  /** Loads the remembered identities (once, at start-up, after the state store is open). */
  load(): void {
    this.identities = this.state.loadDevices();
    this.byName = new Map();
    for (const [id, identity] of this.identities) this.index(id, identity.name);
  }

  /** The remembered identity, if a boot (or earlier data) ever named this charge point. */
  remembered(chargePointId: string): DeviceIdentity | undefined {
    return this.identities.get(chargePointId);
  }

  /** The identity to use now: remembered, else named after the charge point id. */
  identityOf(chargePointId: string): DeviceIdentity {
    return this.identities.get(chargePointId) ?? { name: chargePointId, type: DEFAULT_DEVICE_TYPE };
  }

  /** Remembers an identity; returns the previous one when it changed. */
  remember(
    chargePointId: string,
    identity: DeviceIdentity,
  ): { changed: boolean; previous: DeviceIdentity | undefined } {
    const previous = this.identities.get(chargePointId);
    if (previous && previous.name === identity.name && previous.type === identity.type) {
      return { changed: false, previous };
    }
    this.identities.set(chargePointId, identity);
    if (previous && previous.name !== identity.name) this.unindex(chargePointId, previous.name);
    this.index(chargePointId, identity.name);
    this.state.saveDevice(chargePointId, identity);
    return { changed: true, previous };
  }

  /** Charge point ids whose remembered identity is named `deviceName` (the name index: no scan). */
  idsNamed(deviceName: string): string[] {
    return [...(this.byName.get(deviceName) ?? [])];
  }

  markLive(chargePointId: string, deviceName: string): void {
    let ids = this.liveByDevice.get(deviceName);
    if (!ids) {
      ids = new Set();
      this.liveByDevice.set(deviceName, ids);
    }
    ids.add(chargePointId);
    if (ids.size > 1) {
      this.logger.warn(
        { device: deviceName, chargePointIds: [...ids] },
        'several live charge points resolve to the same ThingsBoard device name: their data is merged into one device (make deviceNameExpression unique, e.g. with ${ChargePointId})',
      );
    }
  }

  markGone(chargePointId: string, deviceName: string): void {
    const ids = this.liveByDevice.get(deviceName);
    if (!ids) return;
    ids.delete(chargePointId);
    if (ids.size === 0) this.liveByDevice.delete(deviceName);
  }

  /**
   * A charge point remembered under this device name (live or not), for ThingsBoard's attribute
   * updates of an offline device.
   */
  rememberedChargePoint(deviceName: string): string | undefined {
    const ids = this.byName.get(deviceName);
    if (ids === undefined) return undefined;
    for (const id of ids) return id;
    return undefined;
  }

  private index(chargePointId: string, deviceName: string): void {
    let ids = this.byName.get(deviceName);
    if (!ids) {
      ids = new Set();
      this.byName.set(deviceName, ids);
    }
    ids.add(chargePointId);
  }

  private unindex(chargePointId: string, deviceName: string): void {
    const ids = this.byName.get(deviceName);
    if (!ids) return;
    ids.delete(chargePointId);
    if (ids.size === 0) this.byName.delete(deviceName);
  }

  /**
   * The charge point behind a device name whether it is live or not: live first, else one
   * remembered under it (the name index: no scan).
   */
  chargePointNamed(deviceName: string): string | undefined {
    return this.chargePointOf(deviceName) ?? this.rememberedChargePoint(deviceName);
  }

  /** The live charge point id behind a device name (the most recently connected when several). */
  chargePointOf(deviceName: string): string | undefined {
    const ids = this.liveByDevice.get(deviceName);
    if (!ids) return undefined;
    let last: string | undefined;
    for (const id of ids) last = id;
    return last;
  }
}
