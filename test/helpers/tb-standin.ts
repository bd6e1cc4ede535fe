/**
 * A ThingsBoard stand-in for tests: a real MQTT broker (aedes, in-process, port 0) whose hooks
 * play ThingsBoard's MQTT transport toward a gateway. Facts from ThingsBoard's source (master,
 * 2026: MqttTransportHandler, AbstractGatewaySessionHandler, DefaultTransportService.checkLimits,
 * DefaultTransportRateLimitService, TbRateLimits; its MqttGatewayRateLimitsTest agrees):
 *
 * - it answers `getSessionLimits` with the limits it was given (or an error, or nothing), before
 *   any limit is checked, as the transport does;
 * - it enforces them per gateway device (tb-limits.ts) — buckets that start full, refill
 *   continuously, outlive the session; `rateLimits` for the gateway device's own messages (its
 *   MQTT session open, its subscriptions to attributes and RPCs, its telemetry, attributes, attribute
 *   requests, client RPCs and RPC replies), `gatewayRateLimits` for the devices behind it;
 * - a device behind the gateway that its session has not connected yet (a connect, or data, an RPC
 *   reply or an attribute request naming it: an implicit connect) costs two regular messages — the
 *   device lookup (GetOrCreateDeviceFromGatewayRequestMsg) and the device's session open — and a
 *   connect of a device already connected nothing; a disconnect one message, if the device was
 *   connected. Per device entry of a telemetry or attributes publish one telemetry message and its
 *   datapoints (keys); an RPC reply or attribute request one message;
 * - on a violation it does what ThingsBoard does, and records it: a publish over a limit or over
 *   `maxPayloadSize` (the packet's remaining length, as Netty's MqttDecoder checks it) closes the
 *   connection; a refused device lookup answers the publish (PUBACK) and drops that device's data
 *   (counted in `droppedDatapoints`); a refused session open, subscription or disconnect is
 *   dropped silently; a refused MQTT session open refuses the CONNECT;
 * - it keeps the gateway device's shared attributes, pushes changes, answers attribute requests,
 *   sends RPCs to the gateway device and to devices behind it, and records everything the gateway
 *   reports;
 * - like ThingsBoard, it never sends a client its own publishes back.
 *
 * This file is the broker and the record of what gateways sent; the limits are kept in
 * tb-standin-limits.ts, the gateway API is played by tb-standin-gateway-api.ts and the gateway
 * device's own API by tb-standin-device-api.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { check, isObject, kvCount, remainingLength, type LimitSet } from './tb-limits.js';
import { StandInDeviceApi } from './tb-standin-device-api.js';
import { StandInGatewayApi } from './tb-standin-gateway-api.js';
import { StandInLimits, type SessionLimitsMode } from './tb-standin-limits.js';

export type { LimitSet };
export type { SessionLimitsAnswer, SessionLimitsMode, Violation } from './tb-standin-limits.js';

export interface Report {
  topic: string;
  json: unknown;
  at: number;
}

export interface StandInOptions {
  sessionLimits?: SessionLimitsMode;
}

export class ThingsBoardStandIn {
  port = 0;
  readonly usernames: string[] = [];
  /** Everything gateways published, in arrival order. */
  readonly reports: Report[] = [];
  /** Topics gateways subscribed to (an RPC is sent once the gateway listens for it). */
  readonly subscribed = new Set<string>();
  sessionLimits: SessionLimitsMode;
  private readonly limits = new StandInLimits(() => this.sessionLimits);
  private readonly gatewayApi = new StandInGatewayApi(this.limits);
  private readonly deviceApi = new StandInDeviceApi({
    limits: this.limits,
    sessionLimits: () => this.sessionLimits,
    send: (topic, body) => this.send(topic, body),
  });
  // What ThingsBoard holds and what it recorded, kept (and documented) by the part that plays each
  // API: these are the same objects.
  readonly violations = this.limits.violations;
  readonly shared = this.deviceApi.shared;
  readonly clientAttributes = this.deviceApi.clientAttributes;
  readonly deviceTelemetry = this.deviceApi.deviceTelemetry;
  readonly telemetry = this.gatewayApi.telemetry;
  readonly attributes = this.gatewayApi.attributes;
  readonly connects = this.gatewayApi.connects;
  readonly disconnects = this.gatewayApi.disconnects;
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private waiters: (() => void)[] = [];

  private constructor(opts: StandInOptions) {
    this.sessionLimits = opts.sessionLimits ?? { answer: {} };
  }

  static async start(opts: StandInOptions = {}): Promise<ThingsBoardStandIn> {
    const tb = new ThingsBoardStandIn(opts);
    await tb.listen();
    return tb;
  }

  /** Connections this stand-in closed for a violation. */
  get closedForViolation(): number {
    return this.limits.closedForViolation;
  }

  /** Datapoints ThingsBoard acknowledged and dropped (their device's connect was refused). */
  get droppedDatapoints(): number {
    return this.gatewayApi.droppedDatapoints;
  }

  /** Device entries ThingsBoard ignores (telemetry not a list, attributes not an object). */
  get ignoredEntries(): number {
    return this.gatewayApi.ignoredEntries;
  }

  private async listen(): Promise<void> {
    const broker = await Aedes.createBroker({
      authenticate: (client, username, _password, done) => {
        if (username) {
          this.usernames.push(username);
          this.limits.loggedIn(client, username);
        }
        // The gateway device's session open (SessionEventMsg OPEN) is a message of its own.
        const v = check(this.limits.gateway(client).device, 0);
        if (v) {
          this.violations.push({ at: Date.now(), lane: 'device', limit: v, topic: 'CONNECT', closed: false });
          // CONNACK "connection rate exceeded": 3 (server unavailable) in MQTT 3.1.1.
          const refused = Object.assign(new Error('connection rate exceeded'), { returnCode: 3 });
          done(refused, false);
          return;
        }
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        // Remembered so that the packet is never forwarded back to its publisher.
        (packet as { clientId?: string }).clientId = client?.id;
        if (!client) return done(null);
        const payload = Buffer.from(packet.payload);
        const error = this.onPublish(client, packet.topic, packet.qos, payload);
        done(error ? new Error(error) : null);
      },
      authorizeSubscribe: (client, sub, done) => {
        this.subscribed.add(sub.topic);
        if (
          client &&
          (sub.topic === 'v1/devices/me/attributes' || sub.topic === 'v1/devices/me/rpc/request/+')
        ) {
          // SubscribeToAttributeUpdatesMsg / SubscribeToRPCMsg, sent without a callback: a refused
          // one is dropped (ThingsBoard then pushes nothing on it), the SUBACK goes out anyway.
          const v = check(this.limits.gateway(client).device, 0);
          if (v) this.limits.violate(client, 'device', v, `subscribe ${sub.topic}`, false);
        }
        done(null, sub);
      },
      authorizeForward: (client, packet) =>
        (packet as { clientId?: string }).clientId === client.id ? null : packet,
    });
    broker.on('clientDisconnect', (client) => this.limits.sessionClosed(client));
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.broker = broker;
    this.server = server;
  }

  /** Cuts every client connection (a ThingsBoard node restart): the gateway reconnects. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
  }

  /** Returns an error (the publish is refused and the connection closed) or undefined. */
  private onPublish(client: Client, topic: string, qos: number, payload: Buffer): string | undefined {
    const max = this.limits.announced()?.maxPayloadSize;
    if (max !== undefined && remainingLength(topic, qos, payload.length) > max) {
      // Netty's MqttDecoder refuses the packet; MqttTransportHandler closes (MALFORMED_PACKET).
      this.limits.violate(
        client,
        topic.startsWith('v1/gateway/') ? 'devices' : 'device',
        'maxPayloadSize',
        topic,
        true,
      );
      return 'payload too large';
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return undefined;
    }
    this.reports.push({ topic, json, at: Date.now() });
    const error = topic.startsWith('v1/gateway/')
      ? this.gatewayApi.onPublish(client, topic, json)
      : this.deviceApi.onPublish(client, topic, json);
    for (const w of this.waiters.splice(0)) w();
    return error;
  }

  private send(topic: string, body: unknown): void {
    this.broker?.publish(
      {
        cmd: 'publish',
        topic,
        payload: Buffer.from(JSON.stringify(body)),
        qos: 1,
        retain: false,
        dup: false,
      },
      () => undefined,
    );
  }

  /** Saves shared attributes of the gateway device and pushes them, as the gateway page does. */
  setShared(values: Record<string, unknown>): void {
    this.deviceApi.setShared(values);
  }

  /** Saves a shared attribute without telling the gateway (it asks at its next connect). */
  presetShared(values: Record<string, unknown>): void {
    this.deviceApi.presetShared(values);
  }

  deleteShared(keys: string[]): void {
    this.deviceApi.deleteShared(keys);
  }

  /** A server-side RPC to the gateway device; resolves with its reply. */
  async rpcToGateway(method: string, params: unknown, timeoutMs = 10_000): Promise<unknown> {
    await this.waitFor(
      () => this.subscribed.has('v1/devices/me/rpc/request/+'),
      timeoutMs,
      'RPC subscription',
    );
    return this.deviceApi.rpc(method, params, timeoutMs);
  }

  /** Datapoints of `key` received for `device`, in arrival order. */
  values(device: string, key: string): unknown[] {
    return (this.telemetry.get(device) ?? []).flatMap((e) =>
      isObject(e.values) && Object.hasOwn(e.values, key) ? [e.values[key]] : [],
    );
  }

  get datapointsReceived(): number {
    let n = 0;
    for (const list of this.telemetry.values()) for (const e of list) n += kvCount(e);
    return n;
  }

  /** Waits until `probe` holds. */
  async waitFor<T>(probe: () => T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`ThingsBoard stand-in: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
