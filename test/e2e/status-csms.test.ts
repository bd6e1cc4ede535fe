/**
 * What the operator's HTTP surface shows of the Central System, through the built CLI: open
 * transactions per live charge point (from the sessions feature, with energy so far and the
 * idToken masked — never in clear anywhere on the page or in the API), connector statuses as the
 * station reported them, a reconnect showing the transactions the store kept, and the decisions in
 * /metrics (authorizations by status, session events, unconvertible datapoints).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import { untilValue } from '../helpers/until.js';

const CARD = 'CARD0001';
const MASKED = '******01';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'CP_.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'wallbox',
      sessions: true,
      attributes: [
        // A vendor name is no boolean: skipped and counted as unconvertible (1.6 boots only).
        {
          messageTypeFilter: 'BootNotification',
          key: 'vendorFlag',
          value: '${chargePointVendor}',
          type: 'boolean',
        },
      ],
    },
    {
      idRegexpPattern: 'PEND_.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'wallbox',
      registration: 'Pending',
    },
  ],
  authorization: {
    mode: 'list',
    idTokens: { [CARD]: { status: 'Accepted' }, BLOCKED01: { status: 'Blocked' } },
  },
};

type Json = Record<string, unknown>;

function meterValues(transactionId: number, wh: number): Json {
  return {
    connectorId: 1,
    transactionId,
    meterValue: [
      {
        timestamp: '2026-06-01T12:10:00Z',
        sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
      },
    ],
  };
}

describe('status server: the Central System', () => {
  let h: Harness;
  let base: string;
  const clients: RpcClient[] = [];

  async function get(path: string): Promise<string> {
    const res = await fetch(new URL(path, base));
    expect(res.status, path).toBe(200);
    return res.text();
  }
  async function chargePoint(id: string): Promise<Json> {
    return JSON.parse(await get(`api/chargepoints/${encodeURIComponent(id)}`)) as Json;
  }
  function sample(text: string, series: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }
  async function connect(identity: string, protocols?: string[]): Promise<RpcClient> {
    const cp = await connectChargePoint({
      url: h.urls.Site ?? '',
      identity,
      ...(protocols ? { protocols } : {}),
    });
    clients.push(cp);
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({ connectors: [{ name: 'Site', ocpp: OCPP }], statusServer: {} });
    base = await h.statusUrl();
  });

  afterAll(async () => {
    for (const c of clients) await c.close({ code: 1000 }).catch(() => undefined);
    await h?.stop();
  });

  it('shows open transactions with energy so far and masked idTokens, and connector statuses', async () => {
    const cp = await connect('CP_16');
    await cp.call('BootNotification', aBootNotification());
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    expect(await cp.call('Authorize', { idTag: 'BLOCKED01' })).toMatchObject({
      idTagInfo: { status: 'Blocked' },
    });
    const { transactionId } = (await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: CARD,
      meterStart: 1000,
      timestamp: '2026-06-01T12:00:00Z',
    })) as { transactionId: number };
    await cp.call('MeterValues', meterValues(transactionId, 2500));

    const detail = await chargePoint('CP_16');
    expect(detail.transactions).toEqual([
      {
        id: String(transactionId),
        evseId: 1,
        startedAt: '2026-06-01T12:00:00Z',
        energyWh: 1500,
        idToken: MASKED,
      },
    ]);
    expect(detail.connectors).toEqual([
      expect.objectContaining({ connectorId: 1, status: 'Charging', errorCode: 'NoError' }),
    ]);
    const page = await get('');
    expect(page).toContain(`${transactionId} · 1.50 kWh · ${MASKED}`);
    // Nowhere in clear: page, API, captured frames (the detail request started the capture).
    await cp.call('Authorize', { idTag: CARD });
    const everything = [page, await get('api/chargepoints'), JSON.stringify(await chargePoint('CP_16'))];
    expect((await chargePoint('CP_16')).recentFrames).not.toEqual([]);
    for (const text of everything) expect(text).not.toContain(CARD);

    // 2.0.1: the station's transaction id, EVSE and connector.
    const cp2 = await connect('CP_201', ['ocpp2.0.1']);
    await cp2.call('BootNotification', aBootNotification2());
    await cp2.call('TransactionEvent', {
      eventType: 'Started',
      timestamp: '2026-06-01T12:00:00Z',
      triggerReason: 'Authorized',
      seqNo: 0,
      transactionInfo: { transactionId: 'TX-201' },
      evse: { id: 2, connectorId: 1 },
      idToken: { idToken: CARD, type: 'ISO14443' },
    });
    expect((await chargePoint('CP_201')).transactions).toEqual([
      { id: 'TX-201', evseId: 2, connectorId: 1, startedAt: '2026-06-01T12:00:00Z', idToken: MASKED },
    ]);
  });

  it('a reconnect shows the open transactions the store kept; an ended one leaves', async () => {
    const [old] = clients;
    await old?.close({ code: 1000 });
    const cp = await connect('CP_16');
    const detail = await untilValue(async () => {
      const d = await chargePoint('CP_16').catch(() => undefined);
      return (d?.transactions as Json[] | undefined)?.length === 1 ? d : undefined;
    }, 'the open transaction after a reconnect');
    const [tx] = detail.transactions as { id: string; energyWh: number }[];
    expect(tx).toMatchObject({ energyWh: 1500, idToken: MASKED });
    await cp.call('StopTransaction', {
      transactionId: Number(tx?.id),
      meterStop: 4000,
      timestamp: '2026-06-01T12:30:00Z',
      idTag: CARD,
    });
    await untilValue(
      async () => ((await chargePoint('CP_16')).transactions as Json[]).length === 0,
      'the ended transaction to leave',
    );
  });

  it('connector statuses are what the Central System took: a Pending station’s refused StatusNotification is not shown', async () => {
    const cp = await connect('PEND_1');
    expect(await cp.call('BootNotification', aBootNotification())).toMatchObject({ status: 'Pending' });
    await expect(
      cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }),
    ).rejects.toMatchObject({ rpcErrorCode: 'SecurityError' });
    expect((await chargePoint('PEND_1')).connectors).toEqual([]);
  });

  it('/metrics and /api/status count the decisions', async () => {
    const text = await get('metrics');
    const series = (name: string, labels: string): number | undefined =>
      sample(text, `ocpp_gateway_${name}{connector="Site",${labels}}`);
    expect(series('authorization_decisions_total', 'status="Blocked"')).toBe(1);
    // StartTransaction and Authorize of CP_16, TransactionEvent of CP_201, StopTransaction of CP_16.
    expect(series('authorization_decisions_total', 'status="Accepted"')).toBe(4);
    expect(series('csms_events_total', 'feature="sessions",event="started"')).toBe(2);
    expect(series('csms_events_total', 'feature="sessions",event="ended"')).toBe(1);
    expect(series('csms_events_total', 'feature="authorization",event="refused"')).toBe(1);
    expect(series('datapoints_skipped_total', 'reason="unconvertible"')).toBe(1);
    expect(series('csms_feature_failures_total', 'stage="after_answer"')).toBe(0);
    const status = JSON.parse(await get('api/status')) as { connectors: { csms: Json }[] };
    expect(status.connectors[0]?.csms).toMatchObject({
      authorization: { Blocked: 1, Accepted: 4 },
      sessions: { started: 2, ended: 1 },
    });
  });
});
