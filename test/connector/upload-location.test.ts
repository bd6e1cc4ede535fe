/**
 * Which GetLog / GetDiagnostics requests get the gateway's upload URL: those that leave the
 * location out, nothing else.
 */
import { describe, expect, it } from 'vitest';
import { withUploadLocation } from '../../src/connector/upload-location.js';
import type { OcppVersion } from '../../src/ocpp/versions.js';

const URL = 'http://gw:9011/uploads/TOKENTOKENTOKENTOKEN12/';

function fill(version: OcppVersion, action: string, params: unknown) {
  const asked: (number | undefined)[] = [];
  const out = withUploadLocation(version, action, params, (requestId) => {
    asked.push(requestId);
    return { url: URL };
  });
  return { out, asked };
}

describe('withUploadLocation', () => {
  it.each<[string, OcppVersion, string, unknown, unknown, (number | undefined)[]]>([
    [
      '2.x GetLog without log',
      'ocpp2.0.1',
      'GetLog',
      { logType: 'SecurityLog', requestId: 3 },
      { logType: 'SecurityLog', requestId: 3, log: { remoteLocation: URL } },
      [3],
    ],
    [
      '2.x GetLog with log but no location',
      'ocpp2.1',
      'GetLog',
      { requestId: 4, log: { oldestTimestamp: 'x' } },
      { requestId: 4, log: { oldestTimestamp: 'x', remoteLocation: URL } },
      [4],
    ],
    [
      '1.6 GetLog with an empty location',
      'ocpp1.6',
      'GetLog',
      { log: { remoteLocation: '' } },
      { log: { remoteLocation: URL } },
      [undefined],
    ],
    [
      '1.6 GetDiagnostics without location',
      'ocpp1.6',
      'GetDiagnostics',
      { retries: 2 },
      { retries: 2, location: URL },
      [undefined],
    ],
    [
      'a location given',
      'ocpp2.0.1',
      'GetLog',
      { log: { remoteLocation: 'ftp://x/' } },
      { log: { remoteLocation: 'ftp://x/' } },
      [],
    ],
    [
      '1.6 GetDiagnostics with a location',
      'ocpp1.6',
      'GetDiagnostics',
      { location: 'ftp://x/' },
      { location: 'ftp://x/' },
      [],
    ],
    [
      'a log that is not an object (the schema says why)',
      'ocpp2.0.1',
      'GetLog',
      { log: 'x' },
      { log: 'x' },
      [],
    ],
    ['another action', 'ocpp2.0.1', 'Reset', { type: 'Immediate' }, { type: 'Immediate' }, []],
    ['params that are not an object', 'ocpp1.6', 'GetDiagnostics', [1], [1], []],
  ])('%s', (_name, version, action, params, payload, asked) => {
    const result = fill(version, action, params);
    expect(result.out).toEqual({ payload });
    expect(result.asked).toEqual(asked);
  });

  it('passes on why no URL can be had', () => {
    expect(withUploadLocation('ocpp1.6', 'GetDiagnostics', {}, () => ({ error: 'not running' }))).toEqual({
      error: 'not running',
    });
  });

  it('copies: the params ThingsBoard sent are not changed', () => {
    const params = { log: {} };
    fill('ocpp2.0.1', 'GetLog', params);
    expect(params).toEqual({ log: {} });
  });
});
