/**
 * `tb-ocpp-gateway simulate` against the gateway's Central System when it says no: a station
 * whose registration is Pending waits (booting again at the interval it is given) until the
 * operator approves it in ThingsBoard, then charges; a station charging with a list of idTags of
 * which one is Blocked start sessions only with the other, whose open transactions the status API
 * shows with their energy. The simulators log no warning: refusals are part of the protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { runSimulator, type SimulatorRun } from '../helpers/simulator-run.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'pend/CP\\d+',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Model}',
      registration: 'Pending',
      registrationRetryInterval: 1,
      timeseries: [
        {
          messageTypeFilter: 'MeterValues',
          key: 'energy',
          value: "${meter_value[0].sampled_value[?(@.measurand=='Energy.Active.Import.Register')].value}",
        },
      ],
    },
    {
      idRegexpPattern: 'auth/CP\\d+',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: '${Model}',
      sessions: true,
    },
  ],
  authorization: {
    mode: 'list',
    idTokens: { GOOD0001: { status: 'Accepted' }, BLOCKED01: { status: 'Blocked' } },
  },
};

const counters = (run: SimulatorRun) =>
  (run.logs.find((l) => l.msg === 'simulation finished')?.counters ?? {}) as Record<string, number>;

describe('simulate against a Central System that refuses', () => {
  let h: Harness;
  let pending: SimulatorRun;
  let authorized: SimulatorRun;
  let openTransactions: { id: string; energyWh?: number; idToken?: string }[] = [];
  let telemetryBeforeApproval = -1;

  beforeAll(async () => {
    h = await Harness.start({ connectors: [{ name: 'Sim', ocpp: OCPP }], statusServer: {} });
    const ws = h.urls.Sim ?? '';
    const status = await h.statusUrl();
    const common = [
      '--count',
      '1',
      '--duration',
      '12',
      '--idle',
      '0.3-0.6',
      '--session',
      '20',
      '--meter-interval',
      '1',
    ];
    const runs = [
      runSimulator([
        '--url',
        `${ws}/pend/CP`,
        '--ocpp',
        '1.6',
        '--connectors',
        '1',
        '--id-tags',
        'GOOD0001',
        ...common,
      ]),
      runSimulator([
        '--url',
        `${ws}/auth/CP`,
        '--ocpp',
        '2.0.1',
        '--connectors',
        '4',
        '--id-tags',
        'GOOD0001,BLOCKED01',
        ...common,
      ]),
    ];
    // The pending station boots at least twice (once a second) before the operator approves it.
    await h.gateway.waitForLog(
      (l) => l.msg === 'OCPP frame' && l.chargePointId === 'pend/CP1' && l.action === 'BootNotification',
    );
    await h.tb.waitFor(
      () =>
        h.gateway.logs.filter(
          (l) =>
            l.msg === 'OCPP frame' &&
            l.chargePointId === 'pend/CP1' &&
            l.direction === 'in' &&
            l.action === 'BootNotification',
        ).length >= 2,
      8000,
      'a second boot of the pending station',
    );
    telemetryBeforeApproval = h.tb.fromGateway('v1/gateway/telemetry').filter((m) => 'pend/CP1' in m).length;
    await h.tb.sendAttributeUpdate('pend/CP1', { ocppRegistration: 'Accepted' });
    // Sessions of the authorized station are open while the run goes on.
    await h.tb.waitFor(
      async () => {
        const res = await fetch(new URL('api/chargepoints/auth%2FCP1', status));
        if (res.status !== 200) return false;
        const cp = (await res.json()) as { transactions: typeof openTransactions };
        openTransactions = cp.transactions;
        return cp.transactions.some((t) => (t.energyWh ?? 0) > 0);
      },
      12_000,
      'an open transaction with energy',
    );
    const [p, a] = await Promise.all(runs);
    pending = p as SimulatorRun;
    authorized = a as SimulatorRun;
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('a Pending station boots again at the interval, and charges once approved', () => {
    expect(pending.code).toBe(0);
    const c = counters(pending);
    expect(c.bootsNotAccepted).toBeGreaterThanOrEqual(2);
    expect(c.boots).toBe(1);
    expect(c.sessionsStarted).toBeGreaterThan(0);
    expect(c.authorizationsRefused).toBe(0);
    expect(pending.logs).toContainEqual(
      expect.objectContaining({ level: 30, chargePointId: 'pend/CP1', status: 'Pending' }),
    );
    expect(telemetryBeforeApproval).toBe(0);
    expect(h.tb.fromGateway('v1/gateway/telemetry').some((m) => 'pend/CP1' in m)).toBe(true);
    // It asked to be let in only with boots: nothing was refused as "not registered".
    expect(
      h.gateway.logs.filter((l) => l.chargePointId === 'pend/CP1' && l.errorCode === 'SecurityError'),
    ).toEqual([]);
  });

  it('a Blocked idTag starts nothing; the accepted one charges, shown with its energy', () => {
    expect(authorized.code).toBe(0);
    const c = counters(authorized);
    expect(c.authorizationsRefused).toBeGreaterThan(0);
    expect(c.sessionsStarted).toBeGreaterThan(0);
    expect(c.sessionsDeauthorized).toBe(0);
    expect(openTransactions.length).toBeGreaterThan(0);
    for (const t of openTransactions) expect(t.idToken).toMatch(/^\*+01$/);
  });

  it('the simulators warned about nothing', () => {
    for (const run of [pending, authorized])
      expect(run.logs.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });
});
