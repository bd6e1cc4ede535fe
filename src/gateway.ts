/**
 * The composition root: builds every stage from the configuration, wires them, starts them in
 * flow order and stops them in reverse (charge points first, then the outbox drains to
 * ThingsBoard within the grace period, then storage closes).
 */
import type { GatewayConfig, OcppConnectorConfig } from './config/types.js';
import { OcppConnector } from './connector/connector.js';
import { LogSummary } from './log-summary.js';
import { DeviceRenames } from './connector/renames.js';
import type { LogTap } from './gateway-device/log-tap.js';
import type { RemoteLogsCounters } from './gateway-device/remote-logs.js';
import { GatewayDeviceServices } from './gateway-device/services.js';
import type { Logger } from './log.js';
import { ValidatorSet } from './ocpp/validator.js';
import { createStorage, type Storage } from './outbox/index.js';
import { ThingsBoardClient } from './thingsboard/client.js';
import type { DeviceChannelCounters } from './thingsboard/device-channel.js';
import { TOPIC } from './thingsboard/pack.js';
import {
  REGULAR_MESSAGE,
  SessionPacer,
  type LimitsInForce,
  type PacerCounters,
} from './thingsboard/pacer.js';
import { PayloadTooLargeError } from './thingsboard/paced-queue.js';
import { OutboxPublisher, type PublisherCounters } from './thingsboard/publisher.js';
import { rpcReplyPayload, type RpcId } from './thingsboard/rpc-id.js';
import { SessionLimitsNegotiator } from './thingsboard/session-limits.js';

/** How often the counters of every stage are logged (and once more at stop). */
const STATS_INTERVAL_MS = 60_000;

export interface GatewayStatus {
  connectors: {
    name: string;
    port: number;
    connections: number;
    /** Live charge points per negotiated OCPP version. */
    byVersion: Record<string, number>;
    handshakes: Record<string, number>;
    protocol: Record<string, number>;
    mapping: Record<string, number>;
    /** Error lines this connector logged since start (statistics connectorsErrors). */
    logErrors: number;
  }[];
  /** size, the outbox counters, and oldestRecordAgeMs (0 when empty). */
  outbox: Record<string, number>;
  thingsboard: {
    connected: boolean;
    counters: Record<string, number>;
    /** The gateway device's own channel (requests, RPCs to it, echoes). */
    device: DeviceChannelCounters;
    publisher: PublisherCounters;
    /** Session limits in force (ThingsBoard's and tb_gateway.json's, at the safety share). */
    limits: LimitsInForce;
    /** Waits for rate-limit tokens. */
    rateLimiting: PacerCounters;
  };
  /** RPCs from ThingsBoard to devices behind the gateway, by outcome. */
  rpc: { received: number; succeeded: number; failed: number };
  remoteLogs?: RemoteLogsCounters;
}

export interface GatewayOptions {
  /** This gateway's version (statistics, gateway_version). */
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
  private readonly validators = new ValidatorSet();
  readonly thingsboard: ThingsBoardClient;
  private readonly publisher: OutboxPublisher;
  /** The OCPP connectors running (remote configuration adds and removes some). */
  readonly connectors: OcppConnector[];
  private readonly ports: number[] = [];
  private stopping: Promise<boolean> | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  /** Per-message warnings of every stage, at most one line per kind a minute. */
  private readonly warnings: LogSummary;
  private readonly pacer: SessionPacer;
  private readonly renames: DeviceRenames;
  private readonly services: GatewayDeviceServices;
  private readonly options: GatewayOptions;
  private readonly rpcCounters = { received: 0, succeeded: 0, failed: 0 };

  constructor(config: GatewayConfig, logger: Logger, options: GatewayOptions = {}) {
    this.config = config;
    this.logger = logger;
    this.options = options;
    this.warnings = new LogSummary({ logger });
    this.storage = createStorage(config.storage, logger.child({ component: 'outbox' }));
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
      outbox: this.storage.outbox,
      client: this.thingsboard,
      logger: logger.child({ component: 'publisher' }),
      maxPayloadBytes: config.thingsboard.maxPayloadSizeBytes,
      maxReadRecords: config.storage.maxReadRecordsCount,
      pacer: this.pacer,
      rename: (device) => (this.renames.size > 0 ? this.renames.resolve(device) : device),
      warnings: this.warnings,
    });
    this.connectors = config.connectors.map((c) => this.newConnector(c));
    this.services = new GatewayDeviceServices({
      config,
      client: this.thingsboard,
      host: {
        running: () => this.connectors.map((c) => c.configuration),
        connectors: () => this.connectors,
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
      version: options.version ?? '0.0.0',
      logger,
    });
  }

  private newConnector(config: OcppConnectorConfig): OcppConnector {
    return new OcppConnector({
      config,
      outbox: this.storage.outbox,
      state: this.storage.state,
      validators: this.validators,
      logger: this.logger,
      warnings: this.warnings,
      renames: this.renames,
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
      for (const c of this.connectors) this.ports.push(await c.start());
    } catch (err) {
      await Promise.all(this.connectors.map((c) => c.stop().catch(() => undefined)));
      await this.closeStorage();
      throw err;
    }
    this.thingsboard.setHandlers({
      onAttributeUpdate: (device, data) => this.onAttributeUpdate(device, data),
      onRpc: (device, id, method, params) => void this.onRpc(device, id, method, params),
    });
    this.thingsboard.onConnect(() => this.onThingsBoardConnected());
    new SessionLimitsNegotiator({
      client: this.thingsboard,
      pacer: this.pacer,
      logger: this.logger.child({ component: 'thingsboard' }),
    }).start();
    this.services.start();
    this.thingsboard.start();
    this.statsTimer = setInterval(
      () => this.logger.info({ stats: this.status() }, 'gateway stats'),
      STATS_INTERVAL_MS,
    );
    this.statsTimer.unref();
    this.logger.info(
      {
        thingsboard: this.thingsboard.endpoint,
        storage: this.config.storage.type,
        backlog: this.storage.outbox.size(),
      },
      'gateway started',
    );
  }

  /** The counters of every stage: received, mapped, skipped, stored, published, dropped. */
  status(): GatewayStatus {
    const oldest = this.storage.outbox.readBatch(0, 1)[0];
    const errors = this.options.logTap?.errors;
    const status: GatewayStatus = {
      connectors: this.connectors.map((c, i) => ({
        name: c.name,
        port: this.ports[i] ?? 0,
        connections: c.connectionCount,
        byVersion: c.connectionsByVersion(),
        handshakes: { ...c.serverCounters },
        protocol: { ...c.protocolCounters },
        mapping: { ...c.uplinkCounters },
        logErrors: errors?.get(c.name) ?? 0,
      })),
      outbox: {
        size: this.storage.outbox.size(),
        ...this.storage.outbox.counters,
        oldestRecordAgeMs: oldest ? Math.max(0, Date.now() - oldest.createdAt) : 0,
      },
      thingsboard: {
        connected: this.thingsboard.connected,
        counters: { ...this.thingsboard.counters },
        device: { ...this.thingsboard.device.counters },
        publisher: { ...this.publisher.counters },
        limits: this.pacer.describe(),
        rateLimiting: { ...this.pacer.counters },
      },
      rpc: { ...this.rpcCounters },
    };
    if (this.services.remoteLogs) status.remoteLogs = { ...this.services.remoteLogs.counters };
    return status;
  }

  // ---- connectors changed through remote configuration ----

  private async addConnector(config: OcppConnectorConfig): Promise<void> {
    for (const v of config.centralSystem.ocppVersions) this.validators.get(v);
    const connector = this.newConnector(config);
    const port = await connector.start();
    this.connectors.push(connector);
    this.ports.push(port);
  }

  private async removeConnector(name: string): Promise<void> {
    const i = this.connectors.findIndex((c) => c.name === name);
    const connector = this.connectors[i];
    if (!connector) return;
    this.connectors.splice(i, 1);
    this.ports.splice(i, 1);
    await connector.stop();
  }

  private async reconfigureConnector(
    name: string,
    config: OcppConnectorConfig,
    restart: boolean,
  ): Promise<void> {
    const i = this.connectors.findIndex((c) => c.name === name);
    const connector = this.connectors[i];
    if (!connector) return;
    for (const v of config.centralSystem.ocppVersions) this.validators.get(v);
    const port = await connector.applyConfig(config, { restartListener: restart });
    if (port !== undefined) this.ports[i] = port;
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
    await Promise.all(this.connectors.map((c) => c.stop()));
    const grace = this.config.thingsboard.shutdownGracePeriodMs;
    const drained = await this.publisher.drain(grace);
    this.publisher.stop();
    const left = this.storage.outbox.size();
    if (drained) this.logger.info('outbox drained to ThingsBoard');
    else
      this.logger.warn({ records: left }, 'grace period over: records stay in the outbox for the next start');
    await this.thingsboard.stop();
    this.logger.info({ stats: this.status() }, 'gateway stats');
    this.warnings.close();
    await this.closeStorage();
    return drained;
  }

  private async closeStorage(): Promise<void> {
    await this.storage.outbox.close();
    await this.storage.state.close();
  }

  private onThingsBoardConnected(): void {
    // Re-announce every device with a live charge point: ThingsBoard may have marked them inactive.
    for (const c of this.connectors) {
      for (const d of c.announcedDevices()) {
        this.thingsboard
          .publishPaced(
            TOPIC.connect,
            JSON.stringify({ device: d.name, type: d.type }),
            'devices',
            REGULAR_MESSAGE,
          )
          .catch((err: unknown) =>
            this.logger.debug({ device: d.name, err: String(err) }, 're-announce not acknowledged'),
          );
      }
    }
    this.publisher.pump();
  }

  private connectorOf(device: string): OcppConnector | undefined {
    return this.connectors.find((c) => c.ownsDevice(device));
  }

  private onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    const connector = this.connectorOf(device);
    if (!connector) {
      this.warnings.warn(
        'attribute-update-unknown-device',
        { device },
        'attribute update for a device with no live charge point: not delivered',
      );
      return;
    }
    connector.onAttributeUpdate(device, data);
  }

  /** Every RPC gets exactly one reply (unless its entry says withResponse: false), whatever fails. */
  private async onRpc(device: string, id: RpcId, method: string, params: unknown): Promise<void> {
    this.rpcCounters.received++;
    let data: Awaited<ReturnType<OcppConnector['onRpc']>>;
    try {
      const connector = this.connectorOf(device);
      data = connector
        ? await connector.onRpc(device, method, params)
        : { error: `device "${device}" has no live charge point on this gateway` };
    } catch (err) {
      this.logger.error({ device, method, err }, 'handling an RPC failed');
      data = { error: 'the gateway could not process the request' };
    }
    if (data === undefined) return;
    if ('error' in data) {
      this.rpcCounters.failed++;
      this.warnings.warn('rpc-failed', { device, method, error: data.error }, 'RPC failed');
    } else this.rpcCounters.succeeded++;
    // A reply is a message of the devices behind the gateway: it waits for its token.
    const reply = (body: unknown): Promise<void> =>
      this.thingsboard.publishPaced(TOPIC.rpc, rpcReplyPayload(device, id, body), 'devices', REGULAR_MESSAGE);
    try {
      await reply(data);
    } catch (err) {
      if (err instanceof PayloadTooLargeError) {
        // ThingsBoard would close the connection for it: the caller learns why instead.
        await reply({ error: err.message }).catch(() => undefined);
      }
      this.warnings.warn(
        'rpc-reply-not-delivered',
        { device, method, err: String(err) },
        'RPC reply not delivered to ThingsBoard',
      );
    }
  }
}
