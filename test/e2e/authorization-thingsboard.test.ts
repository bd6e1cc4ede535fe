/**
 * `thingsboard` authorization end to end through the built CLI, for OCPP 1.6 and 2.0.1 stations
 * (strict ocpp-rpc clients): a valid, a blocked, an expired and an unknown card as the rule chain
 * answers them; then ThingsBoard really unreachable (the MQTT broker stopped) under each
 * `whenThingsBoardUnreachable` policy — `cache`, `accept`, `reject` — and the decisions taken
 * meanwhile reaching ThingsBoard once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aStartTransaction, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aTransactionEvent } from '../helpers/ocpp2.js';
import { FakeThingsBoard } from '../helpers/thingsboard.js';
import { ThingsBoardGatewayDevice } from '../helpers/thingsboard-device.js';

const PAST = '2020-01-01T00:00:00Z';
const TOKEN = 'GW_AUTH_TOKEN';

const POLICIES = ['cache', 'accept', 'reject'] as const;
type Policy = (typeof POLICIES)[number];

/** One connector per policy; a charge point `<policy>-16` / `<policy>-201` on each. */
function connector(policy: Policy): Record<string, unknown> {
  return {
    centralSystem: { host: '127.0.0.1', port: 0 },
    authorization: { mode: 'thingsboard', timeoutSeconds: 2, whenThingsBoardUnreachable: policy },
    chargePoints: [
      { idRegexpPattern: '.*', deviceNameExpression: '${ChargePointId}', deviceTypeExpression: 'station' },
    ],
  };
}

/**
 * The rule chain. VALID03's acceptance may not be reused without asking (cacheExpiryDateTime in
 * the past), so every decision about it asks ThingsBoard, and only an outage falls back on it.
 */
const RULE_CHAIN: Record<string, unknown> = {
  VALID03: { status: 'Accepted', cacheExpiryDateTime: PAST },
  BLOCKED03: { idTagInfo: { status: 'Blocked' } },
  EXPIRED03: { idTokenInfo: { status: 'Expired' } },
  UNKNOWN03: { status: 'Invalid' },
};

type Version = 'ocpp1.6' | 'ocpp2.0.1';
const VERSIONS: Version[] = ['ocpp1.6', 'ocpp2.0.1'];
const suffix = (v: Version): string => (v === 'ocpp1.6' ? '16' : '201');

describe('thingsboard authorization, and ThingsBoard unreachable', () => {
  let h: Harness;
  /** ThingsBoard after the outage: subscribed before the gateway may reconnect, so it misses nothing. */
  let back: FakeThingsBoard | undefined;
  let device: ThingsBoardGatewayDevice;
  const stations = new Map<string, RpcClient>();
  let transactions = 0;

  function station(policy: Policy, version: Version): RpcClient {
    const cp = stations.get(`${policy}-${suffix(version)}`);
    if (!cp) throw new Error('no station');
    return cp;
  }

  /** Authorize, in the station's version; the status answered. */
  async function authorize(cp: RpcClient, version: Version, token: string): Promise<Record<string, unknown>> {
    if (version === 'ocpp1.6') {
      return ((await cp.call('Authorize', { idTag: token })) as { idTagInfo: Record<string, unknown> })
        .idTagInfo;
    }
    return (
      (await cp.call('Authorize', { idToken: { idToken: token, type: 'ISO14443' } })) as {
        idTokenInfo: Record<string, unknown>;
      }
    ).idTokenInfo;
  }

  /** The start of a transaction with `token`: 1.6 StartTransaction, 2.0.1 TransactionEvent Started. */
  async function start(cp: RpcClient, version: Version, token: string): Promise<unknown> {
    if (version === 'ocpp1.6') {
      return (
        (await cp.call('StartTransaction', aStartTransaction({ idTag: token }))) as { idTagInfo: unknown }
      ).idTagInfo;
    }
    const answer = (await cp.call(
      'TransactionEvent',
      aTransactionEvent({
        eventType: 'Started',
        triggerReason: 'Authorized',
        seqNo: 0,
        transactionInfo: { transactionId: `TX-${++transactions}` },
        idToken: { idToken: token, type: 'ISO14443' },
      }),
    )) as { idTokenInfo: unknown };
    return answer.idTokenInfo;
  }

  function decisions(tb: FakeThingsBoard, name: string): Record<string, unknown>[] {
    return tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m[name] ?? []) as { values: Record<string, unknown> }[])
      .map((e) => e.values.authorization as Record<string, unknown> | undefined)
      .filter((e): e is Record<string, unknown> => e !== undefined);
  }

  beforeAll(async () => {
    h = await Harness.start({
      connectors: POLICIES.map((policy) => ({ name: policy, ocpp: connector(policy) })),
      accessToken: TOKEN,
      thingsboard: { reconnectMinMs: 100, reconnectMaxMs: 400 },
      beforeGateway: async (port) => {
        device = await ThingsBoardGatewayDevice.connect(port);
        device.answerRpc('ocppAuthorize', (p) => RULE_CHAIN[String(p.idToken)]);
      },
    });
    for (const policy of POLICIES) {
      for (const version of VERSIONS) {
        const identity = `${policy}-${suffix(version)}`;
        stations.set(
          identity,
          await connectChargePoint({ url: h.urls[policy]!, identity, protocols: [version] }),
        );
      }
    }
  });

  afterAll(async () => {
    for (const cp of stations.values()) await cp.close({ force: true }).catch(() => undefined);
    await back?.close();
    await h?.stop();
    await device?.close();
  });

  describe.each(VERSIONS)('%s, ThingsBoard answering', (version) => {
    it.each([
      [
        'VALID03',
        { status: 'Accepted', [version === 'ocpp1.6' ? 'expiryDate' : 'cacheExpiryDateTime']: PAST },
      ],
      ['BLOCKED03', { status: 'Blocked' }],
      ['EXPIRED03', { status: 'Expired' }],
      ['UNKNOWN03', { status: 'Invalid' }],
    ])('Authorize %s → %j, as the rule chain answers', async (token, info) => {
      expect(await authorize(station('cache', version), version, token)).toEqual(info);
    });

    it('a transaction start gets the same decision', async () => {
      expect(await start(station('cache', version), version, 'BLOCKED03')).toEqual({ status: 'Blocked' });
    });

    it.each(['accept', 'reject'] as const)('the %s station has VALID03 accepted too', async (policy) => {
      expect(await authorize(station(policy, version), version, 'VALID03')).toMatchObject({
        status: 'Accepted',
      });
    });
  });

  describe('ThingsBoard unreachable (the broker is down)', () => {
    beforeAll(async () => {
      await h.broker.stop();
    });

    describe.each(VERSIONS)('%s', (version) => {
      it('cache: the last acceptance of a token; unknownStatus for a refused or unseen one', async () => {
        const cp = station('cache', version);
        expect(await authorize(cp, version, 'VALID03')).toMatchObject({ status: 'Accepted' });
        expect(await authorize(cp, version, 'BLOCKED03')).toEqual({ status: 'Invalid' });
        expect(await authorize(cp, version, 'NEVERSEEN03')).toEqual({ status: 'Invalid' });
        expect(await start(cp, version, 'NEVERSEEN04')).toEqual({ status: 'Invalid' });
      });

      it('accept: every token is Accepted', async () => {
        const cp = station('accept', version);
        expect(await authorize(cp, version, 'BLOCKED03')).toEqual({ status: 'Accepted' });
        expect(await authorize(cp, version, 'NEVERSEEN03')).toEqual({ status: 'Accepted' });
        expect(await start(cp, version, 'NEVERSEEN04')).toEqual({ status: 'Accepted' });
      });

      it('reject: unknownStatus, even for a token ThingsBoard accepted before', async () => {
        const cp = station('reject', version);
        expect(await authorize(cp, version, 'VALID03')).toEqual({ status: 'Invalid' });
        expect(await authorize(cp, version, 'NEVERSEEN03')).toEqual({ status: 'Invalid' });
        expect(await start(cp, version, 'NEVERSEEN04')).toEqual({ status: 'Invalid' });
      });
    });

    it('the decisions taken meanwhile reach ThingsBoard when it is back', async () => {
      h.broker.refused.add(TOKEN);
      await h.broker.listen();
      back = await FakeThingsBoard.connect(h.broker.port);
      h.broker.refused.delete(TOKEN);
      const tb = back;
      const expected: [string, Record<string, unknown>][] = [
        ['cache-16', { idToken: '******3', status: 'Accepted', source: 'cache', trigger: 'Authorize' }],
        ['accept-201', { status: 'Accepted', source: 'unreachable', trigger: 'TransactionEvent' }],
        ['reject-16', { status: 'Invalid', source: 'unreachable', trigger: 'StartTransaction' }],
      ];
      for (const [name, decision] of expected) {
        await tb.waitFor(
          () => decisions(tb, name).some((d) => Object.entries(decision).every(([k, v]) => d[k] === v)),
          15_000,
          `${name}: ${JSON.stringify(decision)}`,
        );
      }
      const warned = h.gateway.logs.filter((l) => l.msg === 'no authorization decision from ThingsBoard');
      expect(warned.length).toBeGreaterThan(0);
      expect(h.gateway.stdout).not.toContain('NEVERSEEN');
    });
  });
});
