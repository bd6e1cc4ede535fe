/**
 * Authorization end to end through the built CLI: `list` mode (ocpp.json idTokens merged with the
 * gateway device's `ocppIdTokens`, changed live) and `thingsboard` mode (a client-side RPC that a
 * rule chain answers; ThingsBoard unreachable), for OCPP 1.6 and 2.0.1 charge points played by
 * strict ocpp-rpc clients. Each decision is also published as `authorization` telemetry with the
 * token masked or hashed, and never appears in clear outside the gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aStartTransaction, connectChargePoint, RawChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aTransactionEvent } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';
import { ThingsBoardGatewayDevice } from '../helpers/thingsboard-device.js';
import { until } from '../helpers/until.js';

const FUTURE = '2099-01-01T00:00:00.000Z';

const entries = (prefix: string) => [
  {
    idRegexpPattern: `${prefix}16-.*`,
    deviceNameExpression: '${ChargePointId}',
    deviceTypeExpression: 'wallbox',
  },
  {
    idRegexpPattern: `${prefix}201-.*`,
    deviceNameExpression: '${ChargePointId}',
    deviceTypeExpression: 'station',
  },
  {
    idRegexpPattern: `${prefix}21-.*`,
    deviceNameExpression: '${ChargePointId}',
    deviceTypeExpression: 'station',
  },
];

/** An eMAID longer than 2.0.1's 36 characters, which OCPP 2.1 allows (up to 255). */
const LONG_EMAID = 'DE-ABC-C12345678-9-CONTRACT-000000000001';

const LIST = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  authorization: {
    mode: 'list',
    idTokens: {
      VALID01: { status: 'Accepted' },
      BLOCKED01: { status: 'Blocked' },
      EXPIRED01: { status: 'Accepted', expiryDate: '2020-01-01T00:00:00Z' },
      MEMBER01: { status: 'Accepted', groupId: 'FLEET01', expiryDate: FUTURE },
      FLEET01: { status: 'Accepted' },
      BANNEDMEMBER: { status: 'Accepted', groupId: 'BANNEDFLEET' },
      BANNEDFLEET: { status: 'Blocked' },
      [LONG_EMAID]: { status: 'Accepted', type: 'eMAID' },
    },
  },
  chargePoints: entries('L'),
};

const THINGSBOARD = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  authorization: { mode: 'thingsboard', timeoutSeconds: 1, idTokenInTelemetry: 'hashed' },
  chargePoints: entries('T'),
};

/** A rule chain that never answers in time, and an RPC whose deadline is shorter than that wait. */
const SLOW = {
  centralSystem: { host: '127.0.0.1', port: 0, maxQueuedCalls: 2 },
  authorization: {
    mode: 'thingsboard',
    rpcMethod: 'ocppAuthorizeNever',
    timeoutSeconds: 4,
    whenThingsBoardUnreachable: 'accept',
  },
  chargePoints: [
    {
      idRegexpPattern: 'W16-.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'wallbox',
      serverSideRpc: [
        {
          methodRPC: 'quickStart',
          action: 'RemoteStartTransaction',
          withResponse: true,
          timeout: 1,
          valueExpression: '${params}',
        },
      ],
    },
  ],
};

/** ThingsBoard's rule chain, in the three answer shapes the gateway understands. */
const RULE_CHAIN: Record<string, unknown> = {
  VALID02: { status: 'Accepted', cacheExpiryDateTime: '2020-01-01T00:00:00Z' },
  BLOCKED02: { idTagInfo: { status: 'Blocked' } },
  EXPIRED02: { idTokenInfo: { status: 'Expired' } },
  UNKNOWN02: { status: 'Invalid' },
  FRESH02: { status: 'Accepted', cacheExpiryDateTime: FUTURE, groupId: 'FLEET02' },
};

const CLEAR_TOKENS = [
  LONG_EMAID,
  ...Object.keys(LIST.authorization.idTokens),
  ...Object.keys(RULE_CHAIN),
  'TBCARD',
  'NEWCARD',
  'SLOWCARD',
];

describe('authorization end to end', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let device: ThingsBoardGatewayDevice;
  const clients: RpcClient[] = [];
  const raws: RawChargePoint[] = [];

  async function chargePoint(
    connector: 'LIST' | 'TB' | 'SLOW',
    identity: string,
    version = 'ocpp1.6',
  ): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: h.urls[connector]!, identity, protocols: [version] });
    clients.push(cp);
    return cp;
  }

  function authorizationEvents(deviceName: string): Record<string, unknown>[] {
    return tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m[deviceName] ?? []) as { values: Record<string, unknown> }[])
      .map((e) => e.values.authorization as Record<string, unknown> | undefined)
      .filter((e): e is Record<string, unknown> => e !== undefined);
  }

  beforeAll(async () => {
    h = await Harness.start({
      connectors: [
        { name: 'LIST', ocpp: LIST },
        { name: 'TB', ocpp: THINGSBOARD },
        { name: 'SLOW', ocpp: SLOW },
      ],
      beforeGateway: async (port) => {
        device = await ThingsBoardGatewayDevice.connect(port);
        // Read by the gateway when it connects to ThingsBoard.
        device.setGatewayShared({ ocppIdTokens: { TBCARD: { status: 'Accepted' } } });
        device.answerRpc('ocppAuthorize', (p) => RULE_CHAIN[String(p.idToken)]);
      },
    });
    tb = h.tb;
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ force: true }).catch(() => undefined);
    for (const r of raws) await r.shut();
    await h?.stop();
    await device?.close();
  });

  describe('list mode', () => {
    let cp16: RpcClient;
    let cp201: RpcClient;
    beforeAll(async () => {
      cp16 = await chargePoint('LIST', 'L16-1');
      cp201 = await chargePoint('LIST', 'L201-1', 'ocpp2.0.1');
      // The ocppIdTokens read at connect is in force.
      await until(async () => {
        const r = (await cp16.call('Authorize', { idTag: 'TBCARD' })) as { idTagInfo: { status: string } };
        return r.idTagInfo.status === 'Accepted';
      }, 'ocppIdTokens from ThingsBoard');
    });

    it.each([
      ['VALID01', { status: 'Accepted' }],
      ['valid01', { status: 'Accepted' }],
      ['BLOCKED01', { status: 'Blocked' }],
      ['EXPIRED01', { status: 'Expired', expiryDate: '2020-01-01T00:00:00Z' }],
      ['UNKNOWN01', { status: 'Invalid' }],
      ['MEMBER01', { status: 'Accepted', expiryDate: FUTURE, parentIdTag: 'FLEET01' }],
      ['BANNEDMEMBER', { status: 'Blocked', parentIdTag: 'BANNEDFLEET' }],
      ['TBCARD', { status: 'Accepted' }],
    ])('1.6 Authorize %s → %j', async (idTag, idTagInfo) => {
      await expect(cp16.call('Authorize', { idTag })).resolves.toEqual({ idTagInfo });
    });

    it.each([
      ['VALID01', { status: 'Accepted' }],
      ['BLOCKED01', { status: 'Blocked' }],
      ['EXPIRED01', { status: 'Expired', cacheExpiryDateTime: '2020-01-01T00:00:00Z' }],
      ['UNKNOWN01', { status: 'Invalid' }],
      [
        'MEMBER01',
        {
          status: 'Accepted',
          cacheExpiryDateTime: FUTURE,
          groupIdToken: { idToken: 'FLEET01', type: 'Central' },
        },
      ],
    ])('2.0.1 Authorize %s → %j', async (idToken, idTokenInfo) => {
      await expect(cp201.call('Authorize', { idToken: { idToken, type: 'ISO14443' } })).resolves.toEqual({
        idTokenInfo,
      });
    });

    it('StartTransaction and TransactionEvent get the same decision as Authorize', async () => {
      const start = (await cp16.call(
        'StartTransaction',
        aStartTransaction({ idTag: 'BLOCKED01' }),
      )) as Record<string, unknown>;
      expect(start).toEqual({ transactionId: expect.any(Number), idTagInfo: { status: 'Blocked' } });
      await expect(
        cp16.call('StopTransaction', {
          transactionId: start.transactionId,
          idTag: 'VALID01',
          meterStop: 10,
          timestamp: new Date().toISOString(),
        }),
      ).resolves.toEqual({ idTagInfo: { status: 'Accepted' } });
      await expect(
        cp201.call(
          'TransactionEvent',
          aTransactionEvent({
            eventType: 'Started',
            triggerReason: 'Authorized',
            seqNo: 0,
            idToken: { idToken: 'EXPIRED01', type: 'ISO14443' },
          }),
        ),
      ).resolves.toEqual({ idTokenInfo: { status: 'Expired', cacheExpiryDateTime: '2020-01-01T00:00:00Z' } });
    });

    it('each decision is published as authorization telemetry with the token masked', async () => {
      const events = await tb.waitFor(() => {
        const e = authorizationEvents('L16-1');
        return (
          e.some(
            (x) => x.idToken === '*******01' && x.status === 'Blocked' && x.trigger === 'StartTransaction',
          ) && e
        );
      });
      expect(events).toContainEqual({
        idToken: '*******01',
        type: 'IdTag',
        status: 'Blocked',
        trigger: 'Authorize',
        source: 'list',
      });
      await tb.waitFor(() => authorizationEvents('L201-1').some((e) => e.trigger === 'TransactionEvent'));
      expect(authorizationEvents('L201-1')).toContainEqual({
        idToken: '*******01',
        type: 'ISO14443',
        status: 'Expired',
        trigger: 'TransactionEvent',
        source: 'list',
        evseId: 1,
        connectorId: 1,
      });
    });

    it('a remote start with a refused token is not sent; an accepted one is', async () => {
      const sent: unknown[] = [];
      cp16.handle('RemoteStartTransaction', ({ params }) => (sent.push(params), { status: 'Accepted' }));
      const refused = (await tb.rpc('L16-1', 1, 'RemoteStartTransaction', {
        idTag: 'BLOCKED01',
        connectorId: 1,
      })) as {
        error: string;
      };
      expect(refused.error).toMatch(/RemoteStartTransaction not sent: idToken \*+01 is Blocked/);
      expect(
        await tb.rpc('L16-1', 2, 'RemoteStartTransaction', { idTag: 'VALID01', connectorId: 1 }),
      ).toEqual({
        result: { status: 'Accepted' },
      });
      expect(sent).toEqual([{ idTag: 'VALID01', connectorId: 1 }]);
      cp201.handle('RequestStartTransaction', () => ({ status: 'Accepted' }));
      const refused2 = (await tb.rpc('L201-1', 3, 'RequestStartTransaction', {
        idToken: { idToken: 'UNKNOWN01', type: 'ISO14443' },
        remoteStartId: 1,
      })) as { error: string };
      expect(refused2.error).toMatch(/RequestStartTransaction not sent: idToken \*+01 is Invalid/);
    });

    it('syncLocalList installs the list once per version (1.6 SendLocalList, GetLocalListVersion)', async () => {
      let installed = 0;
      const lists: Record<string, unknown>[] = [];
      cp16.handle('GetLocalListVersion', () => ({ listVersion: installed }));
      cp16.handle('SendLocalList', ({ params }) => {
        const p = params as Record<string, unknown>;
        lists.push(p);
        installed = p.listVersion as number;
        return { status: 'Accepted' };
      });
      const first = await tb.rpc('L16-1', 4, 'syncLocalList', {});
      // The eMAID does not fit a 1.6 idTag (20 characters): left out and counted.
      expect(first).toEqual({ result: { status: 'Accepted', listVersion: 1, entries: 8, skipped: 1 } });
      expect(lists[0]).toMatchObject({ listVersion: 1, updateType: 'Full' });
      expect((lists[0] as { localAuthorizationList: unknown[] }).localAuthorizationList).toContainEqual({
        idTag: 'EXPIRED01',
        idTagInfo: { status: 'Expired', expiryDate: '2020-01-01T00:00:00Z' },
      });
      expect(await tb.rpc('L16-1', 5, 'syncLocalList', {})).toEqual({
        result: { status: 'UpToDate', listVersion: 1, entries: 8, skipped: 1 },
      });
      expect(lists).toHaveLength(1);
    });

    it('syncLocalList on 2.0.1 sends idTokens with their type and versionNumber', async () => {
      const lists: Record<string, unknown>[] = [];
      cp201.handle('GetLocalListVersion', () => ({ versionNumber: 0 }));
      cp201.handle(
        'SendLocalList',
        ({ params }) => (lists.push(params as Record<string, unknown>), { status: 'Accepted' }),
      );
      expect(await tb.rpc('L201-1', 6, 'syncLocalList', {})).toEqual({
        result: { status: 'Accepted', listVersion: 1, entries: 8, skipped: 1 },
      });
      expect(lists[0]).toMatchObject({ versionNumber: 1, updateType: 'Full' });
      expect((lists[0] as { localAuthorizationList: unknown[] }).localAuthorizationList).toContainEqual({
        idToken: { idToken: 'BLOCKED01', type: 'ISO14443' },
        idTokenInfo: { status: 'Blocked' },
      });
    });

    it('an ocppIdTokens change in ThingsBoard applies live; ThingsBoard wins over ocpp.json', async () => {
      await device.pushGatewayShared({
        ocppIdTokens: { NEWCARD: { status: 'Accepted' }, VALID01: { status: 'Blocked' } },
      });
      await until(async () => {
        const r = (await cp16.call('Authorize', { idTag: 'NEWCARD' })) as { idTagInfo: { status: string } };
        return r.idTagInfo.status === 'Accepted';
      }, 'NEWCARD accepted');
      await expect(cp16.call('Authorize', { idTag: 'VALID01' })).resolves.toEqual({
        idTagInfo: { status: 'Blocked' },
      });
      // TBCARD is no longer in ThingsBoard's list.
      await expect(cp16.call('Authorize', { idTag: 'TBCARD' })).resolves.toEqual({
        idTagInfo: { status: 'Invalid' },
      });
      // The same list for a 2.0.1 station, at once.
      const authorize201 = (idToken: string) =>
        cp201.call('Authorize', { idToken: { idToken, type: 'ISO14443' } });
      await expect(authorize201('NEWCARD')).resolves.toEqual({ idTokenInfo: { status: 'Accepted' } });
      await expect(authorize201('VALID01')).resolves.toEqual({ idTokenInfo: { status: 'Blocked' } });
      await expect(authorize201('TBCARD')).resolves.toEqual({ idTokenInfo: { status: 'Invalid' } });
    });
  });

  it('2.1 takes idTokens longer than 2.0.1 allows, with free-text types', async () => {
    const cs = await RawChargePoint.open(`${h.urls.LIST!}/L21-1`, ['ocpp2.1']);
    raws.push(cs);
    cs.send(JSON.stringify([2, 'a1', 'Authorize', { idToken: { idToken: LONG_EMAID, type: 'eMAID' } }]));
    expect(await cs.answerTo('a1')).toEqual([3, 'a1', { idTokenInfo: { status: 'Accepted' } }]);
    cs.send(
      JSON.stringify([2, 'a2', 'Authorize', { idToken: { idToken: 'BLOCKED01', type: 'MyCompanyCard' } }]),
    );
    expect(await cs.answerTo('a2')).toEqual([3, 'a2', { idTokenInfo: { status: 'Blocked' } }]);
  });

  describe('thingsboard mode', () => {
    let cp16: RpcClient;
    let cp201: RpcClient;
    beforeAll(async () => {
      cp16 = await chargePoint('TB', 'T16-1');
      cp201 = await chargePoint('TB', 'T201-1', 'ocpp2.0.1');
    });

    it.each([
      ['VALID02', 'Accepted'],
      ['BLOCKED02', 'Blocked'],
      ['EXPIRED02', 'Expired'],
      ['UNKNOWN02', 'Invalid'],
    ])('1.6 Authorize %s → %s, as the rule chain answers', async (idTag, status) => {
      const r = (await cp16.call('Authorize', { idTag })) as { idTagInfo: { status: string } };
      expect(r.idTagInfo.status).toBe(status);
    });

    it('the rule chain is asked with device, charge point, token, type and EVSE', async () => {
      expect(device.rpcs).toContainEqual({
        method: 'ocppAuthorize',
        params: { device: 'T16-1', chargePointId: 'T16-1', idToken: 'BLOCKED02', type: 'IdTag' },
      });
      await expect(
        cp201.call(
          'TransactionEvent',
          aTransactionEvent({
            eventType: 'Started',
            triggerReason: 'Authorized',
            seqNo: 0,
            idToken: { idToken: 'BLOCKED02', type: 'ISO14443' },
          }),
        ),
      ).resolves.toEqual({ idTokenInfo: { status: 'Blocked' } });
      expect(device.rpcs).toContainEqual({
        method: 'ocppAuthorize',
        params: {
          device: 'T201-1',
          chargePointId: 'T201-1',
          idToken: 'BLOCKED02',
          type: 'ISO14443',
          evseId: 1,
          connectorId: 1,
        },
      });
    });

    it('an answer with a future cacheExpiryDateTime is used without asking again', async () => {
      const expected = {
        idTokenInfo: {
          status: 'Accepted',
          cacheExpiryDateTime: FUTURE,
          groupIdToken: { idToken: 'FLEET02', type: 'Central' },
        },
      };
      await expect(
        cp201.call('Authorize', { idToken: { idToken: 'FRESH02', type: 'ISO14443' } }),
      ).resolves.toEqual(expected);
      const asked = device.rpcs.length;
      await expect(
        cp201.call('Authorize', { idToken: { idToken: 'FRESH02', type: 'ISO14443' } }),
      ).resolves.toEqual(expected);
      expect(device.rpcs).toHaveLength(asked);
    });

    it('ThingsBoard unreachable: the cached answer for an accepted token, unknownStatus for the others', async () => {
      device.stopAnswering('ocppAuthorize');
      // The cached answer keeps the cacheExpiryDateTime ThingsBoard gave (past: the station must not cache it).
      await expect(cp16.call('Authorize', { idTag: 'VALID02' })).resolves.toEqual({
        idTagInfo: { status: 'Accepted', expiryDate: '2020-01-01T00:00:00Z' },
      });
      // Refusals are not cached: unknownStatus.
      await expect(cp16.call('Authorize', { idTag: 'BLOCKED02' })).resolves.toEqual({
        idTagInfo: { status: 'Invalid' },
      });
      await expect(cp16.call('Authorize', { idTag: 'NEVERSEEN' })).resolves.toEqual({
        idTagInfo: { status: 'Invalid' },
      });
      const events = await tb.waitFor(() => {
        const e = authorizationEvents('T16-1');
        return e.some((x) => x.source === 'unreachable') && e;
      });
      expect(events).toContainEqual(
        expect.objectContaining({ status: 'Accepted', source: 'cache', trigger: 'Authorize' }),
      );
      expect(events).toContainEqual(expect.objectContaining({ status: 'Invalid', source: 'unreachable' }));
      // Hashed as configured.
      for (const e of events) expect(e.idToken).toMatch(/^sha256:[0-9a-f]{16}$/);
    });

    it('ThingsBoard unreachable is warned about once a minute, not once per card presented', async () => {
      for (const idTag of ['NEVERSEEN1', 'NEVERSEEN2', 'NEVERSEEN3']) {
        await expect(cp16.call('Authorize', { idTag })).resolves.toEqual({
          idTagInfo: { status: 'Invalid' },
        });
      }
      const warned = h.gateway.logs.filter((l) => l.msg === 'no authorization decision from ThingsBoard');
      expect(warned).toHaveLength(1);
    });
  });

  it("a remote start's deadline counts from ThingsBoard's request, the authorization wait included", async () => {
    const cp = await chargePoint('SLOW', 'W16-1');
    const sent: unknown[] = [];
    cp.handle('RemoteStartTransaction', ({ params }) => (sent.push(params), { status: 'Accepted' }));
    const reply = (await tb.rpc('W16-1', 1, 'quickStart', { idTag: 'SLOWCARD', connectorId: 1 })) as {
      error: string;
    };
    expect(reply.error).toMatch(
      /^RemoteStartTransaction not sent: its 1 s passed while the Central System decided whether to send it/,
    );
    // The decision comes later (unanswered → accept) and is published; the start is still not sent.
    await tb.waitFor(() =>
      authorizationEvents('W16-1').some((e) => e.trigger === 'RemoteStart' && e.source === 'unreachable'),
    );
    await cp.call('Heartbeat', {}); // after anything the gateway sent before it on this socket
    expect(sent).toEqual([]);
  });

  it('a station that does not wait for its answers gets InternalError past maxQueuedCalls waiting decisions', async () => {
    const cp = await RawChargePoint.open(`${h.urls.SLOW!}/W16-2`, ['ocpp1.6']);
    raws.push(cp);
    // ThingsBoard never answers: each decision takes timeoutSeconds; two may wait, the rest not.
    for (let i = 1; i <= 5; i++) cp.send(JSON.stringify([2, `a${i}`, 'Authorize', { idTag: 'SLOWCARD' }]));
    for (const id of ['a3', 'a4', 'a5']) {
      const answer = await cp.answerTo(id);
      expect(answer.slice(0, 3)).toEqual([4, id, 'InternalError']);
      expect(answer[3]).toMatch(/too many calls waiting for a decision \(maxQueuedCalls 2\)/);
    }
    expect(cp.frames.filter((f) => Array.isArray(f) && (f[1] === 'a1' || f[1] === 'a2'))).toEqual([]);
  });

  it('no idToken appears in clear in what ThingsBoard received or in the logs', () => {
    const published = JSON.stringify(tb.messages.filter((m) => m.topic !== 'v1/gateway/rpc'));
    const logs = h.gateway.stdout;
    for (const token of CLEAR_TOKENS) {
      expect(published).not.toContain(`"${token}"`);
      expect(logs).not.toContain(token);
    }
  });
});
