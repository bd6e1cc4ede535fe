/**
 * The Central System keys of ocpp.json: defaults that keep an old configuration's behaviour,
 * what a full configuration loads into, and each problem at its file, JSON path and message —
 * without an idToken in clear in the message.
 */
import { describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { aGatewayJson, anOcppJson, useConfigDir } from './fixtures.js';

const configDir = useConfigDir();
type Json = Record<string, unknown>;

const cp = (entry: Json, top: Json = {}) =>
  anOcppJson({ chargePoints: [{ idRegexpPattern: 'CP_1', ...entry }], ...top });

function load(ocpp: Json) {
  const config = loadConfig(configDir().files(aGatewayJson(), ocpp), {});
  const connector = config.connectors[0];
  if (!connector) throw new Error('no connector');
  return connector;
}

describe('Central System keys', () => {
  it('a full configuration loads into typed values', () => {
    const connector = load(
      cp(
        {
          registration: 'Pending',
          registrationRetryInterval: 45,
          sessions: true,
          tariff: { currency: 'EUR', pricePerKWh: 0.39 },
          dataTransferVendors: [{ vendorId: 'acme', messageIds: ['price'] }],
          sampledValuesAsText: true,
          timeseries: [{ messageTypeFilter: 'MeterValues', key: 'e', value: '${x}', type: 'double' }],
        },
        {
          authorization: {
            mode: 'thingsboard',
            idTokens: {
              CARD1: {
                status: 'Blocked',
                expiryDate: '2030-01-01T00:00:00+01:00',
                groupId: 'G',
                type: 'KeyCode',
              },
            },
            unknownStatus: 'Unknown',
            rpcMethod: 'authorize',
            timeoutSeconds: 2.5,
            whenThingsBoardUnreachable: 'reject',
            idTokenInTelemetry: 'hashed',
            idTokenHashKey: 'k',
            telemetry: false,
          },
        },
      ),
    );
    expect(connector.authorization).toEqual({
      mode: 'thingsboard',
      idTokens: new Map([
        [
          'CARD1',
          { status: 'Blocked', expiryDate: '2030-01-01T00:00:00+01:00', groupId: 'G', type: 'KeyCode' },
        ],
      ]),
      unknownStatus: 'Unknown',
      rpcMethod: 'authorize',
      timeoutMs: 2500,
      whenThingsBoardUnreachable: 'reject',
      idTokenInTelemetry: 'hashed',
      idTokenHashKey: 'k',
      telemetry: false,
      configured: true,
    });
    const entry = connector.chargePoints[0];
    expect(entry).toMatchObject({
      registration: 'Pending',
      registrationRetryInterval: 45,
      sessions: true,
      tariff: {
        currency: 'EUR',
        pricePerKWh: 0.39,
        pricePerMinute: 0,
        pricePerSession: 0,
        costUpdatedInterval: 60,
      },
      dataTransferVendors: [{ vendorId: 'acme', messageIds: ['price'] }],
      sampledValuesAsText: true,
    });
    expect(entry?.timeseries[0]?.type).toBe('double');
  });

  it('an `authorization` key with only a mode publishes decisions; none at all publishes nothing', () => {
    expect(load(cp({}, { authorization: { mode: 'list' } })).authorization).toMatchObject({
      mode: 'list',
      telemetry: true,
      configured: true,
      unknownStatus: 'Invalid',
      whenThingsBoardUnreachable: 'cache',
      idTokenInTelemetry: 'masked',
    });
    expect(load(cp({})).authorization).toMatchObject({
      mode: 'acceptAll',
      telemetry: false,
      configured: false,
    });
  });

  it.each([
    ['$.authorization.mode', 'expected one of', cp({}, { authorization: { mode: 'allow' } })],
    ['$.authorization.mod', 'did you mean "mode"?', cp({}, { authorization: { mod: 'list' } })],
    [
      '$.authorization.whenThingsBoardUnreachable',
      'expected one of',
      cp({}, { authorization: { whenThingsBoardUnreachable: 'retry' } }),
    ],
    ['$.chargePoints[0].registration', 'expected one of', cp({ registration: 'Maybe' })],
    ['$.chargePoints[0].tariff.currency', 'ISO 4217', cp({ tariff: { currency: 'euro' } })],
    [
      '$.chargePoints[0].tariff.pricePerKwh',
      'did you mean "pricePerKWh"?',
      cp({ tariff: { currency: 'EUR', pricePerKwh: 1 } }),
    ],
    [
      '$.chargePoints[0].tariff.pricePerKWh',
      'at least 0',
      cp({ tariff: { currency: 'EUR', pricePerKWh: -1 } }),
    ],
    [
      '$.chargePoints[0].dataTransferVendors[0].vendor',
      'did you mean "vendorId"?',
      cp({ dataTransferVendors: [{ vendor: 'a' }] }),
    ],
    ['$.chargePoints[0].sessions', 'true or false', cp({ sessions: 'yes' })],
    [
      '$.chargePoints[0].timeseries[0].type',
      'expected one of',
      cp({ timeseries: [{ key: 'k', value: '${v}', type: 'float' }] }),
    ],
    [
      '$.centralSystem.announceUnbootedAfter',
      'at least 0',
      cp({}, { centralSystem: { announceUnbootedAfter: -1 } }),
    ],
  ] as const)('%s: %s', (path, message, ocpp) => {
    const dir = configDir();
    const result = checkConfig(dir.files(aGatewayJson(), ocpp), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContainEqual({
      file: dir.path('ocpp.json'),
      path,
      message: expect.stringContaining(message),
    });
  });

  it('a bad idTokens entry is reported by position and masked token, never in clear', () => {
    const dir = configDir();
    const result = checkConfig(
      dir.files(
        aGatewayJson(),
        cp(
          {},
          {
            authorization: {
              mode: 'list',
              idTokens: { GOODCARD: { status: 'Accepted' }, SECRETCARD99: { status: 'Maybe' } },
            },
          },
        ),
      ),
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        file: dir.path('ocpp.json'),
        path: '$.authorization.idTokens',
        message: expect.stringMatching(/^entry 2 \(\*{9}D99\): status: expected one of Accepted, Blocked/),
      },
    ]);
    expect(JSON.stringify(result.problems)).not.toContain('SECRETCARD99');
  });

  it.each(['__proto__', 'constructor', 'toString'])(
    'an idToken named %s is an ordinary list entry',
    (token) => {
      // Parsed from text: an object literal would make `__proto__` the prototype, not a key.
      const idTokens: unknown = JSON.parse(
        `{${JSON.stringify(token)}: {"status": "Blocked"}, "CARD1": {"status": "Accepted"}}`,
      );
      const connector = load(cp({}, { authorization: { mode: 'list', idTokens } }));
      expect([...connector.authorization.idTokens]).toEqual([
        [token, { status: 'Blocked' }],
        ['CARD1', { status: 'Accepted' }],
      ]);
    },
  );

  it('idTokens that are not an object are refused at their path', () => {
    const dir = configDir();
    const result = checkConfig(
      dir.files(aGatewayJson(), cp({}, { authorization: { mode: 'list', idTokens: ['CARD1'] } })),
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        file: dir.path('ocpp.json'),
        path: '$.authorization.idTokens',
        message: expect.stringContaining('expected an object'),
      },
    ]);
  });
});
