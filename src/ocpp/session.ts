/**
 * One charge point's OCPP-J connection: frames in and out, schema validation, and the rule that
 * only one CALL from the Central System is outstanding at a time (OCPP-J 1.6 §4.1.1; 2.0.1
 * part 4 §4.1.1) — later calls wait in a bounded queue.
 *
 * Kept small on purpose: ten thousand idle sessions must cost little memory, so optional state
 * (the outgoing queue) is allocated only when used.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../log.js';
import {
  OcppCallError,
  OcppError,
  OcppSessionError,
  OcppTimeoutError,
  type OcppErrorKind,
} from './errors.js';
import { CALL, CALLERROR, CALLRESULT, CALLRESULTERROR, parseFrame, SEND, type Frame } from './frames.js';
import type { PayloadValidator } from './validator.js';
import { spellError, type OcppVersionSpec } from './versions.js';

export interface ProtocolCounters {
  callsIn: number;
  callErrorsOut: number;
  /** Frames that could not be parsed as OCPP-J at all (not JSON, wrong shape, unknown type). */
  badFrames: number;
  callsOut: number;
  callTimeouts: number;
  /** OCPP 2.1 CALLRESULTERRORs received: a charge point could not process one of our CALLRESULTs. */
  callResultErrorsIn: number;
}

export function newProtocolCounters(): ProtocolCounters {
  return { callsIn: 0, callErrorsOut: 0, badFrames: 0, callsOut: 0, callTimeouts: 0, callResultErrorsIn: 0 };
}

/** OCPP 2.0.1/2.1 part 4 §4.2.3: errorDescription is at most 255 characters. */
const MAX_ERROR_DESCRIPTION = 255;

/** What the connector supplies: the answer to each CALL a charge point makes. */
export interface CallHandler {
  /** Resolves to the response payload, or throws an OcppError to answer with a CALLERROR. */
  handleCall(session: ChargePointSession, action: string, payload: Record<string, unknown>): unknown;
  /** OCPP 2.1 SEND: never answered. */
  handleSend?(session: ChargePointSession, action: string, payload: Record<string, unknown>): void;
  /**
   * Sees every valid CALL to the charge point before it is sent and its outcome after: calls
   * `send` (at most once) and resolves or rejects as it does, e.g. to store a password before the
   * charge point may apply it and to keep it according to the answer.
   */
  interceptCall?(
    session: ChargePointSession,
    action: string,
    payload: unknown,
    send: () => Promise<unknown>,
  ): Promise<unknown>;
}

interface OutgoingCall {
  action: string;
  payload: unknown;
  timeoutMs: number;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
}

interface InflightCall extends OutgoingCall {
  id: string;
  timer: NodeJS.Timeout;
}

export interface SessionOptions {
  id: string;
  socket: WebSocket;
  spec: OcppVersionSpec;
  validator: PayloadValidator;
  handler: CallHandler;
  logger: Logger;
  counters: ProtocolCounters;
  /** Bound on CALLs waiting behind the outstanding one. */
  maxQueuedCalls: number;
}

export class ChargePointSession {
  readonly id: string;
  readonly spec: OcppVersionSpec;
  readonly socket: WebSocket;
  private readonly opts: SessionOptions;
  private nextMessageId = 1;
  private inflight: InflightCall | undefined;
  private queue: OutgoingCall[] | undefined;
  /**
   * The charge point's last CALL that we answered with a CALLRESULT: an OCPP 2.1 CALLRESULTERROR
   * names it (by message id) when the charge point could not process our answer. One entry is
   * enough, as a charge point has only one CALL outstanding at a time.
   */
  private lastAnswered: { id: string; action: string } | undefined;
  private closed = false;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.spec = opts.spec;
    this.socket = opts.socket;
    opts.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    opts.socket.once('close', () => this.onClose());
  }

  /**
   * Sends a CALL after validating it against this version's schema, and resolves with the
   * charge point's CALLRESULT payload. Rejects with OcppError (invalid payload, unknown action),
   * OcppCallError (CALLERROR), OcppTimeoutError, or OcppSessionError (closed, queue full).
   */
  call(action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new OcppSessionError(`charge point ${this.id} is not connected`));
    if (!this.spec.centralSystemActions.has(action)) {
      return Promise.reject(
        new OcppError(
          'NotSupported',
          `${action} is not an action a Central System sends in ${this.spec.version}`,
        ),
      );
    }
    const invalid = this.opts.validator.validateRequest(action, payload);
    if (invalid) return Promise.reject(invalid);
    const { handler } = this.opts;
    const send = (): Promise<unknown> => this.enqueue(action, payload, timeoutMs);
    return handler.interceptCall ? handler.interceptCall(this, action, payload, send) : send();
  }

  private enqueue(action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new OcppSessionError(`charge point ${this.id} is not connected`));
    return new Promise((resolve, reject) => {
      const call: OutgoingCall = { action, payload, timeoutMs, resolve, reject };
      if (!this.inflight) return this.send(call);
      this.queue ??= [];
      if (this.queue.length >= this.opts.maxQueuedCalls) {
        reject(new OcppSessionError(`too many calls waiting for charge point ${this.id}`));
        return;
      }
      this.queue.push(call);
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  private send(call: OutgoingCall): void {
    const id = String(this.nextMessageId++);
    const timer = setTimeout(() => this.onTimeout(id), call.timeoutMs);
    this.inflight = { ...call, id, timer };
    this.opts.counters.callsOut++;
    this.socket.send(JSON.stringify([CALL, id, call.action, call.payload]));
  }

  private settleInflight(): InflightCall | undefined {
    const current = this.inflight;
    if (!current) return undefined;
    clearTimeout(current.timer);
    this.inflight = undefined;
    const next = this.queue?.shift();
    if (next) this.send(next);
    return current;
  }

  private onTimeout(id: string): void {
    if (this.inflight?.id !== id) return;
    this.opts.counters.callTimeouts++;
    const call = this.settleInflight();
    call?.reject(new OcppTimeoutError(call.action, call.timeoutMs));
  }

  private onClose(): void {
    this.closed = true;
    const err = new OcppSessionError(`charge point ${this.id} disconnected`);
    const queued = this.queue ?? [];
    this.queue = undefined;
    const inflight = this.inflight;
    if (inflight) {
      clearTimeout(inflight.timer);
      this.inflight = undefined;
      inflight.reject(err);
    }
    for (const call of queued) call.reject(err);
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    const text = isBinary ? undefined : String(data);
    const parsed = text === undefined ? undefined : parseFrame(text, this.spec);
    if (parsed?.ok) {
      this.dispatch(parsed.frame);
      return;
    }
    this.opts.counters.badFrames++;
    const problem = parsed?.problem;
    const message = problem?.message ?? 'binary frames are not OCPP-J';
    this.opts.logger.warn({ chargePointId: this.id, reason: message }, 'bad OCPP-J frame from charge point');
    // A malformed reply (CALLRESULT, CALLERROR, 2.1 CALLRESULTERROR) is never answered, since an
    // error in reply to a reply can loop; nor is a 2.1 SEND. A message type this
    // version does not know is answered with MessageTypeNotSupported (2.0.1 part 4 §4.2.3).
    const type = problem?.type;
    if (
      type !== undefined &&
      (this.isReplyType(type) || (type === SEND && this.spec.extraMessageTypes.has(SEND)))
    ) {
      return;
    }
    // 2.0.1 part 4 §4.2.3: when the message id cannot be read, the CALLERROR carries id "-1".
    // OCPP-J 1.6 has no such rule: there the frame is only logged and counted.
    const id = problem?.id ?? (this.spec.answersUnreadableFrames ? '-1' : undefined);
    if (id !== undefined) this.sendError(id, problem?.kind ?? this.spec.frameErrorKind, message);
  }

  private isReplyType(type: number): boolean {
    return (
      type === CALLRESULT ||
      type === CALLERROR ||
      (type === CALLRESULTERROR && this.spec.extraMessageTypes.has(type))
    );
  }

  private dispatch(frame: Frame): void {
    switch (frame.type) {
      case CALL:
        this.onCall(frame.id, frame.action, frame.payload);
        return;
      case SEND:
        this.onSend(frame.action, frame.payload);
        return;
      case CALLRESULT: {
        if (this.inflight?.id !== frame.id) {
          this.opts.logger.warn(
            { chargePointId: this.id, messageId: frame.id },
            'CALLRESULT for no outstanding call',
          );
          return;
        }
        const call = this.settleInflight();
        if (!call) return;
        const invalid = this.opts.validator.validateResponse(call.action, frame.payload);
        if (invalid) {
          // Liberal in what we accept from chargers: the answer still reaches ThingsBoard.
          this.opts.logger.warn(
            { chargePointId: this.id, reason: invalid.message },
            'charge point answered off-schema',
          );
        }
        call.resolve(frame.payload);
        return;
      }
      case CALLERROR: {
        if (this.inflight?.id !== frame.id) {
          this.opts.logger.warn(
            { chargePointId: this.id, messageId: frame.id, code: frame.code },
            'CALLERROR for no outstanding call',
          );
          return;
        }
        const call = this.settleInflight();
        call?.reject(new OcppCallError(frame.code, frame.description, frame.details));
        return;
      }
      case CALLRESULTERROR:
        this.onCallResultError(frame.id, frame.code, frame.description, frame.details);
        return;
    }
  }

  /**
   * OCPP 2.1 part 4 (CALLRESULTERROR): a CALLRESULTERROR is the charge point telling us that it could not
   * process the CALLRESULT we sent for its CALL with this message id. It is not an answer to any
   * CALL of ours, and it is never answered.
   */
  private onCallResultError(id: string, code: string, description: string, details: unknown): void {
    this.opts.counters.callResultErrorsIn++;
    const answered = this.lastAnswered;
    if (answered?.id === id) {
      this.opts.logger.warn(
        { chargePointId: this.id, messageId: id, action: answered.action, code, description },
        'charge point could not process our CALLRESULT',
      );
      return;
    }
    if (this.inflight?.id === id) {
      // Not what the spec says a CALLRESULTERROR is for, but some charge points answer a CALL with
      // one: liberal in what we accept, it fails that CALL rather than leaving it to time out.
      this.opts.logger.warn(
        { chargePointId: this.id, messageId: id, action: this.inflight.action, code },
        'charge point answered our CALL with a CALLRESULTERROR (OCPP 2.1 expects CALLERROR): taken as its failure',
      );
      const call = this.settleInflight();
      call?.reject(new OcppCallError(code, description, details));
      return;
    }
    this.opts.logger.warn(
      { chargePointId: this.id, messageId: id, code, description },
      'CALLRESULTERROR for no CALLRESULT of ours',
    );
  }

  private onSend(action: string, payload: Record<string, unknown>): void {
    // OCPP 2.1 part 4 (SEND): a SEND is never answered, not even when it is invalid or unknown.
    const invalid = this.spec.sendActions.has(action)
      ? this.opts.validator.validateSend(action, payload)
      : new OcppError('NotImplemented', `"${action}" is not a message a charging station may SEND`);
    if (invalid) {
      this.opts.logger.warn(
        { chargePointId: this.id, action, reason: invalid.message },
        'invalid SEND ignored',
      );
      return;
    }
    this.opts.handler.handleSend?.(this, action, payload);
  }

  private onCall(id: string, action: string, payload: Record<string, unknown>): void {
    this.opts.counters.callsIn++;
    if (!this.spec.chargePointActions.has(action)) {
      const known = this.spec.centralSystemActions.has(action);
      this.sendError(
        id,
        known ? 'NotSupported' : 'NotImplemented',
        known ? `${action} is sent by a Central System, not a charge point` : `unknown action "${action}"`,
      );
      return;
    }
    const invalid = this.opts.validator.validateRequest(action, payload);
    if (invalid) {
      this.sendError(id, invalid.kind, invalid.message, invalid.details);
      return;
    }
    let result: unknown;
    try {
      result = this.opts.handler.handleCall(this, action, payload);
    } catch (err) {
      this.answerFailure(id, action, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.answer(id, action, response),
        (err: unknown) => this.answerFailure(id, action, err),
      );
    } else {
      this.answer(id, action, result);
    }
  }

  private answer(id: string, action: string, response: unknown): void {
    const invalid = this.opts.validator.validateResponse(action, response);
    if (invalid) {
      this.opts.logger.error(
        { chargePointId: this.id, action, reason: invalid.message },
        'gateway built an invalid response',
      );
      this.sendError(id, 'InternalError', 'the Central System could not build a valid response');
      return;
    }
    this.lastAnswered = { id, action };
    this.write(JSON.stringify([CALLRESULT, id, response]));
  }

  private answerFailure(id: string, action: string, err: unknown): void {
    if (err instanceof OcppError) {
      this.sendError(id, err.kind, err.message, err.details);
      return;
    }
    this.opts.logger.error({ chargePointId: this.id, action, err }, 'handling a charge point call failed');
    this.sendError(id, 'InternalError', 'the Central System could not process the call');
  }

  private sendError(
    id: string,
    kind: OcppErrorKind,
    description: string,
    details: Record<string, unknown> = {},
  ): void {
    this.opts.counters.callErrorsOut++;
    const text =
      description.length > MAX_ERROR_DESCRIPTION
        ? description.slice(0, MAX_ERROR_DESCRIPTION - 1) + '…'
        : description;
    this.write(JSON.stringify([CALLERROR, id, spellError(this.spec, kind), text, details]));
  }

  private write(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }
}
