/**
 * Registration's gate for a station that is not Accepted, with a real in-memory state store: what
 * a TriggerMessage asked for may be sent once, whatever the requested message is called.
 */
import { describe, expect, it } from 'vitest';
import type { ChargePointConfig } from '../../src/config/types.js';
import type { ConnectionView } from '../../src/connector/features.js';
import { RegistrationFeature } from '../../src/csms/registration.js';
import { silentLogger } from '../../src/log.js';
import { OcppError } from '../../src/ocpp/errors.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';

function aPendingConnection(): ConnectionView {
  return {
    chargePointId: 'CP1',
    version: 'ocpp1.6',
    entry: { registration: 'Pending', registrationRetryInterval: 30 } as ChargePointConfig,
    device: () => 'CP1',
    call: () => Promise.resolve({}),
    facts: new Map(),
    publish: () => undefined,
    isCurrent: () => true,
  };
}

function aFeature(): RegistrationFeature {
  return new RegistrationFeature({
    state: new MemoryStateStore(),
    thingsboard: undefined,
    logger: silentLogger(),
  });
}

describe('registration: what a Pending station may send', () => {
  it.each([
    ['StatusNotification', 'StatusNotification'],
    ['SignChargePointCertificate', 'SignCertificate'],
    ['DiagnosticsStatusNotification', 'DiagnosticsStatusNotification'],
  ])('TriggerMessage %s lets the station send %s once', async (requested, action) => {
    const feature = aFeature();
    const connection = aPendingConnection();
    feature.onConnected(connection);
    expect(await feature.admit(connection, action)).toBeInstanceOf(OcppError);
    await feature.beforeSend({
      connection,
      action: 'TriggerMessage',
      payload: { requestedMessage: requested, connectorId: 1 },
    });
    expect(await feature.admit(connection, action)).toBeUndefined();
    expect(await feature.admit(connection, action)).toBeInstanceOf(OcppError);
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'a requestedMessage named %s (no action a station sends) lets nothing through',
    async (requested) => {
      const feature = aFeature();
      const connection = aPendingConnection();
      feature.onConnected(connection);
      await feature.beforeSend({
        connection,
        action: 'TriggerMessage',
        payload: { requestedMessage: requested },
      });
      for (const action of [requested, 'SignCertificate', 'StatusNotification'])
        expect(await feature.admit(connection, action)).toBeInstanceOf(OcppError);
    },
  );

  it('what TriggerMessages ask for stays bounded by the actions a station can send', async () => {
    const feature = aFeature();
    const connection = aPendingConnection();
    feature.onConnected(connection);
    for (let i = 0; i < 10_000; i++) {
      const requestedMessage = i % 2 === 0 ? `Made-up ${i}` : 'StatusNotification';
      await feature.beforeSend({ connection, action: 'TriggerMessage', payload: { requestedMessage } });
    }
    const fact = connection.facts.get('registration') as { triggered: Set<string> };
    expect([...fact.triggered]).toEqual(['StatusNotification']);
  });
});
