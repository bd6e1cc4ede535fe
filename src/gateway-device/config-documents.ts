/**
 * The configuration documents remote configuration reads, checks and writes: tb_gateway.json and
 * the connectors' ocpp.json files, as JSON values. Stateless helpers of remote-config.ts.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { modifiedAt, writeConfigFile } from '../config/config-writer.js';
import type { ConnectorEntry } from '../config/gateway-file.js';
import { isRecord } from '../config/keys.js';
import { parseOcppDocument } from '../config/ocpp-file.js';
import { ConfigReport } from '../config/report.js';
import { jsonDepth, redactSecrets } from '../config/secrets.js';
import type { OcppConnectorConfig } from '../config/types.js';
import { formatProblem } from '../errors.js';

const MAX_CONFIG_BYTES = 1_048_576;
const MAX_CONFIG_DEPTH = 64;
/** Keys of the Python connector attribute that sit beside `configurationJson`, not in it. */
const CONNECTOR_META = ['logLevel', 'enableRemoteLogging'];
/** A connector file name ThingsBoard may choose: a plain name in the configuration folder. */
const SAFE_FILE = /^[\w][\w .-]{0,120}\.json$/;

export type Source = 'start' | 'update';

/** A JSON object file, or undefined when it cannot be read or is not an object. */
export async function readDoc(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return isRecord(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** The connector file as tb_gateway.json names it (relative to its folder when it is in it). */
export function configurationName(file: string, gatewayFile: string): string {
  return dirname(file) === dirname(gatewayFile) ? basename(file) : file;
}

/** The Python gateway's connector attribute for a connector's file, its secrets replaced. */
export function connectorAttribute(
  name: string,
  file: string,
  fileDoc: Record<string, unknown>,
  gatewayFile: string,
): Record<string, unknown> {
  const configurationJson: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fileDoc)) {
    if (!CONNECTOR_META.includes(k))
      Object.defineProperty(configurationJson, k, { value: v, enumerable: true });
  }
  return {
    name,
    type: 'ocpp',
    configuration: configurationName(file, gatewayFile),
    configurationJson: redactSecrets({ ...configurationJson }),
    logLevel: typeof fileDoc.logLevel === 'string' ? fileDoc.logLevel : 'INFO',
    enableRemoteLogging: fileDoc.enableRemoteLogging === true,
    ts: Date.now(),
  };
}

/** Why a configuration from ThingsBoard is too big to take (undefined: it is not). */
export function tooBig(value: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return 'not JSON';
  }
  if ((text?.length ?? 0) > MAX_CONFIG_BYTES) return `larger than ${MAX_CONFIG_BYTES} bytes`;
  if (jsonDepth(value, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) return `nested deeper than ${MAX_CONFIG_DEPTH}`;
  return undefined;
}

/**
 * A value read at start older than the file: left from an earlier change, the file has been
 * edited since. (Only at start: a change pushed now is the operator's latest word, whatever the
 * clock of the browser that stamped it.)
 */
export async function isStale(
  value: Record<string, unknown>,
  file: string,
  source: Source,
): Promise<boolean> {
  const ts = value.ts;
  return source === 'start' && typeof ts === 'number' && ts <= (await modifiedAt(file));
}

/** Checks a connector document as the loader checks its file, listener clashes included. */
export function checkConnector(
  name: string,
  file: string,
  doc: Record<string, unknown>,
  running: readonly OcppConnectorConfig[],
): { ok: true; config: OcppConnectorConfig } | { ok: false; problems: string[] } {
  const report = new ConfigReport();
  const entry: ConnectorEntry = { name, file, index: 0 };
  const config = parseOcppDocument(doc, entry, report);
  if (config && config.centralSystem.port !== 0) {
    const address = `${config.centralSystem.host}:${config.centralSystem.port}`;
    for (const other of running) {
      if (other.name === name) continue;
      if (`${other.centralSystem.host}:${other.centralSystem.port}` === address) {
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

/** The file of a connector ThingsBoard creates (undefined: the name it chose is not a plain file name). */
export function newConnectorFile(
  name: string,
  configuration: unknown,
  gatewayFile: string,
): string | undefined {
  const chosen =
    typeof configuration === 'string' && configuration !== ''
      ? configuration
      : `${name.replace(/ /g, '_').toLowerCase()}.json`;
  if (!SAFE_FILE.test(chosen)) return undefined;
  return resolve(dirname(gatewayFile), chosen);
}

/** Adds an OCPP connector entry to tb_gateway.json. */
export async function addToGatewayFile(gatewayFile: string, name: string, file: string): Promise<void> {
  const doc = (await readDoc(gatewayFile)) ?? {};
  const connectors = Array.isArray(doc.connectors) ? [...(doc.connectors as unknown[])] : [];
  connectors.push({ type: 'ocpp', name, configuration: configurationName(file, gatewayFile) });
  await writeConfigFile(gatewayFile, { ...doc, connectors });
}

/** Drops the OCPP entry named `name`, or (unnamed) naming `file`, from tb_gateway.json. */
export async function removeFromGatewayFile(gatewayFile: string, name: string, file: string): Promise<void> {
  const doc = (await readDoc(gatewayFile)) ?? {};
  if (!Array.isArray(doc.connectors)) return;
  const dir = dirname(gatewayFile);
  const connectors = (doc.connectors as unknown[]).filter((c) => {
    if (!isRecord(c) || String(c.type).toLowerCase() !== 'ocpp') return true;
    const sameFile = typeof c.configuration === 'string' && resolve(dir, c.configuration) === file;
    return !(c.name === name || (c.name === undefined && sameFile));
  });
  await writeConfigFile(gatewayFile, { ...doc, connectors });
}
