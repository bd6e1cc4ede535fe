/**
 * Where a gateway's OCPP connectors listen. Tests configure `port: 0` (the OS picks a free port,
 * so parallel test files never race for one) and read the bound port from the start-up log.
 */
import type { GatewayProcess } from './gateway-process.js';

/** The port connector `name` listens on, from its "central system listening" log line. */
export async function listeningPort(gateway: GatewayProcess, name: string): Promise<number> {
  const line = await gateway.waitForLog(
    (l) => l.msg === 'central system listening' && l.connector === name,
    5000,
    `"central system listening" of connector ${name}`,
  );
  return Number(new URL(String(line.url)).port);
}
