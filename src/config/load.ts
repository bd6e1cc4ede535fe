/**
 * Loading the configuration: tb_gateway.json and every ocpp.json it names, validated in one pass
 * that reports every problem of every file (a config is fixed in one edit, not one per restart).
 */
import { resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { parseGatewayDocument, readGatewayFile } from './gateway-file.js';
import { readOcppFile } from './ocpp-file.js';
import { warnPlaceholders } from './placeholders.js';
import { ConfigReport } from './report.js';
import type { ConfigNotice, GatewayConfig, OcppConnectorConfig, StatusServerConfig } from './types.js';

export type ConfigCheck =
  | { ok: true; config: GatewayConfig }
  /** `notices` holds the warnings found on the way (unknown keys often explain a problem). */
  | { ok: false; problems: ConfigProblem[]; notices: ConfigNotice[] };

/** Throws one ConfigError listing every problem found. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const check = checkConfig(file, env);
  if (!check.ok) throw new ConfigError(check.problems);
  return check.config;
}

export function checkConfig(file: string, env: NodeJS.ProcessEnv = process.env): ConfigCheck {
  const report = new ConfigReport();
  const config = readConfig(resolve(file), env, report);
  if (config === undefined || report.problems.length > 0) {
    return { ok: false, problems: report.problems, notices: report.notices };
  }
  return { ok: true, config };
}

/**
 * Checks `doc` as if it were the content of tb_gateway.json at `file` (the ocpp.json files it names
 * are read from disk): how remote configuration validates a change before writing it.
 */
export function checkConfigDocument(
  file: string,
  doc: unknown,
  env: NodeJS.ProcessEnv = process.env,
): ConfigCheck {
  const report = new ConfigReport();
  const config = readConfig(resolve(file), env, report, { doc });
  if (config === undefined || report.problems.length > 0) {
    return { ok: false, problems: report.problems, notices: report.notices };
  }
  return { ok: true, config };
}

function readConfig(
  file: string,
  env: NodeJS.ProcessEnv,
  report: ConfigReport,
  given?: { doc: unknown },
): GatewayConfig | undefined {
  const ctx = { env, cwd: process.cwd(), report };
  const gateway = given ? parseGatewayDocument(given.doc, file, ctx) : readGatewayFile(file, ctx);
  if (gateway === undefined) return undefined;
  const connectors: OcppConnectorConfig[] = [];
  for (const entry of gateway.connectors) {
    const connector = readOcppFile(entry, { file, report });
    if (connector !== undefined) connectors.push(connector);
  }
  checkListeners(connectors, report);
  const { thingsboard, storage, statusServer, gatewayDevice } = gateway;
  if (thingsboard === undefined || storage === undefined || statusServer === undefined) return undefined;
  if (gatewayDevice === undefined) return undefined;
  warnPlaceholders(thingsboard, connectors, report);
  checkStatusPort(statusServer, connectors, file, report);
  return { file, thingsboard, storage, connectors, gatewayDevice, statusServer, notices: report.notices };
}

/** The status server on a central system's address would fail at start-up the same way. */
function checkStatusPort(
  status: StatusServerConfig,
  connectors: OcppConnectorConfig[],
  file: string,
  report: ConfigReport,
): void {
  if (!status.enabled || status.port === 0) return;
  const clash = connectors.find(
    (c) => c.centralSystem.port === status.port && c.centralSystem.host === status.host,
  );
  if (clash) {
    report.problem(
      file,
      '$.statusServer.port',
      `${status.host}:${status.port} is the address of connector ${JSON.stringify(clash.name)} (${clash.file}): choose another port`,
    );
  }
}

/** Two central systems on one address would fail at start-up with EADDRINUSE; say so now. */
function checkListeners(connectors: OcppConnectorConfig[], report: ConfigReport): void {
  const taken = new Map<string, OcppConnectorConfig>();
  for (const connector of connectors) {
    const { host, port } = connector.centralSystem;
    if (port === 0) continue;
    const address = `${host}:${port}`;
    const other = taken.get(address);
    if (other === undefined) taken.set(address, connector);
    else {
      report.problem(
        connector.file,
        '$.centralSystem.port',
        `${address} is already used by connector ${JSON.stringify(other.name)} (${other.file})`,
      );
    }
  }
}
