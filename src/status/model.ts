/**
 * The status model: what the status page, the JSON API, /metrics and the stats log line all
 * read. `Gateway.status()` builds it from the stages' own counters (one source, many readers).
 *
 * Parts that later work fills in have their slot here already: `StatusProviders` are optional
 * functions the composition root sets (ThingsBoard session limits and rate-limit waits; open
 * transactions with energy so far); until then the fields are empty.
 */
import type { ChargePointDetail, ChargePointView, RpcCounters, TransactionView } from '../connector/views.js';
import type { CallErrorCount, MessageCount } from '../ocpp/traffic.js';
import type { LatencyHistogram } from '../thingsboard/latency.js';

export type { ChargePointDetail, ChargePointView, TransactionView };

export interface ConnectorStatusSummary {
  name: string;
  port: number;
  connections: number;
  connectionsByVersion: Record<string, number>;
  /** Handshakes accepted and refused, by reason. */
  handshakes: Record<string, number>;
  protocol: Record<string, number>;
  mapping: Record<string, number>;
  frames: { in: number; out: number };
  rpc: RpcCounters;
  /**
   * The Central System's decisions per feature (authorization, registration, sessions,
   * dataTransfer) and features that failed per stage (`failures`).
   */
  csms: Record<string, Record<string, number>>;
  /**
   * The security lifecycle: admissions by credential and those waiting now, password changes,
   * security events, certificate signing, server certificate renewals (see security/counters.ts).
   */
  security: Record<string, number>;
  /** Error lines this connector logged since start (statistics `connectorsErrors`). */
  logErrors?: number;
}

export interface ThingsBoardStatus {
  connected: boolean;
  endpoint: string;
  /** Since when connected, or since when not (ISO 8601). */
  since: string;
  lastFailure?: { reason: string; at: string };
  counters: Record<string, number>;
  publish: {
    lastAckAt?: string;
    /** Publishes not acknowledged (link lost) and sent again. */
    retried: number;
    latency: { count: number; sumSeconds: number; p50?: number; p95?: number };
  };
  /** ThingsBoard's session limits in force (filled in once they are requested from ThingsBoard). */
  sessionLimits?: Record<string, unknown>;
  /** Time spent waiting on rate limits, seconds, by limit; empty until pacing exists. */
  rateLimitWaits: Record<string, number>;
  /** Waits for rate-limit tokens and publishes paced (gateway-device/status.ts). */
  rateLimiting?: { waits: number; waitedMs: number; paced: number };
  /** What ThingsBoard acknowledged, by kind (statistics `serviceStats`). */
  delivered?: {
    recordsRead: number;
    telemetryDatapoints: number;
    attributeDatapoints: number;
    droppedOversize: number;
  };
  /** The gateway device's own channel: requests, RPCs to it, shared attribute updates, echoes. */
  device?: Record<string, number>;
}

export interface GatewayStatus {
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  connectors: ConnectorStatusSummary[];
  outbox: Record<string, number> & { size: number; oldestAgeSeconds: number };
  thingsboard: ThingsBoardStatus;
  /** RPCs for a device no connector has a live charge point for. */
  rpcUnrouted: number;
  /** Log uploads by outcome, bytes stored, URLs handed out and valid now (statusServer.uploads). */
  uploads?: Record<string, number>;
  /** Remote log lines sent to ThingsBoard and dropped (RemoteLoggingLevel). */
  remoteLogs?: { sent: number; dropped: number };
}

/** Detailed traffic counts for /metrics (not in the stats log line: one entry per action). */
export interface TrafficDetail {
  connector: string;
  messages: MessageCount[];
  callErrors: CallErrorCount[];
}

export interface Readiness {
  ready: boolean;
  checks: {
    listening: boolean;
    storageWritable: boolean;
    /** Reported, never a reason for "not ready": data is kept while the broker is away. */
    thingsboardConnected: boolean;
    stopping: boolean;
  };
  storageError?: string;
}

/** Slots other parts of the gateway fill in; each returns nothing today. */
export interface StatusProviders {
  /** ThingsBoard session limits in force (`getSessionLimits` answer, after the 80 % margin). */
  sessionLimits?: () => Record<string, unknown> | undefined;
  /** Seconds spent waiting on each rate limit since start. */
  rateLimitWaits?: () => Record<string, number>;
  /** Open transactions of a charge point (energy so far, masked idToken). */
  transactionsOf?: (connector: string, chargePointId: string) => TransactionView[];
}

/** What the status server reads and may ask; the Gateway implements it. */
export interface StatusSource {
  status(): GatewayStatus;
  traffic(): TrafficDetail[];
  chargePoints(): ChargePointView[];
  chargePoint(id: string): ChargePointDetail | undefined;
  /** Logs a charge point's frames at info for `minutes` (0 stops); returns until when. */
  trace(id: string, minutes: number): Date | undefined;
  readiness(): Readiness;
  /** Publish → PUBACK latency buckets (for /metrics). */
  publishLatency(): LatencyHistogram;
}
