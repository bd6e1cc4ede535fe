import { describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';
import { aGatewayJson, anOcppJson, type ConfigDir, testPem, useConfigDir } from './fixtures.js';

const PEM = testPem();

const configDir = useConfigDir();

type Json = Record<string, unknown>;

interface BadConfig {
  name: string;
  gateway?: Json | string;
  ocpp?: Json | string;
  /** Other files of the folder (password lists, certificates). */
  extra?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** The one problem expected: which file, JSON path, and a part of the message. */
  file: 'tb_gateway.json' | 'ocpp.json';
  path: string;
  message: string;
}

const cp = (entry: Json) => anOcppJson({ chargePoints: [{ idRegexpPattern: 'CP_1', ...entry }] });
const centralSystem = (cs: Json) => anOcppJson({ centralSystem: cs });
const thingsboard = (tb: Json) => aGatewayJson({ thingsboard: { security: { accessToken: 'T' }, ...tb } });

const BAD_CONFIGS: BadConfig[] = [
  {
    name: 'invalid JSON in tb_gateway.json',
    gateway: '{\n  "thingsboard": {\n    "host": "x",,\n  }\n}\n',
    file: 'tb_gateway.json',
    path: '$',
    message: 'invalid JSON at line 3, column 17',
  },
  {
    name: 'invalid JSON in ocpp.json (trailing comma)',
    ocpp: '{\n  "chargePoints": [\n    {},\n  ]\n}\n',
    file: 'ocpp.json',
    path: '$',
    message: 'invalid JSON at line 4, column 3: trailing comma',
  },
  {
    name: 'tb_gateway.json that is not an object',
    gateway: '[]',
    file: 'tb_gateway.json',
    path: '$',
    message: 'expected an object, got an array',
  },
  {
    name: 'a string port',
    gateway: thingsboard({ port: 'abc' }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.port',
    message: 'expected a number, got "abc"',
  },
  {
    name: 'a port out of range',
    gateway: thingsboard({ port: 70000 }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.port',
    message: 'must be at most 65535, got 70000',
  },
  {
    name: 'qos 2',
    gateway: thingsboard({ qos: 2 }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.qos',
    message: 'expected 0 or 1, got 2',
  },
  {
    name: 'a fractional heartbeat interval',
    ocpp: centralSystem({ heartbeatInterval: 1.5 }),
    file: 'ocpp.json',
    path: '$.centralSystem.heartbeatInterval',
    message: 'expected an integer, got 1.5',
  },
  {
    name: 'withResponse as a string',
    ocpp: cp({ serverSideRpc: [{ methodRPC: 'm', withResponse: 'yes', valueExpression: '${params}' }] }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].serverSideRpc[0].withResponse',
    message: 'expected true or false, got "yes"',
  },
  {
    name: 'a missing thingsboard section',
    gateway: { connectors: aGatewayJson().connectors },
    file: 'tb_gateway.json',
    path: '$.thingsboard',
    message: 'required',
  },
  {
    name: 'a missing chargePoints list',
    ocpp: { centralSystem: {} },
    file: 'ocpp.json',
    path: '$.chargePoints',
    message: 'required',
  },
  {
    name: 'an OCPP connector without configuration',
    gateway: aGatewayJson({ connectors: [{ type: 'ocpp', name: 'OCPP' }] }),
    file: 'tb_gateway.json',
    path: '$.connectors[0].configuration',
    message: 'required',
  },
  {
    name: 'a missing ocpp.json',
    gateway: aGatewayJson({ connectors: [{ type: 'ocpp', configuration: 'nowhere.json' }] }),
    file: 'tb_gateway.json',
    path: '$.connectors[0].configuration',
    message: 'nowhere.json": ENOENT',
  },
  {
    name: 'no OCPP connector',
    gateway: aGatewayJson({ connectors: [{ type: 'mqtt', configuration: 'mqtt.json' }] }),
    file: 'tb_gateway.json',
    path: '$.connectors',
    message: 'no connector of type "ocpp"',
  },
  {
    name: 'an unknown connector type',
    gateway: aGatewayJson({ connectors: [...(aGatewayJson().connectors as Json[]), { type: 'foo' }] }),
    file: 'tb_gateway.json',
    path: '$.connectors[1].type',
    message: 'unknown connector type "foo"',
  },
  {
    name: 'a bad regular expression',
    ocpp: cp({ idRegexpPattern: 'charge_points/(CP_1' }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].idRegexpPattern',
    message: 'invalid regular expression: Unterminated group',
  },
  {
    name: 'an unreadable central system certificate',
    ocpp: centralSystem({ connection: { type: 'tls', cert: 'missing.pem', key: 'key.pem' } }),
    extra: { 'key.pem': 'KEY' },
    file: 'ocpp.json',
    path: '$.centralSystem.connection.cert',
    message: 'missing.pem": ENOENT',
  },
  {
    name: 'an unreadable broker CA certificate',
    gateway: thingsboard({ security: { type: 'tlsAccessToken', accessToken: 'T', caCert: 'ca.pem' } }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.security.caCert',
    message: 'cannot read file',
  },
  {
    name: 'an unknown key with a close valid one',
    ocpp: anOcppJson({ chargePoints: [{ idRegexPattern: 'CP_1' }] }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].idRegexPattern',
    message: 'unknown key "idRegexPattern" — did you mean "idRegexpPattern"?',
  },
  {
    name: 'a bad template',
    ocpp: cp({ attributes: [{ messageTypeFilter: 'MeterValues', key: 'k', value: '${meter_value[}' }] }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].attributes[0].value',
    message: 'invalid template: expected an index',
  },
  {
    name: 'a bad downlink template',
    ocpp: cp({ attributeUpdates: [{ attributeOnThingsBoard: 'a', valueExpression: '{"x": ${}}' }] }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].attributeUpdates[0].valueExpression',
    message: 'empty placeholder',
  },
  {
    name: 'a bad port in the environment',
    env: { TB_GW_PORT: 'abc' },
    file: 'tb_gateway.json',
    path: 'env TB_GW_PORT',
    message: 'expected an integer from 1 to 65535, got "abc"',
  },
  {
    name: 'a bad security type in the environment',
    env: { TB_GW_SECURITY_TYPE: 'jwt' },
    file: 'tb_gateway.json',
    path: 'env TB_GW_SECURITY_TYPE',
    message: 'got "jwt"',
  },
  {
    name: 'a bad broker security type',
    gateway: thingsboard({ security: { type: 'oauth', accessToken: 'T' } }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.security.type',
    message:
      'expected one of "accessToken", "usernamePassword", "tlsAccessToken", "tlsPrivateKey", got "oauth"',
  },
  {
    name: 'a bad central system security type',
    ocpp: centralSystem({ security: [{ type: 'oauth' }] }),
    file: 'ocpp.json',
    path: '$.centralSystem.security[0].type',
    message: 'expected one of "token", "basic", "anonymous", got "oauth"',
  },
  {
    name: 'a bad connection type',
    ocpp: centralSystem({ connection: { type: 'ssl' } }),
    file: 'ocpp.json',
    path: '$.centralSystem.connection.type',
    message: 'expected "insecure" or "tls", got "ssl"',
  },
  {
    name: 'an accessToken security without a token',
    gateway: thingsboard({ security: { type: 'accessToken' } }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.security.accessToken',
    message: 'required by security type "accessToken"',
  },
  {
    name: 'a usernamePassword security without username or client id',
    gateway: thingsboard({ security: { type: 'usernamePassword', password: 'pw' } }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.security',
    message: 'needs "username" or "clientId"',
  },
  {
    name: 'an empty messageTypeFilter',
    ocpp: cp({ timeseries: [{ messageTypeFilter: ' , ,', key: 'k', value: '${v}' }] }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].timeseries[0].messageTypeFilter',
    message: 'names no message type',
  },
  {
    name: 'an empty action',
    ocpp: cp({ serverSideRpc: [{ methodRPC: 'reset', action: ' ' }] }),
    file: 'ocpp.json',
    path: '$.chargePoints[0].serverSideRpc[0].action',
    message: 'must not be empty',
  },
  {
    name: 'an unknown OCPP version',
    ocpp: centralSystem({ ocppVersions: ['ocpp1.6', 'ocpp1.5'] }),
    file: 'ocpp.json',
    path: '$.centralSystem.ocppVersions[1]',
    message: 'expected one of "ocpp1.6", "ocpp2.0.1", "ocpp2.1", got "ocpp1.5"',
  },
  {
    name: 'an OCPP version listed twice',
    ocpp: centralSystem({ ocppVersions: ['ocpp1.6', 'ocpp1.6'] }),
    file: 'ocpp.json',
    path: '$.centralSystem.ocppVersions[1]',
    message: '"ocpp1.6" is listed twice',
  },
  {
    name: 'no OCPP version',
    ocpp: centralSystem({ ocppVersions: [] }),
    file: 'ocpp.json',
    path: '$.centralSystem.ocppVersions',
    message: 'must have at least 1 item',
  },
  {
    name: 'usernameIsChargePointId with nothing to check against',
    ocpp: centralSystem({ security: [{ type: 'basic', usernameIsChargePointId: true }] }),
    file: 'ocpp.json',
    path: '$.centralSystem.security[0].usernameIsChargePointId',
    message: 'needs "passwords", "passwordsFile" or "credentials"',
  },
  {
    name: 'a bad line in passwordsFile',
    ocpp: centralSystem({
      security: [{ type: 'basic', usernameIsChargePointId: true, passwordsFile: 'pw.txt' }],
    }),
    extra: { 'pw.txt': `CP_1:${'a'.repeat(64)}\nCP_2:not-a-hash\n` },
    file: 'ocpp.json',
    path: '$.centralSystem.security[0].passwordsFile',
    message: 'pw.txt line 2: expected "<charge point id>:<64 hex digits of sha256>"',
  },
  {
    name: 'client certificate CN check without client certificates',
    ocpp: centralSystem({
      connection: { type: 'tls', cert: 'c.pem', key: 'k.pem', clientCertificateCnMustMatchId: true },
    }),
    extra: { 'c.pem': PEM.cert, 'k.pem': PEM.key },
    file: 'ocpp.json',
    path: '$.centralSystem.connection.clientCertificateCnMustMatchId',
    message: 'needs "requireClientCertificate": true',
  },
  {
    name: 'a bad storage type',
    gateway: aGatewayJson({ storage: { type: 'redis' } }),
    file: 'tb_gateway.json',
    path: '$.storage.type',
    message: 'expected one of "memory", "sqlite", "file", got "redis"',
  },
  {
    name: 'a reconnect cap below the first delay',
    gateway: thingsboard({ reconnectMinMs: 5000, reconnectMaxMs: 1000 }),
    file: 'tb_gateway.json',
    path: '$.thingsboard.reconnectMaxMs',
    message: 'must be at least reconnectMinMs (5000)',
  },
];

function write(dir: ConfigDir, c: Pick<BadConfig, 'gateway' | 'ocpp' | 'extra'>): string {
  for (const [name, content] of Object.entries(c.extra ?? {})) dir.write(name, content);
  return dir.files(c.gateway ?? aGatewayJson(), c.ocpp ?? anOcppJson());
}

describe('a bad config', () => {
  it.each(BAD_CONFIGS)('$name: one problem at its file and path', (c) => {
    const dir = configDir();
    const file = write(dir, c);
    const result = checkConfig(file, c.env ?? {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { file: dir.path(c.file), path: c.path, message: expect.stringContaining(c.message) },
    ]);
  });

  it('throws one ConfigError from loadConfig', () => {
    const file = configDir().files(thingsboard({ port: 'abc' }));
    expect(() => loadConfig(file, {})).toThrow(ConfigError);
    expect(() => loadConfig(file, {})).toThrow(/tb_gateway\.json: \$\.thingsboard\.port: expected a number/);
  });
});

describe('every problem is reported', () => {
  const problemsOf = (file: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] => {
    try {
      loadConfig(file, env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('the config loaded');
  };

  it('three problems across two files', () => {
    const dir = configDir();
    const file = dir.files(
      thingsboard({ port: 'abc' }),
      anOcppJson({ chargePoints: [{ idRegexPattern: 'CP_1' }, { idRegexpPattern: '(' }] }),
    );
    const ocpp = dir.path('ocpp.json');
    expect(problemsOf(file)).toEqual([
      { file, path: '$.thingsboard.port', message: 'expected a number, got "abc"' },
      {
        file: ocpp,
        path: '$.chargePoints[0].idRegexPattern',
        message: 'unknown key "idRegexPattern" — did you mean "idRegexpPattern"?',
      },
      {
        file: ocpp,
        path: '$.chargePoints[1].idRegexpPattern',
        message: expect.stringContaining('invalid regular expression'),
      },
    ]);
  });

  it('in several connector files, in the environment, and next to type errors in the same file', () => {
    const dir = configDir();
    dir.write('a.json', anOcppJson({ centralSystem: { port: 'x', pingInterval: -1 } }));
    dir.write('b.json', cp({ deviceNameExpression: '${' }));
    const connectors = [
      { type: 'ocpp', name: 'A', configuration: 'a.json' },
      { type: 'ocpp', name: 'B', configuration: 'b.json' },
    ];
    const file = dir.write('tb_gateway.json', aGatewayJson({ connectors }));
    const problems = problemsOf(file, { TB_GW_PORT: '0' });
    expect(problems.map((p) => [p.file, p.path])).toEqual([
      [file, 'env TB_GW_PORT'],
      [dir.path('a.json'), '$.centralSystem.port'],
      [dir.path('a.json'), '$.centralSystem.pingInterval'],
      [dir.path('b.json'), '$.chargePoints[0].deviceNameExpression'],
    ]);
  });

  it('once: a bad environment value does not hide the good ones', () => {
    const file = configDir().files(thingsboard({ security: { type: 'accessToken' } }));
    expect(problemsOf(file, { TB_GW_PORT: 'abc', TB_GW_ACCESS_TOKEN: 'T' })).toEqual([
      { file, path: 'env TB_GW_PORT', message: 'expected an integer from 1 to 65535, got "abc"' },
    ]);
  });

  it('including two central systems on one address', () => {
    const dir = configDir();
    dir.write('a.json', anOcppJson());
    dir.write('b.json', anOcppJson());
    const connectors = [
      { type: 'ocpp', name: 'A', configuration: 'a.json' },
      { type: 'ocpp', name: 'B', configuration: 'b.json' },
    ];
    const file = dir.write('tb_gateway.json', aGatewayJson({ connectors }));
    expect(problemsOf(file)).toEqual([
      {
        file: dir.path('b.json'),
        path: '$.centralSystem.port',
        message: expect.stringContaining('127.0.0.1:9000 is already used by connector "A"'),
      },
    ]);
  });
});

describe('secrets', () => {
  const SECRETS = [
    'hunter2-secret',
    'gw-secret-token',
    'Bearer cs-secret-token',
    'env-secret-pw',
    'cp-secret-pw',
  ];

  it('never appear in a problem or notice', () => {
    const dir = configDir();
    const gateway = aGatewayJson({
      thingsboard: {
        hots: 'x',
        security: { type: 'usernamePassword', username: 'u', password: 'hunter2-secret', pasword: 'x' },
      },
    });
    const ocpp = anOcppJson({
      centralSystem: {
        security: [
          { type: 'token', tokens: ['Bearer cs-secret-token', 42], tokenz: [] },
          {
            type: 'basic',
            credentials: [{ username: 'admin', password: 12345678, passwrd: 'cp-secret-pw' }],
            passwords: { CP_1: 'cp-secret-pw', CP_2: 7 },
          },
          { type: 'anonymous' },
        ],
      },
    });
    const result = checkConfig(dir.files(gateway, ocpp), {
      TB_GW_PASSWORD: 'env-secret-pw',
      TB_GW_PORT: 'x',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.length).toBeGreaterThanOrEqual(6);
    expect(result.problems).toContainEqual({
      file: dir.path('ocpp.json'),
      path: '$.centralSystem.security[1].credentials[0].password',
      message: 'expected a string, got a number',
    });
    const text = JSON.stringify([result.problems, result.notices]);
    for (const secret of [...SECRETS, '12345678']) expect(text).not.toContain(secret);
  });

  it('are not quoted when they stand where a security object belongs', () => {
    const dir = configDir();
    const gateway = aGatewayJson({ thingsboard: { security: 'gw-secret-token' } });
    const ocpp = anOcppJson({ centralSystem: { security: ['Bearer cs-secret-token'] } });
    const result = checkConfig(dir.files(gateway, ocpp), {});
    expect(result).toMatchObject({
      ok: false,
      problems: [
        { path: '$.thingsboard.security', message: 'expected an object, got a string' },
        { path: '$.centralSystem.security[0]', message: 'expected an object, got a string' },
      ],
    });
  });

  it('are not quoted from a file that is not valid JSON', () => {
    const dir = configDir();
    const file = dir.files('{"thingsboard": {"security": {"accessToken": "gw-secret-token" "x"}}}');
    const result = checkConfig(file, {});
    expect(result).toMatchObject({ ok: false, problems: [{ path: '$' }] });
    expect(JSON.stringify(result)).not.toContain('gw-secret-token');
  });

  it('with a good config, never reach the notices either', () => {
    const dir = configDir();
    const gateway = aGatewayJson({
      thingsboard: { hots: 'x', security: { accessToken: 'gw-secret-token' } },
    });
    const config = loadConfig(dir.files(gateway), {});
    expect(config.notices).toHaveLength(1);
    expect(JSON.stringify(config.notices)).not.toContain('gw-secret-token');
  });
});
