/**
 * ThingsBoard's MQTT device API (`v1/devices/me/...`) as the gateway device speaks it about
 * itself: the topics, what the client subscribes to for it, and the values and errors the gateway
 * device's channel (device-channel.ts) hands to its users.
 */

export const DEVICE_TOPIC = {
  telemetry: 'v1/devices/me/telemetry',
  attributes: 'v1/devices/me/attributes',
  attributesRequest: 'v1/devices/me/attributes/request/',
  attributesResponse: 'v1/devices/me/attributes/response/',
  rpcRequest: 'v1/devices/me/rpc/request/',
  rpcResponse: 'v1/devices/me/rpc/response/',
  gatewayAttributesRequest: 'v1/gateway/attributes/request',
  gatewayAttributesResponse: 'v1/gateway/attributes/response',
} as const;

/** What the client subscribes to for this channel. */
export const DEVICE_SUBSCRIPTIONS = [
  DEVICE_TOPIC.attributes,
  `${DEVICE_TOPIC.attributesResponse}+`,
  `${DEVICE_TOPIC.rpcRequest}+`,
  `${DEVICE_TOPIC.rpcResponse}+`,
  DEVICE_TOPIC.gatewayAttributesResponse,
] as const;

/** A request the gateway made could not be answered: no link, timed out, or too many waiting. */
export class DeviceRequestError extends Error {
  readonly reason: 'timeout' | 'link-lost' | 'overloaded' | 'error';
  constructor(reason: DeviceRequestError['reason'], message: string) {
    super(message);
    this.name = 'DeviceRequestError';
    this.reason = reason;
  }
}

export interface SharedAttributesUpdate {
  /** Keys set or changed, with their values. */
  values: Map<string, unknown>;
  /** Keys deleted in ThingsBoard. */
  deleted: string[];
}

export type SharedAttributesListener = (update: SharedAttributesUpdate) => void;
/** Answers a server-side RPC to the gateway device; what it returns (or resolves to) is the reply. */
export type GatewayRpcHandler = (params: unknown) => unknown;
