/**
 * ThingsBoard's side of the gateway device's own channel, for end-to-end tests: answers the
 * gateway's client-side RPCs (`v1/devices/me/rpc/request/<id>` → `.../response/<id>`), its
 * requests for its own shared attributes (`v1/devices/me/attributes/request/<id>` →
 * `{"client":{},"shared":{…}}` with only the keys that exist, as ThingsBoard answers) and for a
 * device's shared attributes (`v1/gateway/attributes/request` `{id, device, client, keys}` →
 * `v1/gateway/attributes/response` `{id, device, values}`), and pushes the gateway device's
 * shared attributes (`v1/devices/me/attributes`). Everything it answered is recorded.
 */
import mqtt, { type MqttClient } from 'mqtt';

export type RpcAnswer = (params: Record<string, unknown>) => unknown;

export class ThingsBoardGatewayDevice {
  /** Client-side RPCs received: method and params. */
  readonly rpcs: { method: string; params: Record<string, unknown> }[] = [];
  readonly attributeRequests: { device?: string; keys: string[] }[] = [];
  private readonly client: MqttClient;
  private readonly rpcAnswers = new Map<string, RpcAnswer>();
  private gatewayShared: Record<string, unknown> = {};
  private readonly deviceShared = new Map<string, Record<string, unknown>>();

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload.toString()));
  }

  static async connect(port: number): Promise<ThingsBoardGatewayDevice> {
    const client = await mqtt.connectAsync({
      host: '127.0.0.1',
      port,
      protocolVersion: 4,
      reconnectPeriod: 200,
    });
    const device = new ThingsBoardGatewayDevice(client);
    await client.subscribeAsync(
      ['v1/devices/me/rpc/request/+', 'v1/devices/me/attributes/request/+', 'v1/gateway/attributes/request'],
      { qos: 1 },
    );
    return device;
  }

  /** Answers client-side RPC `method` with `answer(params)`; an undefined answer is never sent (a timeout). */
  answerRpc(method: string, answer: RpcAnswer): void {
    this.rpcAnswers.set(method, answer);
  }

  /** Stops answering `method`: the gateway's requests time out, as with ThingsBoard unreachable. */
  stopAnswering(method: string): void {
    this.rpcAnswers.delete(method);
  }

  /** The gateway device's shared attributes, as later attribute requests will find them. */
  setGatewayShared(values: Record<string, unknown>): void {
    this.gatewayShared = values;
  }

  /** Pushes a change of the gateway device's shared attributes, as ThingsBoard does on an edit. */
  async pushGatewayShared(values: Record<string, unknown>): Promise<void> {
    this.gatewayShared = { ...this.gatewayShared, ...values };
    await this.client.publishAsync('v1/devices/me/attributes', JSON.stringify(values), { qos: 1 });
  }

  /** A device's shared attributes, as the gateway's requests for them will find them. */
  setDeviceShared(device: string, values: Record<string, unknown>): void {
    this.deviceShared.set(device, values);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private onMessage(topic: string, text: string): void {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const rpc = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
    if (rpc && typeof body.method === 'string') {
      const params = (body.params ?? {}) as Record<string, unknown>;
      this.rpcs.push({ method: body.method, params });
      const answer = this.rpcAnswers.get(body.method)?.(params);
      if (answer !== undefined) {
        void this.client.publishAsync(`v1/devices/me/rpc/response/${rpc[1]}`, JSON.stringify(answer), {
          qos: 1,
        });
      }
      return;
    }
    const attrs = /^v1\/devices\/me\/attributes\/request\/(\d+)$/.exec(topic);
    if (attrs) {
      const keys = typeof body.sharedKeys === 'string' ? body.sharedKeys.split(',') : [];
      this.attributeRequests.push({ keys });
      const shared: Record<string, unknown> = {};
      for (const k of keys) if (Object.hasOwn(this.gatewayShared, k)) shared[k] = this.gatewayShared[k];
      void this.client.publishAsync(
        `v1/devices/me/attributes/response/${attrs[1]}`,
        JSON.stringify({ client: {}, shared }),
        { qos: 1 },
      );
      return;
    }
    if (
      topic === 'v1/gateway/attributes/request' &&
      typeof body.device === 'string' &&
      Array.isArray(body.keys)
    ) {
      const keys = body.keys.filter((k): k is string => typeof k === 'string');
      this.attributeRequests.push({ device: body.device, keys });
      const known = this.deviceShared.get(body.device) ?? {};
      const values: Record<string, unknown> = {};
      for (const k of keys) if (Object.hasOwn(known, k)) values[k] = known[k];
      void this.client.publishAsync(
        'v1/gateway/attributes/response',
        JSON.stringify({ id: body.id, device: body.device, values }),
        { qos: 1 },
      );
    }
  }
}
