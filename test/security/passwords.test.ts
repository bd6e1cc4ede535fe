/**
 * Password primitives and how a password write is recognised in an outgoing CALL, as tables.
 */
import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashGeneratedPassword,
  hashPassword,
  isKdfVerifier,
  passwordForms,
  verifyAny,
  verifyPassword,
} from '../../src/security/passwords.js';
import { outcomeOf, passwordWriteIn, passwordWriteStatus } from '../../src/security/password-rotation.js';

describe('stored passwords', () => {
  it('are salted scrypt verifiers: two hashes of one password differ, both verify it, neither another', async () => {
    const [a, b] = await Promise.all([hashPassword('s3cret-Pass-0001'), hashPassword('s3cret-Pass-0001')]);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(
      await Promise.all([verifyPassword('s3cret-Pass-0001', a), verifyPassword('s3cret-Pass-0002', b)]),
    ).toEqual([true, false]);
    expect(await verifyAny('s3cret-Pass-0001', [b, a])).toBe(true);
  });

  it('of generated passwords are salted HMAC-SHA256: no KDF, still salted, still only the one password', async () => {
    const password = generatePassword('ocpp2.0.1').value;
    const [a, b] = [hashGeneratedPassword(password), hashGeneratedPassword(password)];
    expect(a).toMatch(/^hmac-sha256\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(password);
    expect([isKdfVerifier(a), isKdfVerifier(await hashPassword(password))]).toEqual([false, true]);
    expect(
      await Promise.all([
        verifyPassword(password, a),
        verifyPassword(password, b),
        verifyPassword(`${password}x`, a),
        verifyPassword(password.slice(1), b),
      ]),
    ).toEqual([true, true, false, false]);
    expect(await verifyAny(password, [await hashPassword('other-Pass-000001'), b])).toBe(true);
  });

  it.each([
    ['another scheme', 'sha256$abc'],
    ['a fast verifier with a short MAC', 'hmac-sha256$c2FsdA==$a2V5'],
    ['a fast verifier with an extra field', `hmac-sha256$c2FsdA==$${'A'.repeat(43)}=$x`],
    ['a cost that is no power of two', 'scrypt$1000$8$1$c2FsdA==$a2V5'],
    ['a cost above the bound', `scrypt$${2 ** 22}$8$1$c2FsdA==$a2V5`],
    ['a key of the wrong length', 'scrypt$16384$8$1$c2FsdA==$a2V5'],
  ])('a verifier with %s never verifies (and is not computed)', async (_what, verifier) => {
    expect(await verifyPassword('anything', verifier)).toBe(false);
  });
});

describe('generated passwords', () => {
  it('2.x: 40 characters of passwordString (letters, digits, *-_=:+|@.), admitted as written', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const p = generatePassword('ocpp2.0.1');
      expect(p.value).toMatch(/^[A-Za-z0-9*\-_=:+|@.]{40}$/);
      expect(p.forms).toEqual([p.value]);
      seen.add(p.value);
    }
    expect(seen.size).toBe(20);
  });

  it('1.6: 20 letters and digits written as 40 hex digits; both forms admitted', () => {
    const p = generatePassword('ocpp1.6');
    expect(p.value).toMatch(/^[0-9A-F]{40}$/);
    const text = Buffer.from(p.value, 'hex').toString();
    expect(text).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(p.forms).toEqual([p.value, text]);
  });

  it.each([
    ['ocpp1.6', Buffer.from('sixteen-chars-ok').toString('hex'), ['sixteen-chars-ok']],
    ['ocpp1.6', 'not-hex-but-long-enough', []],
    ['ocpp1.6', Buffer.from('too-short').toString('hex'), []],
    ['ocpp1.6', 'ff'.repeat(16), []],
    ['ocpp2.0.1', Buffer.from('sixteen-chars-ok').toString('hex'), []],
  ] as const)('%s value %s also admits %j', (version, value, decoded) => {
    expect(passwordForms(version, value)).toEqual([value, ...decoded]);
  });
});

describe('password writes in outgoing CALLs', () => {
  const setVariables = (entries: Record<string, unknown>[]) => ({ setVariableData: entries });
  const pw = (value: string, extra: Record<string, unknown> = {}) => ({
    component: { name: 'SecurityCtrlr' },
    variable: { name: 'BasicAuthPassword' },
    attributeValue: value,
    ...extra,
  });
  it.each([
    ['ocpp1.6', 'ChangeConfiguration', { key: 'AuthorizationKey', value: 'K' }, 'K'],
    ['ocpp1.6', 'ChangeConfiguration', { key: 'authorizationkey', value: 'K' }, 'K'],
    ['ocpp1.6', 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '60' }, undefined],
    ['ocpp1.6', 'SetVariables', setVariables([pw('P')]), undefined],
    ['ocpp2.0.1', 'SetVariables', setVariables([pw('P')]), 'P'],
    [
      'ocpp2.1',
      'SetVariables',
      setVariables([
        pw('P1'),
        {
          component: { name: 'OCPPCommCtrlr' },
          variable: { name: 'HeartbeatInterval' },
          attributeValue: '60',
        },
        pw('P2'),
      ]),
      'P2',
    ],
    ['ocpp2.0.1', 'SetVariables', setVariables([pw('P', { attributeType: 'Target' })]), undefined],
    ['ocpp2.0.1', 'SetVariables', setVariables([pw('P', { component: { name: 'securityctrlr' } })]), 'P'],
    ['ocpp2.0.1', 'ChangeConfiguration', { key: 'AuthorizationKey', value: 'K' }, undefined],
  ] as const)('%s %s %j → %s (the password in use)', (version, action, payload, value) => {
    const write = passwordWriteIn(version, action, payload);
    expect(write?.value).toBe(value);
    if (value !== undefined) expect(write?.kind).toBe('active');
  });

  // 2.1 B09.FR.14/28: a network connection profile's password is used once the station switches to it.
  const profile = (connectionData: Record<string, unknown>) => ({
    configurationSlot: 2,
    connectionData: {
      ocppInterface: 'Wired0',
      ocppTransport: 'JSON',
      messageTimeout: 30,
      ocppCsmsUrl: 'wss://csms.example/ocpp',
      securityProfile: 2,
      ...connectionData,
    },
  });
  const slotPw = (value: string) => ({
    component: { name: 'NetworkConfiguration', instance: '2' },
    variable: { name: 'BasicAuthPassword' },
    attributeValue: value,
  });
  it.each([
    ['ocpp2.1', 'SetNetworkProfile', profile({ basicAuthPassword: 'S' }), { value: 'S', kind: 'staged' }],
    [
      'ocpp2.1',
      'SetNetworkProfile',
      profile({ basicAuthPassword: 'S', identity: 'CP_NEW' }),
      { value: 'S', kind: 'staged', identity: 'CP_NEW' },
    ],
    ['ocpp2.1', 'SetNetworkProfile', profile({}), undefined],
    ['ocpp2.0.1', 'SetNetworkProfile', profile({ basicAuthPassword: 'S' }), undefined],
    ['ocpp2.1', 'SetVariables', setVariables([slotPw('S')]), { value: 'S', kind: 'staged' }],
    ['ocpp2.0.1', 'SetVariables', setVariables([slotPw('S')]), undefined],
    // The password in use wins over a slot's in the same request (B09.FR.27 sets it in every slot).
    ['ocpp2.1', 'SetVariables', setVariables([pw('P'), slotPw('S')]), { value: 'P', kind: 'active' }],
  ] as const)('%s %s %j → %j', (version, action, payload, write) => {
    expect(passwordWriteIn(version, action, payload)).toEqual(write);
  });

  it.each([
    ['ocpp1.6', { status: 'Accepted' }, 'changed'],
    // Applied after the station's reboot: staged (both admitted until it uses the new one).
    ['ocpp1.6', { status: 'RebootRequired' }, 'staged'],
    ['ocpp1.6', { status: 'Rejected' }, 'unchanged'],
    ['ocpp1.6', { status: 'NotSupported' }, 'unchanged'],
    [
      'ocpp2.0.1',
      {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      },
      'changed',
    ],
    [
      'ocpp2.0.1',
      {
        setVariableResult: [
          {
            attributeStatus: 'UnknownVariable',
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      },
      'unchanged',
    ],
    ['ocpp2.0.1', { setVariableResult: [] }, 'unconfirmed'],
  ] as const)('%s answer %j → %s', (version, response, outcome) => {
    expect(outcomeOf(passwordWriteStatus(version, response))).toBe(outcome);
  });

  it.each([
    ['SetNetworkProfile', { status: 'Accepted' }, 'staged'],
    ['SetNetworkProfile', { status: 'Rejected' }, 'unchanged'],
    ['SetNetworkProfile', { status: 'Failed' }, 'unchanged'],
    [
      'SetVariables',
      {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'NetworkConfiguration', instance: '2' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      },
      'staged',
    ],
  ] as const)('2.1 %s of a network profile password answered %j → %s', (action, response, outcome) => {
    const status = passwordWriteStatus('ocpp2.1', response, { kind: 'staged' }, action);
    expect(outcomeOf(status, 'staged')).toBe(outcome);
  });
});
