/**
 * Charge point side of the tests: builders for OCPP 1.6 messages, an ocpp-rpc client in strict
 * mode (it validates every frame both ways against the official schemas), and a raw WebSocket
 * client for frames that a well-behaved library would refuse to send.
 */
import ocppRpc from 'ocpp-rpc';
import WebSocket from 'ws';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (opts: Record<string, unknown>) => RpcClient };

export interface RpcClient {
  connect(): Promise<unknown>;
  call(method: string, params?: unknown, options?: Record<string, unknown>): Promise<unknown>;
  handle(method: string, handler: (ctx: { params: unknown; method: string }) => unknown): void;
  close(options?: Record<string, unknown>): Promise<unknown>;
  protocol: string | undefined;
}

export function aBootNotification(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    chargePointVendor: 'Acme',
    chargePointModel: 'Wallbox 7',
    chargePointSerialNumber: 'SN-1',
    ...overrides,
  };
}

export function aSampledValue(
  value: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return { value, measurand: 'Energy.Active.Import.Register', unit: 'Wh', ...overrides };
}

export function aMeterValues(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connectorId: 1,
    transactionId: 7,
    meterValue: [
      {
        timestamp: '2026-11-23T10:00:00.000Z',
        sampledValue: [aSampledValue('1234.5'), aSampledValue('229.8', { measurand: 'Voltage', unit: 'V' })],
      },
    ],
    ...overrides,
  };
}

export function aStartTransaction(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connectorId: 1,
    idTag: 'TAG1',
    meterStart: 0,
    timestamp: '2026-11-23T10:00:00.000Z',
    ...overrides,
  };
}

export interface ChargePointOptions {
  url: string;
  identity: string;
  protocols?: string[];
  headers?: Record<string, string>;
  password?: string;
}

/** A strict ocpp-rpc charge point; resolves once connected. */
export async function connectChargePoint(opts: ChargePointOptions): Promise<RpcClient> {
  const protocols = opts.protocols ?? ['ocpp1.6'];
  const client = new RPCClient({
    endpoint: opts.url,
    identity: opts.identity,
    protocols,
    strictMode: true,
    headers: opts.headers ?? {},
    password: opts.password ?? null,
    reconnect: false,
    callTimeoutMs: 10_000,
  });
  await client.connect();
  return client;
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') };
}

/** The HTTP status a handshake is refused with (or 101 when it is accepted). */
export function handshakeStatus(
  url: string,
  protocols: string[],
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

/** A raw OCPP-J client: sends any text, collects every frame received. */
export class RawChargePoint {
  readonly frames: unknown[] = [];
  readonly ws: WebSocket;
  closed = false;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      try {
        this.frames.push(JSON.parse(String(data)));
      } catch {
        this.frames.push(String(data));
      }
    });
    ws.on('close', () => (this.closed = true));
  }

  static open(
    url: string,
    protocols: string[],
    headers: Record<string, string> = {},
  ): Promise<RawChargePoint> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers });
      const cp = new RawChargePoint(ws);
      ws.once('open', () => resolve(cp));
      ws.once('error', reject);
    });
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** Waits for the frame answering message id `id`. */
  async answerTo(id: string, timeoutMs = 5000): Promise<unknown[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => Array.isArray(x) && x[1] === id);
      if (f) return f as unknown[];
      if (Date.now() > deadline) throw new Error(`no answer to ${id}; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws.close();
  }
}
