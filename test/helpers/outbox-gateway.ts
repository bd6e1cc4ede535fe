/**
 * A gateway with a SQLite outbox whose ThingsBoard is away (no broker on its port yet), one OCPP
 * connector, and a booted charge point: the start of every test where storage stops taking writes.
 */
import { expect } from 'vitest';
import type { GatewayProcess, TempDir } from './gateway-process.js';
import { listeningPort } from './listening.js';
import { aBootNotification, RawChargePoint } from './ocpp.js';

export interface OutboxGatewayOptions {
  /** Where ThingsBoard will be: nothing listens there until the test starts a broker. */
  brokerPort: number;
  token: string;
  chargePointId: string;
  /** The charge point's timeseries mappings. */
  timeseries: Record<string, unknown>[];
  /** The `storage` section, `type: 'sqlite'` added. */
  storage: Record<string, unknown>;
}

/** Writes ocpp.json and tb_gateway.json into `dir`; returns the path of tb_gateway.json. */
export function writeOutboxGatewayConfig(dir: TempDir, opts: OutboxGatewayOptions): string {
  dir.write('ocpp.json', {
    centralSystem: { port: 0 },
    chargePoints: [
      {
        idRegexpPattern: opts.chargePointId,
        deviceNameExpression: '${ChargePointId}',
        timeseries: opts.timeseries,
      },
    ],
  });
  return dir.write('tb_gateway.json', {
    thingsboard: {
      host: '127.0.0.1',
      port: opts.brokerPort,
      security: { accessToken: opts.token },
      reconnectMinMs: 100,
      reconnectMaxMs: 300,
    },
    storage: { type: 'sqlite', ...opts.storage },
    connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
  });
}

/** An OCPP 1.6 station on the gateway's "OCPP Connector" whose BootNotification was answered. */
export async function bootedStation(gateway: GatewayProcess, chargePointId: string): Promise<RawChargePoint> {
  const port = await listeningPort(gateway, 'OCPP Connector');
  const cp = await RawChargePoint.open(`ws://127.0.0.1:${port}/${chargePointId}`, ['ocpp1.6']);
  try {
    cp.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification()]));
    expect((await cp.answerTo('boot'))[0]).toBe(3);
  } catch (err) {
    await cp.shut();
    throw err;
  }
  return cp;
}

/** MeterValues whose energy reading is `seq`, taken `seq` seconds after `start`. */
export function aNumberedMeterValues(seq: number, start: number): Record<string, unknown> {
  return {
    connectorId: 1,
    meterValue: [
      {
        timestamp: new Date(start + seq * 1000).toISOString(),
        sampledValue: [{ value: String(seq), measurand: 'Energy.Active.Import.Register' }],
      },
    ],
  };
}

/** The timeseries mapping that publishes the reading of aNumberedMeterValues as telemetry `seq`. */
export const SEQ_TIMESERIES = {
  messageTypeFilter: 'MeterValues',
  key: 'seq',
  value: '${meter_value[0].sampled_value[0].value}',
};
