/**
 * The simulator when the Central System says no, against ocpp-rpc's strict server: a Pending boot
 * is repeated after the answer's interval and a TriggerMessage BootNotification lets the station
 * in; a refused Authorize starts no transaction; a start whose idTag is refused is ended at once
 * as DeAuthorized — in OCPP 1.6 and 2.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Simulation } from '../../src/simulator/run.js';
import { CentralSystem } from '../helpers/central-system.js';
import { simulationOptions } from './builders.js';

let cs: CentralSystem | undefined;
afterEach(async () => {
  await cs?.close();
  cs = undefined;
});

describe('simulated stations refused by the Central System', () => {
  it('OCPP 1.6: Pending boots repeated after the interval, let in by TriggerMessage; refused idTags', async () => {
    let boots = 0;
    cs = await CentralSystem.start('ocpp1.6', (client, cs) => {
      cs.answer(client, 'BootNotification', () => {
        boots++;
        if (boots === 2) {
          // The operator approves: ask for a boot now rather than after the next interval.
          setTimeout(() => void client.call('TriggerMessage', { requestedMessage: 'BootNotification' }), 100);
        }
        const status = boots <= 2 ? 'Pending' : 'Accepted';
        return { status, currentTime: new Date().toISOString(), interval: status === 'Accepted' ? 300 : 1 };
      });
      cs.answer(client, 'StatusNotification', () => ({}));
      cs.answer(client, 'Heartbeat', () => ({ currentTime: new Date().toISOString() }));
      cs.answer(client, 'Authorize', (p) => ({
        idTagInfo: { status: p.idTag === 'GOOD1' ? 'Accepted' : 'Blocked' },
      }));
      // Authorize said yes, the start says no: the station must end the transaction.
      cs.answer(client, 'StartTransaction', () => ({ transactionId: 42, idTagInfo: { status: 'Invalid' } }));
      cs.answer(client, 'StopTransaction', () => ({}));
      cs.answer(client, 'MeterValues', () => ({}));
    });
    const summary = await new Simulation(
      simulationOptions(cs.port, { idTags: ['GOOD1', 'BLOCKED1'], connectors: 4 }),
      silentLogger(),
    ).run();

    expect(summary).toMatchObject({ stations: 1, connected: 1, refused: 0 });
    expect(summary.counters).toMatchObject({ boots: 1, bootsNotAccepted: 2 });
    const actions = cs.seen.map((s) => s.action);
    // Nothing but boots until the Accepted one.
    expect(actions.slice(0, 3)).toEqual(['BootNotification', 'BootNotification', 'BootNotification']);
    expect(summary.counters.authorizationsRefused).toBeGreaterThan(0);
    expect(summary.counters.sessionsDeauthorized).toBeGreaterThan(0);
    expect(summary.counters.sessionsDeauthorized).toBe(summary.counters.sessionsStarted);
    const starts = cs.of('StartTransaction');
    expect(starts.length).toBeGreaterThan(0);
    for (const s of starts) expect(s.idTag).toBe('GOOD1');
    const stops = cs.of('StopTransaction');
    expect(stops.length).toBe(starts.length);
    for (const s of stops) expect(s).toMatchObject({ transactionId: 42, reason: 'DeAuthorized' });
    // A refused transaction sends no meter values.
    expect(actions).not.toContain('MeterValues');
  }, 20_000);

  it('OCPP 2.0.1: a Rejected boot is repeated; a refused idToken ends the transaction as Deauthorized', async () => {
    let boots = 0;
    cs = await CentralSystem.start('ocpp2.0.1', (client, cs) => {
      cs.answer(client, 'BootNotification', () => {
        boots++;
        const status = boots === 1 ? 'Rejected' : 'Accepted';
        return { status, currentTime: new Date().toISOString(), interval: status === 'Accepted' ? 300 : 1 };
      });
      cs.answer(client, 'StatusNotification', () => ({}));
      cs.answer(client, 'Heartbeat', () => ({ currentTime: new Date().toISOString() }));
      cs.answer(client, 'Authorize', () => ({ idTokenInfo: { status: 'Accepted' } }));
      cs.answer(client, 'TransactionEvent', (p) =>
        p.eventType === 'Started' ? { idTokenInfo: { status: 'Invalid' } } : {},
      );
    });
    const summary = await new Simulation(
      simulationOptions(cs.port, { version: 'ocpp2.0.1' }),
      silentLogger(),
    ).run();

    expect(summary.counters).toMatchObject({ boots: 1, bootsNotAccepted: 1 });
    expect(summary.counters.sessionsDeauthorized).toBeGreaterThan(0);
    const events = cs.of('TransactionEvent');
    const ended = events.filter((e) => e.eventType === 'Ended');
    expect(ended.length).toBe(events.filter((e) => e.eventType === 'Started').length);
    for (const e of ended) {
      expect(e).toMatchObject({
        triggerReason: 'Deauthorized',
        transactionInfo: { stoppedReason: 'DeAuthorized' },
      });
    }
    expect(events.some((e) => e.eventType === 'Updated')).toBe(false);
  }, 20_000);
});
