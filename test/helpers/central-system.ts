/**
 * A Central System for testing the simulator: ocpp-rpc's server in strict mode (written by
 * others, validating every frame a simulated station sends against the official schemas), whose
 * answers a test scripts, recording every CALL it receives.
 */
import ocppRpc from 'ocpp-rpc';

export interface RpcServerClient {
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

export interface Seen {
  action: string;
  params: Record<string, unknown>;
}

export class CentralSystem {
  readonly seen: Seen[] = [];
  port = 0;
  private readonly server: RpcServer;

  private constructor(protocol: string, setup: (client: RpcServerClient, cs: CentralSystem) => void) {
    this.server = new RPCServer({ protocols: [protocol], strictMode: true });
    this.server.on('client', (client) => setup(client, this));
  }

  static async start(
    protocol: string,
    setup: (client: RpcServerClient, cs: CentralSystem) => void,
  ): Promise<CentralSystem> {
    const cs = new CentralSystem(protocol, setup);
    cs.port = (await cs.server.listen(0, '127.0.0.1')).address().port;
    return cs;
  }

  /** Answers `action` with `answer(params)`, recording each request. */
  answer(
    client: RpcServerClient,
    action: string,
    answer: (params: Record<string, unknown>) => unknown,
  ): void {
    client.handle(action, ({ params }) => {
      this.seen.push({ action, params });
      return answer(params);
    });
  }

  of(action: string): Record<string, unknown>[] {
    return this.seen.filter((s) => s.action === action).map((s) => s.params);
  }

  close(): Promise<void> {
    return this.server.close({ force: true });
  }
}
