/**
 * An MQTT client playing ThingsBoard: it records every gateway-API message the gateway
 * publishes and can push shared attribute updates and RPC requests to the gateway. It answers
 * getSessionLimits as a ThingsBoard whose tenant profile sets no rate limits does (the rate-limit
 * stand-in, tb-standin.ts, plays one that does).
 */
import mqtt, { type MqttClient } from 'mqtt';

/** ThingsBoard's getSessionLimits answer when the tenant profile sets no limits. */
const NO_LIMITS = {
  maxPayloadSize: 65536,
  maxInflightMessages: 100,
  rateLimits: { messages: null, telemetryMessages: null, telemetryDataPoints: null },
  gatewayRateLimits: { messages: null, telemetryMessages: null, telemetryDataPoints: null },
};

export interface Received {
  topic: string;
  json: Record<string, unknown>;
  /** The payload as sent (JSON.parse loses what a JS number cannot hold, such as 1e400). */
  raw: string;
  at: number;
  qos: number;
}

export class FakeThingsBoard {
  readonly messages: Received[] = [];
  private readonly client: MqttClient;
  private waiters: (() => void)[] = [];

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      const request = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
      if (request) {
        if (payload.toString().includes('"getSessionLimits"')) {
          void client.publishAsync(`v1/devices/me/rpc/response/${request[1]}`, JSON.stringify(NO_LIMITS));
        }
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(payload.toString());
      } catch {
        return;
      }
      // Only objects are gateway-API messages (a test may publish anything on these topics).
      if (typeof json !== 'object' || json === null) return;
      this.messages.push({
        topic,
        json: json as Record<string, unknown>,
        raw: payload.toString(),
        at: Date.now(),
        qos: packet.qos,
      });
      for (const w of this.waiters) w();
    });
  }

  static async connect(port: number): Promise<FakeThingsBoard> {
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port,
      protocolVersion: 4,
      reconnectPeriod: 200,
    });
    await client.subscribeAsync(['v1/gateway/#', 'v1/devices/me/rpc/request/+'], { qos: 1 });
    return new FakeThingsBoard(client);
  }

  /** Messages the gateway sent on `topic` (ThingsBoard's own pushes, echoed by the broker, left out). */
  fromGateway(topic: string): Record<string, unknown>[] {
    return this.messages
      .filter((m) => m.topic === topic)
      .map((m) => m.json)
      .filter(
        (j) =>
          !(typeof j.device === 'string' && 'data' in j && !('id' in j) && topic !== 'v1/gateway/connect'),
      );
  }

  /** Waits until `predicate` holds over what was received so far. */
  async waitFor<T>(
    predicate: () => T | undefined | false,
    timeoutMs = 10_000,
    what = 'condition',
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; last received: ${JSON.stringify(this.messages.slice(-5)).slice(0, 1500)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 200));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
      this.waiters = [];
    }
  }

  async sendAttributeUpdate(device: string, data: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync('v1/gateway/attributes', JSON.stringify({ device, data }), { qos: 1 });
  }

  /** Sends an RPC request without waiting for a reply. */
  async sendRpc(device: string, id: number, method: string, params?: unknown): Promise<void> {
    const request = JSON.stringify({ device, data: { id, method, params } });
    await this.client.publishAsync('v1/gateway/rpc', request, { qos: 1 });
  }

  /** Replies to RPC `id` for `device` received so far. */
  rpcReplies(device: string, id: number): Record<string, unknown>[] {
    return this.messages
      .filter((m) => m.topic === 'v1/gateway/rpc' && m.json.id === id && m.json.device === device)
      .map((m) => m.json);
  }

  /** Sends an RPC request and resolves with the reply's `data`. */
  async rpc(
    device: string,
    id: number,
    method: string,
    params?: unknown,
    timeoutMs = 10_000,
  ): Promise<unknown> {
    await this.sendRpc(device, id, method, params);
    const reply = await this.waitFor(
      () =>
        this.messages.find(
          (m) => m.topic === 'v1/gateway/rpc' && m.json.id === id && m.json.device === device,
        ),
      timeoutMs,
      `RPC reply ${id}`,
    );
    return reply.json.data;
  }

  /** Publishes any text on any topic, as a broken or hostile ThingsBoard could. */
  async publishRaw(topic: string, text: string, qos: 0 | 1 = 1): Promise<void> {
    await this.client.publishAsync(topic, text, { qos });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
