import { describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { aGatewayJson, useConfigDir } from './fixtures.js';

const configDir = useConfigDir();

/** The Python gateway's own default tb_gateway.json, with an OCPP connector added. */
const PYTHON_GATEWAY_JSON = {
  thingsboard: {
    host: 'thingsboard.cloud',
    port: 1883,
    remoteShell: false,
    remoteConfiguration: true,
    latencyDebugMode: false,
    statistics: { enable: true, statsSendPeriodInSeconds: 60, customStatsSendPeriodInSeconds: 3600 },
    deviceFiltering: { enable: false, filterFile: 'list.json' },
    maxPayloadSizeBytes: 8196,
    minPackSendDelayMS: 50,
    minPackSizeToSend: 500,
    checkConnectorsConfigurationInSeconds: 60,
    handleDeviceRenaming: true,
    security: { type: 'accessToken', accessToken: 'YOUR_ACCESS_TOKEN' },
    qos: 1,
    reportStrategy: { type: 'ON_RECEIVED' },
    checkingDeviceActivity: {
      checkDeviceInactivity: false,
      inactivityTimeoutSeconds: 300,
      inactivityCheckPeriodSeconds: 10,
    },
    rateLimits: 'DEFAULT_TELEMETRY_RATE_LIMIT',
    dpRateLimits: 'DEFAULT_TELEMETRY_DP_RATE_LIMIT',
    messagesRateLimits: 'DEFAULT_MESSAGES_RATE_LIMIT',
    deviceMessagesRateLimits: 'DEFAULT_MESSAGES_RATE_LIMIT',
    deviceRateLimits: 'DEFAULT_TELEMETRY_RATE_LIMIT',
    deviceDpRateLimits: 'DEFAULT_TELEMETRY_DP_RATE_LIMIT',
  },
  storage: {
    type: 'memory',
    read_records_count: 100,
    max_records_count: 100000,
    data_folder_path: './data/',
    max_file_count: 10,
    max_read_records_count: 10,
    max_records_per_file: 10000,
    data_file_path: './data/data.db',
    messages_ttl_check_in_hours: 1,
    messages_ttl_in_days: 7,
  },
  grpc: { enabled: false, serverPort: 9595 },
  connectors: [
    { type: 'mqtt', name: 'MQTT Broker Connector', configuration: 'mqtt.json' },
    { type: 'ocpp', name: 'OCPP Connector', configuration: 'ocpp.json', useGRPC: false },
  ],
};

describe('a Python gateway tb_gateway.json', () => {
  it('loads, listing every key it does not use in one info notice', () => {
    const config = loadConfig(configDir().files(PYTHON_GATEWAY_JSON), {});
    expect(config.thingsboard).toMatchObject({ host: 'thingsboard.cloud', maxPayloadSizeBytes: 8196 });
    expect(config.storage).toEqual({ type: 'memory', maxRecordsCount: 100000, maxReadRecordsCount: 10 });
    const infos = config.notices.filter((n) => n.level === 'info');
    expect(infos).toHaveLength(1);
    const info = infos[0]?.message ?? '';
    expect(info).toMatch(/^ignored keys not used by this gateway: thingsboard\.remoteShell, /);
    for (const key of [
      'thingsboard.reportStrategy',
      'storage.read_records_count',
      'storage.messages_ttl_check_in_hours',
      'grpc',
      'connectors[1].useGRPC',
    ]) {
      expect(info).toContain(key);
    }
    expect(info).not.toContain('YOUR_ACCESS_TOKEN');
    // Read, not ignored: statistics, remote configuration, renaming and the rate limits.
    for (const key of ['remoteConfiguration', 'statistics', 'handleDeviceRenaming', 'deviceDpRateLimits']) {
      expect(info).not.toContain(`thingsboard.${key}`);
    }
    expect(config.gatewayDevice).toEqual({
      remoteConfiguration: true,
      handleDeviceRenaming: true,
      statistics: { enable: true, periodMs: 60_000 },
      // Every DEFAULT_… value: ThingsBoard's own limits, nothing local.
      rateLimits: { device: {}, devices: {} },
    });
  });

  it('skips connectors of other types with a warning', () => {
    const config = loadConfig(configDir().files(PYTHON_GATEWAY_JSON), {});
    expect(config.connectors.map((c) => c.name)).toEqual(['OCPP Connector']);
    expect(config.notices.filter((n) => n.level === 'warn')).toEqual([
      {
        level: 'warn',
        message:
          'connector "MQTT Broker Connector" (type "mqtt") skipped: this gateway only runs OCPP connectors',
      },
      {
        level: 'warn',
        message: expect.stringContaining(
          'the ThingsBoard access token is the placeholder "YOUR_ACCESS_TOKEN"',
        ),
      },
    ]);
  });
});

describe('unknown keys', () => {
  it('in tb_gateway.json are a warning naming the closest valid key', () => {
    const gateway = aGatewayJson({ thingsboard: { hots: 'x', security: { accessToken: 'T' } } });
    const config = loadConfig(configDir().files(gateway), {});
    expect(config.notices).toEqual([
      { level: 'warn', message: 'unknown key "thingsboard.hots" — did you mean "host"?' },
    ]);
  });

  it('in tb_gateway.json list the valid keys when nothing is close', () => {
    const config = loadConfig(configDir().files(aGatewayJson({ storage: { flavour: 'x' } })), {});
    expect(config.notices).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(/^unknown key "storage.flavour" — valid keys: type, /),
      },
    ]);
  });

  it('that the Python connector writes into ocpp.json are listed in one info notice per file', () => {
    const dir = configDir();
    const ocpp = {
      name: 'OCPP Connector',
      logLevel: 'INFO',
      chargePoints: [{ idRegexpPattern: 'CP_1', reportStrategy: { type: 'ON_RECEIVED' } }],
    };
    const config = loadConfig(dir.files(aGatewayJson(), ocpp), {});
    expect(config.notices).toEqual([
      {
        level: 'info',
        message: `ignored keys not used by this gateway in ${dir.path('ocpp.json')}: name, chargePoints[0].reportStrategy`,
      },
    ]);
  });

  it('anywhere else in ocpp.json are problems, each at its path', () => {
    const dir = configDir();
    const ocpp = {
      centralSystem: { prot: 9000, connection: { type: 'insecure', cert: 'x' } },
      chargePoints: [
        { attributes: [{ messageTypeFilter: 'MeterValues', key: 'k', value: '${v}', vaule: 'x' }] },
      ],
    };
    const result = checkConfig(dir.files(aGatewayJson(), ocpp), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const file = dir.path('ocpp.json');
    expect(result.problems).toEqual([
      { file, path: '$.centralSystem.prot', message: 'unknown key "prot" — did you mean "port"?' },
      {
        file,
        path: '$.centralSystem.connection.cert',
        message: 'unknown key "cert" — valid keys: type, signingCa',
      },
      {
        file,
        path: '$.chargePoints[0].attributes[0].vaule',
        message: 'unknown key "vaule" — did you mean "value"?',
      },
    ]);
  });
});
