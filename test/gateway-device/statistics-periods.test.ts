/**
 * The statistics telemetry built from the status model (GatewayStatistics.collect): the Python
 * gateway's nesting, counts per period, ocppStats summed over connectors (statistics.test.ts:
 * names that are Object.prototype members).
 */
import { describe, expect, it } from 'vitest';
import type { ThingsBoardConfig } from '../../src/config/types.js';
import { GatewayStatistics } from '../../src/gateway-device/statistics.js';
import { silentLogger } from '../../src/log.js';
import type { ConnectorStatusSummary, GatewayStatus } from '../../src/status/model.js';
import { ThingsBoardClient } from '../../src/thingsboard/client.js';

const TB: ThingsBoardConfig = {
  host: '127.0.0.1',
  port: 1,
  qos: 1,
  maxPayloadSizeBytes: 65536,
  reconnectMinMs: 50,
  reconnectMaxMs: 200,
  shutdownGracePeriodMs: 0,
  maxJsonDepth: 64,
};

function aConnector(name: string, messages: number): ConnectorStatusSummary {
  return {
    name,
    port: 9000,
    connections: 2,
    connectionsByVersion: { 'ocpp1.6': 1, 'ocpp2.0.1': 1 },
    handshakes: {},
    protocol: { callsIn: messages, sendsIn: 0, bytesIn: messages * 100, callErrorsOut: 1, callErrorsIn: 0 },
    mapping: { attributes: 1, timeseries: messages, skipped: 0, unconvertible: 0 },
    frames: { in: messages, out: messages },
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
    csms: {},
    security: {},
    logErrors: 0,
  };
}

function aStatus(connectors: ConnectorStatusSummary[]): GatewayStatus {
  return {
    version: '0.1.0',
    startedAt: new Date(0).toISOString(),
    uptimeSeconds: 1,
    connectors,
    outbox: { size: 3, oldestAgeSeconds: 2, removed: 10 },
    thingsboard: {
      connected: true,
      endpoint: 'mqtt://127.0.0.1:1',
      since: new Date(0).toISOString(),
      counters: { published: 5, messagesIn: 2 },
      publish: { retried: 0, latency: { count: 0, sumSeconds: 0 } },
      rateLimitWaits: {},
    },
    rpcUnrouted: 0,
  };
}

describe('statistics per period', () => {
  it('nest connectorsStats under each connector name, "__proto__" included, and count per period', async () => {
    let connectors = [aConnector('OCPP', 4), aConnector('__proto__', 7)];
    const stats = new GatewayStatistics({
      client: new ThingsBoardClient(TB, silentLogger()),
      status: () => aStatus(connectors),
      logger: silentLogger(),
      version: '0.1.0',
      config: { enable: true, periodMs: 60_000 },
      errorCounts: false,
    });
    const first = JSON.parse(JSON.stringify(await stats.collect())) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(first.connectorsStats ?? {})).toEqual(['OCPP', '__proto__']);
    expect(first.connectorsStats?.__proto__).toMatchObject({
      connectorMsgsReceived: 7,
      convertersTsProduced: 7,
    });
    expect(Object.keys((first.ocppStats?.connectors ?? {}) as object)).toEqual(['OCPP', '__proto__']);
    expect(first.ocppStats).toMatchObject({
      chargePointsConnected: 4,
      chargePointsByVersion: { 'ocpp1.6': 2, 'ocpp2.0.1': 2 },
      callErrorsSent: 2,
    });
    // The next period counts only what happened since.
    connectors = [aConnector('OCPP', 6), aConnector('__proto__', 7)];
    const second = JSON.parse(JSON.stringify(await stats.collect())) as Record<
      string,
      Record<string, unknown>
    >;
    expect(second.connectorsStats).toMatchObject({
      OCPP: { connectorMsgsReceived: 2, connectorBytesReceived: 200 },
      ['__proto__']: { connectorMsgsReceived: 0 },
    });
  });
});
