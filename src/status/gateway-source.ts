/**
 * The gateway as the status server, /metrics, the stats log line and ThingsBoard statistics read
 * it (StatusSource): the status model built from every stage's own counters, the live charge
 * points with their open transactions (`statusProviders.transactionsOf`), readiness.
 */
import type { ConnectorSet } from '../connector/connector-set.js';
import type { LogTap } from '../gateway-device/log-tap.js';
import type { RemoteLogs } from '../gateway-device/remote-logs.js';
import { withGatewayDevice } from '../gateway-device/status.js';
import type { WriteHealthOutbox } from '../outbox/write-health.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import type { LatencyHistogram } from '../thingsboard/latency.js';
import type { SessionPacer } from '../thingsboard/pacer.js';
import type { OutboxPublisher } from '../thingsboard/publisher.js';
import type { LogUploads } from './uploads.js';
import { statusOf } from './aggregate.js';
import type {
  ChargePointDetail,
  ChargePointView,
  GatewayStatus,
  Readiness,
  StatusProviders,
  StatusSource,
  TrafficDetail,
} from './model.js';

export interface GatewayStatusParts {
  version: string;
  startedAt: number;
  connectors: ConnectorSet;
  /** Port per connector, in the connectors' order. */
  ports: readonly number[];
  outbox: WriteHealthOutbox;
  thingsboard: ThingsBoardClient;
  publisher: OutboxPublisher;
  pacer: SessionPacer;
  providers: StatusProviders;
  logTap?: LogTap | undefined;
  remoteLogs(): RemoteLogs | undefined;
  uploads?: LogUploads | undefined;
  stopping(): boolean;
}

export class GatewayStatusSource implements StatusSource {
  private readonly p: GatewayStatusParts;

  constructor(parts: GatewayStatusParts) {
    this.p = parts;
  }

  /** The counters of every stage: received, mapped, skipped, stored, published, dropped. */
  status(): GatewayStatus {
    const { p } = this;
    const status = statusOf({
      version: p.version,
      startedAt: p.startedAt,
      connectors: p.connectors.list,
      ports: p.ports,
      outbox: p.outbox,
      thingsboard: p.thingsboard,
      publisher: p.publisher,
      providers: p.providers,
      rpcUnrouted: p.connectors.rpcUnrouted,
      uploads: p.uploads,
    });
    const remoteLogs = p.remoteLogs();
    return withGatewayDevice(status, {
      publisher: p.publisher,
      thingsboard: p.thingsboard,
      pacer: p.pacer,
      ...(p.logTap ? { logTap: p.logTap } : {}),
      ...(remoteLogs ? { remoteLogs } : {}),
    });
  }

  traffic(): TrafficDetail[] {
    return this.p.connectors.list.map((c) => ({
      connector: c.name,
      messages: c.traffic.messageCounts(),
      callErrors: c.traffic.callErrorCounts(),
    }));
  }

  chargePoints(): ChargePointView[] {
    return this.p.connectors.list.flatMap((c) => c.chargePoints().map((v) => this.withTransactions(v)));
  }

  chargePoint(id: string): ChargePointDetail | undefined {
    for (const c of this.p.connectors.list) {
      const detail = c.chargePoint(id);
      if (detail) return this.withTransactions(detail);
    }
    return undefined;
  }

  trace(id: string, minutes: number): Date | undefined {
    let until: Date | undefined;
    for (const c of this.p.connectors.list) until = c.trace(id, minutes);
    return until;
  }

  publishLatency(): LatencyHistogram {
    return this.p.publisher.stats.latency;
  }

  readiness(): Readiness {
    const { p } = this;
    const stopping = p.stopping();
    const listening = p.ports.length === p.connectors.list.length && !stopping;
    const storageError = p.outbox.writeError;
    const checks = {
      listening,
      storageWritable: storageError === undefined,
      thingsboardConnected: p.thingsboard.connected,
      stopping,
    };
    return {
      ready: checks.listening && checks.storageWritable,
      checks,
      ...(storageError === undefined ? {} : { storageError }),
    };
  }

  private withTransactions<T extends ChargePointView>(view: T): T {
    const transactions = this.p.providers.transactionsOf?.(view.connector, view.id);
    return transactions && transactions.length > 0 ? { ...view, transactions } : view;
  }
}
