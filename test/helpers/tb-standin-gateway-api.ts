/**
 * How the stand-in (tb-standin.ts) plays ThingsBoard's gateway API (`v1/gateway/...`): connects and
 * disconnects, telemetry and attributes of the devices behind the gateway, RPC replies and
 * attribute requests, each charged against the devices' limits as ThingsBoard charges it, and what
 * ThingsBoard keeps of them.
 */
import type { Client } from 'aedes';
import { check, isObject, kvCount } from './tb-limits.js';
import type { StandInLimits } from './tb-standin-limits.js';

export class StandInGatewayApi {
  /** Telemetry entries ({ts, values}) per device behind the gateway. */
  readonly telemetry = new Map<string, Record<string, unknown>[]>();
  readonly attributes = new Map<string, Record<string, unknown>>();
  readonly connects: string[] = [];
  readonly disconnects: string[] = [];
  /**
   * Datapoints ThingsBoard acknowledged and dropped: their device's connect was refused for a
   * limit (AbstractGatewaySessionHandler.processFailure answers the PUBACK all the same).
   */
  droppedDatapoints = 0;
  /** Device entries ThingsBoard ignores (telemetry not a list, attributes not an object). */
  ignoredEntries = 0;
  private readonly limits: StandInLimits;

  constructor(limits: StandInLimits) {
    this.limits = limits;
  }

  /** Returns an error (the publish is refused and the connection closed) or undefined. */
  onPublish(client: Client, topic: string, json: unknown): string | undefined {
    const limits = this.limits.gateway(client).devices;
    const fail = (limit: string): string => {
      this.limits.violate(client, 'devices', limit, topic, true);
      return `rate limit ${limit}`;
    };
    const device = isObject(json) && typeof json.device === 'string' ? json.device : '';
    switch (topic) {
      case 'v1/gateway/connect': {
        this.connects.push(device);
        this.limits.connectDevice(client, device, topic);
        return undefined;
      }
      case 'v1/gateway/disconnect': {
        this.disconnects.push(device);
        // deregisterSession: a SessionEventMsg CLOSED (a message, no callback) for a known device.
        if (this.limits.devicesOf(client).delete(device)) {
          const v = check(limits, 0);
          if (v) this.limits.violate(client, 'devices', v, topic, false);
        }
        return undefined;
      }
      case 'v1/gateway/telemetry': {
        if (!isObject(json)) return undefined;
        for (const [name, entries] of Object.entries(json)) {
          // onDeviceTelemetryJson: an entry that is not a list is logged and skipped.
          if (!Array.isArray(entries)) {
            this.ignoredEntries++;
            continue;
          }
          const dp = entries.reduce((n: number, e) => n + kvCount(e), 0);
          if (!this.limits.connectDevice(client, name, topic)) {
            this.droppedDatapoints += dp;
            continue;
          }
          const v = check(limits, dp);
          if (v) return fail(v);
          const stored = this.telemetry.get(name) ?? [];
          for (const e of entries) stored.push(e as Record<string, unknown>);
          this.telemetry.set(name, stored);
        }
        return undefined;
      }
      case 'v1/gateway/attributes': {
        if (!isObject(json)) return undefined;
        for (const [name, values] of Object.entries(json)) {
          // onDeviceAttributesJson: an entry that is not an object is logged and skipped.
          if (!isObject(values)) {
            this.ignoredEntries++;
            continue;
          }
          if (!this.limits.connectDevice(client, name, topic)) {
            this.droppedDatapoints += kvCount(values);
            continue;
          }
          const v = check(limits, kvCount(values));
          if (v) return fail(v);
          this.attributes.set(name, { ...this.attributes.get(name), ...values });
        }
        return undefined;
      }
      case 'v1/gateway/rpc':
      case 'v1/gateway/attributes/request': {
        if (!this.limits.connectDevice(client, device, topic)) return undefined;
        const v = check(limits, 0);
        return v ? fail(v) : undefined;
      }
      default:
        return undefined;
    }
  }
}
