/** Traffic counters: labels only ever come from the OCPP tables. */
import { describe, expect, it } from 'vitest';
import { OCPP_VERSIONS } from '../../src/ocpp/versions.js';
import { TrafficCounters } from '../../src/ocpp/traffic.js';

const v16 = OCPP_VERSIONS['ocpp1.6'];
const v201 = OCPP_VERSIONS['ocpp2.0.1'];

describe('TrafficCounters', () => {
  it('counts by version, direction, type and action, and CALLERRORs by code', () => {
    const t = new TrafficCounters();
    t.record(v16, { direction: 'in', messageType: 2, action: 'Heartbeat' });
    t.record(v16, { direction: 'in', messageType: 2, action: 'Heartbeat' });
    t.record(v16, { direction: 'out', messageType: 3, action: 'Heartbeat' });
    t.record(v201, {
      direction: 'out',
      messageType: 4,
      action: 'Authorize',
      errorCode: 'FormatViolation',
      errorDescription: 'x',
    });
    expect(t.messageCounts()).toEqual(
      expect.arrayContaining([
        { version: 'ocpp1.6', direction: 'in', type: 'CALL', action: 'Heartbeat', count: 2 },
        { version: 'ocpp1.6', direction: 'out', type: 'CALLRESULT', action: 'Heartbeat', count: 1 },
        { version: 'ocpp2.0.1', direction: 'out', type: 'CALLERROR', action: 'Authorize', count: 1 },
      ]),
    );
    expect(t.callErrorCounts()).toEqual([
      { version: 'ocpp2.0.1', direction: 'out', code: 'FormatViolation', count: 1 },
    ]);
    expect(t.totals()).toEqual({ in: 2, out: 2 });
  });

  it('folds actions and error codes a charge point invents into "unknown" and "other"', () => {
    const t = new TrafficCounters();
    for (let i = 0; i < 1000; i++) {
      t.record(v16, { direction: 'in', messageType: 2, action: `Made-up-${i}` });
      t.record(v16, { direction: 'in', messageType: 4, action: 'Reset', errorCode: `Code${i}` });
    }
    t.record(v16, { direction: 'in', messageType: undefined, action: undefined });
    expect(t.messageCounts()).toEqual(
      expect.arrayContaining([
        { version: 'ocpp1.6', direction: 'in', type: 'CALL', action: 'unknown', count: 1000 },
        { version: 'ocpp1.6', direction: 'in', type: 'CALLERROR', action: 'Reset', count: 1000 },
        { version: 'ocpp1.6', direction: 'in', type: 'invalid', action: '', count: 1 },
      ]),
    );
    expect(t.messageCounts()).toHaveLength(3);
    expect(t.callErrorCounts()).toEqual([
      { version: 'ocpp1.6', direction: 'in', code: 'other', count: 1000 },
    ]);
  });
});
