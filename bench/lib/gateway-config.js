/**
 * The configuration files a bench gateway runs with, written into the run's temp folder: every
 * charge point is accepted (`.*`, no authentication), named after its id, and its MeterValues are
 * mapped to four timeseries (one per sampled value) and one attribute — the mapping work an
 * operator's ocpp.json asks for.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './processes.js';

const byMeasurand = (m) => `\${meter_value[0].sampled_value[?(@.measurand=='${m}')].value}`;

export function chargePointsConfig({ attribute = true } = {}) {
  return [
    {
      idRegexpPattern: '.*',
      deviceNameExpression: '${ChargePointId}',
      deviceTypeExpression: 'bench-charger',
      attributes: attribute
        ? [{ messageTypeFilter: 'MeterValues,', key: 'connectorId', value: '${connector_id}' }]
        : [],
      timeseries: [
        { messageTypeFilter: 'MeterValues,', key: 'voltage', value: byMeasurand('Voltage') },
        { messageTypeFilter: 'MeterValues,', key: 'current', value: byMeasurand('Current.Import') },
        { messageTypeFilter: 'MeterValues,', key: 'power', value: byMeasurand('Power.Active.Import') },
        {
          messageTypeFilter: 'MeterValues,',
          key: 'energy',
          value: byMeasurand('Energy.Active.Import.Register'),
        },
      ],
      serverSideRpc: [{ methodRPC: 'rpc1', withResponse: true, valueExpression: '${params}', timeout: 60 }],
    },
  ];
}

/**
 * Writes tb_gateway.json + ocpp.json under `dir` (a fresh sub-folder per gateway) and returns
 * {file, port, ocpp, gateway}. `storage` is memory or sqlite; `compression` is
 * centralSystem.compression (permessage-deflate offered or not); `thingsboard` overrides keys of
 * that section (e.g. reconnectMinMs/reconnectMaxMs for the outage scenario); `security` is
 * centralSystem.security (default: none, every charge point admitted).
 */
export async function writeGatewayConfig(
  dir,
  { brokerPort, storage, compression = true, attribute = true, tag, thingsboard = {}, security = [] },
) {
  const port = await freePort();
  const ocpp = {
    centralSystem: {
      name: 'Bench Central System',
      host: '127.0.0.1',
      port,
      connection: { type: 'insecure' },
      security,
      // Long enough that no heartbeat falls inside a measured window.
      heartbeatInterval: 300,
      pingInterval: 30,
      maxMessageSize: 65536,
      compression,
      ocppVersions: ['ocpp1.6'],
    },
    chargePoints: chargePointsConfig({ attribute }),
  };
  const gateway = {
    thingsboard: {
      host: '127.0.0.1',
      port: brokerPort,
      qos: 1,
      security: { accessToken: 'BENCH_GATEWAY_TOKEN' },
      // Stopping a gateway between scenarios need not drain its outbox: nothing measures that.
      shutdownGracePeriodSeconds: 1,
      ...thingsboard,
    },
    storage: {
      type: storage,
      // Large enough that no record is dropped during a run (overflow would be logged and counted).
      max_records_count: 5_000_000,
      data_file_path: join(dir, `${tag}.db`),
      messages_ttl_in_days: 0,
    },
    connectors: [{ type: 'ocpp', name: 'OCPP', configuration: `${tag}-ocpp.json` }],
    // On as in production, on a free port so that gateways of one run never collide.
    statusServer: { port: 0 },
  };
  writeFileSync(join(dir, `${tag}-ocpp.json`), JSON.stringify(ocpp, null, 2));
  const file = join(dir, `${tag}-tb_gateway.json`);
  writeFileSync(file, JSON.stringify(gateway, null, 2));
  return { file, port, url: `ws://127.0.0.1:${port}`, ocpp, gateway };
}
