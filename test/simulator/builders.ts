/** Simulation options for one station against a test Central System on 127.0.0.1. */
import type { SimulationOptions } from '../../src/simulator/run.js';

export function simulationOptions(
  port: number,
  overrides: Partial<SimulationOptions> = {},
): SimulationOptions {
  return {
    url: `ws://127.0.0.1:${port}/CP`,
    count: 1,
    version: 'ocpp1.6',
    durationSeconds: 6,
    rate: 10,
    first: 1,
    connectors: 1,
    idleSeconds: [0.2, 0.4],
    sessionSeconds: [5, 5],
    meterIntervalSeconds: 1,
    idTags: [],
    seed: 3,
    progressSeconds: 0,
    ...overrides,
  };
}
