/**
 * The gateway device's own channel over a real broker: a ThingsBoardClient connected to aedes, and
 * an MQTT client playing ThingsBoard on the `v1/devices/me/...` and gateway attribute topics. The
 * broker is a plain one, so it echoes the gateway's publishes back to it: every test here also
 * shows that an echo is never taken for ThingsBoard's word.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ThingsBoardConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { ThingsBoardClient } from '../../src/thingsboard/client.js';
import { DeviceRequestError } from '../../src/thingsboard/device-channel.js';
import { TestBroker } from '../helpers/broker.js';

interface Seen {
  topic: string;
  json: Record<string, unknown>;
}

let broker: TestBroker;
let gateway: ThingsBoardClient;
let tb: MqttClient;
let seen: Seen[];

function config(port: number): ThingsBoardConfig {
  return {
    host: '127.0.0.1',
    port,
    qos: 1,
    username: 'GW_TOKEN',
    maxPayloadSizeBytes: 65536,
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    shutdownGracePeriodMs: 0,
    maxJsonDepth: 64,
  };
}

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeEach(async () => {
  broker = await TestBroker.start();
  tb = await mqtt.connectAsync({ host: '127.0.0.1', port: broker.port, protocolVersion: 4 });
  seen = [];
  tb.on('message', (topic, payload) => {
    seen.push({ topic, json: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
  await tb.subscribeAsync(['v1/devices/me/#', 'v1/gateway/attributes/request'], { qos: 1 });
  gateway = new ThingsBoardClient(config(broker.port), silentLogger());
  const connected = new Promise<void>((resolve) => gateway.onConnect(resolve));
  gateway.start();
  await connected;
  // The subscriptions are asked for on connect; wait until the broker has them.
  await until(() => gateway.connected, 'gateway connected');
  await new Promise((r) => setTimeout(r, 100));
});

afterEach(async () => {
  await gateway.stop();
  await tb.endAsync(true);
  await broker.stop();
});

/** ThingsBoard answers every client-side RPC named `method` with `answer(params)`. */
function answerClientRpc(method: string, answer: (params: unknown) => unknown): void {
  tb.on('message', (topic, payload) => {
    const m = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
    if (!m) return;
    const body = JSON.parse(payload.toString()) as { method?: string; params?: unknown };
    if (body.method !== method) return;
    void tb.publishAsync(`v1/devices/me/rpc/response/${m[1]}`, JSON.stringify(answer(body.params)));
  });
}

describe('client-side RPC from the gateway device', () => {
  it('resolves with ThingsBoard answer, and the echo of the request is not served as an RPC to the gateway', async () => {
    answerClientRpc('getSessionLimits', (params) => ({ maxPayloadSize: 65536, asked: params }));
    const answer = await gateway.device.requestRpc('getSessionLimits', { timeout: 5000 }, 5000);
    expect(answer).toEqual({ maxPayloadSize: 65536, asked: { timeout: 5000 } });
    // Had the echo been taken for a server-side RPC, the gateway would have answered it ("unknown method").
    await new Promise((r) => setTimeout(r, 100));
    const answers = seen.filter((s) => s.topic.startsWith('v1/devices/me/rpc/response/'));
    expect(answers).toEqual([{ topic: answers[0]?.topic, json: answer }]);
    expect(gateway.device.counters).toMatchObject({ requestsSent: 1, requestsAnswered: 1, rpcsReceived: 0 });
    expect(gateway.device.counters.ignoredEchoes).toBeGreaterThanOrEqual(1);
  });

  it('rejects with a timeout when ThingsBoard does not answer', async () => {
    const error = await gateway.device.requestRpc('ocppAuthorize', {}, 150).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceRequestError);
    expect((error as DeviceRequestError).reason).toBe('timeout');
    expect(gateway.device.counters.requestsFailed).toBe(1);
  });

  it('rejects what is waiting when the connection drops, and refuses while disconnected', async () => {
    const waiting = gateway.device.requestRpc('ocppAuthorize', {}, 10_000).catch((e: unknown) => e);
    await until(() => seen.some((s) => s.topic.startsWith('v1/devices/me/rpc/request/')), 'request seen');
    await broker.stop();
    const error = (await waiting) as DeviceRequestError;
    expect(error.reason).toBe('link-lost');
    const refused = (await gateway.device
      .requestRpc('x', {}, 1000)
      .catch((e: unknown) => e)) as DeviceRequestError;
    expect(refused.reason).toBe('link-lost');
  });
});

describe('server-side RPC to the gateway device', () => {
  it('answers with the handler result, an error for an unknown method, and an error when the handler fails', async () => {
    gateway.device.handleRpc('gateway_ping', () => ({ pong: true }));
    gateway.device.handleRpc('slow', async (params) => {
      await new Promise((r) => setTimeout(r, 20));
      return { echoed: params };
    });
    gateway.device.handleRpc('broken', () => {
      throw new Error('cannot do that');
    });
    await tb.publishAsync(
      'v1/devices/me/rpc/request/41',
      JSON.stringify({ method: 'gateway_ping', params: {} }),
    );
    await tb.publishAsync(
      'v1/devices/me/rpc/request/42',
      JSON.stringify({ method: 'slow', params: { a: 1 } }),
    );
    await tb.publishAsync('v1/devices/me/rpc/request/43', JSON.stringify({ method: 'nope' }));
    await tb.publishAsync('v1/devices/me/rpc/request/44', JSON.stringify({ method: 'broken' }));
    const reply = (id: number) => seen.find((s) => s.topic === `v1/devices/me/rpc/response/${id}`)?.json;
    await until(() => [41, 42, 43, 44].every((id) => reply(id)), 'four replies');
    expect(reply(41)).toEqual({ pong: true });
    expect(reply(42)).toEqual({ echoed: { a: 1 } });
    expect(reply(43)).toEqual({ error: 'unknown method "nope" for the gateway device' });
    expect(reply(44)).toEqual({ error: 'cannot do that' });
    // ThingsBoard's own requests reached the handlers once each, and the replies' echoes were dropped.
    expect(gateway.device.counters.rpcsReceived).toBe(4);
    expect(gateway.device.counters.rpcsUnknown).toBe(1);
  });
});

describe('attributes of the gateway device and of devices behind it', () => {
  it('passes ThingsBoard shared attribute pushes and deletions to listeners, never its own client attributes', async () => {
    const updates: { values: [string, unknown][]; deleted: string[] }[] = [];
    gateway.device.onSharedAttributes((u) => updates.push({ values: [...u.values], deleted: u.deleted }));
    await gateway.device.publishAttributes({ Version: '1.0.0' });
    // Keys are ThingsBoard's to choose, "__proto__" too: they arrive as Map entries.
    await tb.publishAsync('v1/devices/me/attributes', '{"ocppIdTokens":{"A":{}},"__proto__":1}');
    await tb.publishAsync('v1/devices/me/attributes', JSON.stringify({ deleted: ['ocppIdTokens'] }));
    await until(() => updates.length === 2, 'two updates');
    expect(updates).toEqual([
      {
        values: [
          ['ocppIdTokens', { A: {} }],
          ['__proto__', 1],
        ],
        deleted: [],
      },
      { values: [], deleted: ['ocppIdTokens'] },
    ]);
  });

  it('requests the gateway device attributes and reads ThingsBoard answer', async () => {
    tb.on('message', (topic, payload) => {
      const m = /^v1\/devices\/me\/attributes\/request\/(\d+)$/.exec(topic);
      if (!m) return;
      const body = JSON.parse(payload.toString()) as { sharedKeys?: string };
      const shared = Object.fromEntries((body.sharedKeys ?? '').split(',').map((k) => [k, `value of ${k}`]));
      void tb.publishAsync(`v1/devices/me/attributes/response/${m[1]}`, JSON.stringify({ shared }));
    });
    const answer = await gateway.device.requestAttributes({ shared: ['a', 'b'] }, 5000);
    expect([...answer.shared]).toEqual([
      ['a', 'value of a'],
      ['b', 'value of b'],
    ]);
    expect(answer.client.size).toBe(0);
  });

  it('requests attributes of a device behind the gateway, one key answered as value and several as values', async () => {
    tb.on('message', (topic, payload) => {
      if (topic !== 'v1/gateway/attributes/request') return;
      const body = JSON.parse(payload.toString()) as { id: number; device: string; keys: string[] };
      const answer =
        body.keys.length === 1
          ? { id: body.id, device: body.device, value: 'Accepted' }
          : {
              id: body.id,
              device: body.device,
              values: { ocppRegistration: 'Accepted', ocppTariff: { perKwh: 0.3 } },
            };
      void tb.publishAsync('v1/gateway/attributes/response', JSON.stringify(answer));
    });
    const one = await gateway.device.requestDeviceAttributes('CP 1', ['ocppRegistration'], 'shared', 5000);
    expect([...one]).toEqual([['ocppRegistration', 'Accepted']]);
    const two = await gateway.device.requestDeviceAttributes(
      'CP 1',
      ['ocppRegistration', 'ocppTariff'],
      'shared',
      5000,
    );
    expect(Object.fromEntries(two)).toEqual({ ocppRegistration: 'Accepted', ocppTariff: { perKwh: 0.3 } });
    const request = seen.find((s) => s.topic === 'v1/gateway/attributes/request')?.json;
    expect(request).toMatchObject({ device: 'CP 1', client: false, keys: ['ocppRegistration'] });
  });

  it('publishes its own telemetry on the device topic', async () => {
    await gateway.device.publishTelemetry({ ts: 1, values: { machineStats: { cpuCount: 2 } } });
    await until(() => seen.find((s) => s.topic === 'v1/devices/me/telemetry'), 'telemetry');
    expect(seen.find((s) => s.topic === 'v1/devices/me/telemetry')?.json).toEqual({
      ts: 1,
      values: { machineStats: { cpuCount: 2 } },
    });
  });
});
