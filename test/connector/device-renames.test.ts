/**
 * Devices renamed or deleted in ThingsBoard, as the connector's one registry sees them: a live
 * charge point (booted, or waiting under its provisional name) and a remembered one take the new
 * name, found through the registry's name index by ThingsBoard's RPCs and attribute updates; the
 * old name no longer routes. Real parts: the connector on a real socket, strict ocpp-rpc stations,
 * the in-memory outbox and state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { OcppConnector } from '../../src/connector/connector.js';
import { DeviceRenames } from '../../src/connector/renames.js';
import { silentLogger } from '../../src/log.js';
import { ValidatorSet } from '../../src/ocpp/validator.js';
import { MemoryOutbox, MemoryStateStore } from '../../src/outbox/memory.js';
import { ConfigDir, aGatewayJson } from '../config/fixtures.js';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { until } from '../helpers/until.js';

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0, announceUnbootedAfter: 3600 },
  chargePoints: [
    {
      idRegexpPattern: 'CP_.*',
      deviceNameExpression: 'EV ${ChargePointId} ${chargePointSerialNumber}',
      deviceTypeExpression: 'charger',
    },
  ],
};

describe('OcppConnector: devices renamed and deleted in ThingsBoard', () => {
  const dir = new ConfigDir();
  const logger = silentLogger();
  const outbox = new MemoryOutbox({ maxRecordsCount: 1000, logger });
  const state = new MemoryStateStore();
  const renames = new DeviceRenames(state, logger);
  let connector: OcppConnector;
  const cps: RpcClient[] = [];

  async function station(id: string): Promise<RpcClient> {
    const cp = await connectChargePoint({ url: `ws://127.0.0.1:${port}`, identity: id });
    cps.push(cp);
    return cp;
  }
  let port = 0;

  function connects(): string[] {
    return outbox
      .readBatch(0, 1000)
      .filter((r) => r.kind === 'connect')
      .map((r) => r.device);
  }

  beforeAll(async () => {
    const config = loadConfig(dir.files(aGatewayJson(), OCPP), {}).connectors[0];
    if (!config) throw new Error('no connector');
    await state.open();
    await renames.load();
    connector = new OcppConnector({ config, outbox, state, validators: new ValidatorSet(), logger, renames });
    port = await connector.start();
  });

  afterAll(async () => {
    for (const cp of cps) await cp.close({ force: true });
    await connector?.stop();
    await outbox.close();
    dir.remove();
  });

  it('a booted charge point takes the new name: announced under it, routed by it, remembered by it', async () => {
    const cp = await station('CP_1');
    cp.handle('ClearCache', () => ({ status: 'Accepted' }));
    await cp.call('BootNotification', aBootNotification());
    expect(connector.ownsDevice('EV CP_1 SN-1')).toBe(true);

    await renames.renamed('EV CP_1 SN-1', 'Garage');
    expect(connector.renameDevice('EV CP_1 SN-1', 'Garage')).toBe(1);
    expect(connects().at(-1)).toBe('Garage');
    expect(connector.ownsDevice('Garage')).toBe(true);
    expect(connector.ownsDevice('EV CP_1 SN-1')).toBe(false);
    expect(connector.remembersDevice('EV CP_1 SN-1')).toBe(false);
    // An RPC by the new name reaches the station; by the old one it reaches nobody.
    expect(await connector.onRpc('Garage', 'ClearCache', {})).toEqual({ result: { status: 'Accepted' } });
    expect(await connector.onRpc('EV CP_1 SN-1', 'ClearCache', {})).toEqual({
      error: 'device "EV CP_1 SN-1" has no live charge point',
    });

    // Gone and booted again: still remembered under the new name; the boot renders the old name,
    // which the renames turn into the current one.
    await cp.close({ code: 1000 });
    await until(() => Promise.resolve(!connector.ownsDevice('Garage')), 'the disconnect');
    expect(connector.remembersDevice('Garage')).toBe(true);
    const again = await station('CP_1');
    await again.call('BootNotification', aBootNotification());
    expect(connector.ownsDevice('Garage')).toBe(true);
    expect(connects().at(-1)).toBe('Garage');
  });

  it('a charge point that has not booted is renamed under its provisional name', async () => {
    await station('CP_2');
    await until(() => Promise.resolve(connector.connectionCount === 2), 'the connection');
    // Before a boot it is reachable by its provisional name (its charge point id).
    expect(connector.ownsDevice('CP_2')).toBe(true);
    expect(connector.renameDevice('CP_2', 'Shed')).toBe(1);
    expect(connector.ownsDevice('Shed')).toBe(true);
    expect(connector.ownsDevice('CP_2')).toBe(true); // by charge point id, as every live one
    expect(connector.chargePoints().find((v) => v.id === 'CP_2')?.device.name).toBe('CP_2');
  });

  it('a deleted device is announced again with the next data of its charge point', async () => {
    expect(connector.deviceDeleted('Garage')).toBe(1);
    expect(connector.ownsDevice('Garage')).toBe(false);
    expect(connector.announcedDevices().map((d) => d.name)).not.toContain('Garage');
  });
});
