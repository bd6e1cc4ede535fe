/**
 * What a publish of the gateway device itself (`v1/devices/me/…`) costs against its own rate
 * limits, as ThingsBoard's transport counts it (and an attribute request for a device behind it,
 * made on the same channel, against the devices' limits). The getSessionLimits request is answered by the
 * MQTT transport before any limit is checked, so it costs nothing (and must not wait for the
 * limits it asks for).
 */
import { DEVICE_TOPIC } from './device-api.js';
import { REGULAR_MESSAGE, type Cost, type Lane } from './pacer.js';

export const SESSION_LIMITS_METHOD = 'getSessionLimits';

function keysOf(v: unknown): number {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v).length : 0;
}

/** Telemetry `{k: v}`, `{ts, values}` or a list of either: the datapoints ThingsBoard counts. */
function telemetryDatapoints(body: unknown): number {
  const entries = Array.isArray(body) ? body : [body];
  let n = 0;
  for (const e of entries) {
    const o = typeof e === 'object' && e !== null ? (e as Record<string, unknown>) : {};
    n += Object.hasOwn(o, 'ts') && Object.hasOwn(o, 'values') ? keysOf(o.values) : keysOf(o);
  }
  return n;
}

export interface OwnPublishCost {
  lane: Lane;
  cost: Cost;
  /** The device behind the gateway it names: ThingsBoard connects it when its session has not. */
  device?: string;
}

const own = (cost: Cost): OwnPublishCost => ({ lane: 'device', cost });

/**
 * The cost of publishing `payload` on `topic`; undefined for the exempt getSessionLimits request.
 * An attribute request for a device behind the gateway (`v1/gateway/attributes/request`) is a
 * message of that device, counted against `gatewayRateLimits` (AbstractGatewaySessionHandler).
 */
export function costOfOwnPublish(topic: string, payload: string): OwnPublishCost | undefined {
  if (topic === DEVICE_TOPIC.telemetry || topic === DEVICE_TOPIC.attributes) {
    let body: unknown;
    try {
      body = JSON.parse(payload);
    } catch {
      return own(REGULAR_MESSAGE);
    }
    if (topic === DEVICE_TOPIC.telemetry) {
      return own({ messages: 0, telemetryMessages: 1, datapoints: telemetryDatapoints(body) });
    }
    return own({ messages: 1, telemetryMessages: 1, datapoints: keysOf(body) });
  }
  if (topic === DEVICE_TOPIC.gatewayAttributesRequest) {
    let device: unknown;
    try {
      device = (JSON.parse(payload) as { device?: unknown }).device;
    } catch {
      // not ours to judge: a regular message
    }
    const named = typeof device === 'string' ? { device } : {};
    return { lane: 'devices', cost: REGULAR_MESSAGE, ...named };
  }
  if (topic.startsWith(DEVICE_TOPIC.rpcRequest) && payload.includes(SESSION_LIMITS_METHOD)) {
    try {
      if ((JSON.parse(payload) as { method?: unknown }).method === SESSION_LIMITS_METHOD) return undefined;
    } catch {
      // not ours to judge: a regular message
    }
  }
  return own(REGULAR_MESSAGE);
}
