/**
 * The sessions feature on the hot path, with a real in-memory state store that counts its reads: a
 * connection's open transactions are read from the store once, when it starts tracking them; every
 * MeterValues / StatusNotification / TransactionEvent after that finds them in the connection's
 * copy (with SQLite a store read is a synchronous query, and finding a transaction by its EVSE
 * would be a scan of the charge point's records per message). Writes still go to the store.
 */
import { describe, expect, it } from 'vitest';
import type { ChargePointConfig, OcppVersion } from '../../src/config/types.js';
import type { CallContext, ConnectionView } from '../../src/connector/features.js';
import { IdTokenPresenter } from '../../src/csms/id-tokens.js';
import { SessionsFeature } from '../../src/csms/sessions-feature.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';

/** A real store whose reads are counted. */
class CountingStore extends MemoryStateStore {
  reads = { getRecord: 0, listRecords: 0 };

  override getRecord(namespace: string, key: string): Promise<unknown> {
    this.reads.getRecord++;
    return super.getRecord(namespace, key);
  }

  override listRecords(namespace: string, keyPrefix?: string): Promise<Map<string, unknown>> {
    this.reads.listRecords++;
    return super.listRecords(namespace, keyPrefix);
  }
}

function aConnection(version: OcppVersion, chargePointId = 'CP1'): ConnectionView {
  return {
    chargePointId,
    version,
    entry: { sessions: true } as ChargePointConfig,
    device: () => chargePointId,
    call: () => Promise.resolve({}),
    facts: new Map(),
    publish: () => undefined,
    isCurrent: () => true,
  };
}

interface Sent {
  ctx: CallContext;
  published: { kind: string; values: Record<string, unknown> }[];
}

/** Runs one CALL through the feature as the connector does, the afterAnswer work included. */
async function call(
  feature: SessionsFeature,
  connection: ConnectionView,
  action: string,
  payload: Record<string, unknown>,
  response: Record<string, unknown> = {},
): Promise<Sent> {
  const published: Sent['published'] = [];
  const after: (() => void | Promise<unknown>)[] = [];
  const ctx: CallContext = {
    connection,
    action,
    payload,
    receivedAt: new Date(),
    response,
    publish: (kind, values) => void published.push({ kind, values }),
    afterAnswer: (task) => void after.push(task),
  };
  await feature.onCall[action]?.(ctx);
  for (const task of after) await task();
  return { ctx, published };
}

function aFeature(state: MemoryStateStore): SessionsFeature {
  return new SessionsFeature({
    state,
    presenter: new IdTokenPresenter('masked'),
    thingsboard: undefined,
    logger: silentLogger(),
    now: () => new Date(),
  });
}

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString();

function meterValues16(wh: number, minute: number, transactionId?: number): Record<string, unknown> {
  return {
    connectorId: 1,
    ...(transactionId === undefined ? {} : { transactionId }),
    meterValue: [{ timestamp: at(minute), sampledValue: [{ value: String(wh), unit: 'Wh' }] }],
  };
}

function sessionOf(sent: Sent): Record<string, unknown> | undefined {
  return sent.published.find((p) => p.kind === 'telemetry')?.values.session as
    Record<string, unknown> | undefined;
}

describe('sessions: the store is not read per message', () => {
  it('1.6 MeterValues without a transactionId find the open transaction by connector, without store reads', async () => {
    const state = new CountingStore();
    const feature = aFeature(state);
    const cp = aConnection('ocpp1.6');
    feature.onConnected(cp);
    await call(
      feature,
      cp,
      'StartTransaction',
      { connectorId: 1, idTag: 'CARD0001', meterStart: 1000, timestamp: at(0) },
      { transactionId: 7 },
    );
    const before = { ...state.reads };
    for (let i = 1; i <= 50; i++) await call(feature, cp, 'MeterValues', meterValues16(1000 + i * 100, i));
    await call(feature, cp, 'StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'SuspendedEV',
      timestamp: at(51),
    });
    await call(feature, cp, 'MeterValues', meterValues16(7000, 52, 7));
    expect(state.reads).toEqual(before);
    const stop = await call(feature, cp, 'StopTransaction', {
      transactionId: 7,
      meterStop: 7500,
      timestamp: at(60),
    });
    expect(sessionOf(stop)).toMatchObject({ transactionId: '7', energyWh: 6500, evseId: 1 });
    expect(state.reads).toEqual(before);
    expect(await feature.openTransactions('CP1')).toEqual([]);
  });

  it('2.0.1 TransactionEvent Updated and MeterValues by EVSE read nothing from the store', async () => {
    const state = new CountingStore();
    const feature = aFeature(state);
    const cs = aConnection('ocpp2.0.1');
    feature.onConnected(cs);
    const event = (eventType: string, seqNo: number, kWh: number): Record<string, unknown> => ({
      eventType,
      timestamp: at(seqNo),
      triggerReason: 'MeterValuePeriodic',
      seqNo,
      transactionInfo: { transactionId: 'TX-1', chargingState: 'Charging' },
      ...(eventType === 'Started' ? { evse: { id: 2, connectorId: 1 } } : {}),
      meterValue: [
        {
          timestamp: at(seqNo),
          sampledValue: [{ value: kWh, unitOfMeasure: { unit: 'kWh' } }],
        },
      ],
    });
    await call(feature, cs, 'TransactionEvent', event('Started', 0, 1));
    const before = { ...state.reads };
    for (let i = 1; i <= 20; i++)
      await call(feature, cs, 'TransactionEvent', event('Updated', i, 1 + i / 10));
    await call(feature, cs, 'MeterValues', {
      evseId: 2,
      meterValue: [{ timestamp: at(21), sampledValue: [{ value: 3.5, unitOfMeasure: { unit: 'kWh' } }] }],
    });
    const ended = await call(feature, cs, 'TransactionEvent', event('Ended', 22, 4));
    expect(sessionOf(ended)).toMatchObject({ transactionId: 'TX-1', energyWh: 3000, evseId: 2 });
    expect(state.reads).toEqual(before);
  });

  it("a new connection starts from the store's open transactions (a reconnect or a restart)", async () => {
    const state = new CountingStore();
    const feature = aFeature(state);
    const first = aConnection('ocpp1.6');
    feature.onConnected(first);
    await call(
      feature,
      first,
      'StartTransaction',
      { connectorId: 2, idTag: 'CARD0001', meterStart: 500, timestamp: at(0) },
      { transactionId: 9 },
    );
    await call(feature, first, 'MeterValues', meterValues16(900, 5));

    // The station reconnects: another connection, and a new feature (as after a restart) on the same store.
    const again = aConnection('ocpp1.6');
    const restarted = aFeature(state);
    restarted.onConnected(again);
    await call(restarted, again, 'MeterValues', { ...meterValues16(1500, 10), connectorId: 2 });
    const stop = await call(restarted, again, 'StopTransaction', {
      transactionId: 9,
      meterStop: 1600,
      timestamp: at(20),
    });
    expect(sessionOf(stop)).toEqual(
      expect.objectContaining({ transactionId: '9', start: at(0), energyWh: 1100, evseId: 2 }),
    );
    expect(sessionOf(stop)).not.toHaveProperty('partial');
  });

  it("a copy handed out is not the connection's: a failed write leaves the kept state as it was", async () => {
    const state = new CountingStore();
    const feature = aFeature(state);
    const cp = aConnection('ocpp1.6');
    feature.onConnected(cp);
    await call(
      feature,
      cp,
      'StartTransaction',
      { connectorId: 1, idTag: 'CARD0001', meterStart: 0, timestamp: at(0) },
      { transactionId: 3 },
    );
    const put = state.putRecord.bind(state);
    state.putRecord = () => Promise.reject(new Error('disk full'));
    await expect(call(feature, cp, 'MeterValues', meterValues16(5000, 1, 3))).rejects.toThrow('disk full');
    state.putRecord = put;
    expect(feature.transactionsOf(cp)).toEqual([expect.objectContaining({ id: '3' })]);
    expect(feature.transactionsOf(cp)[0]).not.toHaveProperty('energyWh', 5000);
  });
});

describe('sessions: bounded open transactions', () => {
  it('a start on an EVSE with an abandoned transaction, at the bound, ends that one once', async () => {
    const feature = aFeature(new MemoryStateStore());
    const cp = aConnection('ocpp1.6');
    feature.onConnected(cp);
    const start = (connectorId: number, transactionId: number, minute: number) =>
      call(
        feature,
        cp,
        'StartTransaction',
        { connectorId, idTag: 'CARD0001', meterStart: 0, timestamp: at(minute) },
        { transactionId },
      );
    // Connector 1's transaction is the oldest of 64 open ones, then connector 1 starts again.
    await start(1, 1, 0);
    for (let i = 2; i <= 64; i++) await start(i, i, i);
    const sent = await start(1, 100, 100);
    const ended = sent.published
      .filter((p) => p.kind === 'telemetry')
      .map((p) => (p.values.session as { transactionId: string }).transactionId);
    expect(ended).toEqual(['1']);
    expect(await feature.openTransactions('CP1')).toHaveLength(64);
  });
});
