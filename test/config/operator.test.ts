/**
 * Configuration an operator meets: the status server section, the Python connector keys that
 * used to be refused (`host`/`port`, `"TLS"`, `extension`), misspelt actions in
 * messageTypeFilter, placeholder credentials and LOG_LEVEL.
 */
import { describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { DEFAULT_STATUS_PORT } from '../../src/config/status-server.js';
import { parseLogLevel } from '../../src/log.js';
import { aGatewayJson, anOcppJson, useConfigDir } from './fixtures.js';

const configDir = useConfigDir();
type Json = Record<string, unknown>;

const cp = (entry: Json, cs: Json = {}) =>
  anOcppJson({ centralSystem: cs, chargePoints: [{ idRegexpPattern: 'CP_1', ...entry }] });

function problems(gateway: Json, ocpp: Json = anOcppJson(), env: NodeJS.ProcessEnv = {}) {
  const result = checkConfig(configDir().files(gateway, ocpp), env);
  return result.ok ? [] : result.problems.map((p) => ({ path: p.path, message: p.message }));
}

function warnings(gateway: Json, ocpp: Json = anOcppJson(), env: NodeJS.ProcessEnv = {}) {
  return loadConfig(configDir().files(gateway, ocpp), env)
    .notices.filter((n) => n.level === 'warn')
    .map((n) => n.message);
}

describe('statusServer', () => {
  it('is on by default, on the loopback interface, at its own port', () => {
    const config = loadConfig(configDir().files(), {});
    expect(config.statusServer).toEqual({ enabled: true, host: '127.0.0.1', port: DEFAULT_STATUS_PORT });
    expect(DEFAULT_STATUS_PORT).not.toBe(8080);
    expect(DEFAULT_STATUS_PORT).not.toBe(9000);
  });

  it('reads the contract keys, basic auth, and TB_GW_STATUS_HOST / TB_GW_STATUS_PORT', () => {
    const statusServer = { enabled: true, host: '127.0.0.1', port: 9100, username: 'ops', password: 'pw' };
    const file = configDir().files(aGatewayJson({ statusServer }));
    expect(loadConfig(file, {}).statusServer).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 9100,
      auth: { username: 'ops', password: 'pw' },
    });
    expect(
      loadConfig(file, { TB_GW_STATUS_HOST: '0.0.0.0', TB_GW_STATUS_PORT: '0' }).statusServer,
    ).toMatchObject({
      host: '0.0.0.0',
      port: 0,
    });
    expect(
      loadConfig(configDir().files(aGatewayJson({ statusServer: { enabled: false } })), {}).statusServer,
    ).toMatchObject({
      enabled: false,
    });
  });

  it.each([
    [{ username: 'ops' }, {}, '$.statusServer.password', 'required when the other'],
    [{ port: 70000 }, {}, '$.statusServer.port', '65535'],
    [{ password: 123, username: 'u' }, {}, '$.statusServer.password', 'got a number'],
    [{}, { TB_GW_STATUS_PORT: 'x' }, 'env TB_GW_STATUS_PORT', 'expected an integer'],
    [{ port: 9000 }, {}, '$.statusServer.port', 'the address of connector "OCPP Connector"'],
  ] as [Json, NodeJS.ProcessEnv, string, string][])(
    '%j %j → problem at %s',
    (statusServer, env, path, message) => {
      expect(problems(aGatewayJson({ statusServer }), anOcppJson(), env)).toEqual([
        { path, message: expect.stringContaining(message) },
      ]);
    },
  );

  it('warns when it listens beyond this host without credentials', () => {
    expect(warnings(aGatewayJson({ statusServer: { host: '0.0.0.0' } }))).toEqual([
      expect.stringContaining('statusServer listens on 0.0.0.0 without credentials'),
    ]);
    expect(
      warnings(aGatewayJson({ statusServer: { host: '0.0.0.0', username: 'u', password: 'p' } })),
    ).toEqual([]);
  });
});

describe('chargePoints[].host / port (Python connector keys)', () => {
  it('are whole-match regular expressions; a number port is its decimal text', () => {
    const config = loadConfig(
      configDir().files(aGatewayJson(), cp({ host: '10\\.0\\.0\\.\\d+', port: 8080 })),
      {},
    );
    const entry = config.connectors[0]?.chargePoints[0];
    expect(entry?.host?.regexp.test('10.0.0.7')).toBe(true);
    expect(entry?.host?.regexp.test('110.0.0.7')).toBe(false);
    expect(entry?.port?.regexp.test('8080')).toBe(true);
    expect(entry?.port?.regexp.test('18080')).toBe(false);
  });

  it('an invalid pattern is a problem at its path', () => {
    expect(problems(aGatewayJson(), cp({ host: '10.(' }))).toEqual([
      { path: '$.chargePoints[0].host', message: expect.stringContaining('invalid regular expression') },
    ]);
  });
});

describe('type names are case-insensitive, as in the Python connector', () => {
  it('"Insecure" and "Token"', () => {
    const ocpp = cp(
      {},
      { connection: { type: 'Insecure' }, security: [{ type: 'Token', tokens: ['Bearer X1'] }] },
    );
    const cs = loadConfig(configDir().files(aGatewayJson(), ocpp), {}).connectors[0]?.centralSystem;
    expect(cs?.connection).toEqual({ type: 'insecure' });
    expect(cs?.security).toEqual([{ type: 'token', tokens: ['Bearer X1'] }]);
  });

  it('"TLS" is TLS: its certificate files are required and checked', () => {
    expect(
      problems(aGatewayJson(), cp({}, { connection: { type: 'TLS', cert: 'none.pem', key: 'none.key' } })),
    ).toEqual([
      { path: '$.centralSystem.connection.cert', message: expect.stringContaining('none.pem') },
      { path: '$.centralSystem.connection.key', message: expect.stringContaining('none.key') },
    ]);
  });
});

describe('extension (a Python converter class)', () => {
  it('is a warning naming the entry, the class and what applies instead', () => {
    expect(
      warnings(aGatewayJson(), cp({ extension: 'CustomOcppUplinkConverter', extensionConfig: {} })),
    ).toEqual([
      expect.stringMatching(
        /chargePoints\[0\]\.extension "CustomOcppUplinkConverter" is a Python converter class.*ignored.*attributes\/timeseries mappings apply instead/,
      ),
    ]);
  });

  it('is warned about at the top level of ocpp.json too', () => {
    const ocpp = { ...cp({}), extension: 'SiteConverter', extensionConfig: { a: 1 } };
    expect(warnings(aGatewayJson(), ocpp)).toEqual([
      expect.stringMatching(
        /: extension "SiteConverter" is a Python converter class, which cannot run.*ignored/,
      ),
    ]);
  });

  it('naming the built-in converter changes nothing and is not warned about', () => {
    expect(warnings(aGatewayJson(), cp({ extension: 'OcppUplinkConverter' }))).toEqual([]);
  });
});

describe('messageTypeFilter', () => {
  const filter = (messageTypeFilter: string, cs: Json = {}) =>
    cp({ timeseries: [{ messageTypeFilter, key: 'k', value: '${v}' }] }, cs);

  it.each([
    ['MeterValue,', 'did you mean "MeterValues"?'],
    ['metervalues', 'did you mean "MeterValues"?'],
    ['MeterValues, StatusNotifcation', 'did you mean "StatusNotification"?'],
    ['Transaction', 'did you mean "TransactionEvent"?'],
    ['Nonsense12345', 'is not an OCPP action'],
  ])('%j is a problem: %s', (value, hint) => {
    expect(problems(aGatewayJson(), filter(value))).toEqual([
      { path: '$.chargePoints[0].timeseries[0].messageTypeFilter', message: expect.stringContaining(hint) },
    ]);
  });

  it('an action no served version lets a charge point send is a warning', () => {
    expect(warnings(aGatewayJson(), filter('TransactionEvent', { ocppVersions: ['ocpp1.6'] }))).toEqual([
      expect.stringContaining(
        '"TransactionEvent" is never sent by a charge point on ocpp1.6 (only on ocpp2.0.1/ocpp2.1)',
      ),
    ]);
    expect(warnings(aGatewayJson(), filter('Reset'))).toEqual([
      expect.stringContaining('(the Central System sends it), so this mapping applies to no message'),
    ]);
  });

  it('actions of any served version load quietly', () => {
    expect(
      warnings(aGatewayJson(), filter('MeterValues, TransactionEvent, NotifyPeriodicEventStream')),
    ).toEqual([]);
  });
});

describe('placeholder credentials', () => {
  it.each(['YOUR_GATEWAY_ACCESS_TOKEN', 'PUT_YOUR_GW_ACCESS_TOKEN_HERE', '<token>'])(
    'the ThingsBoard token %s is warned about',
    (token) => {
      expect(warnings(aGatewayJson({ thingsboard: { security: { accessToken: token } } }))).toEqual([
        expect.stringContaining(`the ThingsBoard access token is the placeholder ${JSON.stringify(token)}`),
      ]);
    },
  );

  it('a real token, from the file or TB_GW_ACCESS_TOKEN, is not', () => {
    const gateway = aGatewayJson({ thingsboard: { security: { accessToken: 'YOUR_GATEWAY_ACCESS_TOKEN' } } });
    expect(warnings(gateway, anOcppJson(), { TB_GW_ACCESS_TOKEN: 'kX81mZq0Lr7' })).toEqual([]);
    expect(warnings(aGatewayJson())).toEqual([]);
  });
});

describe('LOG_LEVEL', () => {
  it.each([
    [undefined, 'info'],
    ['', 'info'],
    ['debug', 'debug'],
    ['WARNING', 'warn'],
    ['warn', 'warn'],
    ['trace', 'trace'],
    ['silent', 'silent'],
  ])('%j → %s', (raw, level) => {
    expect(parseLogLevel(raw)).toEqual({ ok: true, level });
  });

  it.each(['verbose', 'warnings', '10'])('%j is refused with the valid levels', (raw) => {
    expect(parseLogLevel(raw)).toEqual({
      ok: false,
      message: `env LOG_LEVEL: expected one of trace, debug, info, warn, warning, error, fatal, silent, got "${raw}"`,
    });
  });
});
