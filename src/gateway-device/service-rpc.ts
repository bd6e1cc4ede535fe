/**
 * The Python gateway's service RPCs to the gateway device (tb_gateway_service.py, release 3.8),
 * with the same names and answers, and the notifications ThingsBoard sends as RPCs to the gateway
 * device (DefaultGatewayNotificationsService): `gateway_device_renamed` with params
 * `{"<old name>": "<new name>"}` and `gateway_device_deleted` with params `"<name>"`.
 *
 * | method                   | answer                                                             |
 * | ------------------------ | ------------------------------------------------------------------ |
 * | `gateway_ping`           | `{"code": 200, "resp": "pong"}`                                    |
 * | `gateway_devices`        | `{"code": 200, "resp": {"<device>": "<connector name>", …}}`       |
 * | `gateway_stats`          | `{"eventsProduced", "eventsSent", "<Connector>EventsProduced", …}` |
 * | `gateway_version`        | `{"code": 200, "resp": {"current_version", "latest_version"}}`     |
 * | `gateway_restart`        | `{"success": true}`, then a graceful stop with exit code 75         |
 * | `gateway_device_renamed` | `{"success": true}`                                                |
 * | `gateway_device_deleted` | `{"success": true}`                                                |
 *
 * `gateway_reboot` (reboot the host) and `gateway_update` (pip install) answer an error: this
 * gateway does neither.
 */
import type { OcppConnector } from '../connector/connector.js';
import type { DeviceRenames } from '../connector/renames.js';
import type { Logger } from '../log.js';
import type { GatewayDeviceChannel } from '../thingsboard/device-channel.js';

/** Exit code of a stop asked for by gateway_restart: EX_TEMPFAIL, "try again" — a supervisor restarts. */
export const EXIT_RESTART = 75;

export interface ServiceRpcOptions {
  device: GatewayDeviceChannel;
  connectors(): readonly OcppConnector[];
  renames: DeviceRenames;
  /** tb_gateway.json `handleDeviceRenaming` (live). */
  handleDeviceRenaming(): boolean;
  version: string;
  logger: Logger;
  /** Stops the gateway gracefully and exits with EXIT_RESTART. */
  restart(): void;
  /** ThingsBoard dropped a deleted device from its gateway session (rate-limit accounting). */
  forgetSessionDevice?(device: string): void;
}

/** Seconds before a restart: the params (a number), at least 1, as the Python gateway. */
function restartDelayMs(params: unknown): number {
  const seconds = typeof params === 'number' && Number.isFinite(params) ? params : 1;
  return Math.max(1, Math.min(seconds, 3600)) * 1000;
}

export function registerServiceRpcs(opts: ServiceRpcOptions): void {
  const { device, logger } = opts;
  let restartTimer: NodeJS.Timeout | undefined;

  device.handleRpc('gateway_ping', () => ({ code: 200, resp: 'pong' }));

  device.handleRpc('gateway_devices', () => {
    // Device names are outside data: a null-prototype object keeps "__proto__" an ordinary name.
    const resp = Object.create(null) as Record<string, string>;
    for (const c of opts.connectors()) for (const d of c.announcedDevices()) resp[d.name] = c.name;
    return { code: 200, resp };
  });

  device.handleRpc('gateway_stats', () => {
    let produced = 0;
    let sent = 0;
    const out: Record<string, number> = {};
    for (const c of opts.connectors()) {
      const p = c.protocolCounters.callsIn + c.protocolCounters.sendsIn;
      const s = c.uplinkCounters.messages;
      const key = c.name.replace(/\s+/g, '');
      out[`${key}EventsProduced`] = p;
      out[`${key}EventsSent`] = s;
      produced += p;
      sent += s;
    }
    return { eventsProduced: produced, eventsSent: sent, ...out };
  });

  device.handleRpc('gateway_version', () => ({
    code: 200,
    resp: { current_version: opts.version, latest_version: opts.version },
  }));

  device.handleRpc('gateway_restart', (params) => {
    const delay = restartDelayMs(params);
    logger.warn(
      { inMs: delay },
      'gateway_restart from ThingsBoard: stopping gracefully for the supervisor to restart',
    );
    restartTimer ??= setTimeout(() => opts.restart(), delay);
    return { success: true };
  });

  for (const method of ['gateway_reboot', 'gateway_update']) {
    device.handleRpc(method, () => ({ code: 501, error: `${method} is not supported by this gateway` }));
  }

  device.handleRpc('gateway_device_renamed', async (params) => {
    if (!opts.handleDeviceRenaming()) {
      logger.info({ params }, 'device renamed in ThingsBoard: ignored (handleDeviceRenaming is false)');
      return { success: true };
    }
    const entries = typeof params === 'object' && params !== null ? Object.entries(params) : [];
    const [entry] = entries;
    if (entries.length !== 1 || entry === undefined || typeof entry[1] !== 'string' || entry[1] === '') {
      return { success: false, error: 'expected {"<old name>": "<new name>"}' };
    }
    const [from, to] = entry as [string, string];
    await opts.renames.renamed(from, to);
    let chargePoints = 0;
    for (const c of opts.connectors()) chargePoints += c.renameDevice(from, to);
    logger.info({ from, to, chargePoints }, 'device renamed in ThingsBoard: identity updated');
    return { success: true };
  });

  device.handleRpc('gateway_device_deleted', async (params) => {
    if (typeof params !== 'string' || params === '')
      return { success: false, error: 'expected the device name' };
    // AbstractGatewaySessionHandler.onDeviceDeleted: the device leaves the gateway session.
    opts.forgetSessionDevice?.(params);
    await opts.renames.deleted(params);
    let chargePoints = 0;
    for (const c of opts.connectors()) chargePoints += c.deviceDeleted(params);
    logger.info(
      { device: params, chargePoints },
      'device deleted in ThingsBoard: a live charge point under it announces it again with its next data',
    );
    return { success: true };
  });
}
