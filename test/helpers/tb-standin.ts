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
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import {
  check,
  isObject,
  kvCount,
  limitsOf,
  remainingLength,
  type LimitSet,
  type Limits,
} from './tb-limits.js';

export type { LimitSet };

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

export interface Report {
  topic: string;
  json: unknown;
  at: number;
}

export interface StandInOptions {
  sessionLimits?: SessionLimitsMode;
}

/** Per gateway device (access token): ThingsBoard keeps these across sessions. */
interface GatewayState {
  device: Limits;
  devices: Limits;
}

export class ThingsBoardStandIn {
  port = 0;
  readonly usernames: string[] = [];
  readonly violations: Violation[] = [];
  /** Everything gateways published, in arrival order. */
  readonly reports: Report[] = [];
  /** The gateway device's shared attributes (what ThingsBoard holds). */
  readonly shared = new Map<string, unknown>();
  /** The gateway device's client attributes, merged as ThingsBoard merges them. */
  readonly clientAttributes = new Map<string, unknown>();
  /** The gateway device's telemetry, one entry per key and value. */
  readonly deviceTelemetry: { key: string; value: unknown }[] = [];
  /** Telemetry entries ({ts, values}) per device behind the gateway. */
  readonly telemetry = new Map<string, Record<string, unknown>[]>();
  readonly attributes = new Map<string, Record<string, unknown>>();
  readonly connects: string[] = [];
  readonly disconnects: string[] = [];
  /** Topics gateways subscribed to (an RPC is sent once the gateway listens for it). */
  readonly subscribed = new Set<string>();
  /** Connections this stand-in closed for a violation. */
  closedForViolation = 0;
  /**
   * Datapoints ThingsBoard acknowledged and dropped: their device's connect was refused for a
   * limit (AbstractGatewaySessionHandler.processFailure answers the PUBACK all the same).
   */
  droppedDatapoints = 0;
  /** Device entries ThingsBoard ignores (telemetry not a list, attributes not an object). */
  ignoredEntries = 0;
  sessionLimits: SessionLimitsMode;
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly state = new Map<string, GatewayState>();
  /** Devices each MQTT session has connected (ThingsBoard's gateway session `devices`). */
  private readonly sessionDevices = new Map<Client, Set<string>>();
  /** The access token each connection logged in with: ThingsBoard's gateway device. */
  private readonly tokens = new WeakMap<Client, string>();
  private readonly rpcAnswers = new Map<string, (answer: unknown) => void>();
  private nextRpcId = 1000;
  private waiters: (() => void)[] = [];

  private constructor(opts: StandInOptions) {
    this.sessionLimits = opts.sessionLimits ?? { answer: {} };
  }

  static async start(opts: StandInOptions = {}): Promise<ThingsBoardStandIn> {
    const tb = new ThingsBoardStandIn(opts);
    await tb.listen();
    return tb;
  }

  private async listen(): Promise<void> {
    const broker = await Aedes.createBroker({
      authenticate: (client, username, _password, done) => {
        if (username) {
          this.usernames.push(username);
          this.tokens.set(client, username);
        }
        // The gateway device's session open (SessionEventMsg OPEN) is a message of its own.
        const v = check(this.gateway(client).device, 0);
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
          const v = check(this.gateway(client).device, 0);
          if (v) this.violate(client, 'device', v, `subscribe ${sub.topic}`, false);
        }
        done(null, sub);
      },
      authorizeForward: (client, packet) =>
        (packet as { clientId?: string }).clientId === client.id ? null : packet,
    });
    broker.on('clientDisconnect', (client) => this.sessionDevices.delete(client));
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

  private gateway(client: Client): GatewayState {
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

  private announced(): SessionLimitsAnswer | undefined {
    const mode = this.sessionLimits;
    return typeof mode === 'object' && 'answer' in mode ? mode.answer : undefined;
  }

  private violate(
    client: Client,
    lane: Violation['lane'],
    limit: string,
    topic: string,
    close: boolean,
  ): void {
    this.violations.push({ at: Date.now(), lane, limit, topic, closed: close });
    if (close) {
      this.closedForViolation++;
      // MqttTransportHandler / AbstractGatewaySessionHandler: ctx.close() on TbRateLimitsException.
      setImmediate(() => client.close());
    }
  }

  /** Returns an error (the publish is refused and the connection closed) or undefined. */
  private onPublish(client: Client, topic: string, qos: number, payload: Buffer): string | undefined {
    const max = this.announced()?.maxPayloadSize;
    if (max !== undefined && remainingLength(topic, qos, payload.length) > max) {
      // Netty's MqttDecoder refuses the packet; MqttTransportHandler closes (MALFORMED_PACKET).
      this.violate(
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
      ? this.onGatewayApi(client, topic, json)
      : this.onDeviceApi(client, topic, json);
    for (const w of this.waiters.splice(0)) w();
    return error;
  }

  private devicesOf(client: Client): Set<string> {
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
  private connectDevice(client: Client, device: string, topic: string): boolean {
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

  private onGatewayApi(client: Client, topic: string, json: unknown): string | undefined {
    const limits = this.gateway(client).devices;
    const fail = (limit: string): string => {
      this.violate(client, 'devices', limit, topic, true);
      return `rate limit ${limit}`;
    };
    const device = isObject(json) && typeof json.device === 'string' ? json.device : '';
    switch (topic) {
      case 'v1/gateway/connect': {
        this.connects.push(device);
        this.connectDevice(client, device, topic);
        return undefined;
      }
      case 'v1/gateway/disconnect': {
        this.disconnects.push(device);
        // deregisterSession: a SessionEventMsg CLOSED (a message, no callback) for a known device.
        if (this.devicesOf(client).delete(device)) {
          const v = check(limits, 0);
          if (v) this.violate(client, 'devices', v, topic, false);
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
          if (!this.connectDevice(client, name, topic)) {
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
          if (!this.connectDevice(client, name, topic)) {
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
        if (!this.connectDevice(client, device, topic)) return undefined;
        const v = check(limits, 0);
        return v ? fail(v) : undefined;
      }
      default:
        return undefined;
    }
  }

  private onDeviceApi(client: Client, topic: string, json: unknown): string | undefined {
    const limits = this.gateway(client).device;
    const fail = (limit: string): string => {
      this.violate(client, 'device', limit, topic, true);
      return `rate limit ${limit}`;
    };
    const request = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
    if (request && isObject(json) && json.method === 'getSessionLimits') {
      // Answered by the transport itself, before any limit is checked.
      const mode = this.sessionLimits;
      if (mode === 'silent') return undefined;
      const body = 'answer' in mode ? mode.answer : { error: mode.error };
      setImmediate(() => this.send(`v1/devices/me/rpc/response/${request[1]}`, body));
      return undefined;
    }
    if (topic === 'v1/devices/me/telemetry') {
      const list = Array.isArray(json) ? json : [json];
      const v = check(
        limits,
        list.reduce((n: number, e) => n + kvCount(e), 0),
      );
      if (v) return fail(v);
      for (const e of list) {
        const values = isObject(e) && Object.hasOwn(e, 'ts') && isObject(e.values) ? e.values : e;
        if (isObject(values))
          for (const [key, value] of Object.entries(values)) this.deviceTelemetry.push({ key, value });
      }
      return undefined;
    }
    if (topic === 'v1/devices/me/attributes') {
      const v = check(limits, kvCount(json));
      if (v) return fail(v);
      if (isObject(json)) for (const [k, value] of Object.entries(json)) this.clientAttributes.set(k, value);
      return undefined;
    }
    const v = check(limits, 0);
    if (v) return fail(v);
    const attrRequest = /^v1\/devices\/me\/attributes\/request\/(\d+)$/.exec(topic);
    if (attrRequest) {
      setImmediate(() => this.answerAttributes(attrRequest[1] ?? '0', json));
      return undefined;
    }
    const response = /^v1\/devices\/me\/rpc\/response\/(\d+)$/.exec(topic);
    if (response) {
      const resolve = this.rpcAnswers.get(response[1] ?? '');
      if (resolve) {
        this.rpcAnswers.delete(response[1] ?? '');
        resolve(json);
      }
    }
    return undefined;
  }

  private answerAttributes(id: string, json: unknown): void {
    const body = isObject(json) ? json : {};
    const pick = (source: Map<string, unknown>, keys: unknown): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      const names = typeof keys === 'string' ? keys.split(',').filter((k) => k !== '') : [...source.keys()];
      for (const k of names) if (source.has(k)) out[k] = source.get(k);
      return out;
    };
    const none = !('clientKeys' in body) && !('sharedKeys' in body);
    const answer: Record<string, unknown> = {};
    if (none || 'clientKeys' in body) answer.client = pick(this.clientAttributes, body.clientKeys);
    if (none || 'sharedKeys' in body) answer.shared = pick(this.shared, body.sharedKeys);
    this.send(`v1/devices/me/attributes/response/${id}`, answer);
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
    for (const [k, v] of Object.entries(values)) this.shared.set(k, v);
    this.send('v1/devices/me/attributes', values);
  }

  /** Saves a shared attribute without telling the gateway (it asks at its next connect). */
  presetShared(values: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(values)) this.shared.set(k, v);
  }

  deleteShared(keys: string[]): void {
    for (const k of keys) this.shared.delete(k);
    this.send('v1/devices/me/attributes', { deleted: keys });
  }

  /** A server-side RPC to the gateway device; resolves with its reply. */
  async rpcToGateway(method: string, params: unknown, timeoutMs = 10_000): Promise<unknown> {
    await this.waitFor(
      () => this.subscribed.has('v1/devices/me/rpc/request/+'),
      timeoutMs,
      'RPC subscription',
    );
    const id = String(this.nextRpcId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.rpcAnswers.delete(id);
        reject(new Error(`no reply to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.rpcAnswers.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.send(`v1/devices/me/rpc/request/${id}`, { method, params });
    });
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
