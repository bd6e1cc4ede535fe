/**
 * Builds the status model from the stages' own counter objects (nothing is counted twice), and
 * the compact form the once-a-minute stats log line carries.
 */
import type { OcppConnector } from '../connector/connector.js';
import type { WriteHealthOutbox } from '../outbox/write-health.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import type { OutboxPublisher } from '../thingsboard/publisher.js';
import type { LogUploads } from './uploads.js';
import type { GatewayStatus, StatusProviders } from './model.js';

export interface StatusParts {
  version: string;
  startedAt: number;
  connectors: readonly OcppConnector[];
  ports: readonly number[];
  outbox: WriteHealthOutbox;
  thingsboard: ThingsBoardClient;
  publisher: OutboxPublisher;
  providers: StatusProviders;
  rpcUnrouted: number;
  uploads?: LogUploads | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function statusOf(p: StatusParts): GatewayStatus {
  const now = Date.now();
  const { latency } = p.publisher.stats;
  const link = p.thingsboard.link;
  // Above the last bucket the bound is +Inf, which JSON cannot carry: left out, like "no data".
  const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : undefined);
  const p50 = finite(latency.quantile(0.5));
  const p95 = finite(latency.quantile(0.95));
  const sessionLimits = p.providers.sessionLimits?.();
  return {
    version: p.version,
    startedAt: iso(p.startedAt),
    uptimeSeconds: Math.round((now - p.startedAt) / 1000),
    connectors: p.connectors.map((c, i) => ({
      name: c.name,
      port: p.ports[i] ?? 0,
      connections: c.connectionCount,
      connectionsByVersion: c.connectionsByVersion(),
      handshakes: { ...c.serverCounters },
      protocol: { ...c.protocolCounters },
      mapping: { ...c.uplinkCounters },
      frames: c.traffic.totals(),
      rpc: { ...c.rpcCounters },
      csms: c.csmsCounters,
      security: { admissionsPending: c.pendingAdmissions, ...c.securityCounters },
    })),
    outbox: {
      size: p.outbox.size(),
      oldestAgeSeconds: Math.round(p.outbox.oldestAgeSeconds(now) * 10) / 10,
      ...p.outbox.counters,
    },
    thingsboard: {
      connected: p.thingsboard.connected,
      endpoint: p.thingsboard.endpoint,
      since: iso(link.since),
      ...(link.lastFailure
        ? { lastFailure: { reason: link.lastFailure.reason, at: iso(link.lastFailure.at) } }
        : {}),
      counters: { ...p.thingsboard.counters },
      publish: {
        ...(p.publisher.stats.lastAckAt > 0 ? { lastAckAt: iso(p.publisher.stats.lastAckAt) } : {}),
        retried: p.publisher.stats.retried,
        latency: {
          count: latency.count,
          sumSeconds: latency.sum,
          ...(p50 === undefined ? {} : { p50 }),
          ...(p95 === undefined ? {} : { p95 }),
        },
      },
      ...(sessionLimits === undefined ? {} : { sessionLimits }),
      rateLimitWaits: p.providers.rateLimitWaits?.() ?? {},
    },
    rpcUnrouted: p.rpcUnrouted,
    ...(p.uploads ? { uploads: { ...p.uploads.counters, validUrls: p.uploads.validUrls } } : {}),
  };
}

/** The stats log line: every counter, without what only a page needs (endpoints, dates). */
export function compactStats(s: GatewayStatus): Record<string, unknown> {
  return {
    uptimeSeconds: s.uptimeSeconds,
    connectors: s.connectors,
    outbox: s.outbox,
    thingsboard: {
      connected: s.thingsboard.connected,
      counters: s.thingsboard.counters,
      publish: { retried: s.thingsboard.publish.retried, acknowledged: s.thingsboard.publish.latency.count },
    },
    rpcUnrouted: s.rpcUnrouted,
    ...(s.uploads ? { uploads: s.uploads } : {}),
  };
}
