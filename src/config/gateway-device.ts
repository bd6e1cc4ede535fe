/**
 * The keys of tb_gateway.json's `thingsboard` section that are about the gateway device itself in
 * ThingsBoard: statistics, remote configuration, device renaming, and local rate-limit overrides.
 * The Python gateway reads them from the same place with the same meaning (read from
 * `thingsboard_gateway/gateway/tb_client.py` and `tb_gateway_service.py`, release 3.8):
 *
 * | key                        | limits                                              | SDK argument                     |
 * | -------------------------- | --------------------------------------------------- | -------------------------------- |
 * | `messagesRateLimits`       | the gateway device's own messages                   | `messages_rate_limit`            |
 * | `rateLimits`               | the gateway device's own telemetry messages         | `telemetry_rate_limit`           |
 * | `dpRateLimits`             | the gateway device's own telemetry datapoints       | `telemetry_dp_rate_limit`        |
 * | `deviceMessagesRateLimits` | messages of the devices behind the gateway          | `device_messages_rate_limit`     |
 * | `deviceRateLimits`         | telemetry messages of the devices behind it         | `device_telemetry_rate_limit`    |
 * | `deviceDpRateLimits`       | telemetry datapoints of the devices behind it       | `device_telemetry_dp_rate_limit` |
 */
import { z } from 'zod';
import { isRecord } from './keys.js';
import { describeValue, jsonPath, type ConfigReport } from './report.js';
import type {
  GatewayDeviceConfig,
  RateLimitOverrides,
  RateLimitSet,
  RateLimitWindow,
  StatisticsConfig,
} from './types.js';
import { parseSection } from './zod-issues.js';

/** tb_gateway.json key → [which traffic, which limit]. */
export const RATE_LIMIT_KEYS = {
  messagesRateLimits: ['device', 'messages'],
  rateLimits: ['device', 'telemetryMessages'],
  dpRateLimits: ['device', 'telemetryDataPoints'],
  deviceMessagesRateLimits: ['devices', 'messages'],
  deviceRateLimits: ['devices', 'telemetryMessages'],
  deviceDpRateLimits: ['devices', 'telemetryDataPoints'],
} as const satisfies Record<string, [keyof RateLimitOverrides, keyof RateLimitSet]>;

/** `statsSendPeriodInSeconds` below this is raised to it, as the Python gateway does. */
export const MIN_STATS_PERIOD_SECONDS = 10;

const STATISTICS_SHAPE = {
  enable: z.boolean().default(false),
  statsSendPeriodInSeconds: z.number().positive().default(60),
  // The Python gateway's custom statistics (shell commands from a file): accepted, not run.
  enableCustom: z.boolean().optional(),
  customStatsSendPeriodInSeconds: z.number().optional(),
  configuration: z.string().nullish(),
  commands: z.array(z.unknown()).optional(),
};

/** Keys of `thingsboard` read here (known to the key check of gateway-file.ts). */
export const GATEWAY_DEVICE_KEYS = [
  'statistics',
  'remoteConfiguration',
  'handleDeviceRenaming',
  ...Object.keys(RATE_LIMIT_KEYS),
] as const;

export const STATISTICS_KEYS = Object.keys(STATISTICS_SHAPE);

const flags = z.object({
  remoteConfiguration: z.boolean().default(false),
  handleDeviceRenaming: z.boolean().default(true),
});

interface Context {
  file: string;
  report: ConfigReport;
}

/** `raw` is the `thingsboard` section as found in the file. Undefined when a value is wrong. */
export function readGatewayDevice(raw: unknown, ctx: Context): GatewayDeviceConfig | undefined {
  const section = isRecord(raw) ? raw : {};
  const { file, report } = ctx;
  const at = ['thingsboard'];
  const base = parseSection(
    flags,
    { remoteConfiguration: section.remoteConfiguration, handleDeviceRenaming: section.handleDeviceRenaming },
    { file, at, report },
  );
  const statistics = readStatistics(section.statistics, ctx);
  let ok = base !== undefined && statistics !== undefined;
  const rateLimits: RateLimitOverrides = { device: {}, devices: {} };
  for (const [key, [traffic, limit]] of Object.entries(RATE_LIMIT_KEYS)) {
    if (!Object.hasOwn(section, key)) continue;
    const parsed = parseRateLimitSetting(section[key]);
    if (!parsed.ok) {
      report.problem(file, jsonPath([...at, key]), parsed.message);
      ok = false;
    } else if (parsed.windows !== undefined) rateLimits[traffic][limit] = parsed.windows;
  }
  if (section.remoteShell === true) {
    report.info('thingsboard.remoteShell is not supported by this gateway: no shell commands are run');
  }
  if (!ok || base === undefined || statistics === undefined) return undefined;
  return { ...base, statistics, rateLimits };
}

function readStatistics(raw: unknown, ctx: Context): StatisticsConfig | undefined {
  // Absent: off. (The Python gateway sends statistics when the key is absent; a file that never
  // asked for them keeps behaving as before here.)
  if (raw === undefined || raw === null) return { enable: false, periodMs: 60_000 };
  const parsed = parseSection(z.object(STATISTICS_SHAPE), raw, {
    file: ctx.file,
    at: ['thingsboard', 'statistics'],
    report: ctx.report,
  });
  if (parsed === undefined) return undefined;
  let period = parsed.statsSendPeriodInSeconds;
  if (period < MIN_STATS_PERIOD_SECONDS) {
    ctx.report.warn(
      `thingsboard.statistics.statsSendPeriodInSeconds is ${period}: raised to the minimum, ${MIN_STATS_PERIOD_SECONDS}`,
    );
    period = MIN_STATS_PERIOD_SECONDS;
  }
  const custom = parsed.enableCustom === true || (parsed.configuration ?? undefined) !== undefined;
  if (custom || (parsed.commands?.length ?? 0) > 0) {
    ctx.report.info(
      'thingsboard.statistics: custom statistics commands are not run by this gateway (enableCustom, configuration, commands are ignored)',
    );
  }
  return { enable: parsed.enable, periodMs: Math.round(period * 1000) };
}

export type RateLimitSetting =
  { ok: true; windows: RateLimitWindow[] | undefined } | { ok: false; message: string };

const PAIR = /^(\d+):(\d+)$/;

/**
 * A rate-limit setting as the SDK reads it: `"capacity:seconds"` pairs separated by `,` (or `;`),
 * spaces and a trailing separator allowed; `"0:0"` or `""` = no limit; any `DEFAULT_…` name =
 * ThingsBoard's own. `windows` is undefined when nothing local applies.
 */
export function parseRateLimitSetting(value: unknown): RateLimitSetting {
  const expected =
    'expected "capacity:seconds" pairs separated by commas (e.g. "10:1,300:60"), "0:0" for none, or a DEFAULT_… name';
  if (typeof value !== 'string')
    return { ok: false, message: `${expected}, got ${describeValue(value, false)}` };
  const text = value.trim();
  if (text.startsWith('DEFAULT_')) return { ok: true, windows: undefined };
  const parts = text
    .split(/[,;]/)
    .map((p) => p.replace(/\s+/g, ''))
    .filter((p) => p !== '');
  const windows: RateLimitWindow[] = [];
  for (const part of parts) {
    const m = PAIR.exec(part);
    const capacity = Number(m?.[1]);
    const seconds = Number(m?.[2]);
    if (!m || !Number.isSafeInteger(capacity) || !Number.isSafeInteger(seconds)) {
      return { ok: false, message: `${expected}, got ${describeValue(value, false)}` };
    }
    if (capacity === 0 && seconds === 0) continue;
    if (capacity === 0 || seconds === 0) {
      return {
        ok: false,
        message: `"${part}": capacity and seconds must both be at least 1 ("0:0" means no limit)`,
      };
    }
    windows.push({ capacity, seconds });
  }
  return { ok: true, windows: windows.length > 0 ? windows : undefined };
}
