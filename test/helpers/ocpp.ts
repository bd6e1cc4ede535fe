/**
 * Charge point side of the tests: builders for OCPP 1.6 messages, an ocpp-rpc client in strict
 * mode (it validates every frame both ways against the official schemas), and a raw WebSocket
 * client for frames that a well-behaved library would refuse to send.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import ocppRpc from 'ocpp-rpc';
import WebSocket, { type ClientOptions } from 'ws';

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
  /** WebSocket/TLS client options (ca, cert, key, ciphers, …). */
  wsOpts?: ClientOptions;
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
    ...(opts.wsOpts ? { wsOpts: opts.wsOpts } : {}),
  });
  await client.connect();
  return client;
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') };
}

/**
 * The HTTP status a handshake is refused with (or 101 when it is accepted). `options` adds
 * client TLS settings (ca, cert, key, min/maxVersion…) for wss:// endpoints.
 */
export function handshakeStatus(
  url: string,
  protocols: string[],
  headers: Record<string, string> = {},
  options: ClientOptions = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { ...options, headers });
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

/** The HTTP status of a WebSocket handshake that carries each of `authorizations` as its own header line. */
export function handshakeWithHeaders(url: string, authorizations: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url.replace(/^ws/, 'http'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'ocpp1.6',
        Authorization: authorizations,
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.end();
  });
}

/** A raw OCPP-J client: sends any text, collects every frame received. */
export class RawChargePoint {
  readonly frames: unknown[] = [];
  readonly ws: WebSocket;
  closed = false;
  /** The close code the server sent, once closed. */
  closeCode: number | undefined;
  private callsTaken = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      try {
        this.frames.push(JSON.parse(String(data)));
      } catch {
        this.frames.push(String(data));
      }
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  static open(
    url: string,
    protocols: string[],
    headers: Record<string, string> = {},
    options: ClientOptions = {},
  ): Promise<RawChargePoint> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { ...options, headers });
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

  /** Waits for the first frame received that `predicate` accepts. */
  async waitForFrame(
    predicate: (frame: unknown[]) => boolean,
    timeoutMs = 5000,
    what = 'frame',
  ): Promise<unknown[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => Array.isArray(x) && predicate(x));
      if (f) return f as unknown[];
      if (Date.now() > deadline) throw new Error(`no ${what}; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** CALL frames the Central System sent, in order. */
  calls(): unknown[][] {
    return this.frames.filter((f): f is unknown[] => Array.isArray(f) && f[0] === 2);
  }

  /** Waits for the next CALL from the Central System that an earlier nextCall() did not return. */
  async nextCall(timeoutMs = 5000): Promise<unknown[]> {
    const n = ++this.callsTaken;
    await this.waitForFrame(() => this.calls().length >= n, timeoutMs, `CALL #${n}`);
    return this.calls()[n - 1] as unknown[];
  }

  /** Sends a CALLRESULT for the Central System's CALL `id`. */
  answer(id: unknown, payload: unknown): void {
    this.send(JSON.stringify([3, id, payload]));
  }

  /** Waits until the server closed the socket; resolves with the close code. */
  async waitClosed(timeoutMs = 5000): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closeCode;
  }

  close(): void {
    this.ws.close();
  }

  /** Closes (or, if the server does not answer the close within a second, drops) and waits. */
  async shut(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close();
    const timer = setTimeout(() => this.ws.terminate(), 1000);
    await closed;
    clearTimeout(timer);
  }
}

export interface UpgradeOutcome {
  status: number;
  headers: IncomingHttpHeaders;
  /** The close code of a close frame the server sent right after the handshake, if any. */
  closeCode: number | undefined;
}

/**
 * A WebSocket handshake at the HTTP level, for what a WebSocket client library would hide: a 101
 * without Sec-WebSocket-Protocol (ws refuses it) and whether the server then closes at once
 * (a close frame within `closeWithinMs`).
 */
export function rawUpgrade(url: string, protocols: string[], closeWithinMs = 2000): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    };
    if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
    const req = httpRequest(url.replace(/^ws/, 'http'), { headers });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, closeCode: undefined });
    });
    req.once('upgrade', (res, socket, head) => {
      let data = head;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        // A server frame is unmasked: [0x88 = FIN + close][payload length][code (2 bytes)]…
        const closeCode = data.length >= 4 && data[0] === 0x88 ? data.readUInt16BE(2) : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, closeCode });
      };
      const timer = setTimeout(finish, closeWithinMs);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (data.length >= 4) finish();
      });
      socket.once('end', finish);
      if (data.length >= 4) finish();
    });
    req.end();
  });
}
