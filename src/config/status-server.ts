/**
 * `statusServer` in tb_gateway.json (ours): the operator's HTTP surface — status page, JSON API,
 * /metrics, /healthz, /readyz. On by default, on the loopback interface only, at port 9011 (not
 * 8080: ThingsBoard's own web UI often runs on the same host; not 9000: the OCPP port).
 * Env TB_GW_STATUS_HOST / TB_GW_STATUS_PORT override the file (containers publish 0.0.0.0).
 */
import { z } from 'zod';
import { describeValue, type ConfigReport } from './report.js';
import type { StatusServerConfig } from './types.js';
import { parseSection } from './zod-issues.js';

export const DEFAULT_STATUS_PORT = 9011;

export const STATUS_SERVER_SHAPE = {
  enabled: z.boolean().default(true),
  host: z.string().min(1).default('127.0.0.1'),
  // 0 asks the OS for a free port (tests); the bound URL is logged.
  port: z.number().int().min(0).max(65535).default(DEFAULT_STATUS_PORT),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
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
  if (!ok) return undefined;
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
  return { enabled: parsed.enabled, host, port, ...(auth ? { auth } : {}) };
}

export function statusServerKeys(): string[] {
  return Object.keys(STATUS_SERVER_SHAPE);
}
