/**
 * The simulator when the Central System says no, against ocpp-rpc's server in strict mode (a
 * Central System nobody here wrote, validating what the simulated stations send): a Pending boot
 * is repeated after the answer's interval and a TriggerMessage BootNotification lets the station
 * in; a refused Authorize starts no transaction; a start whose idTag is refused is ended at once
 * as DeAuthorized — in OCPP 1.6 and 2.0.1.
 */
import ocppRpc from 'ocpp-rpc';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Simulation, type SimulationOptions } from '../../src/simulator/run.js';

interface RpcServerClient {
  identity: string;
  handle(method: string, handler: (ctx: { params: Record<string, unknown> }) => unknown): void;
  call(method: string, params: unknown): Promise<unknown>;
}
interface RpcServer {
  on(event: 'client', listener: (client: RpcServerClient) => void): void;
  listen(port: number, host: string): Promise<{ address(): { port: number } }>;
  close(options: Record<string, unknown>): Promise<void>;
}
const { RPCServer } = ocppRpc as unknown as {
  RPCServer: new (opts: Record<string, unknown>) => RpcServer;
};

interface Seen {
  action: string;
  params: Record<string, unknown>;
}

let server: RpcServer | undefined;
afterEach(async () => {
  await server?.close({ force: true });
  server = undefined;
});

/** A strict Central System whose answers the test scripts; resolves with its port and what it saw. */
async function centralSystem(
  protocol: string,
  setup: (client: RpcServerClient, seen: Seen[]) => void,
): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = new RPCServer({ protocols: [protocol], strictMode: true });
  server.on('client', (client) => setup(client, seen));
  const http = await server.listen(0, '127.0.0.1');
  return { port: http.address().port, seen };
}

function options(port: number, overrides: Partial<SimulationOptions>): SimulationOptions {
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

function record(
  client: RpcServerClient,
  seen: Seen[],
  action: string,
  answer: (p: Record<string, unknown>) => unknown,
) {
  client.handle(action, ({ params }) => {
    seen.push({ action, params });
    return answer(params);
  });
}

describe('simulated stations refused by the Central System', () => {
  it('OCPP 1.6: Pending boots repeated after the interval, let in by TriggerMessage; refused idTags', async () => {
    let boots = 0;
    const { port, seen } = await centralSystem('ocpp1.6', (client, seen) => {
      record(client, seen, 'BootNotification', () => {
        boots++;
        if (boots === 2) {
          // The operator approves: ask for a boot now rather than after the next interval.
          setTimeout(() => void client.call('TriggerMessage', { requestedMessage: 'BootNotification' }), 100);
        }
        const status = boots <= 2 ? 'Pending' : 'Accepted';
        return { status, currentTime: new Date().toISOString(), interval: status === 'Accepted' ? 300 : 1 };
      });
      record(client, seen, 'StatusNotification', () => ({}));
      record(client, seen, 'Heartbeat', () => ({ currentTime: new Date().toISOString() }));
      record(client, seen, 'Authorize', (p) => ({
        idTagInfo: { status: p.idTag === 'GOOD1' ? 'Accepted' : 'Blocked' },
      }));
      // Authorize said yes, the start says no: the station must end the transaction.
      record(client, seen, 'StartTransaction', () => ({
        transactionId: 42,
        idTagInfo: { status: 'Invalid' },
      }));
      record(client, seen, 'StopTransaction', () => ({}));
      record(client, seen, 'MeterValues', () => ({}));
    });
    const summary = await new Simulation(
      options(port, { idTags: ['GOOD1', 'BLOCKED1'], connectors: 4 }),
      silentLogger(),
    ).run();

    expect(summary).toMatchObject({ stations: 1, connected: 1, refused: 0 });
    expect(summary.counters).toMatchObject({ boots: 1, bootsNotAccepted: 2 });
    const actions = seen.map((s) => s.action);
    // Nothing but boots until the Accepted one.
    expect(actions.slice(0, 3)).toEqual(['BootNotification', 'BootNotification', 'BootNotification']);
    expect(seen[2]?.params).toMatchObject({ chargePointModel: 'SIM-16' });
    expect(summary.counters.authorizationsRefused).toBeGreaterThan(0);
    expect(summary.counters.sessionsDeauthorized).toBeGreaterThan(0);
    expect(summary.counters.sessionsDeauthorized).toBe(summary.counters.sessionsStarted);
    const starts = seen.filter((s) => s.action === 'StartTransaction');
    expect(starts.length).toBeGreaterThan(0);
    for (const s of starts) expect(s.params.idTag).toBe('GOOD1');
    const stops = seen.filter((s) => s.action === 'StopTransaction');
    expect(stops.length).toBe(starts.length);
    for (const s of stops) expect(s.params).toMatchObject({ transactionId: 42, reason: 'DeAuthorized' });
    // A refused transaction sends no meter values.
    expect(actions).not.toContain('MeterValues');
  }, 20_000);

  it('OCPP 2.0.1: a Rejected boot is repeated; a refused idToken ends the transaction as Deauthorized', async () => {
    let boots = 0;
    const { port, seen } = await centralSystem('ocpp2.0.1', (client, seen) => {
      record(client, seen, 'BootNotification', () => {
        boots++;
        const status = boots === 1 ? 'Rejected' : 'Accepted';
        return { status, currentTime: new Date().toISOString(), interval: status === 'Accepted' ? 300 : 1 };
      });
      record(client, seen, 'StatusNotification', () => ({}));
      record(client, seen, 'Heartbeat', () => ({ currentTime: new Date().toISOString() }));
      record(client, seen, 'Authorize', () => ({ idTokenInfo: { status: 'Accepted' } }));
      record(client, seen, 'TransactionEvent', (p) =>
        p.eventType === 'Started' ? { idTokenInfo: { status: 'Invalid' } } : {},
      );
    });
    const summary = await new Simulation(options(port, { version: 'ocpp2.0.1' }), silentLogger()).run();

    expect(summary.counters).toMatchObject({ boots: 1, bootsNotAccepted: 1 });
    expect(summary.counters.sessionsDeauthorized).toBeGreaterThan(0);
    const events = seen.filter((s) => s.action === 'TransactionEvent').map((s) => s.params);
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
