/**
 * The connector's read-only view of open transactions (for the operator status page), with real
 * parts: the connector on a real socket, a strict ocpp-rpc station, the in-memory outbox and state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { OcppConnector } from '../../src/connector/connector.js';
import { silentLogger } from '../../src/log.js';
import { ValidatorSet } from '../../src/ocpp/validator.js';
import { MemoryOutbox, MemoryStateStore } from '../../src/outbox/memory.js';
import { ConfigDir, aGatewayJson } from '../config/fixtures.js';
import { connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'CS.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'x',
      sessions: true,
    },
  ],
};

function event(
  eventType: string,
  seqNo: number,
  kWh: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const timestamp = new Date(Date.UTC(2026, 5, 1, 12, seqNo)).toISOString();
  return {
    eventType,
    timestamp,
    triggerReason: 'MeterValuePeriodic',
    seqNo,
    transactionInfo: { transactionId: 'TX-1' },
    meterValue: [
      {
        timestamp,
        sampledValue: [
          { value: kWh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } },
          { value: 7000, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
        ],
      },
    ],
    ...extra,
  };
}

describe('OcppConnector.openTransactions', () => {
  const dir = new ConfigDir();
  const outbox = new MemoryOutbox({ maxRecordsCount: 1000, logger: silentLogger() });
  let connector: OcppConnector;
  let cs: RpcClient;

  beforeAll(async () => {
    const config = loadConfig(dir.files(aGatewayJson(), OCPP), {});
    const connectorConfig = config.connectors[0];
    if (!connectorConfig) throw new Error('no connector');
    connector = new OcppConnector({
      config: connectorConfig,
      outbox,
      state: new MemoryStateStore(),
      validators: new ValidatorSet(),
      logger: silentLogger(),
    });
    const port = await connector.start();
    cs = await connectChargePoint({
      url: `ws://127.0.0.1:${port}`,
      identity: 'CS1',
      protocols: ['ocpp2.0.1'],
    });
    await cs.call('BootNotification', aBootNotification2());
  });

  afterAll(async () => {
    await cs?.close({ force: true });
    await connector?.stop();
    await outbox.close();
    dir.remove();
  });

  it('lists a started transaction with its energy so far, for that charge point only', async () => {
    await cs.call(
      'TransactionEvent',
      event('Started', 0, 1, {
        evse: { id: 1, connectorId: 2 },
        idToken: { idToken: 'CARD0001', type: 'ISO14443' },
      }),
    );
    await cs.call('TransactionEvent', event('Updated', 1, 3.5));
    expect(await connector.openTransactions('CS1')).toEqual([
      {
        id: 'TX-1',
        evseId: 1,
        connectorId: 2,
        idToken: '******01',
        startedAt: '2026-06-01T12:00:00.000Z',
        energyWh: 2500,
        powerW: 7000,
      },
    ]);
    expect(await connector.openTransactions('CS')).toEqual([]);
  });

  it('an ended transaction leaves the list once its session record is in the outbox', async () => {
    await cs.call('TransactionEvent', event('Ended', 2, 4));
    const sessions = outbox
      .readBatch(0, 1000)
      .filter((r) => r.kind === 'telemetry' && r.body.includes('"session"'))
      .map((r) => (JSON.parse(r.body) as { values: { session: unknown } }).values.session);
    expect(sessions).toEqual([
      expect.objectContaining({ transactionId: 'TX-1', energyWh: 3000, maxPowerW: 7000 }),
    ]);
    for (let i = 0; i < 100 && (await connector.openTransactions('CS1')).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await connector.openTransactions('CS1')).toEqual([]);
  });
});
