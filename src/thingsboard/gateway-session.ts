/**
 * The devices ThingsBoard's gateway session has connected, as its MQTT transport keeps them
 * (AbstractGatewaySessionHandler `devices`): a device enters with a connect, or implicitly with
 * the first data, RPC reply or attribute request naming it; it leaves with a disconnect, a deletion
 * in ThingsBoard, or the end of the MQTT session.
 *
 * ThingsBoard charges a device new to the session two regular messages of the gateway's
 * `gatewayRateLimits.messages` — the device lookup (GetOrCreateDeviceFromGatewayRequestMsg) and
 * the device's session open with its subscriptions (TransportToDeviceActorMsg); its own
 * MqttGatewayRateLimitsTest counts the same — and a connect of a device already in the session
 * nothing. When the lookup is refused for a limit, ThingsBoard answers the publish and drops that
 * device's data: the pacer must count these, or the limit costs data, not only time.
 *
 * One set per MQTT session, cleared at every connect, and bounded: past `MAX_TRACKED` devices a
 * device is not remembered, so it is charged as new again — more than ThingsBoard counts, never
 * less (ThingsBoard sending RPCs for ever new names cannot grow it without bound).
 */
import type { Cost } from './pacer.js';

/** Regular messages ThingsBoard counts for a device new to the gateway session. */
export const DEVICE_CONNECT_MESSAGES = 2;
const MAX_TRACKED = 200_000;

export class GatewaySessionDevices {
  private readonly devices = new Set<string>();

  /** A new MQTT session: ThingsBoard's gateway session starts with no device. */
  clear(): void {
    this.devices.clear();
  }

  has(device: string): boolean {
    return this.devices.has(device);
  }

  /** Regular messages ThingsBoard counts to connect `device` (0 when the session has it). */
  connectMessages(device: string): number {
    return this.devices.has(device) ? 0 : DEVICE_CONNECT_MESSAGES;
  }

  connected(device: string): void {
    if (this.devices.size < MAX_TRACKED) this.devices.add(device);
  }

  /** A disconnect, or a deletion in ThingsBoard (which drops the device from the session). */
  disconnected(device: string): void {
    this.devices.delete(device);
  }

  /**
   * The cost of a publish naming `device` (an RPC reply, an attribute request): `base` and, for a
   * device new to the session, its implicit connect. The device is in the session from now on
   * (publishes of the lane go out in order).
   */
  costNaming(device: string, base: Cost): Cost {
    const extra = this.connectMessages(device);
    this.connected(device);
    return extra === 0 ? base : { ...base, messages: base.messages + extra };
  }

  get size(): number {
    return this.devices.size;
  }
}
