/**
 * `statusServer` in tb_gateway.json (ours): the operator's HTTP surface — status page, JSON API,
 * /metrics, /healthz, /readyz. On by default, on the loopback interface only, at port 9011 (not
 * 8080: ThingsBoard's own web UI often runs on the same host; not 9000: the OCPP port).
 * Env TB_GW_STATUS_HOST / TB_GW_STATUS_PORT override the file (containers publish 0.0.0.0).
 * `statusServer.uploads` (off unless given) receives the logs stations upload (see status/uploads.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { describeValue, type ConfigReport } from './report.js';
import type { StatusServerConfig, UploadsConfig } from './types.js';
import { parseSection } from './zod-issues.js';

export const DEFAULT_STATUS_PORT = 9011;

export const UPLOADS_SHAPE = {
  enabled: z.boolean().default(true),
  folder: z.string().min(1).default('uploads'),
  maxBytes: z
    .number()
    .int()
    .min(1)
    .max(2 ** 40)
    .default(50 * 1024 * 1024),
  publicUrl: z.string().min(1).optional(),
  /** Seconds; an hour covers a station's retries (GetLog `retries` × `retryInterval`). */
  urlValidity: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(3600),
};

export const STATUS_SERVER_SHAPE = {
  enabled: z.boolean().default(true),
  host: z.string().min(1).default('127.0.0.1'),
  // 0 asks the OS for a free port (tests); the bound URL is logged.
  port: z.number().int().min(0).max(65535).default(DEFAULT_STATUS_PORT),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  uploads: z.object(UPLOADS_SHAPE).optional(),
};

export const STATUS_ENV = { host: 'TB_GW_STATUS_HOST', port: 'TB_GW_STATUS_PORT' } as const;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function readStatusServer(
  raw: unknown,
  ctx: { file: string; env: NodeJS.ProcessEnv; report: ConfigReport },
): StatusServerConfig | undefined {
  const { file, env, report } = ctx;
  const parsed = parseSection(z.object(STATUS_SERVER_SHAPE).prefault({}), raw, {
    file,
    at: ['statusServer'],
    report,
  });
  if (parsed === undefined) return undefined;
  let ok = true;
  if ((parsed.username === undefined) !== (parsed.password === undefined)) {
    const missing = parsed.username === undefined ? 'username' : 'password';
    report.problem(file, `$.statusServer.${missing}`, 'required when the other basic-auth credential is set');
    ok = false;
  }
  const host = env[STATUS_ENV.host]?.trim() || parsed.host;
  let port = parsed.port;
  const envPort = env[STATUS_ENV.port]?.trim();
  if (envPort) {
    const n = /^\d+$/.test(envPort) ? Number(envPort) : NaN;
    if (n >= 0 && n <= 65535) port = n;
    else {
      report.problem(
        file,
        `env ${STATUS_ENV.port}`,
        `expected an integer from 0 to 65535, got ${describeValue(envPort, false)}`,
      );
      ok = false;
    }
  }
  const uploads = parsed.uploads?.enabled
    ? readUploads(parsed.uploads, { file, host, enabled: parsed.enabled, report })
    : undefined;
  if (!ok || uploads === null) return undefined;
  const auth =
    parsed.username !== undefined && parsed.password !== undefined
      ? { username: parsed.username, password: parsed.password }
      : undefined;
  if (parsed.enabled && !auth && !LOOPBACK.test(host)) {
    report.warn(
      `statusServer listens on ${host} without credentials: anyone who can reach it sees charge point ids ` +
        'and addresses and can start frame traces; set statusServer.username/password or bind it to 127.0.0.1',
    );
  }
  return { enabled: parsed.enabled, host, port, ...(auth ? { auth } : {}), ...(uploads ? { uploads } : {}) };
}

/** Null after a problem was reported. */
function readUploads(
  raw: z.output<z.ZodObject<typeof UPLOADS_SHAPE>>,
  ctx: { file: string; host: string; enabled: boolean; report: ConfigReport },
): UploadsConfig | null {
  const { file, report } = ctx;
  const at = '$.statusServer.uploads';
  let ok = true;
  if (!ctx.enabled) {
    report.problem(
      file,
      `${at}.enabled`,
      'log uploads are served by the status server: set statusServer.enabled',
    );
    ok = false;
  }
  // Relative to tb_gateway.json, like the other files it names.
  const folder = resolve(file, '..', raw.folder);
  const existing = statSync(folder, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) {
    report.problem(file, `${at}.folder`, `${folder} exists and is not a folder`);
    ok = false;
  }
  let publicUrl: string | undefined;
  if (raw.publicUrl !== undefined) {
    const url = URL.canParse(raw.publicUrl) ? new URL(raw.publicUrl) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.search) {
      report.problem(
        file,
        `${at}.publicUrl`,
        'expected an http:// or https:// URL without credentials or query, e.g. "http://192.0.2.10:9011/"',
      );
      ok = false;
    } else publicUrl = url.href.endsWith('/') ? url.href : `${url.href}/`;
  } else if (UNSPECIFIED.test(ctx.host)) {
    report.problem(
      file,
      `${at}.publicUrl`,
      `required when the status server listens on ${ctx.host}: the address stations reach it at, e.g. "http://192.0.2.10:9011/"`,
    );
    ok = false;
  } else if (LOOPBACK.test(ctx.host)) {
    report.warn(
      `statusServer.uploads: upload URLs name ${ctx.host}, which only this machine reaches; set statusServer.uploads.publicUrl ` +
        '(e.g. to a reverse proxy that forwards /uploads/) for stations elsewhere',
    );
  }
  if (!ok) return null;
  return {
    folder,
    maxBytes: raw.maxBytes,
    urlValiditySeconds: raw.urlValidity,
    ...(publicUrl === undefined ? {} : { publicUrl }),
  };
}

const UNSPECIFIED = /^(0\.0\.0\.0|::|\[::\])$/;

export function statusServerKeys(): string[] {
  return Object.keys(STATUS_SERVER_SHAPE);
}

export function uploadsKeys(): string[] {
  return Object.keys(UPLOADS_SHAPE);
}
