/**
 * A simulated OCPP 1.6 station obeys the Central System (ocpp-rpc's strict server): a remote
 * start opens a transaction with the given idTag, a remote stop ends it with reason Remote, and a
 * Reset makes it reconnect and boot again.
 */
import { afterEach, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Simulation } from '../../src/simulator/run.js';
import { CentralSystem } from '../helpers/central-system.js';
import { simulationOptions } from './builders.js';

let cs: CentralSystem | undefined;
afterEach(async () => {
  await cs?.close();
  cs = undefined;
});

it('OCPP 1.6: RemoteStartTransaction, RemoteStopTransaction, Reset', async () => {
  const replies: Record<string, unknown> = {};
  let connections = 0;
  cs = await CentralSystem.start('ocpp1.6', (client, cs) => {
    connections++;
    const first = connections === 1;
    cs.answer(client, 'BootNotification', () => ({
      status: 'Accepted',
      currentTime: new Date().toISOString(),
      interval: 300,
    }));
    cs.answer(client, 'StatusNotification', (p) => {
      if (first && p.status === 'Available' && replies.RemoteStartTransaction === undefined) {
        replies.RemoteStartTransaction = null;
        setTimeout(() => {
          void client
            .call('RemoteStartTransaction', { idTag: 'REMOTE1', connectorId: 1 })
            .then((r) => (replies.RemoteStartTransaction = r));
        }, 50);
      }
      return {};
    });
    cs.answer(client, 'StartTransaction', () => {
      setTimeout(() => {
        void client.call('RemoteStopTransaction', { transactionId: 7 }).then(async (r) => {
          replies.RemoteStopTransaction = r;
          replies.Reset = await client.call('Reset', { type: 'Soft' });
        });
      }, 300);
      return { transactionId: 7, idTagInfo: { status: 'Accepted' } };
    });
    cs.answer(client, 'StopTransaction', () => ({}));
    cs.answer(client, 'MeterValues', () => ({}));
    cs.answer(client, 'Heartbeat', () => ({ currentTime: new Date().toISOString() }));
  });
  const summary = await new Simulation(
    simulationOptions(cs.port, { idleSeconds: [100, 100], sessionSeconds: [100, 100], durationSeconds: 7 }),
    silentLogger(),
  ).run();

  expect(replies).toEqual({
    RemoteStartTransaction: { status: 'Accepted' },
    RemoteStopTransaction: { status: 'Accepted' },
    Reset: { status: 'Accepted' },
  });
  expect(cs.of('StartTransaction')).toEqual([expect.objectContaining({ connectorId: 1, idTag: 'REMOTE1' })]);
  expect(cs.of('StopTransaction')).toEqual([expect.objectContaining({ transactionId: 7, reason: 'Remote' })]);
  // The Reset: the station closed, reconnected and booted again.
  expect(connections).toBe(2);
  expect(summary.counters.boots).toBe(2);
  expect(cs.of('BootNotification')).toHaveLength(2);
}, 20_000);
