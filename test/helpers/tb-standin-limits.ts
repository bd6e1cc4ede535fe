/**
 * The stand-in's (tb-standin.ts) side of ThingsBoard's session limits: the `getSessionLimits`
 * answer it was given, the buckets it keeps per gateway device (tb-limits.ts), the devices each MQTT
 * session has connected, and the record of every violation.
 */
import type { Client } from 'aedes';
import { check, limitsOf, type LimitSet, type Limits } from './tb-limits.js';

export interface SessionLimitsAnswer {
  maxPayloadSize?: number;
  maxInflightMessages?: number;
  rateLimits?: LimitSet;
  gatewayRateLimits?: LimitSet;
}

export type SessionLimitsMode =
  | { answer: SessionLimitsAnswer }
  /** An older ThingsBoard: the RPC goes to the rule chain, which answers an error. */
  | { error: string }
  /** No answer at all. */
  | 'silent';

export interface Violation {
  at: number;
  lane: 'device' | 'devices';
  limit: string;
  topic: string;
  /** False: ThingsBoard drops the message (or refuses the CONNECT) instead of closing. */
  closed: boolean;
}

/** Per gateway device (access token): ThingsBoard keeps these across sessions. */
export interface GatewayState {
  device: Limits;
  devices: Limits;
}

export class StandInLimits {
  readonly violations: Violation[] = [];
  /** Connections this stand-in closed for a violation. */
  closedForViolation = 0;
  private readonly state = new Map<string, GatewayState>();
  /** Devices each MQTT session has connected (ThingsBoard's gateway session `devices`). */
  private readonly sessionDevices = new Map<Client, Set<string>>();
  /** The access token each connection logged in with: ThingsBoard's gateway device. */
  private readonly tokens = new WeakMap<Client, string>();
  /** The stand-in's current `sessionLimits` (tests may change it). */
  private readonly mode: () => SessionLimitsMode;

  constructor(mode: () => SessionLimitsMode) {
    this.mode = mode;
  }

  /** `client` logged in with the access token `token`. */
  loggedIn(client: Client, token: string): void {
    this.tokens.set(client, token);
  }

  /** The MQTT session of `client` ended: the devices it connected go with it. */
  sessionClosed(client: Client): void {
    this.sessionDevices.delete(client);
  }

  gateway(client: Client): GatewayState {
    const key = this.tokens.get(client) ?? client.id;
    let s = this.state.get(key);
    if (!s) {
      // ThingsBoard enforces its tenant profile's limits whether or not the gateway asks for them.
      const answer = this.announced();
      s = { device: limitsOf(answer?.rateLimits), devices: limitsOf(answer?.gatewayRateLimits) };
      this.state.set(key, s);
    }
    return s;
  }

  announced(): SessionLimitsAnswer | undefined {
    const mode = this.mode();
    return typeof mode === 'object' && 'answer' in mode ? mode.answer : undefined;
  }

  violate(client: Client, lane: Violation['lane'], limit: string, topic: string, close: boolean): void {
    this.violations.push({ at: Date.now(), lane, limit, topic, closed: close });
    if (close) {
      this.closedForViolation++;
      // MqttTransportHandler / AbstractGatewaySessionHandler: ctx.close() on TbRateLimitsException.
      setImmediate(() => client.close());
    }
  }

  devicesOf(client: Client): Set<string> {
    let set = this.sessionDevices.get(client);
    if (!set) {
      set = new Set();
      this.sessionDevices.set(client, set);
    }
    return set;
  }

  /**
   * AbstractGatewaySessionHandler.onDeviceConnect: a device new to the session is looked up
   * (GetOrCreateDeviceFromGatewayRequestMsg, a message) and its session opened with its
   * subscriptions (TransportToDeviceActorMsg, another). False: the lookup was refused — the
   * publish is answered, that device's part of it is dropped, nothing is closed.
   */
  connectDevice(client: Client, device: string, topic: string): boolean {
    const devices = this.devicesOf(client);
    if (devices.has(device)) return true;
    const limits = this.gateway(client).devices;
    const lookup = check(limits, 0);
    if (lookup) {
      this.violate(client, 'devices', lookup, `${topic} (device lookup of ${device})`, false);
      return false;
    }
    devices.add(device);
    const open = check(limits, 0);
    if (open) this.violate(client, 'devices', open, `${topic} (session open of ${device})`, false);
    return true;
  }
}
