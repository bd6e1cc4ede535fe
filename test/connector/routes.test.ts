/**
 * The route table: config → routes with their mapper and Central System features, rebuilt for a
 * new configuration. The new features start before they take over, the old ones stop (their
 * timers end), and feature counters keep growing across the change (/metrics reads them).
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { OcppConnectorConfig } from '../../src/config/types.js';
import { RouteTable } from '../../src/connector/routes.js';
import { newUplinkCounters } from '../../src/connector/uplink.js';
import { LogSummary } from '../../src/log-summary.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';
import { ConfigDir, aGatewayJson } from '../config/fixtures.js';

const ENTRY = {
  idRegexpPattern: 'CP_.*',
  deviceNameExpression: '${ChargePointId}',
  deviceTypeExpression: 'x',
};

function config(dir: ConfigDir, ocpp: Record<string, unknown>): OcppConnectorConfig {
  const c = loadConfig(dir.files(aGatewayJson(), { centralSystem: { port: 0 }, ...ocpp }), {}).connectors[0];
  if (!c) throw new Error('no connector');
  return c;
}

function table(first: OcppConnectorConfig): RouteTable {
  const logger = silentLogger();
  return new RouteTable(first, {
    state: new MemoryStateStore(),
    thingsboard: undefined,
    counters: newUplinkCounters(),
    logger,
    warnings: new LogSummary({ logger }),
    now: () => new Date(),
  });
}

describe('RouteTable', () => {
  const dir = new ConfigDir();
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(() => dir.remove());

  it('builds one route per chargePoints entry, with the features that apply to it', () => {
    const t = table(
      config(dir, {
        chargePoints: [
          { ...ENTRY, idRegexpPattern: 'A.*', sessions: true },
          { ...ENTRY, idRegexpPattern: 'B.*' },
        ],
      }),
    );
    expect(t.routes).toHaveLength(2);
    expect(t.find('A1')?.features.features.map((f) => f.name)).toContain('sessions');
    expect(t.find('B1')?.features.features.map((f) => f.name)).not.toContain('sessions');
    expect(t.find('C1')).toBeUndefined();
  });

  it('a new configuration starts the new features and stops the old ones; counters carry over', async () => {
    vi.useFakeTimers();
    const thingsboardMode = { authorization: { mode: 'thingsboard' } };
    const t = table(config(dir, { chargePoints: [ENTRY], ...thingsboardMode }));
    expect(vi.getTimerCount()).toBe(0);
    await t.start();
    // thingsboard mode sweeps its answer cache on a timer.
    expect(vi.getTimerCount()).toBe(1);
    const before = t.csms;
    await before.authorization.service.decide({
      chargePointId: 'CP_1',
      device: 'CP_1',
      idToken: 'X',
      type: 'NoAuthorization',
      trigger: 'Authorize',
    });

    await t.replace(config(dir, { chargePoints: [{ ...ENTRY, sessions: true }], ...thingsboardMode }));
    expect(t.csms).not.toBe(before);
    expect(t.find('CP_1')?.features.features.map((f) => f.name)).toContain('sessions');
    expect(vi.getTimerCount()).toBe(1); // the old sweep stopped, the new one runs
    await t.csms.authorization.service.decide({
      chargePointId: 'CP_1',
      device: 'CP_1',
      idToken: 'X',
      type: 'NoAuthorization',
      trigger: 'Authorize',
    });
    expect(t.counters().authorization).toMatchObject({ decisions: 2, Accepted: 2 });

    await t.replace(config(dir, { chargePoints: [ENTRY] }));
    expect(vi.getTimerCount()).toBe(0); // acceptAll: no timer
    expect(t.counters().authorization).toMatchObject({ decisions: 2 });
    t.stop();
  });
});
