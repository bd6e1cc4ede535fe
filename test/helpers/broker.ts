/**
 * A real MQTT broker for tests: aedes, in-process, on a loopback port. It can be stopped and
 * started again on the same port to play a broker outage, and it records the usernames that
 * connected (ThingsBoard identifies the gateway by its access token as MQTT username).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export class TestBroker {
  port = 0;
  readonly usernames: string[] = [];
  /** Usernames refused at CONNECT (CONNACK "not authorized"): keeps the gateway out while a test sets up. */
  readonly refused = new Set<string>();
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private sockets = new Set<Socket>();

  static async start(port = 0): Promise<TestBroker> {
    const b = new TestBroker();
    await b.listen(port);
    return b;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async listen(port = this.port): Promise<void> {
    const broker = await Aedes.createBroker();
    broker.authenticate = (_client, username, _password, done) => {
      if (username && this.refused.has(username)) {
        done(Object.assign(new Error('refused by test'), { returnCode: 5 }), false);
        return;
      }
      if (username) this.usernames.push(username);
      done(null, true);
    };
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : port;
    this.broker = broker;
    this.server = server;
  }

  /** Stops the broker hard: every client connection is cut, as when a broker process dies. */
  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    if (!server || !broker) return;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}
