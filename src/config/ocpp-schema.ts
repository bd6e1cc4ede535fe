/**
 * The ocpp.json schema: the seed document's format (defaults from its tables) plus our extras.
 * Templates and regular expressions are compiled and certificate files read inside the schema, so
 * that one parse reports every problem of the file, each at its own path.
 *
 * Built per file because relative file paths start at that file's folder.
 */
import { z } from 'zod';
import { TemplateSyntaxError } from '../errors.js';
import { compileTemplate } from '../expressions/template.js';
import type { TemplateMode } from '../expressions/types.js';
import {
  authorization,
  chargePointCsms,
  CHARGE_POINT_CSMS_SHAPE,
  CSMS_KEY_RULES,
  valueType,
} from './csms-schema.js';
import { addressPattern } from './address-patterns.js';
import { readConfiguredFile } from './files.js';
import { compileLinearPattern } from './linear-regexp.js';
import { checkTlsMaterial, type TlsFile } from './tls.js';
import { byType, type KeyRules } from './keys.js';
import { checkServerPairs, checkSigningCa } from '../security/key-pairs.js';
import type {
  AttributeUpdateMapping,
  ChargePointConfig,
  ConnectionConfig,
  DatapointMapping,
  OcppVersion,
  RpcMapping,
  SecurityRule,
  SigningCaConfig,
} from './types.js';

export const OCPP_VERSIONS = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const satisfies readonly OcppVersion[];

/** Keys the Python connector writes into ocpp.json (its UI and remote configuration) and we ignore. */
const IGNORED_TOP_KEYS = [
  'id',
  'name',
  'reportStrategy',
  'extension',
  'extensionConfig',
  'configVersion',
  'converter',
];
const IGNORED_CHARGE_POINT_KEYS = ['reportStrategy', 'extension', 'extensionConfig'];

type Issues = z.core.ParsePayload['issues'];

function addIssue(issues: Issues, message: string, input: unknown): void {
  issues.push({ code: 'custom', message, input });
}

/** Reports a problem from inside a transform; the transform's output is then never used. */
function fail(issues: Issues, message: string, input: unknown): never {
  addIssue(issues, message, input);
  return z.NEVER;
}

function template(mode: TemplateMode, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((source, ctx) => {
      try {
        return compileTemplate(source, mode);
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        return fail(ctx.issues, `invalid template: ${error.message}`, source);
      }
    });
}

/** Comma-separated OCPP actions. Unlike the Python connector, items are trimmed. */
const messageTypeFilter = z
  .string()
  .default('MeterValues,')
  .transform((filter, ctx) => {
    const types = filter
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (types.length > 0) return types;
    return fail(
      ctx.issues,
      'names no message type: list OCPP actions separated by commas, e.g. "MeterValues,"',
      filter,
    );
  });

/**
 * Anchored at both ends, unlike Python's re.match (start only), so that `CP_1` does not also
 * claim `CP_10`; matched in linear time (see linear-regexp.ts), because ids are attacker-chosen.
 */
const idRegexpPattern = z
  .string()
  .min(1)
  .default('charge_points/CP_1')
  .transform((pattern, ctx) => {
    const compiled = compileLinearPattern(pattern);
    if (compiled.ok) return { pattern, regexp: compiled.regexp };
    return fail(ctx.issues, compiled.reason, pattern);
  });

const DATAPOINT_SHAPE = {
  messageTypeFilter,
  key: template('text', 'temp'),
  value: template('text', '${meter_value[:].sampled_value[:].value}'),
  type: valueType,
};
const datapoint = z.object(DATAPOINT_SHAPE).transform((d): DatapointMapping => ({
  messageTypes: d.messageTypeFilter,
  key: d.key,
  value: d.value,
  ...(d.type === undefined ? {} : { type: d.type }),
}));

// OCPP 1.6 and 2.x DataTransfer: vendorId ≤ 255 characters, messageId ≤ 50.
const DOWNLINK_SHAPE = {
  action: z.string().trim().min(1).optional(),
  vendorId: z.string().min(1).max(255).default('ThingsBoard'),
  messageId: z.string().min(1).max(50).optional(),
};

const ATTRIBUTE_UPDATE_SHAPE = {
  attributeOnThingsBoard: z.string().min(1).default('sharedName'),
  valueExpression: template('json', '{"${attributeKey}":"${attributeValue}"}'),
  ...DOWNLINK_SHAPE,
};
const attributeUpdate = z.object(ATTRIBUTE_UPDATE_SHAPE).transform((u): AttributeUpdateMapping => ({
  attributeOnThingsBoard: u.attributeOnThingsBoard,
  valueExpression: u.valueExpression,
  vendorId: u.vendorId,
  ...(u.action === undefined ? {} : { action: u.action }),
  ...(u.messageId === undefined ? {} : { messageId: u.messageId }),
}));

const SERVER_SIDE_RPC_SHAPE = {
  methodRPC: z.string().min(1).default('rpcMethod1'),
  withResponse: z.boolean().default(true),
  valueExpression: template('json', '${params}'),
  ...DOWNLINK_SHAPE,
  /** Seconds to wait for the charge point's answer. */
  timeout: z.number().positive().default(30),
};
const serverSideRpc = z.object(SERVER_SIDE_RPC_SHAPE).transform((r): RpcMapping => ({
  methodRPC: r.methodRPC,
  withResponse: r.withResponse,
  valueExpression: r.valueExpression,
  vendorId: r.vendorId,
  timeoutMs: Math.round(r.timeout * 1000),
  ...(r.action === undefined ? {} : { action: r.action }),
  ...(r.messageId === undefined ? {} : { messageId: r.messageId }),
}));

const CHARGE_POINT_SHAPE = {
  idRegexpPattern,
  host: addressPattern,
  port: addressPattern,
  deviceNameExpression: template('text', '${Vendor} ${Model}'),
  deviceTypeExpression: template('text', '${Model}'),
  attributes: z.array(datapoint).default([]),
  timeseries: z.array(datapoint).default([]),
  attributeUpdates: z.array(attributeUpdate).default([]),
  serverSideRpc: z.array(serverSideRpc).default([]),
  ...CHARGE_POINT_CSMS_SHAPE,
};
const chargePoint = z.object(CHARGE_POINT_SHAPE).transform((cp): ChargePointConfig => ({
  idRegexpPattern: cp.idRegexpPattern.pattern,
  idRegexp: cp.idRegexpPattern.regexp,
  ...(cp.host === undefined ? {} : { host: cp.host }),
  ...(cp.port === undefined ? {} : { port: cp.port }),
  deviceNameExpression: cp.deviceNameExpression,
  deviceTypeExpression: cp.deviceTypeExpression,
  attributes: cp.attributes,
  timeseries: cp.timeseries,
  attributeUpdates: cp.attributeUpdates,
  serverSideRpc: cp.serverSideRpc,
  ...chargePointCsms(cp),
}));

const ocppVersions = z
  .array(z.enum(OCPP_VERSIONS))
  .min(1)
  .default([...OCPP_VERSIONS])
  .superRefine((versions, ctx) => {
    versions.forEach((v, i) => {
      if (versions.indexOf(v) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `${JSON.stringify(v)} is listed twice`,
          input: v,
        });
      }
    });
  });

export type ParsedSecurityRule = SecurityRule | { type: 'anonymous' };

/** The Python connector lower-cases `connection.type` and `security[].type` (`"TLS"` works there). */
function lowerCaseType(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && type !== type.toLowerCase()
    ? { ...value, type: type.toLowerCase() }
    : value;
}

/**
 * An object of strings read into a Map. Not z.record: its output is a plain object, which drops a
 * `__proto__` key (a valid charge point id) and would let `constructor` read Object.prototype.
 */
const stringMap = z.unknown().transform((raw, ctx): Map<string, string> => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail(ctx.issues, 'expected an object', raw);
  }
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') map.set(key, value);
    else ctx.issues.push({ code: 'invalid_type', expected: 'string', path: [key], input: value });
  }
  return map;
});

/** The schema of one ocpp.json, and the key names it allows (for the unknown-key check). */
export function ocppFileSchema(dir: string) {
  // Certificates keep their file name until checked, so that a problem can name the file.
  const tlsFile = z
    .string()
    .min(1)
    .transform((path, ctx): TlsFile => {
      const read = readConfiguredFile(dir, path);
      return read.ok ? { file: read.file, data: read.data } : fail(ctx.issues, read.message, path);
    });

  /** One file, or (ours) a list of files paired by position; each read relative to ocpp.json. */
  const tlsFiles = z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)])
    .transform((value, ctx) => {
      const single = typeof value === 'string';
      const files: TlsFile[] = [];
      (single ? [value] : value).forEach((path, i) => {
        const read = readConfiguredFile(dir, path);
        if (read.ok) files.push({ file: read.file, data: read.data });
        else ctx.addIssue({ code: 'custom', message: read.message, input: path, path: single ? [] : [i] });
      });
      return { single, files };
    });

  const SIGNING_CA_SHAPE = {
    cert: tlsFile,
    key: tlsFile,
    password: z.string().optional(),
    organization: z.string().trim().min(1).max(64).optional(),
    validityDays: z.number().int().min(1).max(3650).default(365),
  };
  const signingCa = z
    .object(SIGNING_CA_SHAPE)
    .superRefine((ca, ctx) => {
      for (const problem of checkSigningCa(ca)) {
        ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message, input: undefined });
      }
    })
    .transform((ca): SigningCaConfig => ({
      certFile: ca.cert.file,
      cert: ca.cert.data,
      key: ca.key.data,
      validityDays: ca.validityDays,
      ...(ca.password === undefined ? {} : { password: ca.password }),
      ...(ca.organization === undefined ? {} : { organization: ca.organization }),
    }));

  const INSECURE_SHAPE = { type: z.literal('insecure'), signingCa: signingCa.optional() };
  const TLS_SHAPE = {
    type: z.literal('tls'),
    cert: tlsFiles,
    key: tlsFiles,
    password: z.string().optional(),
    ca: tlsFile.optional(),
    requireClientCertificate: z.boolean().default(false),
    clientCertificateCnMustMatchId: z.boolean().default(false),
    /** OCPP A00.FR.404: the O a client certificate must name (the operator's). */
    clientCertificateOrganization: z.string().trim().min(1).max(64).optional(),
    allowLegacyTls: z.boolean().default(false),
    /** Seconds between checks of the certificate files for a renewal; 0 = never. */
    certificateCheckInterval: z.number().min(0).max(86_400).default(30),
    signingCa: signingCa.optional(),
  };
  const tlsConnection = z
    .object(TLS_SHAPE)
    .superRefine((tls, ctx) => {
      // Each pair as config/tls.ts checks any TLS material, plus what a list adds (pairing, one
      // certificate per key type).
      for (const p of checkServerPairs(tls.cert.files, tls.key.files, tls.password)) {
        const single = p.field === 'cert' ? tls.cert.single : tls.key.single;
        ctx.addIssue({
          code: 'custom',
          path: p.field === 'password' || single ? [p.field] : [p.field, p.index],
          message: p.message,
          input: undefined,
        });
      }
      if (tls.ca !== undefined) {
        for (const problem of checkTlsMaterial({ ca: tls.ca })) {
          ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message, input: undefined });
        }
      }
      if (tls.clientCertificateCnMustMatchId && !tls.requireClientCertificate) {
        ctx.addIssue({
          code: 'custom',
          path: ['clientCertificateCnMustMatchId'],
          message: 'needs "requireClientCertificate": true',
          input: true,
        });
      }
      if (tls.clientCertificateOrganization !== undefined && !tls.requireClientCertificate) {
        ctx.addIssue({
          code: 'custom',
          path: ['clientCertificateOrganization'],
          message: 'needs "requireClientCertificate": true',
          input: tls.clientCertificateOrganization,
        });
      }
    })
    .transform((tls): ConnectionConfig => {
      const { cert, key, ca, certificateCheckInterval, signingCa: signer, password, ...rest } = tls;
      return {
        ...rest,
        cert: cert.files.map((f) => f.data),
        key: key.files.map((f) => f.data),
        files: {
          cert: cert.files.map((f) => f.file),
          key: key.files.map((f) => f.file),
          ...(ca === undefined ? {} : { ca: ca.file }),
        },
        certificateCheckIntervalMs: Math.round(certificateCheckInterval * 1000),
        ...(password === undefined ? {} : { password }),
        ...(ca === undefined ? {} : { ca: ca.data }),
        ...(signer === undefined ? {} : { signingCa: signer }),
      };
    });
  const connectionUnion = z.discriminatedUnion('type', [
    z
      .object(INSECURE_SHAPE)
      .transform((c): ConnectionConfig =>
        c.signingCa === undefined ? { type: c.type } : { type: c.type, signingCa: c.signingCa },
      ),
    tlsConnection,
  ]);
  const connection = z.preprocess(lowerCaseType, connectionUnion).default({ type: 'insecure' });

  const CREDENTIAL_SHAPE = { username: z.string(), password: z.string() };
  const TOKEN_SHAPE = { type: z.literal('token'), tokens: z.array(z.string()) };
  const BASIC_SHAPE = {
    type: z.literal('basic'),
    credentials: z.array(z.object(CREDENTIAL_SHAPE)).default([]),
    usernameIsChargePointId: z.boolean().default(false),
    passwords: stringMap.default(new Map()),
    passwordsFile: z
      .string()
      .min(1)
      .transform((path, ctx) => {
        const read = readConfiguredFile(dir, path);
        if (!read.ok) return fail(ctx.issues, read.message, path);
        return parsePasswordsFile(read.file, read.data.toString('utf8'), ctx.issues);
      })
      .optional(),
  };
  const ANONYMOUS_SHAPE = { type: z.literal('anonymous') };
  const securityRule = z.discriminatedUnion('type', [
    z.object(TOKEN_SHAPE),
    z.object(BASIC_SHAPE).superRefine((basic, ctx) => {
      const none = basic.credentials.length === 0 && basic.passwords.size === 0;
      if (basic.usernameIsChargePointId && none && basic.passwordsFile === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['usernameIsChargePointId'],
          message: 'needs "passwords", "passwordsFile" or "credentials" to check the passwords against',
          input: true,
        });
      }
    }),
    z.object(ANONYMOUS_SHAPE),
  ]);
  const toRule = (rule: z.output<typeof securityRule>): ParsedSecurityRule =>
    rule.type === 'basic'
      ? {
          type: 'basic',
          credentials: rule.credentials,
          usernameIsChargePointId: rule.usernameIsChargePointId,
          passwords: rule.passwords,
          passwordHashes: rule.passwordsFile ?? new Map(),
        }
      : rule;

  const CENTRAL_SYSTEM_SHAPE = {
    name: z.string().default('Central System'),
    host: z.string().min(1).default('127.0.0.1'),
    // 0 asks the OS for a free port (tests).
    port: z.number().int().min(0).max(65535).default(9000),
    connection,
    security: z.array(z.preprocess(lowerCaseType, securityRule.transform(toRule))).default([]),
    ocppVersions,
    heartbeatInterval: z.number().int().min(1).default(60),
    pingInterval: z.number().int().min(0).default(30),
    maxMessageSize: z.number().int().min(1024).default(1_048_576),
    compression: z.boolean().default(true),
    announceUnbootedAfter: z.number().int().min(0).default(10),
    // Bounds against hostile or broken peers (ours; README "Security and limits").
    maxJsonDepth: z.number().int().min(8).max(1000).default(64),
    maxSendBufferSize: z.number().int().min(16_384).default(1_048_576),
    sendStallTimeout: z.number().positive().default(30),
    maxQueuedCalls: z.number().int().min(1).max(10_000).default(64),
    maxChargePointIdLength: z.number().int().min(1).max(8192).default(255),
  };
  const OCPP_FILE_SHAPE = {
    centralSystem: z.object(CENTRAL_SYSTEM_SHAPE).prefault({}),
    chargePoints: z.array(chargePoint),
    authorization,
    // Written by the Python gateway and its gateway page; read here for remote logs
    // (gateway-device/remote-logs.ts): this connector's `<name>_LOGS`, at this level.
    logLevel: z.string().optional(),
    enableRemoteLogging: z.boolean().optional(),
  };

  const keys: KeyRules = {
    known: Object.keys(OCPP_FILE_SHAPE),
    ignored: IGNORED_TOP_KEYS,
    children: {
      centralSystem: {
        known: Object.keys(CENTRAL_SYSTEM_SHAPE),
        children: {
          connection: byType({
            insecure: { ...rulesOf(INSECURE_SHAPE), children: { signingCa: rulesOf(SIGNING_CA_SHAPE) } },
            tls: { ...rulesOf(TLS_SHAPE), children: { signingCa: rulesOf(SIGNING_CA_SHAPE) } },
          }),
          security: {
            each: byType({
              token: rulesOf(TOKEN_SHAPE),
              basic: {
                ...rulesOf(BASIC_SHAPE),
                children: { credentials: { each: rulesOf(CREDENTIAL_SHAPE) } },
              },
              anonymous: rulesOf(ANONYMOUS_SHAPE),
            }),
          },
        },
      },
      authorization: CSMS_KEY_RULES.authorization,
      chargePoints: {
        each: {
          known: Object.keys(CHARGE_POINT_SHAPE),
          ignored: IGNORED_CHARGE_POINT_KEYS,
          children: {
            attributes: { each: rulesOf(DATAPOINT_SHAPE) },
            timeseries: { each: rulesOf(DATAPOINT_SHAPE) },
            attributeUpdates: { each: rulesOf(ATTRIBUTE_UPDATE_SHAPE) },
            serverSideRpc: { each: rulesOf(SERVER_SIDE_RPC_SHAPE) },
            ...CSMS_KEY_RULES.chargePointChildren,
          },
        },
      },
    },
  };
  return { schema: z.object(OCPP_FILE_SHAPE), keys };
}

function rulesOf(shape: object): KeyRules {
  return { known: Object.keys(shape) };
}

const PASSWORD_LINE = /^(.+):([0-9a-fA-F]{64})$/;

/**
 * `passwordsFile`: one `<charge point id>:<sha256 hex>` per line; blank lines and `#` comments
 * are skipped. Problems name the line number, never its content (a hash is still a secret).
 */
function parsePasswordsFile(file: string, text: string, issues: Issues): Map<string, string> {
  const hashes = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const before = issues.length;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (line === '' || line.startsWith('#')) return;
    const match = PASSWORD_LINE.exec(line);
    const id = match?.[1]?.trim();
    const hash = match?.[2];
    if (id === undefined || id === '' || hash === undefined) {
      addIssue(
        issues,
        `${file} line ${n}: expected "<charge point id>:<64 hex digits of sha256>"`,
        undefined,
      );
      return;
    }
    const first = lineOf.get(id);
    if (first !== undefined) {
      addIssue(
        issues,
        `${file} line ${n}: charge point ${JSON.stringify(id)} is already listed on line ${first}`,
        undefined,
      );
      return;
    }
    lineOf.set(id, n);
    hashes.set(id, hash.toLowerCase());
  });
  return issues.length === before ? hashes : z.NEVER;
}
