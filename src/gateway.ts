/**
 * The composition root: builds every stage from the configuration, wires them, starts them in
 * flow order and stops them in reverse (charge points first, then the outbox drains to
 * ThingsBoard within the grace period, then storage closes).
 */
import type { GatewayConfig, OcppConnectorConfig } from './config/types.js';
import { ConnectorSet } from './connector/connector-set.js';
import { OcppConnector } from './connector/connector.js';
import { DeviceRenames } from './connector/renames.js';
import { thingsBoardLink } from './connector/thingsboard-link.js';
import type { LogTap } from './gateway-device/log-tap.js';
import { GatewayDeviceServices } from './gateway-device/services.js';
import { LogSummary } from './log-summary.js';
import type { Logger } from './log.js';
import { ValidatorSet } from './ocpp/validator.js';
import { createStorage, type Storage } from './outbox/index.js';
import { WriteHealthOutbox } from './outbox/write-health.js';
import { compactStats } from './status/aggregate.js';
import { GatewayStatusSource } from './status/gateway-source.js';
import type { GatewayStatus, StatusProviders } from './status/model.js';
import { StatusServer } from './status/server.js';
import { LogUploads, UPLOAD_TELEMETRY, type UploadArrival } from './status/uploads.js';
import { ThingsBoardClient } from './thingsboard/client.js';
import { SessionPacer } from './thingsboard/pacer.js';
import { OutboxPublisher } from './thingsboard/publisher.js';
import { SessionLimitsNegotiator } from './thingsboard/session-limits.js';

export type { GatewayStatus };

/** How often the counters of every stage are logged (and once more at stop). */
const STATS_INTERVAL_MS = 60_000;

export interface GatewayOptions {
  /** The package version, shown on the status page and in /metrics (statistics, gateway_version). */
  version?: string;
  /** The process' log lines: remote logs and error counts in ThingsBoard. */
  logTap?: LogTap;
  /** gateway_restart from ThingsBoard: stop gracefully and exit for a supervisor to restart. */
  onRestartRequested?: () => void;
}

export class Gateway {
  readonly config: GatewayConfig;
  private readonly logger: Logger;
  private readonly storage: Storage;
  /** The outbox as every stage uses it, remembering whether writes succeed (for /readyz). */
  private readonly outbox: WriteHealthOutbox;
  private readonly validators = new ValidatorSet();
  readonly thingsboard: ThingsBoardClient;
  private readonly publisher: OutboxPublisher;
  /** The OCPP connectors running (remote configuration adds and removes some). */
  private readonly connectors: ConnectorSet;
  /** Slots for what later parts report to the status page and /metrics (see status/model.ts). */
  readonly statusProviders: StatusProviders = {};
  readonly statusSource: GatewayStatusSource;
  private readonly statusServer: StatusServer | undefined;
  /** Logs stations upload (statusServer.uploads), received on the status server. */
  private readonly uploads: LogUploads | undefined;
  private readonly version: string;
  private readonly ports: number[] = [];
  private stopping: Promise<boolean> | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  /** Per-message warnings of every stage, at most one line per kind a minute. */
  private readonly warnings: LogSummary;
  private readonly pacer: SessionPacer;
  private readonly renames: DeviceRenames;
  private readonly services: GatewayDeviceServices;
  private readonly options: GatewayOptions;

  constructor(config: GatewayConfig, logger: Logger, options: GatewayOptions = {}) {
    this.config = config;
    this.logger = logger;
    this.options = options;
    this.version = options.version ?? '0.0.0';
    this.warnings = new LogSummary({ logger });
    this.storage = createStorage(config.storage, logger.child({ component: 'outbox' }));
    this.outbox = new WriteHealthOutbox(this.storage.outbox);
    this.thingsboard = new ThingsBoardClient(config.thingsboard, logger, this.warnings);
    this.renames = new DeviceRenames(this.storage.state, logger.child({ component: 'renames' }));
    this.pacer = new SessionPacer({
      logger: logger.child({ component: 'thingsboard' }),
      configuredMaxPayloadBytes: config.thingsboard.maxPayloadSizeBytes,
      defaultMaxInflight: 32,
      local: config.gatewayDevice.rateLimits,
    });
    this.thingsboard.setPacer(this.pacer);
    this.publisher = new OutboxPublisher({
      outbox: this.outbox,
      client: this.thingsboard,
      logger: logger.child({ component: 'publisher' }),
      maxPayloadBytes: config.thingsboard.maxPayloadSizeBytes,
      maxReadRecords: config.storage.maxReadRecordsCount,
      pacer: this.pacer,
      rename: (device) => (this.renames.size > 0 ? this.renames.resolve(device) : device),
      warnings: this.warnings,
    });
    const uploads = config.statusServer.enabled ? config.statusServer.uploads : undefined;
    this.uploads = uploads
      ? new LogUploads({
          config: uploads,
          logger: logger.child({ component: 'uploads' }),
          onArrival: (a) => this.onUploadArrived(a),
        })
      : undefined;
    this.connectors = new ConnectorSet({
      thingsboard: this.thingsboard,
      publisher: this.publisher,
      logger,
      warnings: this.warnings,
    });
    for (const c of config.connectors) this.connectors.list.push(this.newConnector(c));
    this.thingsboard.device.onSharedAttributes((update) => this.connectors.onGatewayAttributes(update));
    this.services = new GatewayDeviceServices({
      config,
      client: this.thingsboard,
      host: {
        running: () => this.connectors.list.map((c) => c.configuration),
        connectors: () => this.connectors.list,
        status: () => this.status(),
        restart: () => this.options.onRestartRequested?.(),
        add: (c) => this.addConnector(c),
        remove: (name) => this.removeConnector(name),
        reconfigure: (name, c, restart) => this.reconfigureConnector(name, c, restart),
        applyLive: (next) => {
          this.pacer.setLocal(next.gatewayDevice.rateLimits, next.thingsboard.maxPayloadSizeBytes);
          this.services.applyLive(next.gatewayDevice);
        },
      },
      renames: this.renames,
      ...(options.logTap ? { logTap: options.logTap } : {}),
      version: this.version,
      logger,
    });
    this.statusProviders.sessionLimits = () => ({ ...this.pacer.describe() });
    this.statusProviders.rateLimitWaits = () => this.pacer.waitSeconds();
    this.statusProviders.transactionsOf = (connector, id) =>
      this.connectors.find(connector)?.liveTransactions(id) ?? [];
    this.statusSource = new GatewayStatusSource({
      version: this.version,
      startedAt: Date.now(),
      connectors: this.connectors,
      ports: this.ports,
      outbox: this.outbox,
      thingsboard: this.thingsboard,
      publisher: this.publisher,
      pacer: this.pacer,
      providers: this.statusProviders,
      logTap: options.logTap,
      remoteLogs: () => this.services.remoteLogs,
      uploads: this.uploads,
      stopping: () => this.stopping !== undefined,
    });
    this.statusServer = config.statusServer.enabled
      ? new StatusServer({
          config: config.statusServer,
          source: this.statusSource,
          logger: logger.child({ component: 'status' }),
          version: this.version,
          ...(this.uploads ? { uploads: this.uploads } : {}),
        })
      : undefined;
  }

  private newConnector(config: OcppConnectorConfig): OcppConnector {
    return new OcppConnector({
      config,
      outbox: this.outbox,
      state: this.storage.state,
      validators: this.validators,
      logger: this.logger,
      thingsboard: thingsBoardLink(this.thingsboard.device),
      warnings: this.warnings,
      renames: this.renames,
      ...(this.uploads ? { uploads: this.uploads } : {}),
    });
  }

  /** Opens storage (StorageError if it cannot), starts the charge point servers, then the MQTT link. */
  async start(): Promise<void> {
    for (const n of this.config.notices) this.logger[n.level](n.message);
    await this.storage.outbox.open();
    await this.storage.state.open();
    await this.renames.load();
    // Each allowed version's schema set is loaded before the first charge point can connect.
    for (const c of this.config.connectors)
      for (const v of c.centralSystem.ocppVersions) this.validators.get(v);
    try {
      for (const c of this.connectors.list) this.ports.push(await c.start());
    } catch (err) {
      await Promise.all(this.connectors.list.map((c) => c.stop().catch(() => undefined)));
      await this.closeStorage();
      throw err;
    }
    this.thingsboard.setHandlers({
      onAttributeUpdate: (device, data) => this.connectors.onAttributeUpdate(device, data),
      onRpc: (device, id, method, params) => void this.connectors.onRpc(device, id, method, params),
    });
    this.thingsboard.onConnect(() => this.connectors.onThingsBoardConnected());
    new SessionLimitsNegotiator({
      client: this.thingsboard,
      pacer: this.pacer,
      logger: this.logger.child({ component: 'thingsboard' }),
    }).start();
    this.services.start();
    this.thingsboard.start();
    this.statsTimer = setInterval(
      () => this.logger.info({ stats: compactStats(this.status()) }, 'gateway stats'),
      STATS_INTERVAL_MS,
    );
    this.statsTimer.unref();
    await this.startStatusServer();
    this.logger.info(
      {
        thingsboard: this.thingsboard.endpoint,
        storage: this.config.storage.type,
        backlog: this.storage.outbox.size(),
      },
      'gateway started',
    );
  }

  /**
   * The status server is an operator's window, not part of the data path: when its port is taken
   * the gateway still serves charge points, and says so.
   */
  private async startStatusServer(): Promise<void> {
    try {
      const url = await this.statusServer?.start();
      if (url !== undefined) this.uploads?.listening(url);
    } catch (err) {
      this.logger.error(
        {
          err: (err as Error).message,
          host: this.config.statusServer.host,
          port: this.config.statusServer.port,
        },
        'status server not started (status page, /metrics, /healthz unavailable); the gateway runs on without it',
      );
    }
  }

  /** The counters of every stage: received, mapped, skipped, stored, published, dropped. */
  status(): GatewayStatus {
    return this.statusSource.status();
  }

  /** A station's log arrived: telemetry of its device. */
  private onUploadArrived(a: UploadArrival): void {
    this.connectors.find(a.connector)?.reportTelemetry(a.chargePointId, {
      [UPLOAD_TELEMETRY.file]: a.file,
      [UPLOAD_TELEMETRY.bytes]: a.bytes,
      ...(a.requestId === undefined ? {} : { [UPLOAD_TELEMETRY.requestId]: a.requestId }),
    });
  }

  // ---- connectors changed through remote configuration ----

  private async addConnector(config: OcppConnectorConfig): Promise<void> {
    for (const v of config.centralSystem.ocppVersions) this.validators.get(v);
    const connector = this.newConnector(config);
    const port = await connector.start();
    this.connectors.list.push(connector);
    this.ports.push(port);
    if (this.thingsboard.connected) connector.onThingsBoardConnected();
  }

  private async removeConnector(name: string): Promise<void> {
    const i = this.connectors.list.findIndex((c) => c.name === name);
    const connector = this.connectors.list[i];
    if (!connector) return;
    this.connectors.list.splice(i, 1);
    this.ports.splice(i, 1);
    await connector.stop();
  }

  private async reconfigureConnector(
    name: string,
    config: OcppConnectorConfig,
    restart: boolean,
  ): Promise<void> {
    const i = this.connectors.list.findIndex((c) => c.name === name);
    const connector = this.connectors.list[i];
    if (!connector) return;
    for (const v of config.centralSystem.ocppVersions) this.validators.get(v);
    const port = await connector.applyConfig(config, { restartListener: restart });
    if (port !== undefined) this.ports[i] = port;
    // The new features read what they need from ThingsBoard now (e.g. ocppIdTokens), not at the next reconnect.
    if (this.thingsboard.connected) connector.onThingsBoardConnected();
  }

  /**
   * Graceful stop: close charge point connections (normal close), publish what can be published
   * within the grace period, close the link and the database. Resolves true if the outbox drained.
   */
  stop(): Promise<boolean> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<boolean> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.services.stop();
    await Promise.all(this.connectors.list.map((c) => c.stop()));
    const grace = this.config.thingsboard.shutdownGracePeriodMs;
    const drained = await this.publisher.drain(grace);
    this.publisher.stop();
    const left = this.outbox.size();
    if (drained) this.logger.info('outbox drained to ThingsBoard');
    else if (this.config.storage.type === 'memory') {
      this.logger.warn(
        { records: left },
        'grace period over: records not yet delivered to ThingsBoard are lost (memory storage keeps nothing across a restart; use "sqlite" storage to keep them)',
      );
    } else
      this.logger.warn({ records: left }, 'grace period over: records stay in the outbox for the next start');
    await this.thingsboard.stop();
    this.logger.info({ stats: compactStats(this.status()) }, 'gateway stats');
    this.warnings.close();
    await this.closeStorage();
    await this.statusServer?.stop();
    return drained;
  }

  private async closeStorage(): Promise<void> {
    await this.storage.outbox.close();
    await this.storage.state.close();
  }
}
