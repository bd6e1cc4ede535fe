/**
 * A shared attribute describing a connector (the gateway page saves one per connector: `name`,
 * `type`, `configuration`, `configurationJson`, `logLevel`, `enableRemoteLogging`, `ts`): checked as
 * its file would be, written (a backup kept) and applied to the running connector — or refused and
 * reported, the running configuration kept. A connector not running yet is created.
 */
import { resolve } from 'node:path';
import { writeConfigFile } from '../config/config-writer.js';
import { isRecord } from '../config/keys.js';
import { jsonEqual, restoreFailure, restoreSecrets } from '../config/secrets.js';
import type { Logger } from '../log.js';
import {
  addToGatewayFile,
  checkConnector,
  connectorAttribute,
  isStale,
  newConnectorFile,
  readDoc,
  tooBig,
  type Source,
} from './config-documents.js';
import type { ConfigStatus, ConnectorHost } from './remote-config.js';
import type { RemoteLogs } from './remote-logs.js';

export interface ConnectorChangeContext {
  host: ConnectorHost;
  /** tb_gateway.json. */
  gatewayFile: string;
  logger: Logger;
  remoteLogs?: RemoteLogs;
  report(key: string, status: Omit<ConfigStatus, 'ts'>, logger?: Logger): Promise<void>;
  publish(attributes: Record<string, unknown>): Promise<void>;
}

export async function applyConnectorAttribute(
  ctx: ConnectorChangeContext,
  key: string,
  value: Record<string, unknown>,
  source: Source,
): Promise<void> {
  const name = typeof value.name === 'string' && value.name.trim() !== '' ? value.name : key;
  const logger = ctx.logger.child({ connector: name });
  const type = typeof value.type === 'string' ? value.type.toLowerCase() : '';
  if (type !== 'ocpp') {
    if (source === 'update') {
      await ctx.report(key, {
        result: 'ignored',
        message: `connector type "${type}": this gateway only runs OCPP connectors`,
      });
    }
    return;
  }
  const json = value.configurationJson;
  if (!isRecord(json)) {
    await ctx.report(key, { result: 'refused', message: 'configurationJson is not an object' }, logger);
    return;
  }
  const big = tooBig(json);
  if (big) {
    await ctx.report(key, { result: 'refused', message: `configurationJson is ${big}` }, logger);
    return;
  }
  const running = ctx.host.running().find((c) => c.name === name);
  const file = running?.file ?? newConnectorFile(name, value.configuration, ctx.gatewayFile);
  if (file === undefined) {
    await ctx.report(
      key,
      { result: 'refused', message: `"configuration" must be a plain file name ending in .json` },
      logger,
    );
    return;
  }
  if (!running && (file === resolve(ctx.gatewayFile) || ctx.host.running().some((c) => c.file === file))) {
    await ctx.report(
      key,
      { result: 'refused', message: `"configuration" names a file the gateway already uses: ${file}` },
      logger,
    );
    return;
  }
  if (running && (await isStale(value, file, source))) {
    logger.debug({ attribute: key }, 'connector configuration older than its file: ignored');
    return;
  }
  // A connector enabled again on the gateway page finds its file where it was left: its secrets
  // come back from it, as for a running one.
  const currentDoc = (await readDoc(file)) ?? {};
  const restored = restoreSecrets(json, currentDoc);
  if (!restored.ok) {
    await ctx.report(
      key,
      {
        result: 'refused',
        message: restoreFailure(restored, 'the current file'),
      },
      logger,
    );
    return;
  }
  const doc: Record<string, unknown> = { ...(restored.doc as Record<string, unknown>) };
  doc.name = name;
  doc.logLevel = typeof value.logLevel === 'string' ? value.logLevel : (doc.logLevel ?? 'INFO');
  doc.enableRemoteLogging = value.enableRemoteLogging === true;
  ctx.remoteLogs?.setConnector(name, doc.enableRemoteLogging === true, doc.logLevel);
  if (running && jsonEqual(doc, currentDoc)) {
    await ctx.publish({ [name]: connectorAttribute(name, file, doc, ctx.gatewayFile) });
    return;
  }
  const config = checkConnector(name, file, doc, ctx.host.running());
  if (!config.ok) {
    await ctx.report(
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
    await ctx.host.reconfigure(name, config.config, restart);
    await ctx.report(
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
    await addToGatewayFile(ctx.gatewayFile, name, file);
    await ctx.host.add(config.config);
    await ctx.report(
      key,
      { result: 'applied', message: `connector "${name}" created (${file}) and started` },
      logger,
    );
  }
  await ctx.publish({ [name]: connectorAttribute(name, file, doc, ctx.gatewayFile) });
}
