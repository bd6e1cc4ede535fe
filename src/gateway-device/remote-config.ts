/**
 * Remote configuration from ThingsBoard's gateway page (`thingsboard.remoteConfiguration: true`),
 * in the formats of the Python gateway (tb_utility/tb_gateway_remote_configurator.py, 3.8):
 *
 * - at every connect the current configuration is published as client attributes of the gateway
 *   device — `general_configuration` (tb_gateway.json's `thingsboard`), `storage_configuration`,
 *   `active_connectors`, `Version`, and one attribute per connector named after it with `name`,
 *   `type`, `configuration`, `configurationJson`, `logLevel`, `enableRemoteLogging`, `ts` — secrets
 *   replaced by placeholders (config/secrets.ts); then the gateway device's shared attributes are
 *   requested and handled like updates;
 * - a shared attribute named after an OCPP connector with a new `configurationJson` is checked as
 *   the file would be; a problem is reported (attribute `remoteConfigurationStatus`, and the log)
 *   and the running configuration stays; a valid one is written to the connector's file (backup
 *   kept) and applied at once: mappings with the next message, `centralSystem` by restarting only
 *   that connector's listener. A connector not running yet is created (its file, tb_gateway.json);
 * - `active_connectors` removes the OCPP connectors it no longer lists (only on an update pushed
 *   while running: a list read at start may be older than the local file) and asks for the
 *   attributes of those it adds;
 * - `general_configuration` / `storage_configuration`: checked, written to tb_gateway.json;
 *   statistics, rate limits, device renaming and the payload size apply at once, the rest
 *   (broker, credentials, QoS, storage, …) is reported as "applies at next start";
 * - `RemoteLoggingLevel`: remote logs (remote-logs.ts), echoed back like the Python gateway.
 *
 * A shared attribute older than the file it would replace (its `ts` against the file's modification
 * time) is stale and ignored, as in the Python gateway. Changes are handled one at a time.
 */
import { writeConfigFile } from '../config/config-writer.js';
import { isRecord } from '../config/keys.js';
import { keysRead } from '../config/gateway-file.js';
import { checkConfigDocument } from '../config/load.js';
import { jsonEqual, redactSecrets, restoreFailure, restoreSecrets } from '../config/secrets.js';
import type { GatewayConfig, OcppConnectorConfig } from '../config/types.js';
import { formatProblem } from '../errors.js';
import type { Logger } from '../log.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';
import { BeyondLimitsError, PayloadTooLargeError } from '../thingsboard/paced-queue.js';
import { connectorAttribute, isStale, readDoc, removeFromGatewayFile, tooBig } from './config-documents.js';
import { applyConnectorAttribute, type ConnectorChangeContext } from './remote-connector.js';
import type { RemoteLogs } from './remote-logs.js';

export const STATUS_ATTRIBUTE = 'remoteConfigurationStatus';
const MAX_STATUS_ENTRIES = 64;
const MAX_PENDING_CHANGES = 256;
const REQUEST_TIMEOUT_MS = 10_000;
/** Keys of `thingsboard` that apply without a restart. */
const LIVE_KEYS = new Set([
  'statistics',
  'handleDeviceRenaming',
  'maxPayloadSizeBytes',
  'rateLimits',
  'dpRateLimits',
  'messagesRateLimits',
  'deviceMessagesRateLimits',
  'deviceRateLimits',
  'deviceDpRateLimits',
]);

/** `failed`: valid, but applying it failed (e.g. the file could not be written); said with why. */
export type ConfigResult = 'applied' | 'applies at next start' | 'refused' | 'ignored' | 'failed';

export interface ConfigStatus {
  result: ConfigResult;
  message: string;
  problems?: string[];
  ts: number;
}

/** What remote configuration changes in the running gateway. */
export interface ConnectorHost {
  /** The OCPP connectors running, with their configuration (and the file it was read from). */
  running(): readonly OcppConnectorConfig[];
  add(config: OcppConnectorConfig): Promise<void>;
  remove(name: string): Promise<void>;
  reconfigure(name: string, config: OcppConnectorConfig, restartListener: boolean): Promise<void>;
  /** tb_gateway.json changed: apply what can apply live (statistics, limits, renaming). */
  applyLive(config: GatewayConfig): void;
}

export interface RemoteConfigOptions {
  client: ThingsBoardClient;
  host: ConnectorHost;
  /** Remote logs, when the process' lines are tapped: connectors' `<name>_LOGS` settings. */
  remoteLogs?: RemoteLogs;
  config: GatewayConfig;
  version: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export class RemoteConfigurator {
  private readonly opts: RemoteConfigOptions;
  private readonly logger: Logger;
  private readonly file: string;
  private readonly status = new Map<string, ConfigStatus>();
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private refused = 0;
  private stopped = false;

  constructor(opts: RemoteConfigOptions) {
    this.opts = opts;
    this.logger = opts.logger.child({ component: 'remote-config' });
    this.file = opts.config.file;
  }

  start(): void {
    const { client } = this.opts;
    client.device.onSharedAttributes((update) => this.onUpdate(update));
    client.onConnect(() => this.enqueue(() => this.onConnect()));
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves once every change received so far was handled (tests, stop). */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(task: () => Promise<void>): void {
    // Bounded: ThingsBoard pushing changes faster than files can be checked and written must not
    // grow memory; what is refused here is said, and the next push of the attribute comes through.
    if (this.pending >= MAX_PENDING_CHANGES) {
      this.refused++;
      if (this.refused === 1 || this.refused % 100 === 0) {
        this.logger.warn(
          { refused: this.refused, pending: this.pending },
          'remote configuration: too many changes waiting; this one is not handled',
        );
      }
      return;
    }
    this.pending++;
    this.queue = this.queue
      .then(task)
      .catch((err: unknown) => {
        this.logger.error({ err }, 'remote configuration: handling a change failed');
      })
      .finally(() => {
        this.pending--;
      });
  }

  private onUpdate(update: SharedAttributesUpdate): void {
    for (const [key, value] of update.values) this.enqueue(() => this.handle(key, value, 'update'));
  }

  private async onConnect(): Promise<void> {
    if (this.stopped) return;
    await this.publishCurrent();
    const { client } = this.opts;
    let shared: Map<string, unknown>;
    try {
      ({ shared } = await client.device.requestAttributes({}, REQUEST_TIMEOUT_MS));
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'shared attributes of the gateway device not received');
      return;
    }
    // general_configuration first, as the Python gateway: connectors may depend on it.
    const keys = [...shared.keys()].sort(
      (a, b) => Number(b === 'general_configuration') - Number(a === 'general_configuration'),
    );
    for (const key of keys) await this.handle(key, shared.get(key), 'start');
  }

  // ---- what the gateway publishes ----

  private async publishCurrent(): Promise<void> {
    const doc = (await readDoc(this.file)) ?? {};
    const ts = Date.now();
    const running = this.opts.host.running();
    await this.publish({
      general_configuration: { ...redactSecrets(isRecord(doc.thingsboard) ? doc.thingsboard : {}), ts },
      // No storage keeps a secret today; one that does (a `password` key) is not published.
      storage_configuration: { ...redactSecrets(isRecord(doc.storage) ? doc.storage : {}), ts },
      active_connectors: running.map((c) => c.name),
      Version: this.opts.version,
    });
    for (const c of running) {
      const fileDoc = (await readDoc(c.file)) ?? {};
      this.opts.remoteLogs?.setConnector(c.name, fileDoc.enableRemoteLogging === true, fileDoc.logLevel);
      await this.publish({ [c.name]: connectorAttribute(c.name, c.file, fileDoc, this.file) });
    }
    if (this.status.size > 0) await this.publish({ [STATUS_ATTRIBUTE]: Object.fromEntries(this.status) });
  }

  private async publish(attributes: Record<string, unknown>): Promise<void> {
    try {
      await this.opts.client.device.publishAttributes(attributes);
    } catch (err) {
      // Too large for ThingsBoard is worth a warning; a lost link is not (all is sent again at connect).
      const level =
        err instanceof PayloadTooLargeError || err instanceof BeyondLimitsError ? 'warn' : 'debug';
      this.logger[level](
        { err: String(err), keys: Object.keys(attributes) },
        'configuration attributes not delivered',
      );
    }
  }

  private async report(
    key: string,
    status: Omit<ConfigStatus, 'ts'>,
    logger: Logger = this.logger,
  ): Promise<void> {
    const entry: ConfigStatus = { ...status, ts: Date.now() };
    this.status.delete(key);
    this.status.set(key, entry);
    while (this.status.size > MAX_STATUS_ENTRIES)
      this.status.delete(this.status.keys().next().value as string);
    const fields = { attribute: key, result: status.result, problems: status.problems };
    if (status.result === 'refused' || status.result === 'failed')
      logger.error(fields, `remote configuration ${status.result}: ${status.message}`);
    else logger.info(fields, `remote configuration ${status.result}: ${status.message}`);
    await this.publish({ [STATUS_ATTRIBUTE]: Object.fromEntries(this.status) });
  }

  // ---- what ThingsBoard sends ----

  /** Whatever goes wrong applying a change, the operator sees it next to the attribute. */
  private async handle(key: string, value: unknown, source: 'start' | 'update'): Promise<void> {
    try {
      await this.dispatch(key, value, source);
    } catch (err) {
      await this.report(key, {
        result: 'failed',
        message: `could not be applied: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  private async dispatch(key: string, value: unknown, source: 'start' | 'update'): Promise<void> {
    if (this.stopped) return;
    switch (key) {
      case 'RemoteLoggingLevel':
        return; // remote logging is on whether or not remote configuration is (services.ts)
      case 'general_configuration':
        return this.handleGatewayFile(key, 'thingsboard', value, source);
      case 'storage_configuration':
        return this.handleGatewayFile(key, 'storage', value, source);
      case 'active_connectors':
        return this.handleActive(value, source);
      case 'grpc_configuration':
      case 'logs_configuration':
        if (source === 'update') {
          await this.report(key, { result: 'ignored', message: `${key} is not used by this gateway` });
        }
        return;
    }
    if (isRecord(value) && (isRecord(value.configurationJson) || typeof value.type === 'string')) {
      return applyConnectorAttribute(this.connectorContext(), key, value, source);
    }
    this.logger.debug({ attribute: key }, 'shared attribute of the gateway device: not configuration');
  }

  /** general_configuration → `thingsboard`, storage_configuration → `storage` of tb_gateway.json. */
  private async handleGatewayFile(
    key: string,
    section: 'thingsboard' | 'storage',
    value: unknown,
    source: 'start' | 'update',
  ): Promise<void> {
    if (!isRecord(value)) {
      await this.report(key, { result: 'refused', message: 'expected an object' });
      return;
    }
    const big = tooBig(value);
    if (big) {
      await this.report(key, { result: 'refused', message: `the configuration is ${big}` });
      return;
    }
    if (await isStale(value, this.file, source)) {
      this.logger.debug({ attribute: key }, 'older than tb_gateway.json: ignored');
      return;
    }
    const doc = (await readDoc(this.file)) ?? {};
    const current = isRecord(doc[section]) ? doc[section] : {};
    // fromEntries defines keys: a "__proto__" from ThingsBoard stays a key (and is then reported
    // as unknown) instead of replacing the prototype, through which reads below would then go.
    const received: Record<string, unknown> = Object.fromEntries(
      Object.entries(value).filter(([k]) => k !== 'ts'),
    );
    if (section === 'thingsboard' && isRecord(received.statistics)) {
      // The Python gateway folds its custom command list into what it publishes.
      const statistics = { ...received.statistics };
      delete statistics.commands;
      received.statistics = statistics;
    }
    const restored = restoreSecrets(received, current);
    if (!restored.ok) {
      await this.report(key, {
        result: 'refused',
        message: restoreFailure(restored, 'the current tb_gateway.json'),
      });
      return;
    }
    const next = { ...current, ...(restored.doc as Record<string, unknown>) };
    if (jsonEqual(next, current)) {
      if (source === 'update') await this.publish({ [key]: { ...redactSecrets(next), ts: Date.now() } });
      return;
    }
    const candidate = { ...doc, [section]: next };
    const check = checkConfigDocument(this.file, candidate, this.opts.env);
    if (!check.ok) {
      await this.report(key, {
        result: 'refused',
        message: 'the configuration has problems; the running one stays',
        problems: check.problems.map(formatProblem),
      });
      return;
    }
    await writeConfigFile(this.file, candidate);
    const changed = [...new Set([...Object.keys(next), ...Object.keys(current)])].filter(
      (k) => !jsonEqual(next[k], current[k]),
    );
    // Keys this gateway never reads — the Python gateway's remoteShell, deviceFiltering, …, or any
    // other such as "__proto__": kept in the file, and said to be unused rather than to apply at a
    // start that will not apply them.
    const read = keysRead(section);
    const ignored = changed.filter((k) => !read.includes(k));
    const used = changed.filter((k) => !ignored.includes(k));
    const later = section === 'storage' ? used : used.filter((k) => !LIVE_KEYS.has(k));
    this.opts.host.applyLive(check.config);
    const now = used.filter((k) => !later.includes(k));
    const said = [
      later.length > 0 ? `${later.map((k) => `${section}.${k}`).join(', ')} apply at next start` : '',
      now.length > 0 ? `${now.join(', ')} applied now` : '',
      ignored.length > 0
        ? `${ignored.map((k) => `${section}.${k}`).join(', ')} not used by this gateway (kept in the file)`
        : '',
    ].filter((part) => part !== '');
    await this.report(key, {
      result: later.length > 0 ? 'applies at next start' : now.length > 0 ? 'applied' : 'ignored',
      message: `written to ${this.file}; ${said.join(', ')}`,
    });
    await this.publish({ [key]: { ...redactSecrets(next), ts: Date.now() } });
  }

  private connectorContext(): ConnectorChangeContext {
    return {
      host: this.opts.host,
      gatewayFile: this.file,
      logger: this.logger,
      ...(this.opts.remoteLogs ? { remoteLogs: this.opts.remoteLogs } : {}),
      report: (key, status, logger) => this.report(key, status, logger),
      publish: (attributes) => this.publish(attributes),
    };
  }

  private async handleActive(value: unknown, source: 'start' | 'update'): Promise<void> {
    if (!Array.isArray(value) || value.length > 1000 || !value.every((v) => typeof v === 'string')) {
      await this.report('active_connectors', {
        result: 'refused',
        message: 'expected a list of connector names',
      });
      return;
    }
    const wanted = new Set(value as string[]);
    const running = this.opts.host.running();
    if (source === 'update') {
      for (const c of running) {
        if (wanted.has(c.name)) continue;
        await removeFromGatewayFile(this.file, c.name, c.file);
        await this.opts.host.remove(c.name);
        await this.report(c.name, {
          result: 'applied',
          message: `connector "${c.name}" stopped and removed from tb_gateway.json`,
        });
      }
    }
    const missing = [...wanted].filter((n) => !running.some((c) => c.name === n));
    if (missing.length > 0) {
      try {
        const { shared } = await this.opts.client.device.requestAttributes(
          { shared: missing },
          REQUEST_TIMEOUT_MS,
        );
        for (const [name, v] of shared) await this.handle(name, v, 'update');
      } catch (err) {
        this.logger.warn(
          { err: String(err), connectors: missing },
          'configuration of new connectors not received',
        );
      }
    }
    await this.publish({ active_connectors: value });
  }
}
