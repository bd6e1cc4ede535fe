import { describe, expect, it } from 'vitest';
import { parseRateLimitSetting } from '../../src/config/gateway-device.js';
import { checkConfig, checkConfigDocument, loadConfig } from '../../src/config/load.js';
import { aGatewayJson, useConfigDir } from './fixtures.js';

const configDir = useConfigDir();

function withThingsBoard(extra: Record<string, unknown>) {
  return aGatewayJson({
    thingsboard: { host: 'tb.example', port: 1883, security: { accessToken: 'GATEWAY_TOKEN' }, ...extra },
  });
}

describe('rate-limit settings of tb_gateway.json', () => {
  it.each([
    [
      '10:1,300:60',
      [
        { capacity: 10, seconds: 1 },
        { capacity: 300, seconds: 60 },
      ],
    ],
    [
      '10:1,300:60,',
      [
        { capacity: 10, seconds: 1 },
        { capacity: 300, seconds: 60 },
      ],
    ],
    [
      ' 10 : 1 ; 300:60 ',
      [
        { capacity: 10, seconds: 1 },
        { capacity: 300, seconds: 60 },
      ],
    ],
    ['0:0,', undefined],
    ['', undefined],
    ['DEFAULT_TELEMETRY_RATE_LIMIT', undefined],
    ['DEFAULT_RATE_LIMIT', undefined],
  ])('%j reads as %j', (text, windows) => {
    expect(parseRateLimitSetting(text)).toEqual({ ok: true, windows });
  });

  it.each([['10 per second'], ['10:1:2'], ['-1:1'], ['10:0'], [12], [null]])('%j is refused', (value) => {
    expect(parseRateLimitSetting(value).ok).toBe(false);
  });

  it('are read under thingsboard with the Python gateway’s names and meanings', () => {
    const config = loadConfig(
      configDir().files(
        withThingsBoard({
          messagesRateLimits: '1:1',
          rateLimits: '2:1',
          dpRateLimits: '3:1',
          deviceMessagesRateLimits: '4:1',
          deviceRateLimits: '5:1',
          deviceDpRateLimits: 'DEFAULT_TELEMETRY_DP_RATE_LIMIT',
        }),
      ),
      {},
    );
    const w = (capacity: number) => [{ capacity, seconds: 1 }];
    expect(config.gatewayDevice.rateLimits).toEqual({
      device: { messages: w(1), telemetryMessages: w(2), telemetryDataPoints: w(3) },
      devices: { messages: w(4), telemetryMessages: w(5) },
    });
  });

  it('a bad one is a problem at its path, its value shown', () => {
    const dir = configDir();
    const result = checkConfig(dir.files(withThingsBoard({ dpRateLimits: 'lots' })), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        file: dir.path('tb_gateway.json'),
        path: '$.thingsboard.dpRateLimits',
        message: expect.stringContaining('got "lots"'),
      },
    ]);
  });
});

describe('statistics, remote configuration and renaming settings', () => {
  it('are off (statistics, remote configuration) and on (renaming) when absent', () => {
    const config = loadConfig(configDir().files(), {});
    expect(config.gatewayDevice).toEqual({
      statistics: { enable: false, periodMs: 60_000 },
      remoteConfiguration: false,
      handleDeviceRenaming: true,
      rateLimits: { device: {}, devices: {} },
    });
  });

  it('raise a statistics period under 10 s to 10 s, with a warning, as the Python gateway does', () => {
    const config = loadConfig(
      configDir().files(withThingsBoard({ statistics: { enable: true, statsSendPeriodInSeconds: 3 } })),
      {},
    );
    expect(config.gatewayDevice.statistics).toEqual({ enable: true, periodMs: 10_000 });
    expect(config.notices).toContainEqual({
      level: 'warn',
      message: 'thingsboard.statistics.statsSendPeriodInSeconds is 3: raised to the minimum, 10',
    });
  });

  it('accept the Python gateway’s custom statistics commands and say they are not run', () => {
    const config = loadConfig(
      configDir().files(
        withThingsBoard({
          statistics: { enable: true, enableCustom: true, configuration: 'statistics.json', commands: [] },
          remoteShell: true,
        }),
      ),
      {},
    );
    const infos = config.notices.filter((n) => n.level === 'info').map((n) => n.message);
    expect(infos).toContainEqual(expect.stringContaining('custom statistics commands are not run'));
    expect(infos).toContainEqual(expect.stringContaining('remoteShell is not supported'));
  });

  it.each([
    [{ statistics: { enable: 'yes' } }, '$.thingsboard.statistics.enable'],
    [
      { statistics: { statsSendPeriodInSeconds: 'often' } },
      '$.thingsboard.statistics.statsSendPeriodInSeconds',
    ],
    [{ remoteConfiguration: 1 }, '$.thingsboard.remoteConfiguration'],
    [{ handleDeviceRenaming: 'no' }, '$.thingsboard.handleDeviceRenaming'],
  ])('%j is a problem at %s', (extra, path) => {
    const result = checkConfig(configDir().files(withThingsBoard(extra)), {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path)).toEqual([path]);
  });
});

describe('checking a tb_gateway.json document before it is written (remote configuration)', () => {
  it('reports the problems a file with that content would have', () => {
    const dir = configDir();
    const file = dir.files();
    const result = checkConfigDocument(file, withThingsBoard({ port: 'x' }), {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]).toMatchObject({ file, path: '$.thingsboard.port' });
    expect(checkConfigDocument(file, withThingsBoard({ statistics: { enable: true } }), {}).ok).toBe(true);
  });
});
