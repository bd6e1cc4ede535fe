import { describe, expect, it } from 'vitest';
import type { StatisticsConfig } from '../../src/config/types.js';
import { GatewayStatistics } from '../../src/gateway-device/statistics.js';
import type { GatewayStatus } from '../../src/status/model.js';
import type { ThingsBoardClient } from '../../src/thingsboard/client.js';
import { capturingLogger } from '../outbox/helpers.js';

/** The parts of a connector's status the statistics read. */
function aConnectorStatus(name: string, callsIn: number): Record<string, unknown> {
  return {
    name,
    connections: 1,
    connectionsByVersion: { 'ocpp1.6': 1 },
    protocol: {
      callsIn,
      sendsIn: 0,
      bytesIn: 10,
      callErrorsOut: 0,
      callErrorsIn: 0,
      callTimeouts: 0,
      badFrames: 0,
    },
    mapping: { attributes: 0, timeseries: callsIn, skipped: 0, unconvertible: 0 },
    logErrors: 0,
    csms: {},
    rpc: {
      ok: 0,
      noReply: 0,
      callError: 0,
      timeout: 0,
      invalid: 0,
      notConnected: 0,
      unknownMethod: 0,
      refused: 0,
    },
  };
}

describe('gateway statistics', () => {
  it('keep the figures of connectors named like Object.prototype members (names remote configuration can choose)', async () => {
    const status = {
      thingsboard: { counters: { published: 0, messagesIn: 0 } },
      outbox: { removed: 0, size: 0, droppedOverflow: 0, droppedExpired: 0, oldestAgeSeconds: 0 },
      rpcUnrouted: 0,
      connectors: [aConnectorStatus('__proto__', 3), aConnectorStatus('constructor', 5)],
    } as unknown as GatewayStatus;
    const statistics = new GatewayStatistics({
      client: {} as ThingsBoardClient,
      status: () => status,
      logger: capturingLogger().logger,
      version: 'test',
      config: { enable: false } as StatisticsConfig,
      errorCounts: false,
    });
    const collected = await statistics.collect();
    const text = JSON.stringify(collected);
    const parsed = JSON.parse(text) as {
      connectorsStats: Record<string, { connectorMsgsReceived: number }>;
      ocppStats: { connectors: Record<string, { chargePoints: number }> };
    };
    expect(Object.keys(parsed.connectorsStats)).toEqual(['__proto__', 'constructor']);
    expect(Object.hasOwn(parsed.connectorsStats, '__proto__')).toBe(true);
    expect(text).toContain('"__proto__":{"connectorMsgsReceived":3');
    expect(parsed.connectorsStats.constructor).toMatchObject({ connectorMsgsReceived: 5 });
    expect(Object.keys(parsed.ocppStats.connectors)).toEqual(['__proto__', 'constructor']);
  });
});
