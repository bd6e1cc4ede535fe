import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import type { GatewayConfig, OcppConnectorConfig } from '../../src/config/types.js';
import { aGatewayJson, anOcppJson, SEED_OCPP_JSON, testPem, useConfigDir } from './fixtures.js';

const PEM = testPem();

const configDir = useConfigDir();

function onlyConnector(config: GatewayConfig): OcppConnectorConfig {
  expect(config.connectors).toHaveLength(1);
  const connector = config.connectors[0];
  if (connector === undefined) throw new Error('no connector');
  return connector;
}

function firstChargePoint(config: GatewayConfig) {
  const cp = onlyConnector(config).chargePoints[0];
  if (cp === undefined) throw new Error('no charge point entry');
  return cp;
}

describe('the seed document', () => {
  it('loads its example ocpp.json verbatim with the expected values', () => {
    const dir = configDir();
    const config = loadConfig(dir.files(aGatewayJson(), SEED_OCPP_JSON), {});
    const connector = onlyConnector(config);
    expect(connector).toMatchObject({ type: 'ocpp', name: 'OCPP Connector', file: dir.path('ocpp.json') });
    expect(connector.centralSystem).toEqual({
      name: 'Central System',
      host: '127.0.0.1',
      port: 9000,
      connection: { type: 'insecure' },
      security: [
        { type: 'token', tokens: ['Bearer ACCESS_TOKEN'] },
        {
          type: 'basic',
          credentials: [{ username: 'admin', password: 'admin' }],
          usernameIsChargePointId: false,
          passwords: new Map(),
          passwordHashes: new Map(),
        },
      ],
      ocppVersions: ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'],
      heartbeatInterval: 60,
      pingInterval: 30,
      maxMessageSize: 1_048_576,
      compression: true,
      announceUnbootedAfter: 10,
      maxJsonDepth: 64,
      maxSendBufferSize: 1_048_576,
      sendStallTimeoutMs: 30_000,
      maxQueuedCalls: 64,
      maxChargePointIdLength: 255,
    });
    // No Central System keys: everything accepted, nothing new published.
    expect(connector.authorization).toMatchObject({ mode: 'acceptAll', configured: false, telemetry: false });

    const cp = firstChargePoint(config);
    expect(cp).toMatchObject({ sessions: false, sampledValuesAsText: false, dataTransferVendors: [] });
    expect(cp.registration).toBeUndefined();
    expect(cp.tariff).toBeUndefined();
    expect(cp.idRegexpPattern).toBe('bidon/hello/CP_1');
    expect(cp.idRegexp.test('bidon/hello/CP_1')).toBe(true);
    expect(cp.deviceNameExpression.source).toBe('${Vendor} ${Model}');
    expect(cp.deviceNameExpression.render({ Vendor: 'ACME', Model: 'X1' })).toMatchObject({
      ok: true,
      value: 'ACME X1',
    });
    expect(cp.deviceTypeExpression.source).toBe('default');
    expect(
      cp.attributes.map((a) => ({ messageTypes: a.messageTypes, key: a.key.source, value: a.value.source })),
    ).toEqual([
      { messageTypes: ['MeterValues'], key: 'temp1', value: '${meter_value[:].sampled_value[:].value}' },
      { messageTypes: ['MeterValues'], key: 'vendorId', value: '${connector_id}' },
    ]);
    expect(
      cp.timeseries.map((t) => ({ messageTypes: t.messageTypes, key: t.key.source, value: t.value.source })),
    ).toEqual([{ messageTypes: ['DataTransfer'], key: 'temp', value: '${data.temp}' }]);
    expect(cp.attributeUpdates).toHaveLength(1);
    expect(cp.attributeUpdates[0]).toMatchObject({
      attributeOnThingsBoard: 'shared',
      vendorId: 'ThingsBoard',
    });
    expect(cp.attributeUpdates[0]?.valueExpression.source).toBe('{"${attributeKey}":"${attributeValue}"}');
    expect(cp.attributeUpdates[0]).not.toHaveProperty('action');
    expect(cp.serverSideRpc).toHaveLength(1);
    expect(cp.serverSideRpc[0]).toMatchObject({
      methodRPC: 'rpc1',
      withResponse: true,
      vendorId: 'ThingsBoard',
      timeoutMs: 30_000,
    });
    expect(cp.serverSideRpc[0]?.valueExpression.source).toBe('${params}');
    // Its credentials are the documentation's examples: loaded, and warned about.
    expect(config.notices.map((n) => n.message)).toEqual([
      expect.stringMatching(/centralSystem\.security\[0\] still holds the example token/),
      expect.stringMatching(/centralSystem\.security\[1\] still holds the example credentials admin\/admin/),
    ]);
  });

  it('is what config/ocpp.json ships, and the shipped config/ files load', () => {
    const shipped = resolve(import.meta.dirname, '../../config');
    expect(readFileSync(resolve(shipped, 'ocpp.json'), 'utf8')).toBe(SEED_OCPP_JSON);
    const config = loadConfig(resolve(shipped, 'tb_gateway.json'), {});
    expect(config.thingsboard).toMatchObject({
      host: '127.0.0.1',
      port: 1883,
      qos: 1,
      username: 'YOUR_GATEWAY_ACCESS_TOKEN',
    });
    expect(config.thingsboard.tls).toBeUndefined();
    expect(config.storage).toEqual({
      type: 'sqlite',
      dataFilePath: resolve(process.cwd(), 'data/gateway.db'),
      maxRecordsCount: 1_000_000,
      maxReadRecordsCount: 1000,
      messagesTtlInDays: 7,
      minFreeDiskBytes: 16 * 1024 * 1024,
    });
    expect(onlyConnector(config)).toMatchObject({
      name: 'OCPP Connector',
      file: resolve(shipped, 'ocpp.json'),
    });
  });
});

describe('defaults', () => {
  it('fills every key left out with the value of the seed tables', () => {
    const ocpp = {
      chargePoints: [{ attributes: [{}], timeseries: [{}], attributeUpdates: [{}], serverSideRpc: [{}] }],
    };
    const config = loadConfig(configDir().files(aGatewayJson(), ocpp), {});
    expect(onlyConnector(config).centralSystem).toMatchObject({
      name: 'Central System',
      host: '127.0.0.1',
      port: 9000,
      connection: { type: 'insecure' },
      security: [],
    });
    const cp = firstChargePoint(config);
    expect(cp.idRegexpPattern).toBe('charge_points/CP_1');
    expect(cp.deviceNameExpression.source).toBe('${Vendor} ${Model}');
    expect(cp.deviceTypeExpression.source).toBe('${Model}');
    for (const mapping of [...cp.attributes, ...cp.timeseries]) {
      expect(mapping.messageTypes).toEqual(['MeterValues']);
      expect(mapping.key.source).toBe('temp');
      expect(mapping.value.source).toBe('${meter_value[:].sampled_value[:].value}');
    }
    expect(cp.attributeUpdates[0]?.attributeOnThingsBoard).toBe('sharedName');
    expect(cp.attributeUpdates[0]?.valueExpression.source).toBe('{"${attributeKey}":"${attributeValue}"}');
    expect(cp.serverSideRpc[0]).toMatchObject({
      methodRPC: 'rpcMethod1',
      withResponse: true,
      timeoutMs: 30_000,
    });
    expect(cp.serverSideRpc[0]?.valueExpression.source).toBe('${params}');
  });

  it('defaults tb_gateway.json: broker settings, our extras and memory storage', () => {
    const gateway = {
      thingsboard: { security: { accessToken: 'T' } },
      connectors: aGatewayJson().connectors,
    };
    const config = loadConfig(configDir().files(gateway), {});
    expect(config.thingsboard).toEqual({
      host: '127.0.0.1',
      port: 1883,
      qos: 1,
      maxPayloadSizeBytes: 65536,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30000,
      shutdownGracePeriodMs: 10_000,
      maxJsonDepth: 64,
      username: 'T',
    });
    expect(config.storage).toEqual({ type: 'memory', maxRecordsCount: 100_000, maxReadRecordsCount: 1000 });
  });

  it('reads sqlite storage and treats "file" as sqlite with a warning', () => {
    const dir = configDir();
    const sqlite = loadConfig(dir.files(aGatewayJson({ storage: { type: 'sqlite' } })), {});
    expect(sqlite.storage).toEqual({
      type: 'sqlite',
      dataFilePath: resolve(process.cwd(), 'data/gateway.db'),
      maxRecordsCount: 1_000_000,
      maxReadRecordsCount: 1000,
      messagesTtlInDays: 7,
      minFreeDiskBytes: 16 * 1024 * 1024,
    });
    const storage = {
      type: 'file',
      data_file_path: '/var/lib/gw/data.db',
      messages_ttl_in_days: 0,
      min_free_disk_space_mb: 0.5,
    };
    const file = loadConfig(dir.files(aGatewayJson({ storage })), {});
    expect(file.storage).toMatchObject({
      type: 'sqlite',
      dataFilePath: '/var/lib/gw/data.db',
      messagesTtlInDays: 0,
      minFreeDiskBytes: 512 * 1024,
    });
    expect(file.notices).toContainEqual({
      level: 'warn',
      message: expect.stringContaining('storage.type "file" is treated as "sqlite"'),
    });
  });

  it('names several unnamed OCPP connectors apart', () => {
    const dir = configDir();
    dir.write('a.json', anOcppJson({ centralSystem: { port: 9001 } }));
    dir.write('b.json', anOcppJson({ centralSystem: { port: 9002 } }));
    const connectors = [
      { type: 'ocpp', configuration: 'a.json' },
      { type: 'OCPP', configuration: 'b.json' },
    ];
    const config = loadConfig(dir.write('tb_gateway.json', aGatewayJson({ connectors })), {});
    expect(config.connectors.map((c) => c.name)).toEqual(['OCPP Connector 1', 'OCPP Connector 2']);
  });
});

describe('messageTypeFilter', () => {
  it('is split on commas, trimmed, and empty items dropped', () => {
    const ocpp = anOcppJson({
      chargePoints: [
        { timeseries: [{ messageTypeFilter: 'MeterValues, DataTransfer ,', key: 'k', value: '${v}' }] },
      ],
    });
    const config = loadConfig(configDir().files(aGatewayJson(), ocpp), {});
    expect(firstChargePoint(config).timeseries[0]?.messageTypes).toEqual(['MeterValues', 'DataTransfer']);
  });
});

describe('idRegexpPattern', () => {
  it('must match the whole charge point id', () => {
    const ocpp = anOcppJson({
      chargePoints: [{ idRegexpPattern: 'CP_1' }, { idRegexpPattern: 'CP_1|CP_2' }],
    });
    const [exact, alternatives] = onlyConnector(
      loadConfig(configDir().files(aGatewayJson(), ocpp), {}),
    ).chargePoints;
    expect(exact?.idRegexp.test('CP_1')).toBe(true);
    expect(exact?.idRegexp.test('CP_10')).toBe(false);
    expect(exact?.idRegexp.test('xCP_1')).toBe(false);
    expect(alternatives?.idRegexp.test('CP_2')).toBe(true);
    expect(alternatives?.idRegexp.test('CP_12')).toBe(false);
    expect(alternatives?.idRegexp.test('CP_1x')).toBe(false);
  });
});

describe('centralSystem.security', () => {
  const token = { type: 'token', tokens: ['Bearer T'] };
  const load = (security: unknown[] | undefined) => {
    const centralSystem = security === undefined ? {} : { security };
    return loadConfig(configDir().files(aGatewayJson(), anOcppJson({ centralSystem })), {});
  };

  it.each([
    ['missing', undefined],
    ['empty', []],
    ['only anonymous', [{ type: 'anonymous' }]],
  ])('%s means no authentication, without a warning', (_, security) => {
    const config = load(security);
    expect(onlyConnector(config).centralSystem.security).toEqual([]);
    expect(config.notices).toEqual([]);
  });

  it('anonymous next to other entries turns authentication off and says so', () => {
    const config = load([token, { type: 'anonymous' }]);
    expect(onlyConnector(config).centralSystem.security).toEqual([]);
    expect(config.notices).toEqual([
      { level: 'warn', message: expect.stringContaining('"anonymous", which turns authentication off') },
    ]);
  });

  it('reads passwordsFile into lowercase sha256 digests', () => {
    const dir = configDir();
    const hash = 'AB'.repeat(32);
    dir.write('passwords.txt', `# id:sha256\nCP_1:${hash}\n\nCP:2:${'cd'.repeat(32)}\n`);
    const basic = { type: 'basic', usernameIsChargePointId: true, passwordsFile: 'passwords.txt' };
    const config = loadConfig(
      dir.files(aGatewayJson(), anOcppJson({ centralSystem: { security: [basic] } })),
      {},
    );
    expect(onlyConnector(config).centralSystem.security).toEqual([
      {
        type: 'basic',
        credentials: [],
        usernameIsChargePointId: true,
        passwords: new Map(),
        passwordHashes: new Map([
          ['CP_1', 'ab'.repeat(32)],
          ['CP:2', 'cd'.repeat(32)],
        ]),
      },
    ]);
  });
});

describe('TLS files', () => {
  it('reads the central system certificate, key and CA relative to ocpp.json', () => {
    const dir = configDir();
    dir.write('cs.pem', PEM.cert);
    dir.write('cs.key', PEM.key);
    dir.write('ca.pem', PEM.ca);
    const connection = {
      type: 'tls',
      cert: 'cs.pem',
      key: 'cs.key',
      ca: 'ca.pem',
      requireClientCertificate: true,
    };
    const config = loadConfig(dir.files(aGatewayJson(), anOcppJson({ centralSystem: { connection } })), {});
    const tls = onlyConnector(config).centralSystem.connection;
    expect(tls).toEqual({
      type: 'tls',
      cert: [Buffer.from(PEM.cert)],
      key: [Buffer.from(PEM.key)],
      files: { cert: [dir.path('cs.pem')], key: [dir.path('cs.key')], ca: dir.path('ca.pem') },
      ca: Buffer.from(PEM.ca),
      requireClientCertificate: true,
      clientCertificateCnMustMatchId: false,
      allowLegacyTls: false,
      certificateCheckIntervalMs: 30_000,
    });
  });

  it('reads the broker files of tlsPrivateKey, typed or in the old untyped form', () => {
    const dir = configDir();
    dir.write('ca.pem', PEM.ca);
    dir.write('cert.pem', PEM.clientCert);
    dir.write('key.pem', PEM.clientKey);
    const files = { caCert: 'ca.pem', cert: 'cert.pem', privateKey: 'key.pem' };
    for (const security of [{ type: 'tlsPrivateKey', ...files }, files]) {
      const gateway = aGatewayJson({ thingsboard: { port: 8883, security } });
      const config = loadConfig(dir.files(gateway), {});
      expect(config.thingsboard.tls).toEqual({
        ca: Buffer.from(PEM.ca),
        cert: Buffer.from(PEM.clientCert),
        key: Buffer.from(PEM.clientKey),
      });
      expect(config.thingsboard.username).toBeUndefined();
    }
  });

  it('tlsAccessToken logs in with the token over TLS', () => {
    const dir = configDir();
    dir.write('ca.pem', PEM.ca);
    const security = { type: 'tlsAccessToken', accessToken: 'T', caCert: 'ca.pem' };
    const config = loadConfig(dir.files(aGatewayJson({ thingsboard: { security } })), {});
    expect(config.thingsboard).toMatchObject({ username: 'T', tls: { ca: Buffer.from(PEM.ca) } });
  });
});

describe('broker credentials', () => {
  it('read the untyped {accessToken, caCert} form as tlsAccessToken', () => {
    const dir = configDir();
    dir.write('ca.pem', PEM.ca);
    const security = { accessToken: 'T', caCert: 'ca.pem' };
    const config = loadConfig(dir.files(aGatewayJson({ thingsboard: { security } })), {});
    expect(config.thingsboard).toMatchObject({ username: 'T', tls: { ca: Buffer.from(PEM.ca) } });
  });

  it('may be left out: the gateway then connects without any, and says so', () => {
    const config = loadConfig(configDir().files(aGatewayJson({ thingsboard: { host: 'broker' } })), {});
    expect(config.thingsboard.username).toBeUndefined();
    expect(config.thingsboard.tls).toBeUndefined();
    expect(config.notices).toEqual([
      { level: 'warn', message: expect.stringContaining('without credentials') },
    ]);
  });
});

describe('usernamePassword', () => {
  it('passes username, password and client id', () => {
    const security = { type: 'usernamePassword', username: 'u', password: 'p', clientId: 'c' };
    const config = loadConfig(configDir().files(aGatewayJson({ thingsboard: { security } })), {});
    expect(config.thingsboard).toMatchObject({ username: 'u', password: 'p', clientId: 'c' });
    expect(config.thingsboard.tls).toBeUndefined();
  });
});

describe('environment overrides', () => {
  it('apply after the file', () => {
    const security = { type: 'usernamePassword', username: 'file-user', password: 'file-pw' };
    const file = configDir().files(
      aGatewayJson({ thingsboard: { host: 'file-host', port: 1883, security } }),
    );
    const config = loadConfig(file, {
      TB_GW_HOST: 'env-host',
      TB_GW_PORT: '8883',
      TB_GW_ACCESS_TOKEN: 'ENV_TOKEN',
    });
    expect(config.thingsboard).toMatchObject({ host: 'env-host', port: 8883, username: 'ENV_TOKEN' });
    expect(config.thingsboard.password).toBeUndefined();
  });

  it('can switch the security type and supply its settings', () => {
    const dir = configDir();
    dir.write('env-ca.pem', PEM.ca);
    const config = loadConfig(dir.files(), {
      TB_GW_SECURITY_TYPE: 'usernamePassword',
      TB_GW_USERNAME: 'env-user',
      TB_GW_PASSWORD: 'env-pw',
      TB_GW_CLIENT_ID: 'env-client',
      TB_GW_CA_CERT: dir.path('env-ca.pem'),
    });
    expect(config.thingsboard).toMatchObject({
      username: 'env-user',
      password: 'env-pw',
      clientId: 'env-client',
      tls: { ca: Buffer.from(PEM.ca) },
    });
  });

  it('keeps tlsAccessToken when only the token comes from the environment', () => {
    const dir = configDir();
    dir.write('ca.pem', PEM.ca);
    const security = { type: 'tlsAccessToken', accessToken: 'FILE', caCert: 'ca.pem' };
    const config = loadConfig(dir.files(aGatewayJson({ thingsboard: { security } })), {
      TB_GW_ACCESS_TOKEN: 'ENV',
    });
    expect(config.thingsboard).toMatchObject({ username: 'ENV', tls: { ca: Buffer.from(PEM.ca) } });
  });

  it('ignores empty variables', () => {
    const config = loadConfig(configDir().files(), {
      TB_GW_HOST: '',
      TB_GW_PORT: ' ',
      TB_GW_ACCESS_TOKEN: '',
    });
    expect(config.thingsboard).toMatchObject({ host: 'tb.example', port: 1883, username: 'GATEWAY_TOKEN' });
  });
});

describe('checkConfig', () => {
  it('returns the config instead of throwing', () => {
    const result = checkConfig(configDir().files(), {});
    expect(result.ok).toBe(true);
  });

  it('returns the problems instead of throwing', () => {
    const result = checkConfig(configDir().files(aGatewayJson({ thingsboard: { port: 'abc' } })), {});
    expect(result).toMatchObject({ ok: false, problems: [{ path: '$.thingsboard.port' }] });
  });
});
