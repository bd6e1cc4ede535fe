/**
 * tb_gateway.json: the same file the Python ThingsBoard IoT Gateway reads. It has many keys this
 * gateway does not use; they load and are listed once. Keys nobody knows are warnings, not
 * problems, because every Python release adds some and its files must keep loading here.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from './files.js';
import { GATEWAY_DEVICE_KEYS, readGatewayDevice, STATISTICS_KEYS } from './gateway-device.js';
import { checkKeys, isRecord, levenshtein, type KeyRules } from './keys.js';
import { describeValue, dottedPath, jsonPath, type ConfigReport } from './report.js';
import { readStatusServer, statusServerKeys, uploadsKeys } from './status-server.js';
import { IGNORED_SECURITY_KEYS, readThingsBoard, SECURITY_SHAPE, THINGSBOARD_SHAPE } from './thingsboard.js';
import type { GatewayDeviceConfig, StatusServerConfig, StorageConfig, ThingsBoardConfig } from './types.js';
import { parseSection } from './zod-issues.js';

/**
 * Keys of the Python gateway's tb_gateway.json (top level and `thingsboard`) that this gateway
 * accepts and ignores: remote shell, device filtering, report strategy, gRPC, … (statistics, remote
 * configuration, device renaming and rate limits are read under `thingsboard`: gateway-device.ts).
 */
const PYTHON_GATEWAY_KEYS = [
  'remoteShell',
  'remoteConfiguration',
  'remoteLoggingLevel',
  'statistics',
  'statsSendPeriodInSeconds',
  'deviceFiltering',
  'checkConnectorsConfigurationInSeconds',
  'minPackSendDelayMS',
  'minPackSizeToSend',
  'handleDeviceRenaming',
  'checkingDeviceActivity',
  'latencyDebugMode',
  'reportStrategy',
  'rateLimits',
  'dpRateLimits',
  'messagesRateLimits',
  'deviceMessagesRateLimits',
  'deviceDpRateLimits',
  'deviceRateLimits',
  'provisioning',
  'sendingMode',
  'logs',
  'grpc',
  // Written by the Python gateway's remote configuration.
  'ts',
] as const;

/** The Python file and SQLite storages' own tuning keys. */
const PYTHON_STORAGE_KEYS = [
  'read_records_count',
  'max_file_count',
  'max_records_per_file',
  'data_folder_path',
  'messages_ttl_check_in_hours',
  'ts',
] as const;

/** Connector types of the Python gateway: skipped with a warning, so its files load unchanged. */
export const PYTHON_CONNECTOR_TYPES = [
  'mqtt',
  'modbus',
  'opcua',
  'opcua_asyncio',
  'ble',
  'request',
  'can',
  'bacnet',
  'odbc',
  'rest',
  'snmp',
  'ftp',
  'socket',
  'xmpp',
  'knx',
  'custom',
  'grpc',
  'serial',
] as const;

const STORAGE_SHAPE = {
  type: z.enum(['memory', 'sqlite', 'file']).default('memory'),
  max_records_count: z.number().int().min(1).optional(),
  max_read_records_count: z.number().int().min(1).default(1000),
  data_file_path: z.string().min(1).default('./data/gateway.db'),
  messages_ttl_in_days: z.number().min(0).default(7),
  // Ours: a cap on the SQLite file (MB, fractions allowed); unset = as large as the disk allows.
  max_database_size_mb: z.number().min(0.0625).optional(),
  // Ours: below this much free disk new records are refused so that the outbox can still drain
  // (see outbox/space-guard.ts); 0 = no such bound.
  min_free_disk_space_mb: z.number().min(0).default(16),
};

const CONNECTOR_SHAPE = {
  type: z.string().min(1),
  name: z.string().min(1).optional(),
  configuration: z.string().min(1).optional(),
};

const USED_UNDER_THINGSBOARD: readonly string[] = GATEWAY_DEVICE_KEYS;

const GATEWAY_KEYS: KeyRules = {
  known: ['thingsboard', 'storage', 'connectors', 'statusServer'],
  ignored: PYTHON_GATEWAY_KEYS,
  children: {
    thingsboard: {
      known: [...Object.keys(THINGSBOARD_SHAPE), 'security', ...GATEWAY_DEVICE_KEYS],
      ignored: PYTHON_GATEWAY_KEYS.filter((k) => !USED_UNDER_THINGSBOARD.includes(k)),
      children: {
        security: { known: Object.keys(SECURITY_SHAPE), ignored: IGNORED_SECURITY_KEYS },
        statistics: { known: STATISTICS_KEYS },
      },
    },
    storage: { known: Object.keys(STORAGE_SHAPE), ignored: PYTHON_STORAGE_KEYS },
    statusServer: { known: statusServerKeys(), children: { uploads: { known: uploadsKeys() } } },
    connectors: {
      each: {
        known: Object.keys(CONNECTOR_SHAPE),
        ignored: ['useGRPC', 'class', 'key', 'id', 'configVersion'],
      },
    },
  },
};

/**
 * The keys of tb_gateway.json's `thingsboard` or `storage` this gateway reads; any other key there
 * (a Python-only one, a misspelt one, "__proto__") is kept in the file and has no effect.
 */
export function keysRead(section: 'thingsboard' | 'storage'): readonly string[] {
  const rules = GATEWAY_KEYS.children?.[section];
  return rules !== undefined && 'known' in rules ? rules.known : [];
}

/** An OCPP connector entry of tb_gateway.json, its ocpp.json not read yet. */
export interface ConnectorEntry {
  name: string;
  /** Absolute path of its ocpp.json. */
  file: string;
  /** Index in `connectors[]`, for problems about the entry. */
  index: number;
}

export interface GatewayFile {
  thingsboard: ThingsBoardConfig | undefined;
  gatewayDevice: GatewayDeviceConfig | undefined;
  storage: StorageConfig | undefined;
  connectors: ConnectorEntry[];
  statusServer: StatusServerConfig | undefined;
}

export interface GatewayFileContext {
  env: NodeJS.ProcessEnv;
  /** Where storage.data_file_path is relative to, as in the Python gateway. */
  cwd: string;
  report: ConfigReport;
}

/** `file` is absolute. Undefined when the file cannot be read or is not a JSON object. */
export function readGatewayFile(file: string, ctx: GatewayFileContext): GatewayFile | undefined {
  const doc = readJsonFile(file, ctx.report);
  if (doc === undefined) return undefined;
  return parseGatewayDocument(doc, file, ctx);
}

/**
 * A tb_gateway.json document already parsed (from the file, or a candidate from ThingsBoard's
 * remote configuration that is to be written to `file`), checked as the file would be.
 */
export function parseGatewayDocument(
  doc: unknown,
  file: string,
  ctx: GatewayFileContext,
): GatewayFile | undefined {
  const { report } = ctx;
  if (!isRecord(doc)) {
    report.problem(file, '$', `expected an object, got ${describeValue(doc, false)}`);
    return undefined;
  }
  noteKeys(doc, report);
  const dir = resolve(file, '..');
  return {
    thingsboard: readThingsBoard(doc.thingsboard, { file, dir, env: ctx.env, report }),
    gatewayDevice: readGatewayDevice(doc.thingsboard, { file, report }),
    storage: readStorage(doc.storage, file, ctx),
    connectors: readConnectorEntries(doc.connectors, file, dir, report),
    statusServer: readStatusServer(doc.statusServer, { file, env: ctx.env, report }),
  };
}

function noteKeys(doc: Record<string, unknown>, report: ConfigReport): void {
  const keys = checkKeys(doc, GATEWAY_KEYS);
  if (keys.ignored.length > 0) {
    report.info(`ignored keys not used by this gateway: ${keys.ignored.map(dottedPath).join(', ')}`);
  }
  for (const unknown of keys.unknown) {
    report.warn(`unknown key ${JSON.stringify(dottedPath(unknown.path))} — ${unknown.hint}`);
  }
}

function readStorage(raw: unknown, file: string, ctx: GatewayFileContext): StorageConfig | undefined {
  if (raw === undefined) return { type: 'memory', maxRecordsCount: 100_000, maxReadRecordsCount: 1000 };
  const storage = parseSection(z.object(STORAGE_SHAPE), raw, { file, at: ['storage'], report: ctx.report });
  if (storage === undefined) return undefined;
  if (storage.type === 'memory') {
    return {
      type: 'memory',
      maxRecordsCount: storage.max_records_count ?? 100_000,
      maxReadRecordsCount: storage.max_read_records_count,
    };
  }
  const dataFilePath = resolve(ctx.cwd, storage.data_file_path);
  if (storage.type === 'file') {
    // The Python file storage (a folder of numbered files) has no counterpart here; SQLite gives
    // the same persistence across restarts.
    ctx.report.warn(`storage.type "file" is treated as "sqlite": records are kept in ${dataFilePath}`);
  }
  return {
    type: 'sqlite',
    dataFilePath,
    maxRecordsCount: storage.max_records_count ?? 1_000_000,
    maxReadRecordsCount: storage.max_read_records_count,
    messagesTtlInDays: storage.messages_ttl_in_days,
    ...(storage.max_database_size_mb === undefined
      ? {}
      : { maxDatabaseSizeBytes: Math.floor(storage.max_database_size_mb * 1024 * 1024) }),
    minFreeDiskBytes: Math.floor(storage.min_free_disk_space_mb * 1024 * 1024),
  };
}

function readConnectorEntries(
  raw: unknown,
  file: string,
  dir: string,
  report: ConfigReport,
): ConnectorEntry[] {
  const list = parseSection(z.array(z.unknown()), raw, { file, at: ['connectors'], report });
  if (list === undefined) return [];
  const found: (Omit<ConnectorEntry, 'name'> & { name: string | undefined })[] = [];
  let ocppTyped = 0;
  list.forEach((item, index) => {
    const at = ['connectors', index];
    if (isRecord(item) && typeof item.type === 'string' && item.type.toLowerCase() === 'ocpp') ocppTyped++;
    const entry = parseSection(z.object(CONNECTOR_SHAPE), item, { file, at, report });
    if (entry === undefined) return;
    // The Python gateway lower-cases the type before looking it up.
    const type = entry.type.toLowerCase();
    const label = entry.name === undefined ? `connectors[${index}]` : JSON.stringify(entry.name);
    if (isRecord(item) && item.class !== undefined) {
      report.warn(`connector ${label} (custom class) skipped: this gateway only runs OCPP connectors`);
    } else if (type === 'ocpp') {
      if (entry.configuration === undefined) {
        report.problem(file, jsonPath([...at, 'configuration']), 'required');
      } else {
        found.push({ name: entry.name, file: resolve(dir, entry.configuration), index });
      }
    } else if ((PYTHON_CONNECTOR_TYPES as readonly string[]).includes(type)) {
      report.warn(
        `connector ${label} (type ${JSON.stringify(type)}) skipped: this gateway only runs OCPP connectors`,
      );
    } else {
      const hint = levenshtein(type, 'ocpp') <= 2 ? ' — did you mean "ocpp"?' : '';
      report.problem(
        file,
        jsonPath([...at, 'type']),
        `unknown connector type ${JSON.stringify(entry.type)}${hint}`,
      );
    }
  });
  if (ocppTyped === 0) {
    report.problem(
      file,
      '$.connectors',
      'no connector of type "ocpp": this gateway only runs OCPP connectors',
    );
  }
  const several = found.length > 1;
  const entries = found.map((e, k) => ({
    ...e,
    name: e.name ?? (several ? `OCPP Connector ${k + 1}` : 'OCPP Connector'),
  }));
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const first = seen.get(entry.name);
    if (first === undefined) seen.set(entry.name, entry.index);
    else {
      report.problem(
        file,
        jsonPath(['connectors', entry.index, 'name']),
        `duplicate connector name ${JSON.stringify(entry.name)} (also connectors[${first}])`,
      );
    }
  }
  return entries;
}
