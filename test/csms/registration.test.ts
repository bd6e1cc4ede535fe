/**
 * Registration's gate for a station that is not Accepted, with a real in-memory state store: what
 * a TriggerMessage asked for may be sent once, whatever the requested message is called.
 */
import { describe, expect, it } from 'vitest';
import type { ChargePointConfig } from '../../src/config/types.js';
import type { ConnectionView } from '../../src/connector/features.js';
import { REGISTRATION_ATTRIBUTE, RegistrationFeature } from '../../src/csms/registration.js';
import { silentLogger } from '../../src/log.js';
import { OcppError } from '../../src/ocpp/errors.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';
import { capturingLogger } from '../outbox/helpers.js';

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

describe('registration: approval pushed by ThingsBoard', () => {
  it('an approval whose boot decision failed is logged, never an unhandled rejection', async () => {
    const { logger, lines } = capturingLogger();
    const feature = new RegistrationFeature({
      state: new MemoryStateStore(),
      thingsboard: undefined,
      logger,
    });
    const connection = aPendingConnection();
    const failed = Promise.reject(new Error('the state store went away'));
    failed.catch(() => undefined); // held by the fact, as onBoot holds it
    connection.facts.set('registration', { status: failed, triggered: new Set() });
    feature.onDeviceAttributes('CP1', 'CP1', new Map([[REGISTRATION_ATTRIBUTE, 'Accepted']]), connection);
    await new Promise((r) => setTimeout(r, 10));
    expect(lines.map((l) => l.msg)).toContain('approving a charge point failed');
  });
});
