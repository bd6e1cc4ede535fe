/**
 * What the gateway device does in ThingsBoard beside carrying the charge points' data, wired in
 * one place: service RPCs (service-rpc.ts), statistics (statistics.ts), remote logs
 * (remote-logs.ts) and remote configuration (remote-config.ts). The composition root builds it
 * with a host — the gateway — that owns the connectors and the counters.
 */
import { readFileSync } from 'node:fs';
import type { GatewayConfig, GatewayDeviceConfig, OcppConnectorConfig } from '../config/types.js';
import { isRecord } from '../config/keys.js';
import type { OcppConnector } from '../connector/connector.js';
import type { DeviceRenames } from '../connector/renames.js';
import type { GatewayStatus } from '../status/model.js';
import type { Logger } from '../log.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import { LiteralSecrets } from './log-format.js';
import type { LogTap } from './log-tap.js';
import { RemoteConfigurator, type ConnectorHost } from './remote-config.js';
import { RemoteLogs } from './remote-logs.js';
import { registerServiceRpcs } from './service-rpc.js';
import { GatewayStatistics } from './statistics.js';

export interface ServicesHost extends ConnectorHost {
  connectors(): readonly OcppConnector[];
  status(): GatewayStatus;
  /** Stops gracefully; the process exits with EXIT_RESTART. */
  restart(): void;
}

export interface GatewayDeviceServicesOptions {
  config: GatewayConfig;
  client: ThingsBoardClient;
  host: ServicesHost;
  renames: DeviceRenames;
  /** Where remote logs and error counts come from; without it there are neither. */
  logTap?: LogTap;
  version: string;
  logger: Logger;
}

const REQUEST_TIMEOUT_MS = 10_000;

export class GatewayDeviceServices {
  readonly remoteLogs: RemoteLogs | undefined;
  private readonly opts: GatewayDeviceServicesOptions;
  private readonly logger: Logger;
  private readonly statistics: GatewayStatistics;
  private readonly configurator: RemoteConfigurator | undefined;
  private settings: GatewayDeviceConfig;

  constructor(opts: GatewayDeviceServicesOptions) {
    this.opts = opts;
    this.logger = opts.logger.child({ component: 'gateway-device' });
    this.settings = opts.config.gatewayDevice;
    const { client, config } = opts;
    if (opts.logTap) {
      const { thingsboard } = config;
      this.remoteLogs = new RemoteLogs({
        tap: opts.logTap,
        device: client.device,
        connected: () => client.connected,
        maxDatapoints: () => client.caps('device').maxDatapoints,
        maxBytes: () => client.maxPayloadBytes,
        logger: opts.logger.child({ component: 'remote-logs' }),
        secrets: () =>
          this.cachedSecrets(thingsboard.username, thingsboard.password, config.statusServer.auth?.password),
      });
    }
    this.statistics = new GatewayStatistics({
      client,
      status: () => opts.host.status(),
      logger: this.logger,
      version: opts.version,
      config: this.settings.statistics,
      errorCounts: this.settings.remoteConfiguration,
    });
    if (this.settings.remoteConfiguration) {
      this.configurator = new RemoteConfigurator({
        client,
        host: opts.host,
        ...(this.remoteLogs ? { remoteLogs: this.remoteLogs } : {}),
        config,
        version: opts.version,
        logger: opts.logger,
      });
    }
  }

  start(): void {
    const { client, host } = this.opts;
    registerServiceRpcs({
      device: client.device,
      connectors: () => host.connectors(),
      renames: this.opts.renames,
      handleDeviceRenaming: () => this.settings.handleDeviceRenaming,
      version: this.opts.version,
      logger: this.logger,
      restart: () => host.restart(),
      forgetSessionDevice: (device) => client.forgetSessionDevice(device),
    });
    this.statistics.start();
    if (this.remoteLogs) {
      this.remoteLogs.start();
      for (const c of host.running()) this.connectorRemoteLogging(c.name, c.file);
      // RemoteLoggingLevel works with or without remote configuration, as in the Python gateway.
      client.device.onSharedAttributes((update) => {
        if (update.values.has('RemoteLoggingLevel'))
          this.setRemoteLoggingLevel(update.values.get('RemoteLoggingLevel'));
      });
      client.onConnect(() => void this.requestRemoteLoggingLevel());
    }
    this.configurator?.start();
  }

  stop(): void {
    this.statistics.stop();
    this.remoteLogs?.stop();
    this.configurator?.stop();
  }

  /** Settings of tb_gateway.json changed through remote configuration: what applies live. */
  applyLive(settings: GatewayDeviceConfig): void {
    this.settings = { ...settings, remoteConfiguration: this.settings.remoteConfiguration };
    this.statistics.reconfigure(settings.statistics, this.settings.remoteConfiguration);
  }

  /** Resolves once remote configuration handled every change received so far. */
  idle(): Promise<void> {
    return this.configurator?.idle() ?? Promise.resolve();
  }

  private setRemoteLoggingLevel(value: unknown): void {
    this.remoteLogs?.setLevel(value);
    this.logger.info({ level: value }, 'remote logging level set by ThingsBoard');
    this.opts.client.device.publishAttributes({ RemoteLoggingLevel: value }).catch(() => undefined);
  }

  private async requestRemoteLoggingLevel(): Promise<void> {
    try {
      const { shared } = await this.opts.client.device.requestAttributes(
        { shared: ['RemoteLoggingLevel'] },
        REQUEST_TIMEOUT_MS,
      );
      if (shared.has('RemoteLoggingLevel')) this.setRemoteLoggingLevel(shared.get('RemoteLoggingLevel'));
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'RemoteLoggingLevel not received');
    }
  }

  /** A connector's `enableRemoteLogging` / `logLevel`, keys the Python gateway writes into ocpp.json. */
  private connectorRemoteLogging(name: string, file: string): void {
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (isRecord(doc)) this.remoteLogs?.setConnector(name, doc.enableRemoteLogging === true, doc.logLevel);
    } catch {
      // the file was read at start-up; a problem now is not this feature's to report
    }
  }

  private secretCache: { at: number; values: LiteralSecrets } | undefined;

  /** Looked up for every remote log line: computed at most once a few seconds. */
  private cachedSecrets(...credentials: (string | undefined)[]): LiteralSecrets {
    const now = Date.now();
    if (!this.secretCache || now - this.secretCache.at > 5000) {
      this.secretCache = { at: now, values: new LiteralSecrets(this.secrets(...credentials)) };
    }
    return this.secretCache.values;
  }

  /** Literal secrets remote logs must never carry: the gateway's credentials and the connectors'. */
  private secrets(...credentials: (string | undefined)[]): string[] {
    const out = credentials.filter((s): s is string => s !== undefined && s !== '');
    for (const c of this.opts.host.running()) out.push(...connectorSecrets(c));
    return out;
  }
}

/**
 * The literal secrets of a connector's configuration: tokens, Basic passwords (per charge point
 * too: a Map) and the password hashes of a passwords file, the TLS key's passphrase and the
 * signing CA's, the HMAC key of hashed idTokens.
 */
export function connectorSecrets(c: OcppConnectorConfig): string[] {
  const out: string[] = [];
  for (const rule of c.centralSystem.security) {
    if (rule.type === 'token') out.push(...rule.tokens);
    else {
      for (const cred of rule.credentials) out.push(cred.password);
      out.push(...rule.passwords.values(), ...rule.passwordHashes.values());
    }
  }
  const { connection } = c.centralSystem;
  if (connection.type === 'tls' && connection.password) out.push(connection.password);
  if (connection.signingCa?.password) out.push(connection.signingCa.password);
  if (c.authorization.idTokenHashKey) out.push(c.authorization.idTokenHashKey);
  return out.filter((s) => s !== '');
}
