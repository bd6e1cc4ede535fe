/**
 * The MQTT link to ThingsBoard's gateway API. Each connection attempt uses a fresh mqtt.js client
 * ("generation") with its own auto-reconnect off: when a connection is lost, every publish still
 * waiting for its PUBACK is rejected at once, so the publisher knows exactly what to send again —
 * mqtt.js' own in-memory resend store would otherwise deliver it a second time.
 * Reconnects use exponential backoff with jitter up to a cap, one warning per attempt
 * (mqtt-options.ts); what arrives from ThingsBoard is routed by downlink-router.ts.
 */
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { ThingsBoardConfig } from '../config/types.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { DEVICE_SUBSCRIPTIONS } from './device-api.js';
import { GatewayDeviceChannel } from './device-channel.js';
import { connectRefusal } from './connack.js';
import { DownlinkRouter, type DownlinkHandlers } from './downlink-router.js';
import { TOPIC } from './pack.js';
import { LinkLostError } from './errors.js';
import { mqttClientOptions, reconnectDelay } from './mqtt-options.js';
import { PacedQueue } from './paced-queue.js';
import { REGULAR_MESSAGE, type Cost, type Lane, type PublishCaps, type SessionPacer } from './pacer.js';
import { costOfOwnPublish } from './own-cost.js';

export type { DownlinkHandlers };

export { LinkLostError };

type Listener = () => void;

interface Generation {
  client: MqttClient;
  connected: boolean;
  /** Rejecters of publishes waiting for their PUBACK on this connection. */
  pending: Set<(err: Error) => void>;
}

export interface ThingsBoardCounters {
  connects: number;
  connectFailures: number;
  published: number;
  ignoredEchoes: number;
  badDownlinks: number;
  /** Exceptions while handling a message from ThingsBoard: counted, logged, never fatal. */
  handlerErrors: number;
  /** Messages received from the broker (echoes included: see ignoredEchoes). */
  messagesIn: number;
}

/** The link as an operator sees it (status page, /readyz). */
export interface LinkState {
  /** Since when connected (ms since the epoch), or since when trying to connect. */
  since: number;
  /** The last reason a connection failed or was lost (an error code or message), with when. */
  lastFailure?: { reason: string; at: number };
}

export class ThingsBoardClient {
  readonly link: LinkState = { since: Date.now() };
  readonly counters: ThingsBoardCounters = {
    connects: 0,
    connectFailures: 0,
    published: 0,
    ignoredEchoes: 0,
    badDownlinks: 0,
    handlerErrors: 0,
    messagesIn: 0,
  };
  /** The gateway device's own channel (`v1/devices/me/...`): client RPCs, its attributes, its RPCs. */
  readonly device: GatewayDeviceChannel;
  private readonly config: ThingsBoardConfig;
  private readonly logger: Logger;
  private readonly downlink: DownlinkRouter;
  private current: Generation | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly connectListeners: Listener[] = [];
  private readonly pacedDrainListeners: Listener[] = [];
  private lastError = '';
  private readonly warnings: LogSummary;
  /** Publishes made outside the outbox (RPC replies, the gateway device's own), when paced. */
  private paced: PacedQueue | undefined;
  private pacer: SessionPacer | undefined;

  constructor(config: ThingsBoardConfig, logger: Logger, warnings?: LogSummary) {
    this.config = config;
    this.logger = logger.child({ component: 'thingsboard' });
    this.device = new GatewayDeviceChannel({
      // The gateway device's own messages count against its own limits (getSessionLimits: none).
      publish: (topic, payload) => {
        const paced = costOfOwnPublish(topic, payload);
        if (paced === undefined) return this.publish(topic, payload);
        const cost = paced.device === undefined ? paced.cost : this.costNaming(paced.device, paced.cost);
        return this.publishPaced(topic, payload, paced.lane, cost);
      },
      connected: () => this.connected,
      logger: this.logger,
    });
    this.warnings = warnings ?? new LogSummary({ logger: this.logger });
    this.downlink = new DownlinkRouter({
      config,
      device: this.device,
      counters: this.counters,
      warnings: this.warnings,
      logger: this.logger,
      publishRpcReply: (device, payload) =>
        this.publishPaced(TOPIC.rpc, payload, 'devices', this.costNaming(device)),
    });
  }

  setHandlers(handlers: DownlinkHandlers): void {
    this.downlink.setHandlers(handlers);
  }

  /**
   * From now on, publishes made with publishPaced wait for the session limits of `pacer`; the
   * outbox publisher paces its own (they wait behind these).
   */
  setPacer(pacer: SessionPacer): void {
    this.pacer = pacer;
    this.paced = new PacedQueue({
      pacer,
      publish: (topic, payload) => this.publish(topic, payload),
      connected: () => this.connected,
      onDrained: () => {
        for (const l of this.pacedDrainListeners) l();
      },
    });
  }

  /**
   * Publishes once `lane` of the session limits has the tokens for `cost` (at once without a
   * pacer). Rejects with LinkLostError when the link is or goes down first, and when the payload
   * is larger than ThingsBoard accepts (PayloadTooLargeError).
   */
  publishPaced(topic: string, payload: string, lane: Lane, cost: Cost): Promise<void> {
    if (!this.paced) return this.publish(topic, payload);
    return this.paced.publish(topic, payload, lane, cost);
  }

  /**
   * The cost of a publish of the devices lane naming `device` (an RPC reply, an attribute request):
   * `base`, and the implicit connect ThingsBoard counts when its gateway session does not have the
   * device yet. Call it when the publish is queued: the device is in the session from then on.
   */
  costNaming(device: string, base: Cost = REGULAR_MESSAGE): Cost {
    return this.pacer ? this.pacer.session.costNaming(device, base) : base;
  }

  /** The cost of a connect of `device`: its lookup and session open when new to the session (else one message). */
  connectCost(device: string): Cost {
    const messages = Math.max(1, this.pacer?.session.connectMessages(device) ?? 1);
    this.pacer?.session.connected(device);
    return { messages, telemetryMessages: 0, datapoints: 0 };
  }

  /** ThingsBoard dropped `device` from its gateway session (deleted): its next publish connects it again. */
  forgetSessionDevice(device: string): void {
    this.pacer?.session.disconnected(device);
  }

  /** The largest payload a publish may carry (ThingsBoard's limit at the safety share, or the configured one). */
  get maxPayloadBytes(): number {
    return this.pacer?.maxPayloadBytes ?? this.config.maxPayloadSizeBytes;
  }

  /** The most one publish of `lane` may carry under the session limits (unlimited without a pacer). */
  caps(lane: Lane): PublishCaps {
    return (
      this.pacer?.caps(lane) ?? {
        maxDatapoints: Number.MAX_SAFE_INTEGER,
        maxEntries: Number.MAX_SAFE_INTEGER,
      }
    );
  }

  /** Publishes of `lane` waiting for tokens (the outbox publisher lets them go first). */
  pacedQueueLength(lane: Lane): number {
    return this.paced?.length(lane) ?? 0;
  }

  /** Called whenever the paced queue of a lane empties. */
  onPacedQueueDrained(listener: () => void): void {
    this.pacedDrainListeners.push(listener);
  }

  /** Called after every successful (re)connect, once subscriptions are requested. */
  onConnect(listener: Listener): void {
    this.connectListeners.push(listener);
  }

  get connected(): boolean {
    return this.current?.connected ?? false;
  }

  get endpoint(): string {
    return `${this.config.tls ? 'mqtts' : 'mqtt'}://${this.config.host}:${this.config.port}`;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /**
   * Publishes and resolves once the broker acknowledged (QoS 1) or the bytes were written (QoS 0).
   * Rejects with LinkLostError when not connected or when the connection drops first.
   */
  publish(topic: string, payload: string, qos: 0 | 1 = this.config.qos): Promise<void> {
    const gen = this.current;
    if (!gen?.connected) return Promise.reject(new LinkLostError());
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      gen.pending.add(fail);
      gen.client.publish(topic, payload, { qos }, (err) => {
        gen.pending.delete(fail);
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else {
          this.counters.published++;
          resolve();
        }
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const gen = this.current;
    this.current = undefined;
    if (!gen) return;
    this.failPending(gen);
    this.paced?.linkLost();
    this.device.linkLost();
    await gen.client.endAsync(!gen.connected).catch(() => undefined);
  }

  private connect(): void {
    const client = mqtt.connect(mqttClientOptions(this.config));
    const gen: Generation = { client, connected: false, pending: new Set() };
    this.current = gen;
    client.on('connect', () => this.onConnected(gen));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      // A refused CONNECT carries a number (CONNACK return code): say what to check, in words.
      this.lastError =
        typeof code === 'number'
          ? connectRefusal(code, err.message)
          : typeof code === 'string'
            ? code
            : err.message;
    });
    client.on('close', () => this.onClosed(gen));
  }

  private onConnected(gen: Generation): void {
    if (this.current !== gen) return;
    gen.connected = true;
    // Publishes are small and latency-bound (a charge point's data waits on none, but ThingsBoard
    // sees it later): do not let Nagle's algorithm hold them back for a PUBACK round trip.
    (gen.client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
    this.counters.connects++;
    this.link.since = Date.now();
    if (this.attempt > 0) this.logger.info({ broker: this.endpoint }, 'ThingsBoard connection restored');
    else this.logger.info({ broker: this.endpoint }, 'connected to ThingsBoard');
    this.attempt = 0;
    gen.client.subscribe([TOPIC.attributes, TOPIC.rpc, ...DEVICE_SUBSCRIPTIONS], { qos: 1 }, (err) => {
      if (err) this.logger.error({ err: err.message }, 'subscribing to ThingsBoard downlink topics failed');
    });
    for (const l of this.connectListeners) l();
    this.paced?.pump();
  }

  private onClosed(gen: Generation): void {
    if (this.current !== gen) return;
    const wasConnected = gen.connected;
    gen.connected = false;
    this.failPending(gen);
    this.paced?.linkLost();
    this.device.linkLost();
    gen.client.removeAllListeners('close');
    gen.client.on('error', () => undefined);
    gen.client.end(true);
    if (this.stopped) return;
    if (!wasConnected) this.counters.connectFailures++;
    if (wasConnected) this.link.since = Date.now();
    this.link.lastFailure = { reason: this.lastError || 'connection closed', at: Date.now() };
    this.attempt++;
    const delay = reconnectDelay(this.config, this.attempt);
    this.logger.warn(
      {
        broker: this.endpoint,
        reason: this.lastError || 'connection closed',
        attempt: this.attempt,
        retryInMs: delay,
      },
      wasConnected
        ? 'lost the connection to ThingsBoard: data is kept in the outbox; reconnecting'
        : 'cannot reach ThingsBoard: data is kept in the outbox; retrying',
    );
    this.lastError = '';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private failPending(gen: Generation): void {
    const err = new LinkLostError();
    for (const fail of [...gen.pending]) fail(err);
    gen.pending.clear();
  }

  /**
   * Every message from the broker ends here. Nothing in it may stop the process: an exception is
   * counted and logged, and a request that expects an answer still gets one where it can be read.
   */
  private onMessage(topic: string, payload: Buffer): void {
    this.counters.messagesIn++;
    try {
      this.downlink.handle(topic, payload.toString('utf8'));
    } catch (err) {
      this.counters.handlerErrors++;
      this.logger.error({ topic, err }, 'handling a message from ThingsBoard failed');
    }
  }
}
