/**
 * The MQTT subscriber playing ThingsBoard: counts and timestamps (monotonic ms) what the gateway
 * publishes on the gateway API, matches telemetry to the load generator's sequence numbers
 * (values.energy), and sends RPC requests, timing each until its reply arrives. It answers the
 * gateway's getSessionLimits as a ThingsBoard whose tenant profile sets no rate limits.
 */
import mqtt from 'mqtt';
import { now } from './processes.js';

const TOPICS = ['telemetry', 'attributes', 'connect', 'disconnect', 'rpc'].map((t) => `v1/gateway/${t}`);
// No maxPayloadSize / maxInflightMessages either (ThingsBoard would state 65536 / 100): the
// gateway keeps packing and windowing as it did before it asked, so figures stay comparable.
const NO_LIMITS = { rateLimits: {}, gatewayRateLimits: {} };

export class ThingsBoardSubscriber {
  static async connect(port) {
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port,
      protocolVersion: 4,
      clientId: `bench-tb-${process.pid}`,
      reconnectPeriod: 500,
      clean: true,
    });
    // Nagle off on our side, so the harness adds no 40 ms waits to what it measures.
    const noDelay = () => client.stream?.setNoDelay?.(true);
    noDelay();
    client.on('connect', noDelay);
    // QoS 1 as ThingsBoard would; the broker is configured with no in-flight or queue cap.
    await client.subscribeAsync([...TOPICS, 'v1/devices/me/rpc/request/+'], { qos: 1 });
    return new ThingsBoardSubscriber(client);
  }

  constructor(client) {
    this.client = client;
    this.reset();
    this.rpcWaiters = new Map();
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /**
   * Zeroes every counter. `epoch`: count only telemetry of that measured window (see load.js
   * meterValues); `trackSeqs` records the arrival time of each sequence number.
   */
  reset({ trackSeqs = false, epoch } = {}) {
    this.epoch = epoch;
    this.otherEntries = 0; // entries of an earlier window that arrived late
    this.allEntries = 0;
    this.publishes = { telemetry: 0, attributes: 0, connect: 0, disconnect: 0, rpc: 0 };
    this.bytes = 0;
    this.entries = 0; // telemetry entries ({ts, values}) = MeterValues messages mapped
    this.attributeDevices = 0;
    this.connected = new Set();
    this.firstTelemetry = undefined;
    this.lastTelemetry = undefined;
    this.lastConnect = undefined;
    this.arrivals = trackSeqs ? new Map() : undefined;
    this.parseErrors = 0;
    this.countWaiter = undefined;
  }

  onMessage(topic, payload) {
    const t = now();
    const request = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
    if (request) {
      if (payload.toString().includes('"getSessionLimits"')) {
        this.client.publish(`v1/devices/me/rpc/response/${request[1]}`, JSON.stringify(NO_LIMITS), {
          qos: 1,
        });
      }
      return;
    }
    const kind = topic.slice('v1/gateway/'.length);
    this.bytes += payload.length;
    let json;
    try {
      json = JSON.parse(payload.toString());
    } catch {
      this.parseErrors++;
      return;
    }
    if (kind === 'telemetry') {
      this.publishes.telemetry++;
      this.firstTelemetry ??= t;
      this.lastTelemetry = t;
      for (const device in json) {
        const list = json[device];
        if (!Array.isArray(list)) continue;
        this.allEntries += list.length;
        for (const e of list) {
          const seq = Number(e?.values?.energy);
          if (this.epoch !== undefined && Math.floor(seq / 1e12) !== this.epoch) {
            this.otherEntries++;
            continue;
          }
          this.entries++;
          this.arrivals?.set(seq, t);
        }
      }
      if (this.countWaiter && this.entries >= this.countWaiter.count) this.countWaiter.resolve();
    } else if (kind === 'attributes') {
      // ThingsBoard's shared-attribute pushes have {device, data}; the gateway's uplink is {dev: {...}}.
      if (typeof json.device === 'string' && 'data' in json) return;
      this.publishes.attributes++;
      this.attributeDevices += Object.keys(json).length;
    } else if (kind === 'connect') {
      this.publishes.connect++;
      this.connected.add(json.device);
      this.lastConnect = t;
    } else if (kind === 'disconnect') {
      this.publishes.disconnect++;
    } else if (kind === 'rpc') {
      // Our own requests come back from the broker too: replies are the ones with a top-level id.
      if (json.id === undefined) return;
      this.publishes.rpc++;
      const key = `${json.device}\u0000${json.id}`;
      const w = this.rpcWaiters.get(key);
      if (w) {
        this.rpcWaiters.delete(key);
        w(t, json.data);
      }
    }
  }

  /** Resolves true once `count` telemetry entries arrived, false after timeoutMs. */
  waitForEntries(count, timeoutMs) {
    if (this.entries >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.countWaiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.countWaiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          this.countWaiter = undefined;
          resolve(true);
        },
      };
    });
  }

  /** Resolves once `device` was announced on v1/gateway/connect. */
  async waitForConnect(device, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected.has(device)) {
      if (Date.now() > deadline)
        throw new Error(`no v1/gateway/connect for ${device} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Publishes one RPC request and resolves with {ms, data}, or {ms: NaN, error} after timeoutMs.
   * The clock starts just before the publish is handed to the MQTT client.
   */
  rpc(device, id, method, params, timeoutMs) {
    const key = `${device}\u0000${id}`;
    const t0 = now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.rpcWaiters.delete(key);
        resolve({ ms: NaN, error: 'timeout' });
      }, timeoutMs);
      this.rpcWaiters.set(key, (t, data) => {
        clearTimeout(timer);
        resolve({ ms: t - t0, data });
      });
      this.client.publish('v1/gateway/rpc', JSON.stringify({ device, data: { id, method, params } }), {
        qos: 1,
      });
    });
  }

  async close() {
    await this.client.endAsync(true).catch(() => undefined);
  }
}
