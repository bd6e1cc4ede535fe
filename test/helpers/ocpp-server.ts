/**
 * Server side of the OCPP tests that need no gateway: a CentralSystemServer on 127.0.0.1, port 0,
 * built from the options most such tests share, with overrides for what a test is about.
 */
import type { CentralSystemConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { CentralSystemServer, type CentralSystemServerOptions } from '../../src/ocpp/server.js';
import { newProtocolCounters } from '../../src/ocpp/session.js';
import { ValidatorSet } from '../../src/ocpp/validator.js';

/** An insecure OCPP 1.6 Central System on 127.0.0.1, port 0, with no pings and no security rules. */
export function aCentralSystemConfig(overrides: Partial<CentralSystemConfig> = {}): CentralSystemConfig {
  return {
    name: 'test',
    host: '127.0.0.1',
    port: 0,
    connection: { type: 'insecure' },
    security: [],
    ocppVersions: ['ocpp1.6'],
    heartbeatInterval: 60,
    pingInterval: 0,
    maxMessageSize: 65536,
    compression: false,
    announceUnbootedAfter: 10,
    maxJsonDepth: 64,
    maxSendBufferSize: 1_048_576,
    sendStallTimeoutMs: 30_000,
    maxQueuedCalls: 64,
    maxChargePointIdLength: 255,
    ...overrides,
  };
}

/**
 * A server (not started) that routes every charge point id, answers every CALL with `{}` and
 * ignores new sessions, unless `overrides` say otherwise.
 */
export function aCentralSystemServer(
  overrides: Partial<CentralSystemServerOptions<true>> = {},
): CentralSystemServer<true> {
  return new CentralSystemServer<true>({
    config: aCentralSystemConfig(),
    logger: silentLogger(),
    validators: new ValidatorSet(),
    handler: { handleCall: () => ({}) },
    protocolCounters: newProtocolCounters(),
    resolveChargePoint: () => true,
    onSession: () => undefined,
    ...overrides,
  });
}
