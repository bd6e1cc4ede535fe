/**
 * What ThingsBoard's gateway session charges for the devices behind the gateway, and the gateway
 * device's own publishes: the accounting the pacer uses (facts: AbstractGatewaySessionHandler,
 * DefaultTransportService; ThingsBoard's MqttGatewayRateLimitsTest counts a new device as two
 * messages, "create device" and "to device actor").
 */
import { describe, expect, it } from 'vitest';
import { DEVICE_CONNECT_MESSAGES, GatewaySessionDevices } from '../../src/thingsboard/gateway-session.js';
import { costOfOwnPublish } from '../../src/thingsboard/own-cost.js';
import { REGULAR_MESSAGE } from '../../src/thingsboard/pacer.js';

describe('the devices of ThingsBoard’s gateway session', () => {
  it('charges a device new to the session two messages, one it has none', () => {
    const session = new GatewaySessionDevices();
    expect(DEVICE_CONNECT_MESSAGES).toBe(2);
    expect(session.connectMessages('EV 1')).toBe(2);
    session.connected('EV 1');
    expect(session.connectMessages('EV 1')).toBe(0);
    // A disconnect (or a deletion in ThingsBoard) takes it out; a new MQTT session starts empty.
    session.disconnected('EV 1');
    expect(session.connectMessages('EV 1')).toBe(2);
    session.connected('EV 2');
    session.clear();
    expect(session.connectMessages('EV 2')).toBe(2);
    expect(session.size).toBe(0);
  });

  it('adds the implicit connect to a publish naming a device, once', () => {
    const session = new GatewaySessionDevices();
    expect(session.costNaming('__proto__', REGULAR_MESSAGE)).toEqual({
      messages: 3,
      telemetryMessages: 0,
      datapoints: 0,
    });
    expect(session.costNaming('__proto__', REGULAR_MESSAGE)).toEqual(REGULAR_MESSAGE);
  });
});

describe('what a publish on the gateway device’s channel costs', () => {
  it.each([
    [
      'v1/devices/me/telemetry',
      { a: 1, b: 2 },
      'device',
      { messages: 0, telemetryMessages: 1, datapoints: 2 },
    ],
    [
      'v1/devices/me/telemetry',
      [
        { ts: 1, values: { a: 1 } },
        { ts: 2, values: { a: 2, b: 3 } },
      ],
      'device',
      { messages: 0, telemetryMessages: 1, datapoints: 3 },
    ],
    ['v1/devices/me/attributes', { a: 1 }, 'device', { messages: 1, telemetryMessages: 1, datapoints: 1 }],
    ['v1/devices/me/attributes/request/7', { sharedKeys: 'a' }, 'device', REGULAR_MESSAGE],
    ['v1/devices/me/rpc/response/7', { ok: true }, 'device', REGULAR_MESSAGE],
    // An attribute request for a device behind the gateway is that device's message.
    ['v1/gateway/attributes/request', { id: 1, device: 'EV 1', keys: ['t'] }, 'devices', REGULAR_MESSAGE],
  ] as const)('%s %j: lane %s, %j', (topic, body, lane, cost) => {
    expect(costOfOwnPublish(topic, JSON.stringify(body))).toMatchObject({ lane, cost });
  });

  it('names the device of an attribute request (its implicit connect is charged too)', () => {
    const paced = costOfOwnPublish(
      'v1/gateway/attributes/request',
      JSON.stringify({ id: 1, device: 'EV 1', client: false, keys: ['t'] }),
    );
    expect(paced).toEqual({ lane: 'devices', cost: REGULAR_MESSAGE, device: 'EV 1' });
  });

  it('does not charge the getSessionLimits request (ThingsBoard answers it before any limit)', () => {
    const body = JSON.stringify({ method: 'getSessionLimits', params: { timeout: 5000 } });
    expect(costOfOwnPublish('v1/devices/me/rpc/request/1', body)).toBeUndefined();
  });
});
