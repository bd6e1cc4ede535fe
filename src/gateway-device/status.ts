/**
 * What the gateway device adds to the status model (status/model.ts): errors logged per connector,
 * what ThingsBoard acknowledged by kind, the device channel, rate-limit waits, remote logs. The
 * status page, /metrics and the statistics sent to ThingsBoard all read it from there.
 */
import type { GatewayStatus } from '../status/model.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import type { SessionPacer } from '../thingsboard/pacer.js';
import type { OutboxPublisher } from '../thingsboard/publisher.js';
import type { LogTap } from './log-tap.js';
import type { RemoteLogs } from './remote-logs.js';

export interface GatewayDeviceParts {
  publisher: OutboxPublisher;
  thingsboard: ThingsBoardClient;
  pacer: SessionPacer;
  logTap?: LogTap;
  remoteLogs?: RemoteLogs;
}

export function withGatewayDevice(status: GatewayStatus, parts: GatewayDeviceParts): GatewayStatus {
  const errors = parts.logTap?.errors;
  for (const c of status.connectors) c.logErrors = errors?.get(c.name) ?? 0;
  const tb = status.thingsboard;
  tb.delivered = { ...parts.publisher.counters };
  tb.device = { ...parts.thingsboard.device.counters };
  tb.rateLimiting = { ...parts.pacer.counters };
  if (parts.remoteLogs) status.remoteLogs = { ...parts.remoteLogs.counters };
  return status;
}
