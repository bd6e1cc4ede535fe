/**
 * The gateway device in ThingsBoard, end to end against the stand-in: statistics as the Python
 * gateway sends them, its service RPCs, gateway_restart's exit code, and device renames/deletions
 * announced by ThingsBoard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayProcess } from '../helpers/gateway-process.js';
import { listeningPort } from '../helpers/listening.js';
import { aBootNotification, aMeterValues, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { StandInHarness } from '../helpers/standin-harness.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'CP_[0-9]+',
      deviceNameExpression: 'EV ${ChargePointId}',
      deviceTypeExpression: 'charger',
      attributes: [{ messageTypeFilter: 'BootNotification', key: 'model', value: '${chargePointModel}' }],
      timeseries: [
        {
          messageTypeFilter: 'MeterValues',
          key: 'energy',
          value: '${meter_value[0].sampled_value[0].value}',
        },
        { messageTypeFilter: 'MeterValues', key: 'missing', value: '${no_such_field}' },
      ],
    },
  ],
};

describe('the gateway device in ThingsBoard', () => {
  let h: StandInHarness | undefined;
  const cps: RpcClient[] = [];
  afterEach(async () => {
    await Promise.all(cps.splice(0).map((cp) => cp.close({ force: true }).catch(() => undefined)));
    await h?.stop();
    h = undefined;
  });

  async function chargePoint(id: string, url = h?.urls.OCPP ?? ''): Promise<RpcClient> {
    const cp = await connectChargePoint({ url, identity: id });
    cps.push(cp);
    return cp;
  }

  it('sends statistics with the Python gateway’s keys, and the machine attributes once per connection', async () => {
    h = await StandInHarness.start({
      thingsboard: { statistics: { enable: true, statsSendPeriodInSeconds: 3600 } },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const tb = h.tb;
    await tb.waitFor(() => tb.clientAttributes.has('totalMemory'), 10_000, 'machine attributes');
    expect(Object.fromEntries(tb.clientAttributes)).toMatchObject({
      totalMemory: expect.stringMatching(/^\d+\.\d[KMGTPEZY]$/),
      totalDisk: expect.stringMatching(/^\d+\.\d[KMGTPEZY]$/),
      cpuCount: expect.any(Number),
      Version: VERSION,
    });
    const cp = await chargePoint('CP_1');
    await cp.call('BootNotification', aBootNotification());
    await cp.call('MeterValues', aMeterValues());
    await cp.call('DataTransfer', { vendorId: 'x', messageId: 'unknown' });
    await tb.waitFor(() => tb.values('EV CP_1', 'energy').length > 0, 10_000, 'telemetry');
    // A new connection sends the attributes again and the statistics of the period since the last.
    const before = tb.deviceTelemetry.filter((t) => t.key === 'connectorsStats').length;
    tb.dropConnections();
    await tb.waitFor(
      () => tb.deviceTelemetry.filter((t) => t.key === 'connectorsStats').length > before,
      10_000,
      'statistics after reconnect',
    );
    const last = (key: string): Record<string, unknown> =>
      tb.deviceTelemetry.filter((t) => t.key === key).at(-1)?.value as Record<string, unknown>;
    expect(Object.keys(last('machineStats')).sort()).toEqual(
      [
        'diskUsage',
        'freeDisk',
        'freeMemory',
        'gwMemory',
        'gwProcessCpuUsage',
        'gwProcessMemoryFullInfo',
        'msgsReceivedFromPlatform',
        'msgsSentToPlatform',
        'totalCpuUsage',
      ].sort(),
    );
    expect(last('serviceStats')).toMatchObject({
      storageMsgPulled: expect.any(Number),
      storageMsgCount: expect.any(Number),
      platformMsgPushed: expect.any(Number),
      platformAttrProduced: 1,
      platformTsProduced: 1,
    });
    const connector = (last('connectorsStats') as Record<string, Record<string, number>>).OCPP;
    expect(connector).toEqual({
      connectorMsgsReceived: 3,
      connectorBytesReceived: expect.any(Number),
      convertersAttrProduced: 1,
      convertersTsProduced: 1,
      // The `missing` datapoint of the MeterValues did not resolve.
      convertersMsgDropped: 1,
      connectorsErrors: 0,
      convertersErrors: 0,
    });
    expect(connector?.connectorBytesReceived).toBeGreaterThan(100);
    expect(last('ocppStats')).toMatchObject({
      chargePointsConnected: 1,
      chargePointsByVersion: { 'ocpp1.6': 1 },
      callErrorsSent: 0,
      rpc: { received: 0, succeeded: 0, failed: 0 },
      outbox: { records: expect.any(Number), oldestRecordAgeSeconds: expect.any(Number) },
    });
    expect(tb.violations).toEqual([]);
  });

  it('answers the Python gateway’s service RPCs', async () => {
    h = await StandInHarness.start({ connectors: [{ name: 'OCPP', ocpp: OCPP }] });
    const tb = h.tb;
    const cp = await chargePoint('CP_7');
    await cp.call('BootNotification', aBootNotification());
    await tb.waitFor(() => tb.connects.includes('EV CP_7'), 10_000, 'connect');
    expect(await tb.rpcToGateway('gateway_ping', {})).toEqual({ code: 200, resp: 'pong' });
    expect(await tb.rpcToGateway('gateway_version', {})).toEqual({
      code: 200,
      resp: { current_version: VERSION, latest_version: VERSION },
    });
    expect(await tb.rpcToGateway('gateway_devices', {})).toEqual({ code: 200, resp: { 'EV CP_7': 'OCPP' } });
    expect(await tb.rpcToGateway('gateway_stats', {})).toEqual({
      eventsProduced: 1,
      eventsSent: 1,
      OCPPEventsProduced: 1,
      OCPPEventsSent: 1,
    });
    expect(await tb.rpcToGateway('gateway_reboot', {})).toMatchObject({ code: 501 });
    expect(await tb.rpcToGateway('gateway_no_such', {})).toMatchObject({
      error: expect.stringContaining('unknown method'),
    });
  });

  it('gateway_restart answers, then stops gracefully with exit code 75', async () => {
    h = await StandInHarness.start({ connectors: [{ name: 'OCPP', ocpp: OCPP }] });
    expect(await h.tb.rpcToGateway('gateway_restart', 1)).toEqual({ success: true });
    const { code } = await h.gateway.exited;
    expect(code).toBe(75);
    expect(h.gateway.logs.some((l) => l.msg === 'stopped' && l.exitCode === 75)).toBe(true);
  });

  it('follows a device renamed in ThingsBoard, across a restart, and re-announces a deleted one', async () => {
    h = await StandInHarness.start({
      storage: { type: 'sqlite', data_file_path: 'gw.db' },
      connectors: [{ name: 'OCPP', ocpp: OCPP }],
    });
    const tb = h.tb;
    const cp = await chargePoint('CP_1');
    await cp.call('BootNotification', aBootNotification());
    await tb.waitFor(() => tb.connects.includes('EV CP_1'), 10_000, 'connect');
    // ThingsBoard: DefaultGatewayNotificationsService.onDeviceUpdated.
    expect(await tb.rpcToGateway('gateway_device_renamed', { 'EV CP_1': 'Garage' })).toEqual({
      success: true,
    });
    await tb.waitFor(() => tb.connects.includes('Garage'), 10_000, 'connect under the new name');
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(() => tb.values('Garage', 'energy').length === 1, 10_000, 'data under the new name');
    expect(tb.values('EV CP_1', 'energy')).toEqual([]);

    // A restart: the rename is remembered; a new boot renders the old name, sent as the new one.
    await cp.close({ force: true });
    await h.gateway.stop();
    h.gateway = GatewayProcess.run(h.configFile);
    await h.gateway.started();
    const url = `ws://127.0.0.1:${await listeningPort(h.gateway, 'OCPP')}`;
    const again = await chargePoint('CP_1', url);
    await again.call('BootNotification', aBootNotification());
    await again.call('MeterValues', aMeterValues());
    await tb.waitFor(
      () => tb.values('Garage', 'energy').length === 2,
      15_000,
      'data under the new name again',
    );
    expect(tb.values('EV CP_1', 'energy')).toEqual([]);

    // Deleted in ThingsBoard: the next data announces the device again before it.
    const connectsBefore = tb.connects.filter((d) => d === 'Garage').length;
    expect(await tb.rpcToGateway('gateway_device_deleted', 'Garage')).toEqual({ success: true });
    await again.call('MeterValues', aMeterValues());
    await tb.waitFor(() => tb.values('Garage', 'energy').length === 3, 10_000, 'data after the deletion');
    expect(tb.connects.filter((d) => d === 'Garage').length).toBe(connectsBefore + 1);
    expect(readFileSync(join(h.dir.path, 'gw.db')).length).toBeGreaterThan(0);
  });
});
