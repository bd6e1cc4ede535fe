/**
 * The `simulate` command's options: parsed and checked here, so a bad value is one clear line and
 * exit 2, like a bad configuration.
 */
import type { OcppVersion } from '../ocpp/versions.js';
import type { SimulationOptions } from './run.js';

export interface RawSimulateOptions {
  url: string;
  count: string;
  ocpp: string;
  duration: string;
  rate: string;
  first: string;
  connectors: string;
  idle: string;
  session: string;
  meterInterval: string;
  password?: string;
  token?: string;
  idTags?: string;
  seed: string;
  progress: string;
}

const VERSIONS: Record<string, OcppVersion> = {
  '1.6': 'ocpp1.6',
  'ocpp1.6': 'ocpp1.6',
  '2.0.1': 'ocpp2.0.1',
  'ocpp2.0.1': 'ocpp2.0.1',
  '2.1': 'ocpp2.1',
  'ocpp2.1': 'ocpp2.1',
};

export type Parsed = { ok: true; options: SimulationOptions } | { ok: false; problems: string[] };

export function parseSimulateOptions(raw: RawSimulateOptions): Parsed {
  const problems: string[] = [];
  const number = (name: string, text: string, min: number, integer: boolean): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      problems.push(
        `--${name}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(text)}`,
      );
      return min;
    }
    return n;
  };
  const range = (name: string, text: string): [number, number] => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || !(lo > 0) || hi < lo) {
      problems.push(
        `--${name}: expected seconds as "MIN-MAX" (e.g. "30-90") or one number, got ${JSON.stringify(text)}`,
      );
      return [1, 1];
    }
    return [lo, hi];
  };
  let url = raw.url;
  try {
    const parsed = new URL(raw.url);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new Error('scheme');
    if (parsed.search || parsed.hash) throw new Error('query');
  } catch {
    problems.push(
      `--url: expected ws://HOST:PORT/PREFIX or wss://… (station i connects to PREFIX + i), got ${JSON.stringify(raw.url)}`,
    );
    url = 'ws://invalid/';
  }
  const version = Object.hasOwn(VERSIONS, raw.ocpp) ? VERSIONS[raw.ocpp] : undefined;
  if (version === undefined)
    problems.push(`--ocpp: expected 1.6, 2.0.1 or 2.1, got ${JSON.stringify(raw.ocpp)}`);
  const options: SimulationOptions = {
    url,
    count: number('count', raw.count, 1, true),
    version: version ?? 'ocpp1.6',
    durationSeconds: number('duration', raw.duration, 0, false),
    rate: number('rate', raw.rate, 0.1, false),
    first: number('first', raw.first, 0, true),
    connectors: number('connectors', raw.connectors, 1, true),
    idleSeconds: range('idle', raw.idle),
    sessionSeconds: range('session', raw.session),
    meterIntervalSeconds: number('meter-interval', raw.meterInterval, 1, true),
    seed: number('seed', raw.seed, 0, true),
    progressSeconds: number('progress', raw.progress, 0, false),
    ...(raw.password === undefined ? {} : { password: raw.password }),
    ...(raw.token === undefined ? {} : { authorization: raw.token }),
    idTags: idTags(raw.idTags, problems),
  };
  if (options.connectors > 100) problems.push('--connectors: at most 100 per station');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}

/** `--id-tags A,B`: OCPP idTags are CiString20 (1.6); 2.x idTokens allow 36, 20 fits both. */
function idTags(text: string | undefined, problems: string[]): string[] {
  if (text === undefined) return [];
  const tags = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tags.length === 0 || tags.some((t) => t.length > 20 || !/^[\x21-\x7e]+$/.test(t))) {
    problems.push(
      `--id-tags: expected idTags separated by commas, each 1 to 20 printable characters, got ${JSON.stringify(text)}`,
    );
  }
  return tags;
}
