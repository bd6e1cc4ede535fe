/**
 * The gateway device's own channel: ThingsBoard's MQTT device API (`v1/devices/me/...`) spoken by
 * the gateway about itself, beside the gateway API it speaks for its charge points.
 *
 * - client-side RPC: the gateway asks ThingsBoard (`getSessionLimits`, an authorization decision)
 *   on `v1/devices/me/rpc/request/<id>`, the answer comes on `v1/devices/me/rpc/response/<id>`;
 * - server-side RPC: ThingsBoard asks the gateway device (`gateway_ping`, …) on
 *   `v1/devices/me/rpc/request/<id>`, the gateway answers on `v1/devices/me/rpc/response/<id>`;
 * - shared attributes of the gateway device pushed on `v1/devices/me/attributes`, and requested on
 *   `v1/devices/me/attributes/request/<id>` (answer on `.../response/<id>`);
 * - the gateway device's own telemetry and client attributes;
 * - attribute values of a device behind the gateway, requested on `v1/gateway/attributes/request`
 *   (answer on `v1/gateway/attributes/response`).
 *
 * ThingsBoard never sends a client its own publishes back, but a plain MQTT broker (tests, demos,
 * a bridge) does, and on these topics a request and its echo look alike. So every publish made
 * here is remembered briefly (echo-memory.ts) and its echo dropped (counted), whatever the broker.
 * The topics and the types handed out are in device-api.ts.
 */
import { isRecord } from '../config/keys.js';
import type { Logger } from '../log.js';
import {
  DEVICE_TOPIC,
  DeviceRequestError,
  type GatewayRpcHandler,
  type SharedAttributesListener,
  type SharedAttributesUpdate,
} from './device-api.js';
import { EchoMemory } from './echo-memory.js';

export {
  DEVICE_SUBSCRIPTIONS,
  DEVICE_TOPIC,
  DeviceRequestError,
  type GatewayRpcHandler,
  type SharedAttributesListener,
  type SharedAttributesUpdate,
} from './device-api.js';

export interface DeviceChannelCounters {
  /** Client-side requests sent / answered / timed out or lost. */
  requestsSent: number;
  requestsAnswered: number;
  requestsFailed: number;
  /** Server-side RPCs to the gateway device received, and those with no handler. */
  rpcsReceived: number;
  rpcsUnknown: number;
  sharedAttributeUpdates: number;
  ignoredEchoes: number;
}

export interface DeviceChannelOptions {
  publish(topic: string, payload: string): Promise<void>;
  connected(): boolean;
  logger: Logger;
  /** Requests waiting for an answer at once; more are refused at once. Default 1024. */
  maxPending?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

function entriesOf(v: unknown): Map<string, unknown> {
  // Keys come from ThingsBoard: a Map, never a plain object lookup.
  return new Map(isRecord(v) ? Object.entries(v) : []);
}

export class GatewayDeviceChannel {
  readonly counters: DeviceChannelCounters = {
    requestsSent: 0,
    requestsAnswered: 0,
    requestsFailed: 0,
    rpcsReceived: 0,
    rpcsUnknown: 0,
    sharedAttributeUpdates: 0,
    ignoredEchoes: 0,
  };
  private readonly opts: DeviceChannelOptions;
  private readonly logger: Logger;
  private readonly maxPending: number;
  private nextId = 1;
  /** Client-side RPCs and attribute requests waiting, by the id in their topic (or payload). */
  private readonly rpcs = new Map<string, Pending>();
  private readonly attributeRequests = new Map<string, Pending>();
  private readonly deviceAttributeRequests = new Map<string, Pending>();
  private readonly rpcHandlers = new Map<string, GatewayRpcHandler>();
  private readonly attributeListeners: SharedAttributesListener[] = [];
  private readonly echoListeners: ((topic: string) => void)[] = [];
  private readonly echoes = new EchoMemory();

  constructor(opts: DeviceChannelOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    this.maxPending = opts.maxPending ?? 1024;
  }

  /** Answers server-side RPC `method` to the gateway device. One handler per method. */
  handleRpc(method: string, handler: GatewayRpcHandler): void {
    this.rpcHandlers.set(method, handler);
  }

  /** Called with every shared attribute update of the gateway device pushed by ThingsBoard. */
  onSharedAttributes(listener: SharedAttributesListener): void {
    this.attributeListeners.push(listener);
  }

  /**
   * Called when a publish of ours comes back from the broker. ThingsBoard never does that, so it
   * tells that the broker is a plain one (tests, demos, a bridge).
   */
  onEcho(listener: (topic: string) => void): void {
    this.echoListeners.push(listener);
  }

  /** Client-side RPC: asks ThingsBoard and resolves with its answer (the response payload). */
  requestRpc(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    return this.request(this.rpcs, timeoutMs, `RPC ${method}`, (id) => ({
      topic: DEVICE_TOPIC.rpcRequest + id,
      payload: JSON.stringify({ method, params }),
    }));
  }

  /** The gateway device's current attribute values (`{client, shared}`; a missing scope is empty). */
  async requestAttributes(
    keys: { client?: readonly string[]; shared?: readonly string[] },
    timeoutMs: number,
  ): Promise<{ client: Map<string, unknown>; shared: Map<string, unknown> }> {
    const body: Record<string, string> = {};
    if (keys.client) body.clientKeys = keys.client.join(',');
    if (keys.shared) body.sharedKeys = keys.shared.join(',');
    const answer = await this.request(this.attributeRequests, timeoutMs, 'attribute request', (id) => ({
      topic: DEVICE_TOPIC.attributesRequest + id,
      payload: JSON.stringify(body),
    }));
    const a = isRecord(answer) ? answer : {};
    return { client: entriesOf(a.client), shared: entriesOf(a.shared) };
  }

  /**
   * Attribute values of a device behind the gateway. ThingsBoard answers one key as `value` and
   * several as `values`; keys it has no value for are absent from the result.
   */
  async requestDeviceAttributes(
    device: string,
    keys: readonly string[],
    scope: 'client' | 'shared',
    timeoutMs: number,
  ): Promise<Map<string, unknown>> {
    const answer = await this.request(
      this.deviceAttributeRequests,
      timeoutMs,
      'device attribute request',
      (id) => ({
        topic: DEVICE_TOPIC.gatewayAttributesRequest,
        payload: JSON.stringify({ id: Number(id), device, client: scope === 'client', keys }),
      }),
    );
    const a = isRecord(answer) ? answer : {};
    if (isRecord(a.values)) return entriesOf(a.values);
    const [only] = keys;
    if (Object.hasOwn(a, 'value') && only !== undefined && keys.length === 1)
      return new Map([[only, a.value]]);
    return new Map();
  }

  /** Telemetry of the gateway device itself: `values`, `{ts, values}`, or a list of `{ts, values}`. */
  publishTelemetry(telemetry: Record<string, unknown> | readonly Record<string, unknown>[]): Promise<void> {
    return this.publishOwn(DEVICE_TOPIC.telemetry, JSON.stringify(telemetry));
  }

  /** Client attributes of the gateway device itself. */
  publishAttributes(attributes: Record<string, unknown>): Promise<void> {
    return this.publishOwn(DEVICE_TOPIC.attributes, JSON.stringify(attributes));
  }

  /**
   * Routes one message from the broker. Returns false when the topic is not this channel's.
   * `msg` is the parsed JSON payload, `text` the payload as received.
   */
  accept(topic: string, msg: unknown, text: string): boolean {
    if (!this.isChannelTopic(topic)) return false;
    if (this.echoes.isEcho(topic, text)) {
      this.counters.ignoredEchoes++;
      for (const l of this.echoListeners) l(topic);
      return true;
    }
    if (topic === DEVICE_TOPIC.attributes) this.onSharedAttributesPushed(msg);
    else if (topic.startsWith(DEVICE_TOPIC.rpcRequest)) {
      this.onServerRpc(topic.slice(DEVICE_TOPIC.rpcRequest.length), msg);
    } else if (topic.startsWith(DEVICE_TOPIC.rpcResponse)) {
      this.settle(this.rpcs, topic.slice(DEVICE_TOPIC.rpcResponse.length), msg);
    } else if (topic.startsWith(DEVICE_TOPIC.attributesResponse)) {
      this.settle(this.attributeRequests, topic.slice(DEVICE_TOPIC.attributesResponse.length), msg);
    } else if (topic === DEVICE_TOPIC.gatewayAttributesResponse) {
      const id = isRecord(msg) ? msg.id : undefined;
      if (typeof id === 'number' || typeof id === 'string') {
        this.settle(this.deviceAttributeRequests, String(id), msg);
      }
    }
    return true;
  }

  /** The MQTT connection dropped: nothing waiting will be answered on it. */
  linkLost(): void {
    for (const waiting of [this.rpcs, this.attributeRequests, this.deviceAttributeRequests]) {
      for (const [id, p] of waiting) {
        waiting.delete(id);
        clearTimeout(p.timer);
        this.counters.requestsFailed++;
        p.reject(new DeviceRequestError('link-lost', 'the connection to ThingsBoard was lost'));
      }
    }
  }

  private isChannelTopic(topic: string): boolean {
    return (
      topic === DEVICE_TOPIC.attributes ||
      topic === DEVICE_TOPIC.gatewayAttributesResponse ||
      topic.startsWith(DEVICE_TOPIC.rpcRequest) ||
      topic.startsWith(DEVICE_TOPIC.rpcResponse) ||
      topic.startsWith(DEVICE_TOPIC.attributesResponse)
    );
  }

  private request(
    waiting: Map<string, Pending>,
    timeoutMs: number,
    what: string,
    build: (id: string) => { topic: string; payload: string },
  ): Promise<unknown> {
    if (!this.opts.connected()) {
      return Promise.reject(new DeviceRequestError('link-lost', `${what}: not connected to ThingsBoard`));
    }
    if (this.pendingCount() >= this.maxPending) {
      this.counters.requestsFailed++;
      return Promise.reject(
        new DeviceRequestError(
          'overloaded',
          `${what}: ${this.maxPending} requests to ThingsBoard already waiting`,
        ),
      );
    }
    // ThingsBoard parses request ids as integers.
    const id = String(this.nextId);
    this.nextId = this.nextId >= 2 ** 31 - 1 ? 1 : this.nextId + 1;
    const { topic, payload } = build(id);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!waiting.delete(id)) return;
        this.counters.requestsFailed++;
        reject(
          new DeviceRequestError('timeout', `${what}: no answer from ThingsBoard within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      waiting.set(id, { resolve, reject, timer });
      this.counters.requestsSent++;
      this.publishOwn(topic, payload).catch((err: unknown) => {
        if (!waiting.delete(id)) return;
        clearTimeout(timer);
        this.counters.requestsFailed++;
        reject(
          new DeviceRequestError('link-lost', `${what}: ${err instanceof Error ? err.message : String(err)}`),
        );
      });
    });
  }

  private pendingCount(): number {
    return this.rpcs.size + this.attributeRequests.size + this.deviceAttributeRequests.size;
  }

  private settle(waiting: Map<string, Pending>, id: string, msg: unknown): void {
    const p = waiting.get(id);
    if (!p) {
      this.logger.debug({ id }, 'answer from ThingsBoard to no request of ours: ignored');
      return;
    }
    waiting.delete(id);
    clearTimeout(p.timer);
    this.counters.requestsAnswered++;
    p.resolve(msg);
  }

  private onSharedAttributesPushed(msg: unknown): void {
    if (!isRecord(msg)) return;
    this.counters.sharedAttributeUpdates++;
    const values = entriesOf(msg);
    // ThingsBoard announces deletions as {"deleted": ["key", …]}.
    const deletedRaw = values.get('deleted');
    const deleted = Array.isArray(deletedRaw)
      ? deletedRaw.filter((k): k is string => typeof k === 'string')
      : [];
    if (Array.isArray(deletedRaw)) values.delete('deleted');
    const update: SharedAttributesUpdate = { values, deleted };
    for (const listener of this.attributeListeners) {
      try {
        listener(update);
      } catch (err) {
        this.logger.error({ err }, 'handling a shared attribute update of the gateway device failed');
      }
    }
  }

  private onServerRpc(id: string, msg: unknown): void {
    if (!isRecord(msg) || typeof msg.method !== 'string') return;
    this.counters.rpcsReceived++;
    const { method, params } = msg;
    const handler = this.rpcHandlers.get(method);
    const reply = (body: unknown): void => {
      let text: string | undefined;
      try {
        text = JSON.stringify(body);
      } catch (err) {
        text = JSON.stringify({ error: `the reply could not be serialised: ${String(err)}` });
      }
      this.publishOwn(DEVICE_TOPIC.rpcResponse + id, text ?? '{}').catch((err: unknown) =>
        this.logger.warn({ method, err: String(err) }, 'reply to an RPC of the gateway device not delivered'),
      );
    };
    if (!handler) {
      this.counters.rpcsUnknown++;
      reply({ error: `unknown method "${method}" for the gateway device` });
      return;
    }
    let result: unknown;
    try {
      result = handler(params);
    } catch (err) {
      reply({ error: err instanceof Error ? err.message : String(err) });
      return;
    }
    Promise.resolve(result).then(reply, (err: unknown) =>
      reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  }

  private publishOwn(topic: string, payload: string): Promise<void> {
    this.echoes.remember(topic, payload);
    return this.opts.publish(topic, payload);
  }
}
