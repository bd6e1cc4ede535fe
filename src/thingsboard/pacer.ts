/**
 * Pacing of everything the gateway publishes to ThingsBoard, against the session limits in force:
 * ThingsBoard's (asked with getSessionLimits at every connect) and the local overrides of
 * tb_gateway.json, each window at the safety share. Two lanes, as ThingsBoard counts them:
 * `device` — the gateway device's own messages (`v1/devices/me/…`) against `rateLimits`;
 * `devices` — the devices behind it (`v1/gateway/…`) against `gatewayRateLimits`.
 *
 * What one publish costs, as ThingsBoard's transport counts it (DefaultTransportService.checkLimits):
 * per device entry of a gateway telemetry publish one telemetry message and its datapoints; per
 * device entry of an attributes publish one telemetry message and its keys (ThingsBoard ≥ 3.7
 * counts attributes as telemetry), and one regular message as well (older ThingsBoard counted them
 * as regular messages: charging both is right for either); a disconnect, RPC reply or attribute
 * request one regular message; a device new to ThingsBoard's gateway session two more (its lookup
 * and its session open: gateway-session.ts), whether it comes with a connect or with its data.
 * Until the first answer to getSessionLimits (or its timeout) nothing is sent: ThingsBoard's
 * buckets outlive a session, and only its answer says how much they hold.
 */
import type { RateLimitSet } from '../config/types.js';
import type { Logger } from '../log.js';
import { DEVICE_CONNECT_MESSAGES, GatewaySessionDevices } from './gateway-session.js';
import { formatWindows, RateLimit, SAFETY_SHARE } from './rate-limit.js';

export type Lane = 'device' | 'devices';

export interface Cost {
  /** Regular messages (connect, disconnect, RPC, requests; attributes too, see above). */
  messages: number;
  /** Telemetry messages: one per device entry. */
  telemetryMessages: number;
  datapoints: number;
}

export const REGULAR_MESSAGE: Cost = Object.freeze({ messages: 1, telemetryMessages: 0, datapoints: 0 });

/** What ThingsBoard said about the session (undefined fields: it said nothing). */
export interface SessionLimits {
  maxPayloadSize?: number;
  maxInflightMessages?: number;
  device: RateLimitSet;
  devices: RateLimitSet;
}

/** The most one publish of a lane may carry so that a full bucket always admits it. */
export interface PublishCaps {
  maxDatapoints: number;
  /** Device entries per publish (each one a telemetry message, and for attributes a message). */
  maxEntries: number;
}

export interface PacerCounters {
  /** Times a publish had to wait for tokens. */
  waits: number;
  /** Milliseconds spent waiting for tokens (summed over waits). */
  waitedMs: number;
  /** Publishes sent through the pacer, per lane. */
  paced: number;
}

export interface LimitsInForce {
  /** True until the first answer to getSessionLimits (or its timeout): nothing is sent. */
  waitingForThingsBoard: boolean;
  /** What ThingsBoard answered: 'limits', 'none' (no answer, unknown method), or 'pending'. */
  thingsboard: 'limits' | 'none' | 'pending';
  maxPayloadBytes: number;
  maxInflight: number;
  /** Windows at the safety share, per lane and limit: `"8:1,240:60"`. */
  device: Partial<Record<keyof RateLimitSet, string>>;
  devices: Partial<Record<keyof RateLimitSet, string>>;
}

type LaneLimits = Partial<Record<keyof RateLimitSet, RateLimit>>;

const LIMIT_NAMES = ['messages', 'telemetryMessages', 'telemetryDataPoints'] as const;
const UNLIMITED = Number.MAX_SAFE_INTEGER;
/**
 * ThingsBoard's maxPayloadSize bounds the PUBLISH packet's remaining length (Netty's MqttDecoder):
 * topic with its length prefix, packet id and payload. The longest topic the gateway publishes on
 * (`v1/devices/me/attributes/request/<id>`) and the rest of the header stay under this.
 */
const PUBLISH_HEADER_BYTES = 64;

export interface PacerOptions {
  logger: Logger;
  /** tb_gateway.json maxPayloadSizeBytes: publishes are never bigger. */
  configuredMaxPayloadBytes: number;
  /** Publishes in flight at most when ThingsBoard states no maxInflightMessages. */
  defaultMaxInflight: number;
  local: { device: RateLimitSet; devices: RateLimitSet };
  now?: () => number;
}

export class SessionPacer {
  readonly counters: PacerCounters = { waits: 0, waitedMs: 0, paced: 0 };
  /** The devices ThingsBoard's gateway session has connected (what a device's publish costs). */
  readonly session = new GatewaySessionDevices();
  private readonly opts: PacerOptions;
  private readonly now: () => number;
  private local: { device: RateLimitSet; devices: RateLimitSet };
  private configuredMaxPayloadBytes: number;
  private thingsboard: SessionLimits | undefined;
  private state: LimitsInForce['thingsboard'] = 'pending';
  private held = true;
  private lanes: Record<Lane, LaneLimits> = { device: {}, devices: {} };
  private readonly listeners: (() => void)[] = [];
  /** The limit that made each lane wait last, and the time waited per lane and limit. */
  private readonly binding: Record<Lane, keyof RateLimitSet> = { device: 'messages', devices: 'messages' };
  private readonly waitedByLimit = new Map<string, number>();

  constructor(opts: PacerOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.local = opts.local;
    this.configuredMaxPayloadBytes = opts.configuredMaxPayloadBytes;
    this.rebuild();
  }

  /** Called when limits change or the hold ends: publishers re-pack and pump. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  get waitingForThingsBoard(): boolean {
    return this.held;
  }

  /** ThingsBoard answered getSessionLimits (`undefined`: it did not, or does not know the method). */
  setThingsBoardLimits(limits: SessionLimits | undefined): void {
    this.thingsboard = limits;
    this.state = limits ? 'limits' : 'none';
    this.held = false;
    this.rebuild();
    this.changed();
  }

  /** New local overrides (remote configuration): applied at once. */
  setLocal(local: { device: RateLimitSet; devices: RateLimitSet }, configuredMaxPayloadBytes: number): void {
    this.local = local;
    this.configuredMaxPayloadBytes = configuredMaxPayloadBytes;
    this.rebuild();
    this.changed();
  }

  /** Milliseconds before a publish of `cost` may go (0: now; Infinity: waiting for ThingsBoard). */
  delayFor(lane: Lane, cost: Cost): number {
    if (this.held) return Infinity;
    const limits = this.lanes[lane];
    const now = this.now();
    const telemetry = cost.telemetryMessages > 0 || cost.datapoints > 0;
    const messages = cost.messages > 0 ? (limits.messages?.waitFor(cost.messages, now) ?? 0) : 0;
    const tsMessages = telemetry ? (limits.telemetryMessages?.waitFor(cost.telemetryMessages, now) ?? 0) : 0;
    const datapoints = telemetry ? (limits.telemetryDataPoints?.waitFor(cost.datapoints, now) ?? 0) : 0;
    const delay = Math.max(messages, tsMessages, datapoints);
    if (delay > 0) {
      this.binding[lane] =
        delay === datapoints
          ? 'telemetryDataPoints'
          : delay === tsMessages
            ? 'telemetryMessages'
            : 'messages';
    }
    return delay;
  }

  /** Charges a publish that is being sent now. */
  take(lane: Lane, cost: Cost): void {
    const limits = this.lanes[lane];
    const now = this.now();
    limits.messages?.take(cost.messages, now);
    limits.telemetryMessages?.take(cost.telemetryMessages, now);
    limits.telemetryDataPoints?.take(cost.datapoints, now);
    this.counters.paced++;
  }

  /** A publish of `lane` waited `ms` for tokens (counted against the limit that held it last). */
  noteWait(lane: Lane, ms: number): void {
    this.counters.waits++;
    this.counters.waitedMs += Math.round(ms);
    const key = `${lane}.${this.binding[lane]}`;
    this.waitedByLimit.set(key, (this.waitedByLimit.get(key) ?? 0) + ms);
  }

  /** Seconds waited per lane and limit since start (`devices.telemetryDataPoints`: …), for /metrics. */
  waitSeconds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, ms] of this.waitedByLimit) out[key] = Math.round(ms) / 1000;
    return out;
  }

  caps(lane: Lane): PublishCaps {
    const l = this.lanes[lane];
    // An attributes entry costs a message, and an entry whose device ThingsBoard's session has not
    // connected yet two more (an implicit connect): a third of the window keeps a publish admissible.
    const perEntry = 1 + DEVICE_CONNECT_MESSAGES;
    const messages = l.messages ? Math.max(1, Math.floor(l.messages.maxPerSend / perEntry)) : UNLIMITED;
    return {
      maxDatapoints: l.telemetryDataPoints?.maxPerSend ?? UNLIMITED,
      maxEntries: Math.min(l.telemetryMessages?.maxPerSend ?? UNLIMITED, messages),
    };
  }

  /**
   * The largest payload to publish: the configured one, and the safety share of ThingsBoard's —
   * never more than ThingsBoard's less the packet header, however small it is.
   */
  get maxPayloadBytes(): number {
    const tb = this.thingsboard?.maxPayloadSize;
    if (tb === undefined) return this.configuredMaxPayloadBytes;
    const admitted = Math.min(Math.floor(tb * SAFETY_SHARE), tb - PUBLISH_HEADER_BYTES);
    return Math.max(1, Math.min(this.configuredMaxPayloadBytes, admitted));
  }

  get maxInflight(): number {
    const tb = this.thingsboard?.maxInflightMessages;
    return tb === undefined
      ? this.opts.defaultMaxInflight
      : Math.max(1, Math.min(this.opts.defaultMaxInflight, Math.floor(tb * SAFETY_SHARE)));
  }

  describe(): LimitsInForce {
    const lane = (l: LaneLimits): LimitsInForce['device'] => {
      const out: LimitsInForce['device'] = {};
      for (const name of LIMIT_NAMES) {
        const limit = l[name];
        if (limit) out[name] = limit.describe();
      }
      return out;
    };
    return {
      waitingForThingsBoard: this.held,
      thingsboard: this.state,
      maxPayloadBytes: this.maxPayloadBytes,
      maxInflight: this.maxInflight,
      device: lane(this.lanes.device),
      devices: lane(this.lanes.devices),
    };
  }

  /** ThingsBoard's and the local windows together: every one of them is honoured. */
  private rebuild(): void {
    const now = this.now();
    const previous = this.lanes;
    const next: Record<Lane, LaneLimits> = { device: {}, devices: {} };
    for (const lane of ['device', 'devices'] as const) {
      for (const name of LIMIT_NAMES) {
        const windows = [...(this.thingsboard?.[lane][name] ?? []), ...(this.local[lane][name] ?? [])];
        if (windows.length > 0)
          next[lane][name] = new RateLimit(windows, SAFETY_SHARE, now, previous[lane][name]);
      }
    }
    this.lanes = next;
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.opts.logger.error({ err }, 'reacting to new session limits failed');
      }
    }
  }
}

/** `{messages: "8:1"}` for a log line: the windows as ThingsBoard or the file stated them. */
export function describeSet(set: RateLimitSet): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of LIMIT_NAMES) {
    const w = set[name];
    if (w && w.length > 0) out[name] = formatWindows(w);
  }
  return out;
}
