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

describe('registration: what a Pending station may send', () => {
  it.each([
    ['StatusNotification', 'StatusNotification'],
    ['SignChargePointCertificate', 'SignCertificate'],
    // Names of Object.prototype members are ordinary names here.
    ['toString', 'toString'],
    ['constructor', 'constructor'],
    ['__proto__', '__proto__'],
  ])('TriggerMessage %s lets the station send %s once', async (requested, action) => {
    const feature = new RegistrationFeature({
      state: new MemoryStateStore(),
      thingsboard: undefined,
      logger: silentLogger(),
    });
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
});
