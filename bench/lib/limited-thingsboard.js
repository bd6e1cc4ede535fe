/**
 * A broker playing a ThingsBoard that enforces rate limits, for the rate-limited scenario: aedes
 * in this process (the gateway's publish rate is limited, so its cost is small here), answering
 * getSessionLimits with the limits given and enforcing the gateway's (`gatewayRateLimits`) the way
 * ThingsBoard's transport does — buckets that start full and refill continuously (bucket4j greedy),
 * per device entry of a telemetry publish one telemetry message and its datapoints, of an
 * attributes publish one telemetry message and its keys, two messages for a device new to the
 * session (its lookup and its session open, by a connect or implicitly by its data), one for a
 * disconnect of a connected device. A publish over a limit or over maxPayloadSize is a violation:
 * counted, and the connection closed, as ThingsBoard closes it (a refused device lookup is counted
 * too; ThingsBoard drops that device's data). test/helpers/tb-standin.ts is the fuller version the
 * tests use.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { now } from './processes.js';

class Window {
  constructor(capacity, seconds) {
    this.capacity = capacity;
    this.rate = capacity / (seconds * 1000);
    this.tokens = capacity;
    this.last = now();
  }
  available(t) {
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.rate);
    this.last = t;
    return this.tokens;
  }
}

class Limit {
  constructor(config) {
    this.windows = config
      .split(',')
      .filter((p) => p.trim() !== '')
      .map((p) => {
        const [c, s] = p.split(':').map(Number);
        return new Window(c, s);
      });
  }
  tryConsume(n) {
    const t = now();
    if (!this.windows.every((w) => w.available(t) >= n)) return false;
    for (const w of this.windows) w.tokens -= n;
    return true;
  }
}

const kv = (e) => (e && typeof e === 'object' ? Object.keys(e.values && 'ts' in e ? e.values : e).length : 0);

export class LimitedThingsBoard {
  static async start(limits) {
    const tb = new LimitedThingsBoard(limits);
    await tb.listen();
    return tb;
  }

  constructor(limits) {
    this.limits = limits;
    this.buckets = {};
    for (const k of ['messages', 'telemetryMessages', 'telemetryDataPoints']) {
      const v = limits.gatewayRateLimits?.[k];
      if (v) this.buckets[k] = new Limit(v);
    }
    this.violations = [];
    this.connections = 0;
    /** Devices each MQTT session has connected (ThingsBoard's gateway session). */
    this.sessionDevices = new Map();
    /** Datapoints received, with their arrival times (ms), one entry per publish. */
    this.arrivals = [];
    this.seqs = new Map();
    this.publishes = 0;
  }

  check(dataPoints) {
    const b = this.buckets;
    if (dataPoints > 0) {
      if (b.telemetryMessages && !b.telemetryMessages.tryConsume(1)) return 'telemetryMessages';
      if (b.telemetryDataPoints && !b.telemetryDataPoints.tryConsume(dataPoints))
        return 'telemetryDataPoints';
      return undefined;
    }
    if (b.messages && !b.messages.tryConsume(1)) return 'messages';
    return undefined;
  }

  async listen() {
    const broker = await Aedes.createBroker({
      authenticate: (_c, _u, _p, done) => {
        this.connections++;
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        packet.clientId = client?.id;
        done(this.onPublish(client, packet.topic, packet.payload));
      },
      authorizeForward: (client, packet) => (packet.clientId === client.id ? null : packet),
    });
    broker.on('clientDisconnect', (client) => this.sessionDevices.delete(client));
    this.broker = broker;
    this.server = createServer((socket) => broker.handle(socket));
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = this.server.address().port;
  }

  violation(limit, topic) {
    this.violations.push({ at: now(), limit, topic });
    return new Error(`rate limit ${limit}`);
  }

  /** A device new to the session: its lookup and its session open, a message each. */
  connectDevice(client, device, topic) {
    let devices = this.sessionDevices.get(client);
    if (!devices) this.sessionDevices.set(client, (devices = new Set()));
    if (devices.has(device)) return;
    devices.add(device);
    for (let i = 0; i < 2; i++) {
      const v = this.check(0);
      if (v) this.violations.push({ at: now(), limit: v, topic: `${topic} (connect of ${device})` });
    }
  }

  onPublish(client, topic, payload) {
    if (!client) return null;
    // Netty's MqttDecoder checks the packet's remaining length: topic, packet id and payload.
    const remaining = 2 + Buffer.byteLength(topic) + 2 + payload.length;
    if (this.limits.maxPayloadSize && remaining > this.limits.maxPayloadSize) {
      return this.violation('maxPayloadSize', topic);
    }
    let json;
    try {
      json = JSON.parse(payload.toString());
    } catch {
      return null;
    }
    const request = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
    if (request && json?.method === 'getSessionLimits') {
      setImmediate(() =>
        this.broker.publish(
          {
            cmd: 'publish',
            topic: `v1/devices/me/rpc/response/${request[1]}`,
            payload: Buffer.from(JSON.stringify(this.limits)),
            qos: 1,
          },
          () => undefined,
        ),
      );
      return null;
    }
    if (!topic.startsWith('v1/gateway/')) return null;
    if (topic === 'v1/gateway/telemetry') {
      const t = now();
      let total = 0;
      for (const [device, entries] of Object.entries(json)) {
        this.connectDevice(client, device, topic);
        const list = Array.isArray(entries) ? entries : [entries];
        const dp = list.reduce((n, e) => n + kv(e), 0);
        const v = this.check(dp);
        if (v) return this.violation(v, topic);
        total += dp;
        for (const e of list) {
          const seq = Number(e?.values?.energy);
          if (Number.isFinite(seq)) this.seqs.set(seq, (this.seqs.get(seq) ?? 0) + 1);
        }
      }
      this.publishes++;
      this.arrivals.push([t, total]);
      return null;
    }
    if (topic === 'v1/gateway/attributes') {
      for (const [device, values] of Object.entries(json)) {
        this.connectDevice(client, device, topic);
        const v = this.check(kv(values));
        if (v) return this.violation(v, topic);
      }
      this.arrivals.push([now(), Object.values(json).reduce((n, v) => n + kv(v), 0)]);
      return null;
    }
    const device = typeof json?.device === 'string' ? json.device : '';
    if (topic === 'v1/gateway/connect') {
      this.connectDevice(client, device, topic);
      return null;
    }
    if (topic === 'v1/gateway/disconnect') {
      // A message, and only for a device the session has; a refused one is dropped silently.
      if (this.sessionDevices.get(client)?.delete(device)) {
        const v = this.check(0);
        if (v) this.violations.push({ at: now(), limit: v, topic });
      }
      return null;
    }
    this.connectDevice(client, device, topic);
    const v = this.check(0);
    return v ? this.violation(v, topic) : null;
  }

  /** The most datapoints received in any window of `ms` (sliding, over publish arrival times). */
  maxInWindow(ms) {
    let max = 0;
    let sum = 0;
    for (let i = 0, j = 0; i < this.arrivals.length; i++) {
      sum += this.arrivals[i][1];
      while (this.arrivals[j][0] <= this.arrivals[i][0] - ms) sum -= this.arrivals[j++][1];
      max = Math.max(max, sum);
    }
    return max;
  }

  async close() {
    await new Promise((r) => this.server.close(() => r()));
    await new Promise((r) => this.broker.close(() => r()));
  }
}
