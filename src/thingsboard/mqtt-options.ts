/**
 * How the MQTT connection to ThingsBoard is opened and how long the client waits before trying
 * again: the mqtt.js options taken from the config, and the reconnect backoff.
 */
import type { IClientOptions } from 'mqtt';
import type { ThingsBoardConfig } from '../config/types.js';

/** The options of one connection attempt; mqtt.js' own reconnect and resubscribe are off. */
export function mqttClientOptions(c: ThingsBoardConfig): IClientOptions {
  const opts: IClientOptions = {
    host: c.host,
    port: c.port,
    protocol: c.tls ? 'mqtts' : 'mqtt',
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    connectTimeout: 10_000,
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false,
    // ThingsBoard identifies the gateway by its access token, sent as the MQTT username.
    username: c.username,
    password: c.password,
  };
  if (c.clientId) opts.clientId = c.clientId;
  if (c.tls) {
    if (c.tls.ca) opts.ca = c.tls.ca;
    if (c.tls.cert) opts.cert = c.tls.cert;
    if (c.tls.key) opts.key = c.tls.key;
  }
  return opts;
}

/** Exponential backoff from reconnectMinMs to reconnectMaxMs with ±25 % jitter. */
export function reconnectDelay(config: ThingsBoardConfig, attempt: number): number {
  const base = Math.min(config.reconnectMaxMs, config.reconnectMinMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}
