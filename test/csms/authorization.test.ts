/**
 * The authorization decision per mode, with a real in-memory state store. The thingsboard mode's
 * RPC is a function here; the end-to-end test drives it over MQTT.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationConfig, IdTokenEntry } from '../../src/config/csms-types.js';
import { defaultAuthorization } from '../../src/config/csms-schema.js';
import {
  AuthorizationService,
  parseThingsBoardAnswer,
  type AuthorizationRpc,
} from '../../src/csms/authorization.js';
import { IdTokenDirectory } from '../../src/csms/id-token-directory.js';
import { IdTokenPresenter } from '../../src/csms/id-tokens.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';

const NOW = new Date('2026-06-01T12:00:00Z');

function aService(config: Partial<AuthorizationConfig>, rpc?: AuthorizationRpc) {
  const state = new MemoryStateStore();
  const full = { ...defaultAuthorization(), configured: true, ...config };
  const directory = new IdTokenDirectory(full.idTokens, state, silentLogger());
  const service = new AuthorizationService({
    config: full,
    directory,
    presenter: new IdTokenPresenter('masked'),
    state,
    rpc,
    logger: silentLogger(),
    now: () => NOW,
  });
  return { service, directory };
}

const request = (idToken: string, type = 'ISO14443') => ({
  chargePointId: 'CP1',
  device: 'dev',
  idToken,
  type,
  trigger: 'Authorize' as const,
});

const LIST = new Map<string, IdTokenEntry>([
  ['OK', { status: 'Accepted' }],
  ['OLD', { status: 'Accepted', expiryDate: '2026-06-01T11:59:59Z' }],
  ['BLOCKEDOLD', { status: 'Blocked', expiryDate: '2020-01-01T00:00:00Z' }],
  ['MEMBER', { status: 'Accepted', groupId: 'FLEET' }],
  ['FLEET', { status: 'Accepted', expiryDate: '2026-01-01T00:00:00Z' }],
  ['SELF', { status: 'Accepted', groupId: 'self' }],
]);

describe('list mode', () => {
  it.each([
    ['OK', { status: 'Accepted' }],
    ['ok', { status: 'Accepted' }],
    ['OLD', { status: 'Expired', expiryDate: '2026-06-01T11:59:59Z' }],
    ['BLOCKEDOLD', { status: 'Blocked', expiryDate: '2020-01-01T00:00:00Z' }],
    ['MEMBER', { status: 'Expired', groupId: 'FLEET' }],
    ['SELF', { status: 'Accepted', groupId: 'self' }],
    ['NOBODY', { status: 'Unknown' }],
  ])('%s → %j', async (token, expected) => {
    const { service } = aService({ mode: 'list', idTokens: LIST, unknownStatus: 'Unknown' });
    expect(await service.decide(request(token))).toEqual({ ...expected, source: 'list' });
  });

  it('NoAuthorization tokens are Accepted without a lookup, and every decision is counted', async () => {
    const { service } = aService({ mode: 'list', idTokens: LIST });
    expect(await service.decide(request('', 'NoAuthorization'))).toEqual({
      status: 'Accepted',
      source: 'noAuthorization',
    });
    await service.decide(request('NOBODY'));
    expect(service.counters).toMatchObject({ decisions: 2, refused: 1 });
    expect(service.byStatus).toMatchObject({ Accepted: 1, Invalid: 1 });
  });

  it("ThingsBoard's ocppIdTokens win over ocpp.json, and its removal restores the file's list", async () => {
    const { service, directory } = aService({ mode: 'list', idTokens: LIST });
    directory.apply('{"ok": {"status": "Blocked"}, "NEW": {"status": "Accepted"}}');
    expect((await service.decide(request('OK'))).status).toBe('Blocked');
    expect((await service.decide(request('NEW'))).status).toBe('Accepted');
    directory.apply(undefined);
    expect((await service.decide(request('OK'))).status).toBe('Accepted');
    expect((await service.decide(request('NEW'))).status).toBe('Invalid');
  });

  it('a list that is not JSON leaves the previous one in force', async () => {
    const { service, directory } = aService({ mode: 'list', idTokens: new Map() });
    directory.apply({ A: { status: 'Accepted' } });
    directory.apply('{not json');
    expect((await service.decide(request('A'))).status).toBe('Accepted');
  });
});

describe('thingsboard mode', () => {
  function rpcAnswering(answers: Record<string, unknown>, calls: unknown[]): AuthorizationRpc {
    return {
      requestRpc: (_method, params) => {
        calls.push(params);
        const answer = answers[(params as { idToken: string }).idToken];
        return answer === undefined ? Promise.reject(new Error('timeout')) : Promise.resolve(answer);
      },
    };
  }

  it.each([
    ['cache', 'Accepted', 'cache'],
    ['accept', 'Accepted', 'unreachable'],
    ['reject', 'NoCredit', 'unreachable'],
  ] as const)('unreachable with %s: %s', async (policy, status, source) => {
    const answers: Record<string, unknown> = { T: { status: 'Accepted' } };
    const calls: unknown[] = [];
    const { service } = aService(
      { mode: 'thingsboard', whenThingsBoardUnreachable: policy, unknownStatus: 'NoCredit' },
      rpcAnswering(answers, calls),
    );
    expect(await service.decide(request('T'))).toEqual({ status: 'Accepted', source: 'thingsboard' });
    delete answers.T;
    expect(await service.decide(request('T'))).toEqual({ status, source });
    expect(calls).toHaveLength(2);
    expect(service.counters).toMatchObject({ askedThingsBoard: 2, thingsBoardUnreachable: 1 });
  });

  it('refusals are not cached, and a refusal drops the cached acceptance', async () => {
    const answers: Record<string, unknown> = { T: { status: 'Accepted' }, B: { status: 'Blocked' } };
    const { service } = aService({ mode: 'thingsboard' }, rpcAnswering(answers, []));
    await service.decide(request('T'));
    await service.decide(request('B'));
    answers.T = { status: 'Blocked' };
    expect((await service.decide(request('T'))).status).toBe('Blocked');
    delete answers.T;
    delete answers.B;
    expect(await service.decide(request('T'))).toEqual({ status: 'Invalid', source: 'unreachable' });
    expect(await service.decide(request('B'))).toEqual({ status: 'Invalid', source: 'unreachable' });
  });

  it('a fresh cached answer is used without asking; answers are per charge point', async () => {
    const calls: unknown[] = [];
    const { service } = aService(
      { mode: 'thingsboard' },
      rpcAnswering({ T: { status: 'Accepted', cacheExpiryDateTime: '2026-06-02T00:00:00Z' } }, calls),
    );
    await service.decide(request('T'));
    expect(await service.decide(request('t'))).toEqual({
      status: 'Accepted',
      expiryDate: '2026-06-02T00:00:00Z',
      source: 'cache',
    });
    expect(calls).toHaveLength(1);
    await service.decide({ ...request('T'), chargePointId: 'CP2' });
    expect(calls).toHaveLength(2);
  });

  it.each([
    [{ status: 'Accepted' }, { status: 'Accepted' }],
    [
      { idTagInfo: { status: 'Blocked', parentIdTag: 'G', expiryDate: '2030-01-01T00:00:00Z' } },
      { status: 'Blocked', groupId: 'G', expiryDate: '2030-01-01T00:00:00Z' },
    ],
    [
      {
        idTokenInfo: {
          status: 'NoCredit',
          cacheExpiryDateTime: '2030-01-01T00:00:00Z',
          groupIdToken: { idToken: 'G', type: 'Central' },
        },
      },
      {
        status: 'NoCredit',
        groupId: 'G',
        expiryDate: '2030-01-01T00:00:00Z',
        cacheExpiryDateTime: '2030-01-01T00:00:00Z',
      },
    ],
    [{ status: 'Fine' }, undefined],
    [{ error: 'no rule' }, undefined],
    ['Accepted', undefined],
    [null, undefined],
  ])('the rule chain answer %j reads as %j', (raw, expected) => {
    expect(parseThingsBoardAnswer(raw)).toEqual(expected);
  });
});
