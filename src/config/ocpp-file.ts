/**
 * One connector's ocpp.json. Unlike tb_gateway.json, an unknown key here is a problem: a misspelt
 * `idRegexpPattern` or `messageTypeFilter` would otherwise load with its default and quietly
 * route charge points or drop data.
 */
import { dirname } from 'node:path';
import { readJsonFile } from './files.js';
import type { ConnectorEntry } from './gateway-file.js';
import { checkKeys, isRecord } from './keys.js';
import { checkMessageTypes } from './message-types.js';
import { ocppFileSchema, type ParsedSecurityRule } from './ocpp-schema.js';
import { describeValue, dottedPath, jsonPath, type ConfigReport } from './report.js';
import type { OcppConnectorConfig, SecurityRule } from './types.js';
import { parseSection } from './zod-issues.js';

export function readOcppFile(
  entry: ConnectorEntry,
  gateway: { file: string; report: ConfigReport },
): OcppConnectorConfig | undefined {
  const { report } = gateway;
  // An unreadable file is reported where tb_gateway.json names it.
  const doc = readJsonFile(entry.file, report, {
    file: gateway.file,
    path: jsonPath(['connectors', entry.index, 'configuration']),
  });
  if (doc === undefined) return undefined;
  return parseOcppDocument(doc, entry, report);
}

/**
 * One ocpp.json document already parsed (from the file, or a `configurationJson` received from
 * ThingsBoard that is to be written to `entry.file`), checked exactly as the file is.
 */
export function parseOcppDocument(
  doc: unknown,
  entry: ConnectorEntry,
  report: ConfigReport,
): OcppConnectorConfig | undefined {
  const file = entry.file;
  if (!isRecord(doc)) {
    report.problem(file, '$', `expected an object, got ${describeValue(doc, false)}`);
    return undefined;
  }
  const { schema, keys } = ocppFileSchema(dirname(file));
  const keyCheck = checkKeys(doc, keys);
  for (const unknown of keyCheck.unknown) {
    report.problem(
      file,
      jsonPath(unknown.path),
      `unknown key ${JSON.stringify(unknown.key)} — ${unknown.hint}`,
    );
  }
  const parsed = parseSection(schema, doc, { file, at: [], report });
  if (parsed === undefined || keyCheck.unknown.length > 0) return undefined;

  if (keyCheck.ignored.length > 0) {
    report.info(
      `ignored keys not used by this gateway in ${file}: ${keyCheck.ignored.map(dottedPath).join(', ')}`,
    );
  }
  warnExtensions(doc, file, report);
  checkMessageTypes(parsed.chargePoints, parsed.centralSystem.ocppVersions, file, report);
  if (parsed.chargePoints.length === 0) {
    report.warn(`${file}: chargePoints is empty, so every charge point will be refused`);
  }
  const { sendStallTimeout, ...centralSystem } = parsed.centralSystem;
  return {
    type: 'ocpp',
    name: entry.name,
    file,
    centralSystem: {
      ...centralSystem,
      sendStallTimeoutMs: Math.round(sendStallTimeout * 1000),
      security: securityRules(centralSystem.security, file, report),
    },
    chargePoints: parsed.chargePoints,
  };
}

/** The Python connector's own converter: naming it is the same as naming none. */
const BUILT_IN_CONVERTER = 'OcppUplinkConverter';

/**
 * `extension` names a Python converter class (upstream loads it instead of its built-in uplink
 * converter). No Python runs here: say what is ignored and what applies instead.
 */
function warnExtensions(doc: Record<string, unknown>, file: string, report: ConfigReport): void {
  const found: { path: string; value: unknown }[] = [];
  if (doc.extension !== undefined) found.push({ path: 'extension', value: doc.extension });
  if (Array.isArray(doc.chargePoints)) {
    doc.chargePoints.forEach((cp: unknown, i) => {
      if (isRecord(cp) && cp.extension !== undefined) {
        found.push({ path: `chargePoints[${i}].extension`, value: cp.extension });
      }
    });
  }
  for (const { path, value } of found) {
    if (value === BUILT_IN_CONVERTER || value === '') continue;
    report.warn(
      `${file}: ${path} ${describeValue(value, false)} is a Python converter class, which cannot run in this gateway: ` +
        "it is ignored (with its extensionConfig), and the entry's attributes/timeseries mappings apply instead",
    );
  }
}

/**
 * Any `anonymous` entry turns authentication off, whatever else is listed. (In the Python
 * connector a list holding only `anonymous` rejects everyone, which no one can have meant.)
 */
function securityRules(rules: ParsedSecurityRule[], file: string, report: ConfigReport): SecurityRule[] {
  const anonymous = rules.some((r) => r.type === 'anonymous');
  const others = rules.filter((r): r is SecurityRule => r.type !== 'anonymous');
  if (!anonymous) return others;
  if (others.length > 0) {
    report.warn(
      `${file}: centralSystem.security lists "anonymous", which turns authentication off: ` +
        `its ${others.map((r) => JSON.stringify(r.type)).join(', ')} entries are not used`,
    );
  }
  return [];
}
