import { describe, expect, it } from 'vitest';
import {
  formatLine,
  levelFromName,
  LiteralSecrets,
  pinoLevelOf,
  redact,
} from '../../src/gateway-device/log-format.js';

describe('log lines for ThingsBoard', () => {
  it('look like the Python gateway’s, so the gateway page reads level and message', () => {
    const line = formatLine(
      40,
      {
        level: 40,
        time: '2026-11-23T10:00:00.123Z',
        connector: 'OCPP',
        msg: 'charge point refused',
        chargePointId: 'CP_1',
      },
      [],
    );
    expect(line).toBe(
      '2026-11-23 10:00:00,123 - |WARNING|<main> [OCPP] - OCPP - 0 - charge point refused {"chargePointId":"CP_1"}',
    );
    // What the widget does with it (gateway-logs.component.ts).
    expect(/\|(\w+)\|/.exec(line)?.[1]).toBe('WARNING');
    expect(/\[(.*)/.exec(line)?.[0]).toMatch(/^\[OCPP\] - /);
  });

  it('never carry a secret', () => {
    const text = redact(
      'auth "Authorization":"Bearer abc.def" {"password":"hunter2","accessToken":"TOKEN-123456"} Basic YWRtaW46YWRtaW4= my-literal-secret',
      ['my-literal-secret'],
    );
    for (const secret of ['abc.def', 'hunter2', 'TOKEN-123456', 'YWRtaW46YWRtaW4=', 'my-literal-secret']) {
      expect(text).not.toContain(secret);
    }
  });

  it('mask idTokens, and remove private keys and URL passwords anywhere', () => {
    const text = redact(
      '{"idTag":"CARD00001234","idToken":"***234","parentIdTag":"ABC","location":"ftp://u:ftp-pass@host/x"} -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----',
      [],
    );
    // The product's one mask: at most a quarter, at most the last 4 characters.
    expect(text).toContain('"idTag":"*********234"');
    expect(text).toContain('"idToken":"***234"'); // masked where it was logged: kept
    expect(text).toContain('"parentIdTag":"***"');
    for (const secret of ['CARD00001234', 'ftp-pass', 'MIIE']) expect(text).not.toContain(secret);
  });

  it('find thousands of literal secrets in one pass, the longest first', () => {
    const passwords = Array.from({ length: 5000 }, (_, i) => `pw-${String(i).padStart(5, '0')}-secret`);
    const secrets = new LiteralSecrets([...passwords, 'pw-0', 'abc']);
    const line = `a ${passwords[4321]} b pw-0 c ${passwords[7]}${passwords[8]} abc`;
    expect(secrets.replace(line)).toBe('a *** b *** c ****** abc');
    expect(secrets.replace('nothing here')).toBe('nothing here');
    expect(new LiteralSecrets([]).replace(line)).toBe(line);
  });

  it.each([
    ['{"level":30,"time":"x","msg":"a"}', 30],
    ['{"level":50,"msg":"b"}', 50],
    ['{"msg":"c","level":20}', 20],
  ])('%s has level %i', (line, level) => {
    expect(pinoLevelOf(line)).toBe(level);
  });

  it.each([
    ['DEBUG', 20],
    ['warning', 40],
    ['CRITICAL', 60],
    ['NONE', Infinity],
    ['__proto__', Infinity],
    [3, Infinity],
  ])('RemoteLoggingLevel %j is %s', (name, level) => {
    expect(levelFromName(name)).toBe(level);
  });
});
