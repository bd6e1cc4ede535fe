/**
 * The simulator's side of OCPP-J: a charging station's WebSocket connection. It shares the frame
 * codec, the version tables and the official schemas with the gateway (src/ocpp/) but none of its
 * server code. Like a real station it keeps one CALL outstanding at a time (OCPP-J 1.6 §4.1.1),
 * validates what it sends against the schemas (a simulator bug shows up here, not as a gateway
 * CALLERROR), and answers the Central System's CALLs through a handler table.
 */
import { WebSocket } from 'ws';
import { OcppError } from '../ocpp/errors.js';
import { CALL, CALLERROR, CALLRESULT, parseFrame } from '../ocpp/frames.js';
import type { PayloadValidator } from '../ocpp/validator.js';
import { spellError, type OcppVersionSpec } from '../ocpp/versions.js';

export type CommandHandler = (payload: Record<string, unknown>) => unknown;

interface Pending {
  action: string;
  payload: unknown;
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export interface ClientOptions {
  url: string;
  spec: OcppVersionSpec;
  validator: PayloadValidator;
  /** Sent as the Authorization header (e.g. `Basic …`, `Bearer …`). */
  authorization?: string;
  callTimeoutMs?: number;
}

/** Calls waiting behind the outstanding one; a station that falls this far behind drops the newest. */
const MAX_QUEUED = 100;

export class StationClient {
  readonly spec: OcppVersionSpec;
  private readonly opts: ClientOptions;
  private socket: WebSocket | undefined;
  private readonly handlers = new Map<string, CommandHandler>();
  private inflight: (Pending & { id: string; timer: NodeJS.Timeout }) | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  /** Counts for the run summary. */
  readonly stats = { callsSent: 0, callErrors: 0, commandsAnswered: 0 };
  onClose: ((code: number, reason: string) => void) | undefined;

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.spec = opts.spec;
  }

  handle(action: string, handler: CommandHandler): void {
    this.handlers.set(action, handler);
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect(timeoutMs = 15_000): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.opts.authorization) headers.Authorization = this.opts.authorization;
    const socket = new WebSocket(this.opts.url, [this.spec.version], {
      headers,
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
    });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        socket.off('error', reject);
        if (socket.protocol !== this.spec.version) {
          socket.close(1002, 'subprotocol not accepted');
          reject(new Error(`the Central System did not accept ${this.spec.version}`));
          return;
        }
        socket.on('error', () => undefined); // 'close' follows and reports
        resolve();
      });
      socket.once('unexpected-response', (_req, res) => {
        reject(new Error(`handshake refused: HTTP ${res.statusCode ?? '?'}`));
        socket.terminate();
      });
      socket.once('error', reject);
      socket.on('message', (data, isBinary) => {
        if (!isBinary) this.onMessage(String(data));
      });
      socket.once('close', (code, reason) => {
        this.failAll(new Error(`connection closed (${code})`));
        this.onClose?.(code, reason.toString());
      });
    });
  }

  close(code = 1000, reason = ''): void {
    const s = this.socket;
    if (s && (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING))
      s.close(code, reason);
  }

  terminate(): void {
    this.socket?.terminate();
  }

  /** Sends a CALL (after the outstanding one is answered); resolves with the CALLRESULT payload. */
  call(action: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const invalid = this.opts.validator.validateRequest(action, payload);
    if (invalid) return Promise.reject(new Error(`simulator built an invalid ${action}: ${invalid.message}`));
    if (!this.connected) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      const pending: Pending = { action, payload, resolve, reject };
      if (this.inflight) {
        if (this.queue.length >= MAX_QUEUED) reject(new Error('too many calls waiting'));
        else this.queue.push(pending);
        return;
      }
      this.send(pending);
    });
  }

  private send(p: Pending): void {
    const id = `${this.nextId++}`;
    const timer = setTimeout(() => {
      if (this.inflight?.id !== id) return;
      this.settle()?.reject(new Error(`no answer to ${p.action}`));
    }, this.opts.callTimeoutMs ?? 30_000);
    this.inflight = { ...p, id, timer };
    this.stats.callsSent++;
    this.socket?.send(JSON.stringify([CALL, id, p.action, p.payload]));
  }

  private settle(): Pending | undefined {
    const current = this.inflight;
    if (!current) return undefined;
    clearTimeout(current.timer);
    this.inflight = undefined;
    const next = this.queue.shift();
    if (next && this.connected) this.send(next);
    else if (next) next.reject(new Error('not connected'));
    return current;
  }

  private failAll(err: Error): void {
    const current = this.inflight;
    if (current) {
      clearTimeout(current.timer);
      this.inflight = undefined;
      current.reject(err);
    }
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  private onMessage(text: string): void {
    const parsed = parseFrame(text, this.spec);
    if (!parsed.ok) return;
    const frame = parsed.frame;
    if (frame.type === CALLRESULT || frame.type === CALLERROR) {
      if (this.inflight?.id !== frame.id) return;
      const call = this.settle();
      if (!call) return;
      if (frame.type === CALLRESULT) call.resolve((frame.payload ?? {}) as Record<string, unknown>);
      else {
        this.stats.callErrors++;
        call.reject(new Error(`${call.action} refused: ${frame.code} ${frame.description}`));
      }
      return;
    }
    if (frame.type === CALL) void this.answer(frame.id, frame.action, frame.payload);
  }

  private async answer(id: string, action: string, payload: Record<string, unknown>): Promise<void> {
    const handler = this.handlers.get(action);
    let response: unknown;
    try {
      if (!handler) throw new OcppError('NotImplemented', `the simulator does not implement ${action}`);
      const invalid = this.opts.validator.validateRequest(action, payload);
      if (invalid) throw invalid;
      response = await handler(payload);
      const bad = this.opts.validator.validateResponse(action, response);
      if (bad)
        throw new OcppError('InternalError', `simulator answer to ${action} is invalid: ${bad.message}`);
    } catch (err) {
      const e = err instanceof OcppError ? err : new OcppError('InternalError', String(err));
      this.write([CALLERROR, id, spellError(this.spec, e.kind), e.message.slice(0, 255), {}]);
      return;
    }
    this.stats.commandsAnswered++;
    this.write([CALLRESULT, id, response]);
  }

  private write(frame: unknown[]): void {
    if (this.connected) this.socket?.send(JSON.stringify(frame));
  }
}
