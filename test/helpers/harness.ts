/**
 * The end-to-end rig most e2e files share: a real broker (aedes), an MQTT client playing
 * ThingsBoard, and the built CLI started on a generated tb_gateway.json + connector files.
 * Connectors listen on port 0 and their bound ports are read from the start-up log, so test
 * files running in parallel never race for a port.
 */
import { TestBroker } from './broker.js';
import { GatewayProcess, TempDir } from './gateway-process.js';
import { listeningPort } from './listening.js';
import { FakeThingsBoard } from './thingsboard.js';

export interface HarnessConnector {
  name: string;
  /** ocpp.json content: an object, or text written verbatim. */
  ocpp: unknown;
}

export interface HarnessOptions {
  connectors: HarnessConnector[];
  /** Merged into tb_gateway.json's `thingsboard` section. */
  thingsboard?: Record<string, unknown>;
  storage?: Record<string, unknown>;
  /** tb_gateway.json's `statusServer` (it listens on a free port whatever this says). */
  statusServer?: Record<string, unknown>;
  env?: Record<string, string>;
  accessToken?: string;
  /** A folder already holding files the connector configs name (certificates); removed at stop. */
  dir?: TempDir;
}

export class Harness {
  readonly dir: TempDir;
  broker!: TestBroker;
  tb!: FakeThingsBoard;
  gateway!: GatewayProcess;
  /** ws://127.0.0.1:<port> of each connector, by name. */
  readonly urls: Record<string, string> = {};

  private constructor(dir: TempDir) {
    this.dir = dir;
  }

  static async start(opts: HarnessOptions): Promise<Harness> {
    const h = new Harness(opts.dir ?? new TempDir());
    try {
      await h.init(opts);
    } catch (err) {
      await h.stop();
      throw err;
    }
    return h;
  }

  private async init(opts: HarnessOptions): Promise<void> {
    const token = opts.accessToken ?? 'GW_TEST_TOKEN';
    this.broker = await TestBroker.start();
    this.tb = await FakeThingsBoard.connect(this.broker.port);
    const connectors = opts.connectors.map((c, i) => {
      const file = `ocpp-${i}.json`;
      this.dir.write(file, c.ocpp);
      return { type: 'ocpp', name: c.name, configuration: file };
    });
    const config = this.dir.write('tb_gateway.json', {
      thingsboard: {
        host: '127.0.0.1',
        port: this.broker.port,
        security: { accessToken: token },
        ...opts.thingsboard,
      },
      storage: opts.storage ?? { type: 'memory' },
      connectors,
      ...(opts.statusServer ? { statusServer: opts.statusServer } : {}),
    });
    this.gateway = GatewayProcess.run(config, opts.env);
    await this.gateway.started();
    for (const c of opts.connectors) {
      this.urls[c.name] = `ws://127.0.0.1:${await listeningPort(this.gateway, c.name)}`;
    }
    await this.tb.waitFor(() => this.broker.usernames.includes(token), 10_000, 'gateway MQTT login');
  }

  /** The status server's base URL (`http://127.0.0.1:<port>/`), from its start-up log line. */
  async statusUrl(): Promise<string> {
    const line = await this.gateway.waitForLog((l) => l.msg.startsWith('status server listening'), 5000);
    return String(line.url);
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.tb?.close();
    await this.broker?.stop();
    this.dir.remove();
  }
}
