/**
 * Remote logs (RemoteLoggingLevel): rate-limited as lines are taken, each publish within
 * ThingsBoard's payload limit, and never a secret.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiteralSecrets } from '../../src/gateway-device/log-format.js';
import { LogTap } from '../../src/gateway-device/log-tap.js';
import { RemoteLogs } from '../../src/gateway-device/remote-logs.js';
import { silentLogger } from '../../src/log.js';
import { GatewayDeviceChannel } from '../../src/thingsboard/device-channel.js';

interface Rig {
  tap: LogTap;
  logs: RemoteLogs;
  published: { topic: string; payload: string }[];
  lines(): { ts: number; values: Record<string, string> }[];
}

function rig(opts: { maxBytes?: number; secrets?: string[] } = {}): Rig {
  const published: { topic: string; payload: string }[] = [];
  const logger = silentLogger();
  const device = new GatewayDeviceChannel({
    publish: (topic, payload) => {
      published.push({ topic, payload });
      return Promise.resolve();
    },
    connected: () => true,
    logger,
  });
  const tap = new LogTap();
  const logs = new RemoteLogs({
    tap,
    device,
    connected: () => true,
    maxDatapoints: () => 1000,
    ...(opts.maxBytes !== undefined ? { maxBytes: () => opts.maxBytes ?? 0 } : {}),
    logger,
    secrets: () => new LiteralSecrets(opts.secrets ?? []),
  });
  logs.start();
  logs.setLevel('INFO');
  return {
    tap,
    logs,
    published,
    lines: () =>
      published.flatMap((p) => JSON.parse(p.payload) as { ts: number; values: Record<string, string> }[]),
  };
}

const line = (msg: string, fields: Record<string, unknown> = {}): string =>
  JSON.stringify({ level: 30, time: Date.now(), msg, component: 'gateway', ...fields });

describe('remote logs', () => {
  let r: Rig | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    r?.logs.stop();
    r = undefined;
    vi.useRealTimers();
  });

  it('take at most the burst of a flood, count the rest, and say so', async () => {
    r = rig();
    for (let i = 0; i < 10_000; i++) r.tap.write(line(`line ${i}`));
    // A burst of 200 taken, the rest dropped before being formatted; and at once, nothing more.
    expect(r.logs.counters.dropped).toBe(9800);
    for (let i = 0; i < 30; i++) r.tap.write(line(`more ${i}`));
    expect(r.logs.counters.dropped).toBe(9830);
    // A second later, 20 more may be taken, not 30.
    await vi.advanceTimersByTimeAsync(1000);
    for (let i = 0; i < 30; i++) r.tap.write(line(`later ${i}`));
    expect(r.logs.counters.dropped).toBe(9840);
    for (let s = 0; s < 10; s++) await vi.advanceTimersByTimeAsync(1000);
    const sent = (word: string): number =>
      r?.lines().filter((l) => l.values.LOGS?.includes(` - ${word} `)).length ?? 0;
    expect([sent('line'), sent('more'), sent('later')]).toEqual([200, 0, 20]);
    expect(r.lines().some((l) => /98\d\d log lines were not sent/.test(l.values.LOGS ?? ''))).toBe(true);
  });

  it('keep every publish within ThingsBoard’s payload limit, a long line cut to fit', async () => {
    r = rig({ maxBytes: 1000 });
    r.tap.write(line('x'.repeat(5000)));
    for (let i = 0; i < 50; i++) r.tap.write(line(`short ${i}`));
    for (let s = 0; s < 20; s++) await vi.advanceTimersByTimeAsync(1000);
    expect(r.published.length).toBeGreaterThan(1);
    for (const p of r.published) expect(Buffer.byteLength(p.payload)).toBeLessThanOrEqual(1000);
    expect(r.lines().some((l) => /x{50,}…$/.test(l.values.LOGS ?? ''))).toBe(true);
    expect(r.lines().filter((l) => l.values.LOGS?.includes(' - short ')).length).toBe(50);
  });

  it('never send a secret the gateway knows, nor a credential in a line', async () => {
    r = rig({ secrets: ['status-page-pass', 'GW_ACCESS_TOKEN_1'] });
    r.tap.write(line('login failed', { detail: 'user admin:status-page-pass', token: 'GW_ACCESS_TOKEN_1' }));
    r.tap.write(line('upload', { location: 'ftp://u:ftp-pass@host/', idTag: 'CARD00001234' }));
    r.tap.write(line('header', { header: 'Basic YWRtaW46c2VjcmV0' }));
    await vi.advanceTimersByTimeAsync(1000);
    const all = r.published.map((p) => p.payload).join('\n');
    for (const secret of [
      'status-page-pass',
      'GW_ACCESS_TOKEN_1',
      'ftp-pass',
      'CARD00001234',
      'YWRtaW46c2VjcmV0',
    ])
      expect(all).not.toContain(secret);
    expect(all).toContain('***234');
  });
});
