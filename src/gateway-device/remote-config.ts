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
import { basename, dirname, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { modifiedAt, writeConfigFile } from '../config/config-writer.js';
import type { ConnectorEntry } from '../config/gateway-file.js';
import { isRecord } from '../config/keys.js';
import { checkConfigDocument } from '../config/load.js';
import { parseOcppDocument } from '../config/ocpp-file.js';
import { ConfigReport } from '../config/report.js';
import { jsonDepth, jsonEqual, redactSecrets, restoreSecrets } from '../config/secrets.js';
import type { GatewayConfig, OcppConnectorConfig } from '../config/types.js';
import { formatProblem } from '../errors.js';
import type { Logger } from '../log.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';
import { BeyondLimitsError, PayloadTooLargeError } from '../thingsboard/paced-queue.js';
import type { RemoteLogs } from './remote-logs.js';

export const STATUS_ATTRIBUTE = 'remoteConfigurationStatus';
const MAX_CONFIG_BYTES = 1_048_576;
const MAX_CONFIG_DEPTH = 64;
const MAX_STATUS_ENTRIES = 64;
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
/** Keys of the Python connector attribute that are not part of its file. */
const CONNECTOR_META = ['logLevel', 'enableRemoteLogging'];
/** A connector file name ThingsBoard may choose: a plain name in the configuration folder. */
const SAFE_FILE = /^[\w][\w .-]{0,120}\.json$/;

export type ConfigResult = 'applied' | 'applies at next start' | 'refused' | 'ignored';

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
    this.queue = this.queue.then(task).catch((err: unknown) => {
      this.logger.error({ err }, 'remote configuration: handling a change failed');
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

  private async readDoc(file: string): Promise<Record<string, unknown> | undefined> {
    try {
      const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
      return isRecord(doc) ? doc : undefined;
    } catch {
      return undefined;
    }
  }

  private async publishCurrent(): Promise<void> {
    const doc = (await this.readDoc(this.file)) ?? {};
    const ts = Date.now();
    const running = this.opts.host.running();
    await this.publish({
      general_configuration: { ...redactSecrets(isRecord(doc.thingsboard) ? doc.thingsboard : {}), ts },
      storage_configuration: { ...(isRecord(doc.storage) ? doc.storage : {}), ts },
      active_connectors: running.map((c) => c.name),
      Version: this.opts.version,
    });
    for (const c of running) {
      const fileDoc = (await this.readDoc(c.file)) ?? {};
      this.applyRemoteLogging(c.name, fileDoc);
      await this.publish({ [c.name]: this.connectorAttribute(c.name, c.file, fileDoc) });
    }
    if (this.status.size > 0) await this.publish({ [STATUS_ATTRIBUTE]: Object.fromEntries(this.status) });
  }

  private connectorAttribute(
    name: string,
    file: string,
    fileDoc: Record<string, unknown>,
  ): Record<string, unknown> {
    const configurationJson: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fileDoc)) {
      if (!CONNECTOR_META.includes(k))
        Object.defineProperty(configurationJson, k, { value: v, enumerable: true });
    }
    return {
      name,
      type: 'ocpp',
      configuration: this.configurationName(file),
      configurationJson: redactSecrets({ ...configurationJson }),
      logLevel: typeof fileDoc.logLevel === 'string' ? fileDoc.logLevel : 'INFO',
      enableRemoteLogging: fileDoc.enableRemoteLogging === true,
      ts: Date.now(),
    };
  }

  /** The connector file as tb_gateway.json names it (relative to its folder). */
  private configurationName(file: string): string {
    return dirname(file) === dirname(this.file) ? basename(file) : file;
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
    if (status.result === 'refused') logger.error(fields, `remote configuration refused: ${status.message}`);
    else logger.info(fields, `remote configuration ${status.result}: ${status.message}`);
    await this.publish({ [STATUS_ATTRIBUTE]: Object.fromEntries(this.status) });
  }

  // ---- what ThingsBoard sends ----

  private async handle(key: string, value: unknown, source: 'start' | 'update'): Promise<void> {
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
      return this.handleConnector(key, value, source);
    }
    this.logger.debug({ attribute: key }, 'shared attribute of the gateway device: not configuration');
  }

  private tooBig(value: unknown): string | undefined {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      return 'not JSON';
    }
    if ((text?.length ?? 0) > MAX_CONFIG_BYTES) return `larger than ${MAX_CONFIG_BYTES} bytes`;
    if (jsonDepth(value, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH)
      return `nested deeper than ${MAX_CONFIG_DEPTH}`;
    return undefined;
  }

  /**
   * A value read at start older than the file: left from an earlier change, the file has been
   * edited since. (Only at start: a change pushed now is the operator's latest word, whatever the
   * clock of the browser that stamped it.)
   */
  private async isStale(
    value: Record<string, unknown>,
    file: string,
    source: 'start' | 'update',
  ): Promise<boolean> {
    const ts = value.ts;
    return source === 'start' && typeof ts === 'number' && ts <= (await modifiedAt(file));
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
    const big = this.tooBig(value);
    if (big) {
      await this.report(key, { result: 'refused', message: `the configuration is ${big}` });
      return;
    }
    if (await this.isStale(value, this.file, source)) {
      this.logger.debug({ attribute: key }, 'older than tb_gateway.json: ignored');
      return;
    }
    const doc = (await this.readDoc(this.file)) ?? {};
    const current = isRecord(doc[section]) ? doc[section] : {};
    const received: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'ts') received[k] = v;
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
        message: `${restored.unknown.join(', ')} refers to no secret of the current tb_gateway.json: type the value again`,
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
    const later = section === 'storage' ? changed : changed.filter((k) => !LIVE_KEYS.has(k));
    this.opts.host.applyLive(check.config);
    const now = changed.filter((k) => !later.includes(k));
    await this.report(key, {
      result: later.length > 0 ? 'applies at next start' : 'applied',
      message:
        later.length > 0
          ? `written to ${this.file}; ${later.map((k) => `${section}.${k}`).join(', ')} apply at next start` +
            (now.length > 0 ? `, ${now.join(', ')} applied now` : '')
          : `applied: ${now.join(', ')}`,
    });
    await this.publish({ [key]: { ...redactSecrets(next), ts: Date.now() } });
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
        await this.removeFromGatewayFile(c.name, c.file);
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

  private async handleConnector(
    key: string,
    value: Record<string, unknown>,
    source: 'start' | 'update',
  ): Promise<void> {
    const name = typeof value.name === 'string' && value.name.trim() !== '' ? value.name : key;
    const logger = this.logger.child({ connector: name });
    const type = typeof value.type === 'string' ? value.type.toLowerCase() : '';
    if (type !== 'ocpp') {
      if (source === 'update') {
        await this.report(key, {
          result: 'ignored',
          message: `connector type "${type}": this gateway only runs OCPP connectors`,
        });
      }
      return;
    }
    const json = value.configurationJson;
    if (!isRecord(json)) {
      await this.report(key, { result: 'refused', message: 'configurationJson is not an object' }, logger);
      return;
    }
    const big = this.tooBig(json);
    if (big) {
      await this.report(key, { result: 'refused', message: `configurationJson is ${big}` }, logger);
      return;
    }
    const running = this.opts.host.running().find((c) => c.name === name);
    const file = running?.file ?? this.newConnectorFile(name, value.configuration);
    if (file === undefined) {
      await this.report(
        key,
        { result: 'refused', message: `"configuration" must be a plain file name ending in .json` },
        logger,
      );
      return;
    }
    if (running && (await this.isStale(value, file, source))) {
      logger.debug({ attribute: key }, 'connector configuration older than its file: ignored');
      return;
    }
    const currentDoc = (running ? await this.readDoc(file) : undefined) ?? {};
    const restored = restoreSecrets(json, currentDoc);
    if (!restored.ok) {
      await this.report(
        key,
        {
          result: 'refused',
          message: `${restored.unknown.join(', ')} refers to no secret of the current file: type the value again`,
        },
        logger,
      );
      return;
    }
    const doc: Record<string, unknown> = { ...(restored.doc as Record<string, unknown>) };
    doc.name = name;
    doc.logLevel = typeof value.logLevel === 'string' ? value.logLevel : (doc.logLevel ?? 'INFO');
    doc.enableRemoteLogging = value.enableRemoteLogging === true;
    this.applyRemoteLogging(name, doc);
    if (running && jsonEqual(doc, currentDoc)) {
      await this.publish({ [name]: this.connectorAttribute(name, file, doc) });
      return;
    }
    const config = this.check(name, file, doc);
    if (!config.ok) {
      await this.report(
        key,
        {
          result: 'refused',
          message: 'the configuration has problems; the running one stays',
          problems: config.problems,
        },
        logger,
      );
      return;
    }
    await writeConfigFile(file, doc);
    if (running) {
      const restart = !jsonEqual(doc.centralSystem, currentDoc.centralSystem);
      await this.opts.host.reconfigure(name, config.config, restart);
      await this.report(
        key,
        {
          result: 'applied',
          message: restart
            ? `written to ${file}; the connector's listener restarted (centralSystem changed)`
            : `written to ${file}; mappings apply to the next message, no charge point was disconnected`,
        },
        logger,
      );
    } else {
      await this.addToGatewayFile(name, file);
      await this.opts.host.add(config.config);
      await this.report(
        key,
        { result: 'applied', message: `connector "${name}" created (${file}) and started` },
        logger,
      );
    }
    await this.publish({ [name]: this.connectorAttribute(name, file, doc) });
  }

  /** Checks a connector document as the loader checks its file, listener clashes included. */
  private check(
    name: string,
    file: string,
    doc: Record<string, unknown>,
  ): { ok: true; config: OcppConnectorConfig } | { ok: false; problems: string[] } {
    const report = new ConfigReport();
    const entry: ConnectorEntry = { name, file, index: 0 };
    const config = parseOcppDocument(doc, entry, report);
    if (config && config.centralSystem.port !== 0) {
      const address = `${config.centralSystem.host}:${config.centralSystem.port}`;
      for (const other of this.opts.host.running()) {
        if (other.name === name) continue;
        const c = other;
        if (`${c.centralSystem.host}:${c.centralSystem.port}` === address) {
          report.problem(
            file,
            '$.centralSystem.port',
            `${address} is already used by connector ${JSON.stringify(other.name)}`,
          );
        }
      }
    }
    if (!config || report.problems.length > 0)
      return { ok: false, problems: report.problems.map(formatProblem) };
    return { ok: true, config };
  }

  private newConnectorFile(name: string, configuration: unknown): string | undefined {
    const chosen =
      typeof configuration === 'string' && configuration !== ''
        ? configuration
        : `${name.replace(/ /g, '_').toLowerCase()}.json`;
    if (!SAFE_FILE.test(chosen)) return undefined;
    return resolve(dirname(this.file), chosen);
  }

  private applyRemoteLogging(name: string, doc: Record<string, unknown>): void {
    this.opts.remoteLogs?.setConnector(name, doc.enableRemoteLogging === true, doc.logLevel);
  }

  private async addToGatewayFile(name: string, file: string): Promise<void> {
    const doc = (await this.readDoc(this.file)) ?? {};
    const connectors = Array.isArray(doc.connectors) ? [...(doc.connectors as unknown[])] : [];
    connectors.push({ type: 'ocpp', name, configuration: this.configurationName(file) });
    await writeConfigFile(this.file, { ...doc, connectors });
  }

  /** Drops the OCPP entry named `name`, or (unnamed) naming `file`. */
  private async removeFromGatewayFile(name: string, file: string): Promise<void> {
    const doc = (await this.readDoc(this.file)) ?? {};
    if (!Array.isArray(doc.connectors)) return;
    const dir = dirname(this.file);
    const connectors = (doc.connectors as unknown[]).filter((c) => {
      if (!isRecord(c) || String(c.type).toLowerCase() !== 'ocpp') return true;
      const sameFile = typeof c.configuration === 'string' && resolve(dir, c.configuration) === file;
      return !(c.name === name || (c.name === undefined && sameFile));
    });
    await writeConfigFile(this.file, { ...doc, connectors });
  }
}
