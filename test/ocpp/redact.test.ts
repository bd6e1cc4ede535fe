/**
 * What a frame shows in logs and on the status page: credentials never, idTokens masked, the rest
 * as sent.
 */
import { describe, expect, it } from 'vitest';
import { maskIdToken, REDACTED, redactFrameText } from '../../src/ocpp/redact.js';

const call = (action: string, payload: unknown) => JSON.stringify([2, '1', action, payload]);
const result = (payload: unknown) => JSON.stringify([3, '1', payload]);

describe('redactFrameText', () => {
  const secrets: { name: string; frame: string; secret: string; keeps?: string }[] = [
    {
      name: '1.6 ChangeConfiguration AuthorizationKey',
      frame: call('ChangeConfiguration', { key: 'AuthorizationKey', value: 'deadbeefcafe0001' }),
      secret: 'deadbeefcafe0001',
      keeps: 'AuthorizationKey',
    },
    {
      name: '1.6 GetConfiguration answer holding AuthorizationKey',
      frame: result({
        configurationKey: [{ key: 'AuthorizationKey', readonly: false, value: 'S3cretKey!' }],
      }),
      secret: 'S3cretKey!',
    },
    {
      name: '2.x SetVariables BasicAuthPassword',
      frame: call('SetVariables', {
        setVariableData: [
          {
            attributeValue: 'hunter2hunter2',
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      }),
      secret: 'hunter2hunter2',
      keeps: 'SecurityCtrlr',
    },
    {
      name: '2.x NotifyReport variableAttribute of a password',
      frame: call('NotifyReport', {
        reportData: [
          {
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
            variableAttribute: [{ value: 'p4ssw0rd-in-report' }],
          },
        ],
      }),
      secret: 'p4ssw0rd-in-report',
    },
    {
      name: '2.x SetNetworkProfile VPN key and APN password',
      frame: call('SetNetworkProfile', {
        connectionData: {
          vpn: {
            server: 'vpn.example',
            user: 'u',
            password: 'vpnpass',
            key: 'vpn-shared-key',
            type: 'IPSec',
          },
          apn: { apn: 'internet', apnPassword: 'apn-secret', apnAuthentication: 'AUTO' },
        },
      }),
      secret: 'vpn-shared-key',
      keeps: 'vpn.example',
    },
    {
      name: 'a frame that is not JSON still has its password masked',
      frame: '[2,"1","X",{"password":"not-json-secret"',
      secret: 'not-json-secret',
    },
  ];
  it.each(secrets)('hides $name', ({ frame, secret, keeps }) => {
    const shown = redactFrameText(frame);
    expect(shown).not.toContain(secret);
    expect(shown).toContain(REDACTED);
    if (keeps) expect(shown).toContain(keeps);
  });

  it('masks idTags and idTokens to their last characters, leaving other values alone', () => {
    const shown = redactFrameText(
      call('TransactionEvent', {
        idToken: { idToken: '04A1B2C3D4E5F6', type: 'ISO14443' },
        groupIdToken: { idToken: 'GROUP-000042', type: 'Central' },
        transactionInfo: { transactionId: 'tx-1' },
      }),
    );
    expect(shown).not.toContain('04A1B2C3D4E5F6');
    expect(shown).toContain('***5F6');
    expect(shown).not.toContain('GROUP-000042');
    expect(shown).toContain('ISO14443');
    expect(shown).toContain('tx-1');
    expect(redactFrameText(call('Authorize', { idTag: 'SECRETCARD123' }))).toBe(
      call('Authorize', { idTag: '**********123' }),
    );
  });

  it('keeps a 1.6 configuration key that is not a credential', () => {
    const frame = call('ChangeConfiguration', { key: 'HeartbeatInterval', value: '300' });
    expect(redactFrameText(frame)).toBe(frame);
  });

  it('keeps "__proto__" keys as data and stops at a depth bound', () => {
    expect(redactFrameText('[2,"1","DataTransfer",{"__proto__":{"password":"x"},"vendorId":"v"}]')).toBe(
      '[2,"1","DataTransfer",{"__proto__":{"password":"***"},"vendorId":"v"}]',
    );
    const deep = '['.repeat(100) + ']'.repeat(100);
    expect(redactFrameText(deep)).toContain('nested too deep');
  });

  it('replaces a PEM private key in any string whole, and shows certificates', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n';
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIsecretkeymaterial\n-----END EC PRIVATE KEY-----\n';
    const shown = redactFrameText(
      call('InstallCertificate', { certificateType: 'V2GRootCertificate', certificate: cert + key }),
    );
    expect(shown).not.toContain('secretkeymaterial');
    expect(shown).toContain('MIIBcert');
    // In a frame that is not JSON, and a key cut off by the frame's end.
    const cut = redactFrameText(`[2,"1","DataTransfer",{"data":"${key.slice(0, 60).replace(/\n/g, '\\n')}`);
    expect(cut).not.toContain('MHcCAQEEIsec');
  });

  it.each([
    [
      'GetDiagnostics',
      { location: 'ftp://diag:ftp-s3cret@files.example/diag/' },
      'ftp-s3cret',
      'ftp://diag:***@files.example/diag/',
    ],
    [
      'GetLog',
      { logType: 'SecurityLog', requestId: 1, log: { remoteLocation: 'https://u:p4ss@logs.example/up' } },
      'p4ss',
      'https://u:***@logs.example/up',
    ],
    [
      'GetLog',
      {
        logType: 'DiagnosticsLog',
        requestId: 2,
        log: { remoteLocation: 'http://gw:9011/uploads/Zq3xV8mN2pR5tY7wA1bC4d/' },
      },
      'Zq3xV8mN2pR5tY7wA1bC4d',
      'http://gw:9011/uploads/***/',
    ],
  ])('masks the credential in a %s location', (action, payload, secret, masked) => {
    const shown = redactFrameText(call(action, payload));
    expect(shown).not.toContain(secret);
    expect(shown).toContain(masked);
  });

  it('keeps URLs without credentials and stays linear on hostile text', () => {
    const frame = call('UpdateFirmware', {
      location: 'https://fw.example/v2.bin',
      retrieveDate: '2026-01-01T00:00:00Z',
    });
    expect(redactFrameText(frame)).toBe(frame);
    // Word boundaries at every other character, a scheme separator at the end, no credential.
    const hostile = call('DataTransfer', { vendorId: 'v', data: 'a.'.repeat(500_000) + '://x' });
    expect(redactFrameText(hostile)).toBe(hostile);
  });

  it('maskIdToken shows at most a quarter of a token, never more than 4 characters', () => {
    expect(maskIdToken('123')).toBe('***');
    expect(maskIdToken('1234')).toBe('***4');
    expect(maskIdToken('12345678')).toBe('******78');
    expect(maskIdToken('04A1B2C3D4E5F6A7B8C9')).toBe('****************B8C9');
  });
});
