/**
 * The `thingsboard` section of tb_gateway.json: the broker, the gateway's credentials, and the
 * TB_GW_* environment overrides (applied after the file, as in the Python gateway's Docker image).
 */
import { z } from 'zod';
import { readConfiguredFile } from './files.js';
import { checkTlsMaterial, type TlsMaterial } from './tls.js';
import { isRecord } from './keys.js';
import { describeValue, jsonPath, type ConfigReport, type PathSegment } from './report.js';
import type { ThingsBoardConfig, TlsFiles } from './types.js';
import { parseSection } from './zod-issues.js';

export const SECURITY_TYPES = ['accessToken', 'usernamePassword', 'tlsAccessToken', 'tlsPrivateKey'] as const;
type SecurityType = (typeof SECURITY_TYPES)[number];

export const THINGSBOARD_SHAPE = {
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(1883),
  // ThingsBoard's MQTT transport does not support QoS 2.
  qos: z.literal([0, 1]).default(1),
  maxPayloadSizeBytes: z.number().int().min(1024).default(65536),
  // The next three are ours, not the Python gateway's: the reconnect backoff (first delay and
  // cap, ms) and how long SIGTERM/SIGINT keeps publishing the outbox before exiting.
  reconnectMinMs: z.number().int().min(1).default(1000),
  reconnectMaxMs: z.number().int().min(1).default(30000),
  shutdownGracePeriodSeconds: z.number().min(0).default(10),
  // Ours: deepest nesting accepted in a message from ThingsBoard (README "Security and limits").
  maxJsonDepth: z.number().int().min(8).max(1000).default(64),
};

const thingsboardSchema = z.object(THINGSBOARD_SHAPE).superRefine((tb, ctx) => {
  if (tb.reconnectMaxMs < tb.reconnectMinMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['reconnectMaxMs'],
      message: `must be at least reconnectMinMs (${tb.reconnectMinMs}), got ${tb.reconnectMaxMs}`,
    });
  }
});

// null is accepted as "not set": configuration UIs write empty fields that way.
const optionalText = z.string().min(1).nullish();

export const SECURITY_SHAPE = {
  type: z.enum(SECURITY_TYPES).optional(),
  accessToken: optionalText,
  username: optionalText,
  password: z.string().nullish(),
  clientId: optionalText,
  caCert: optionalText,
  cert: optionalText,
  privateKey: optionalText,
};
const securitySchema = z.object(SECURITY_SHAPE);

/** Python keys of the security object (X.509 certificate renewal) that we accept and ignore. */
export const IGNORED_SECURITY_KEYS = ['checkCertPeriod', 'certificateDaysLeft'] as const;

type SecurityKey = Exclude<keyof typeof SECURITY_SHAPE, 'type'>;
const SECURITY_KEYS: readonly SecurityKey[] = [
  'accessToken',
  'username',
  'password',
  'clientId',
  'caCert',
  'cert',
  'privateKey',
];

export const ENV = {
  host: 'TB_GW_HOST',
  port: 'TB_GW_PORT',
  type: 'TB_GW_SECURITY_TYPE',
  accessToken: 'TB_GW_ACCESS_TOKEN',
  username: 'TB_GW_USERNAME',
  password: 'TB_GW_PASSWORD',
  clientId: 'TB_GW_CLIENT_ID',
  caCert: 'TB_GW_CA_CERT',
  cert: 'TB_GW_CERT',
  privateKey: 'TB_GW_PRIVATE_KEY',
} as const;

interface Context {
  file: string;
  /** Folder of tb_gateway.json: relative certificate paths start there (env ones too). */
  dir: string;
  env: NodeJS.ProcessEnv;
  report: ConfigReport;
}

/** A setting and where it came from (`$.thingsboard.security.caCert` or `env TB_GW_CA_CERT`). */
interface Sourced {
  value: string;
  where: string;
}

const AT: PathSegment[] = ['thingsboard'];

/** `raw` is the section as found in the file (the caller reports it when missing). */
export function readThingsBoard(raw: unknown, ctx: Context): ThingsBoardConfig | undefined {
  const { file, report } = ctx;
  const base = parseSection(thingsboardSchema, raw, { file, at: AT, report });
  const rawSecurity = isRecord(raw) ? raw.security : undefined;
  const fileSecurity =
    rawSecurity === undefined
      ? undefined
      : parseSection(securitySchema, rawSecurity, { file, at: [...AT, 'security'], report });
  const { overrides: env, ok: envOk } = readEnv(ctx);
  if (!isRecord(raw)) return undefined;
  // Credentials are resolved even when other settings failed, so that a missing certificate is
  // reported in the same run as a bad port.
  const credentials =
    rawSecurity !== undefined && fileSecurity === undefined
      ? undefined
      : resolveCredentials(fileSecurity, env, ctx);
  if (base === undefined || !envOk || credentials === undefined) return undefined;
  return {
    host: env.host ?? base.host,
    port: env.port ?? base.port,
    qos: base.qos,
    maxPayloadSizeBytes: base.maxPayloadSizeBytes,
    reconnectMinMs: base.reconnectMinMs,
    reconnectMaxMs: base.reconnectMaxMs,
    shutdownGracePeriodMs: Math.round(base.shutdownGracePeriodSeconds * 1000),
    maxJsonDepth: base.maxJsonDepth,
    ...credentials,
  };
}

interface EnvOverrides extends Partial<Record<SecurityKey, string>> {
  host?: string;
  port?: number;
  type?: SecurityType;
}

/** Bad values are reported and left out; the others still apply, so no spurious problem follows. */
function readEnv({ env, file, report }: Context): { overrides: EnvOverrides; ok: boolean } {
  // Compose files pass unset variables as empty strings: empty means "not set".
  const get = (name: string) => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };
  const overrides: EnvOverrides = {};
  let ok = true;
  const host = get(ENV.host);
  if (host !== undefined) overrides.host = host.trim();
  const port = get(ENV.port);
  if (port !== undefined) {
    const n = /^\s*\d+\s*$/.test(port) ? Number(port) : NaN;
    if (n >= 1 && n <= 65535) overrides.port = n;
    else {
      report.problem(
        file,
        `env ${ENV.port}`,
        `expected an integer from 1 to 65535, got ${describeValue(port, false)}`,
      );
      ok = false;
    }
  }
  const type = get(ENV.type);
  if (type !== undefined) {
    const known = SECURITY_TYPES.find((t) => t === type.trim());
    if (known !== undefined) overrides.type = known;
    else {
      const valid = SECURITY_TYPES.map((t) => JSON.stringify(t)).join(', ');
      report.problem(file, `env ${ENV.type}`, `expected one of ${valid}, got ${describeValue(type, false)}`);
      ok = false;
    }
  }
  for (const key of SECURITY_KEYS) {
    const value = get(ENV[key]);
    if (value !== undefined) overrides[key] = value;
  }
  return { overrides, ok };
}

type Credentials = Pick<ThingsBoardConfig, 'username' | 'password' | 'clientId' | 'tls'>;

function resolveCredentials(
  fileSecurity: z.output<typeof securitySchema> | undefined,
  env: EnvOverrides,
  ctx: Context,
): Credentials | undefined {
  const settings: Partial<Record<SecurityKey, Sourced>> = {};
  for (const key of SECURITY_KEYS) {
    const fromEnv = env[key];
    const fromFile = fileSecurity?.[key];
    if (fromEnv !== undefined) settings[key] = { value: fromEnv, where: `env ${ENV[key]}` };
    else if (fromFile !== undefined && fromFile !== null) {
      settings[key] = { value: fromFile, where: jsonPath([...AT, 'security', key]) };
    }
  }
  const type = securityType(fileSecurity?.type, env, settings);
  const { file, report } = ctx;
  const securityPath = jsonPath([...AT, 'security']);
  const requireSetting = (key: SecurityKey): Sourced | undefined => {
    const setting = settings[key];
    if (setting === undefined) {
      report.problem(
        file,
        jsonPath([...AT, 'security', key]),
        `required by security type ${JSON.stringify(type)} (or set ${ENV[key]})`,
      );
    }
    return setting;
  };

  let ok = true;
  const credentials: Credentials = {};
  switch (type) {
    case undefined:
      report.warn('thingsboard.security is not set: connecting to the broker without credentials');
      break;
    case 'accessToken':
    case 'tlsAccessToken': {
      const token = requireSetting('accessToken');
      if (token === undefined) ok = false;
      else credentials.username = token.value;
      break;
    }
    case 'usernamePassword':
      if (settings.username === undefined && settings.clientId === undefined) {
        report.problem(file, securityPath, `security type "usernamePassword" needs "username" or "clientId"`);
        ok = false;
      }
      if (settings.username !== undefined) credentials.username = settings.username.value;
      if (settings.password !== undefined) credentials.password = settings.password.value;
      break;
    case 'tlsPrivateKey':
      if (requireSetting('cert') === undefined) ok = false;
      if (requireSetting('privateKey') === undefined) ok = false;
      break;
  }
  if (settings.clientId !== undefined) credentials.clientId = settings.clientId.value;

  // Certificate files given with any type turn TLS on; the tls* types turn it on without a CA
  // file too (the system's CAs then verify the broker, as for a public ThingsBoard cloud).
  const tls: TlsFiles = {};
  const material: TlsMaterial = {};
  const files: [SecurityKey, keyof TlsFiles][] = [
    ['caCert', 'ca'],
    ['cert', 'cert'],
    ['privateKey', 'key'],
  ];
  const whereOf = new Map<keyof TlsFiles, string>();
  for (const [key, tlsKey] of files) {
    const setting = settings[key];
    if (setting === undefined) continue;
    whereOf.set(tlsKey, setting.where);
    const read = readConfiguredFile(ctx.dir, setting.value);
    if (read.ok) {
      tls[tlsKey] = read.data;
      material[tlsKey] = { file: read.file, data: read.data };
    } else {
      report.problem(file, setting.where, read.message);
      ok = false;
    }
  }
  // The broker link has no key password setting: an encrypted key is reported as such.
  for (const problem of checkTlsMaterial(material)) {
    const field = problem.field === 'password' ? 'key' : problem.field;
    report.problem(file, whereOf.get(field) ?? jsonPath([...AT, 'security']), problem.message);
    ok = false;
  }
  const anyFile = files.some(([key]) => settings[key] !== undefined);
  if (type === 'tlsAccessToken' || type === 'tlsPrivateKey' || anyFile) credentials.tls = tls;
  return ok ? credentials : undefined;
}

/**
 * The type in force: TB_GW_SECURITY_TYPE; else what the env credentials imply (a token keeps a
 * file's tlsAccessToken, so a Docker secret does not switch TLS off); else the file's `type`;
 * else what the untyped Python forms imply (`{accessToken}`, `{accessToken, caCert}`,
 * `{caCert, cert, privateKey}`, `{username, password, clientId}`).
 */
function securityType(
  fileType: SecurityType | undefined,
  env: EnvOverrides,
  settings: Partial<Record<SecurityKey, Sourced>>,
): SecurityType | undefined {
  if (env.type !== undefined) return env.type;
  if (env.accessToken !== undefined) return fileType === 'tlsAccessToken' ? 'tlsAccessToken' : 'accessToken';
  if (env.username !== undefined || env.password !== undefined) return 'usernamePassword';
  if (fileType !== undefined) return fileType;
  if (settings.accessToken !== undefined) {
    return settings.caCert !== undefined ? 'tlsAccessToken' : 'accessToken';
  }
  if (settings.cert !== undefined || settings.privateKey !== undefined || settings.caCert !== undefined) {
    return 'tlsPrivateKey';
  }
  if (settings.username !== undefined || settings.clientId !== undefined || settings.password !== undefined) {
    return 'usernamePassword';
  }
  return undefined;
}
