/**
 * The features' view of ThingsBoard (CsmsThingsBoardLink) over the gateway device's channel:
 * client-side RPC, the gateway device's shared attributes, a device's shared attributes.
 */
import type { GatewayDeviceChannel } from '../thingsboard/device-channel.js';
import type { CsmsThingsBoardLink } from './features.js';

export function thingsBoardLink(device: GatewayDeviceChannel): CsmsThingsBoardLink {
  return {
    requestRpc: (method, params, timeoutMs) => device.requestRpc(method, params, timeoutMs),
    requestSharedAttributes: async (keys, timeoutMs) =>
      (await device.requestAttributes({ shared: keys }, timeoutMs)).shared,
    requestDeviceAttributes: (name, keys, timeoutMs) =>
      device.requestDeviceAttributes(name, keys, 'shared', timeoutMs),
  };
}
