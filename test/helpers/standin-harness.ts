/**
 * The e2e rig for the gateway-device features: the ThingsBoard stand-in (tb-standin.ts) and the
 * built CLI on a generated tb_gateway.json + connector files in a temporary folder. Connectors
 * listen on port 0; their ports are read from the log.
 */
import { isAbsolute, join } from 'node:path';
import { GatewayProcess, TempDir } from './gateway-process.js';
import { listeningPort } from './listening.js';
import { ThingsBoardStandIn, type StandInOptions } from './tb-standin.js';

export interface StandInConnector {
  name: string;
  /** The file name in the temporary folder. */
  file?: string;
  ocpp: unknown;
}

export interface StandInHarnessOptions extends StandInOptions {
  connectors: StandInConnector[];
  /** Merged into tb_gateway.json's `thingsboard` section. */
  thingsboard?: Record<string, unknown>;
  /** A relative `data_file_path` is inside the temporary folder. */
  storage?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Runs before the gateway starts (shared attributes it will find, …). */
  before?: (tb: ThingsBoardStandIn) => void;
}

export const TOKEN = 'GW_STANDIN_TOKEN';

export class StandInHarness {
  readonly dir = new TempDir();
  tb!: ThingsBoardStandIn;
  gateway!: GatewayProcess;
  configFile = '';
  readonly urls: Record<string, string> = {};

  static async start(opts: StandInHarnessOptions): Promise<StandInHarness> {
    const h = new StandInHarness();
    try {
      await h.init(opts);
    } catch (err) {
      await h.stop();
      throw err;
    }
    return h;
  }

  private async init(opts: StandInHarnessOptions): Promise<void> {
    this.tb = await ThingsBoardStandIn.start(opts);
    opts.before?.(this.tb);
    const connectors = opts.connectors.map((c, i) => {
      const file = c.file ?? `ocpp-${i}.json`;
      this.dir.write(file, c.ocpp);
      return { type: 'ocpp', name: c.name, configuration: file };
    });
    this.configFile = this.dir.write('tb_gateway.json', {
      thingsboard: {
        host: '127.0.0.1',
        port: this.tb.port,
        security: { accessToken: TOKEN },
        reconnectMinMs: 100,
        reconnectMaxMs: 500,
        ...opts.thingsboard,
      },
      storage: this.storage(opts.storage),
      connectors,
    });
    this.gateway = GatewayProcess.run(this.configFile, opts.env);
    await this.gateway.started();
    for (const c of opts.connectors) {
      this.urls[c.name] = `ws://127.0.0.1:${await listeningPort(this.gateway, c.name)}`;
    }
    await this.tb.waitFor(() => this.tb.usernames.includes(TOKEN), 10_000, 'gateway MQTT login');
  }

  private storage(given: Record<string, unknown> | undefined): Record<string, unknown> {
    if (!given) return { type: 'memory' };
    const path = given.data_file_path;
    return typeof path === 'string' && !isAbsolute(path)
      ? { ...given, data_file_path: join(this.dir.path, path) }
      : given;
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.tb?.stop();
    this.dir.remove();
  }
}
