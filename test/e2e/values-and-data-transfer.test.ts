/**
 * Typed values and DataTransfer answers end to end through the built CLI: OCPP 1.6 readings
 * ("1234.5" on the wire) published as numbers, `sampledValuesAsText` restoring text, a mapping
 * entry's `type` converting (or skipping) its value, and who takes a DataTransfer: a mapping
 * entry, a configured vendor (and messageId), or no one (UnknownVendorId / UnknownMessageId).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aMeterValues, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const ENERGY = "${meter_value[0].sampled_value[?(@.measurand=='Energy.Active.Import.Register')].value}";
const VENDORS = [{ vendorId: 'acme' }, { vendorId: 'bolt', messageIds: ['price'] }];

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'TV16',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'meter',
      timeseries: [
        { messageTypeFilter: 'MeterValues', key: 'energy', value: ENERGY },
        { messageTypeFilter: 'MeterValues', key: 'energyText', type: 'string', value: ENERGY },
        { messageTypeFilter: 'MeterValues', key: 'energyWh', type: 'long', value: ENERGY },
        {
          messageTypeFilter: 'MeterValues',
          key: 'label',
          value: '${meter_value[0].sampled_value[0].value} Wh',
        },
        { messageTypeFilter: 'DataTransfer', key: 'flag', type: 'boolean', value: '${data.flag}' },
        { messageTypeFilter: 'DataTransfer', key: 'settings', type: 'json', value: '${data.raw}' },
        { messageTypeFilter: 'DataTransfer', key: 'level', type: 'double', value: '${data.word}' },
        { messageTypeFilter: 'DataTransfer', key: 'count', type: 'integer', value: '${data.count}' },
      ],
    },
    {
      idRegexpPattern: 'TXT16',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'meter',
      sampledValuesAsText: true,
      timeseries: [{ messageTypeFilter: 'MeterValues', key: 'energy', value: ENERGY }],
    },
    {
      idRegexpPattern: 'DT16',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'x',
      dataTransferVendors: VENDORS,
    },
    {
      idRegexpPattern: 'DT201',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'x',
      dataTransferVendors: VENDORS,
    },
  ],
};

describe('typed values and DataTransfer answers', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  const clients: RpcClient[] = [];

  async function chargePoint(identity: string, version = 'ocpp1.6'): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: h.urls.OCPP!, identity, protocols: [version] });
    clients.push(cp);
    return cp;
  }

  function values(name: string): Record<string, unknown> {
    return Object.assign(
      {},
      ...tb
        .fromGateway('v1/gateway/telemetry')
        .flatMap((m) => (m[name] ?? []) as { values: Record<string, unknown> }[])
        .map((e) => e.values),
    );
  }

  beforeAll(async () => {
    h = await Harness.start({ connectors: [{ name: 'OCPP', ocpp: OCPP }] });
    tb = h.tb;
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ force: true }).catch(() => undefined);
    await h?.stop();
  });

  it('1.6 readings are numbers; `type` converts; mixed text stays text', async () => {
    const cp = await chargePoint('TV16');
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(() => values('TV16').energy !== undefined);
    expect(values('TV16')).toEqual({
      energy: 1234.5,
      energyText: '1234.5',
      energyWh: 1234,
      label: '1234.5 Wh',
    });
  });

  it('`sampledValuesAsText: true` publishes the text as it came', async () => {
    const cp = await chargePoint('TXT16');
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(() => values('TXT16').energy !== undefined);
    expect(values('TXT16')).toEqual({ energy: '1234.5' });
  });

  it('a value that cannot take its type is skipped; the others are published', async () => {
    const cp = await chargePoint('TV16');
    const data = JSON.stringify({ flag: 'true', raw: '{"max":16}', word: 'high', count: '7.9' });
    await expect(cp.call('DataTransfer', { vendorId: 'anyone', data })).resolves.toEqual({
      status: 'Accepted',
    });
    await tb.waitFor(() => values('TV16').flag !== undefined);
    expect(values('TV16')).toMatchObject({ flag: true, settings: { max: 16 }, count: 7 });
    expect(values('TV16')).not.toHaveProperty('level');
  });

  it('`json` never publishes a number JSON cannot carry, nor a value nested past maxJsonDepth', async () => {
    const cp = await chargePoint('TV16');
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    for (const [raw, count] of [
      ['{"max":1e309}', 1],
      [deep, 2],
    ] as const) {
      const data = JSON.stringify({ raw, count });
      await expect(cp.call('DataTransfer', { vendorId: 'anyone', data })).resolves.toEqual({
        status: 'Accepted',
      });
    }
    await tb.waitFor(() => values('TV16').count === 2);
    const published = tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m.TV16 ?? []) as { values: Record<string, unknown> }[])
      .map((e) => e.values)
      .filter((v) => v.count === 1 || v.count === 2);
    // Each message published its other datapoint and no `settings` (never `{"max": null}`).
    expect(published).toEqual([{ count: 1 }, { count: 2 }]);
    await h.gateway.waitForLog((l) =>
      l.msg.startsWith('datapoint skipped: its value is a number JSON cannot carry'),
    );
  });

  it.each([
    ['ocpp1.6', 'DT16'],
    ['ocpp2.0.1', 'DT201'],
  ])(
    '%s DataTransfer: a configured vendor is Accepted, others are told what is unknown',
    async (version, id) => {
      const cp = await chargePoint(id, version);
      const ask = (payload: Record<string, unknown>) => cp.call('DataTransfer', payload);
      await expect(ask({ vendorId: 'acme', messageId: 'anything', data: 'x' })).resolves.toEqual({
        status: 'Accepted',
      });
      await expect(ask({ vendorId: 'bolt', messageId: 'price' })).resolves.toEqual({ status: 'Accepted' });
      await expect(ask({ vendorId: 'bolt', messageId: 'other' })).resolves.toEqual({
        status: 'UnknownMessageId',
      });
      await expect(ask({ vendorId: 'bolt' })).resolves.toEqual({ status: 'UnknownMessageId' });
      await expect(ask({ vendorId: 'zeta' })).resolves.toEqual({ status: 'UnknownVendorId' });
    },
  );
});
