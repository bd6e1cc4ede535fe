/**
 * One charge point's OCPP-J connection: frames in and out, schema validation, and the rule that
 * only one CALL from the Central System is outstanding at a time (OCPP-J 1.6 §4.1.1; 2.0.1
 * part 4 §4.1.1) — later calls wait in a bounded queue.
 *
 * Kept small on purpose: ten thousand idle sessions must cost little memory, so optional state
 * (the outgoing queue) is allocated only when used.
 */
import type { WebSocket } from 'ws';
import { GatewayError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../json-depth.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import {
  OcppCallError,
  OcppError,
  OcppSessionError,
  OcppTimeoutError,
  type OcppErrorKind,
} from './errors.js';
import {
  CALL,
  CALLERROR,
  CALLRESULT,
  CALLRESULTERROR,
  parseFrame,
  SEND,
  type Frame,
  type FrameProblem,
} from './frames.js';
import type { FrameTap } from './tap.js';
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
  /** Exceptions while handling a frame: answered or dropped, counted and logged, never fatal. */
  handlerErrors: number;
  /** Times reading from a charge point was paused because it did not read its answers. */
  readPauses: number;
  /** Connections closed because the charge point did not read what it was sent. */
  slowReadersClosed: number;
  /** CALLERRORs received in answer to our CALLs. */
  callErrorsIn: number;
  /** OCPP 2.1 SENDs received. */
  sendsIn: number;
  /** Bytes of the text frames received (statistics: connectorBytesReceived). */
  bytesIn: number;
}

export function newProtocolCounters(): ProtocolCounters {
  return {
    callsIn: 0,
    callErrorsOut: 0,
    badFrames: 0,
    callsOut: 0,
    callTimeouts: 0,
    callResultErrorsIn: 0,
    handlerErrors: 0,
    readPauses: 0,
    slowReadersClosed: 0,
    callErrorsIn: 0,
    sendsIn: 0,
    bytesIn: 0,
  };
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

/**
 * A CALL from the Central System, queued or outstanding. Its timer starts when it is asked for, not
 * when it is sent: ThingsBoard's deadline counts from its request, whatever waits before it.
 */
interface OutgoingCall {
  action: string;
  /** The payload as JSON text (serialised once, when asked for). */
  payloadText: string;
  timeoutMs: number;
  /** Date.now() at which the call has failed, sent or not. */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  /** Set when sent. */
  id: string | undefined;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
}

/** Bounds on what waits to be written to one charge point (see README, "Security and limits"). */
export interface SendBufferLimits {
  /** Bytes buffered for the socket above which reading from the charge point pauses. */
  maxBytes: number;
  /** How long reading may stay paused before the connection is closed, milliseconds. */
  stallTimeoutMs: number;
}

export const DEFAULT_SEND_BUFFER: SendBufferLimits = { maxBytes: 1_048_576, stallTimeoutMs: 30_000 };
const PAUSE_POLL_MS = 100;
/** Close code for a peer that does not read (RFC 6455 §7.4.1: policy violation). */
const CLOSE_NOT_READING = 1008;

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
  /** Bound on the nesting of a frame; default DEFAULT_MAX_JSON_DEPTH. */
  maxJsonDepth?: number;
  /** Default DEFAULT_SEND_BUFFER. */
  sendBuffer?: SendBufferLimits;
  /** Where per-message warnings are summarised; without one they are logged each time. */
  warnings?: LogSummary;
  /** Sees every frame in and out (counters, frame logs, the status page). */
  tap?: FrameTap;
}

export class ChargePointSession {
  readonly id: string;
  readonly spec: OcppVersionSpec;
  readonly socket: WebSocket;
  private readonly opts: SessionOptions;
  private nextMessageId = 1;
  private inflight: OutgoingCall | undefined;
  private queue: OutgoingCall[] | undefined;
  /**
   * The charge point's last CALL that we answered with a CALLRESULT: an OCPP 2.1 CALLRESULTERROR
   * names it (by message id) when the charge point could not process our answer. One entry is
   * enough, as a charge point has only one CALL outstanding at a time.
   */
  private lastAnswered: { id: string; action: string } | undefined;
  private closed = false;
  /** Set while reading is paused because the charge point does not read (see write()). */
  private pauseTimer: NodeJS.Timeout | undefined;

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
    let payloadText: string;
    try {
      payloadText = JSON.stringify(payload);
    } catch (err) {
      return Promise.reject(new OcppError('FormatViolation', `payload cannot be serialised: ${String(err)}`));
    }
    const maxBytes = this.sendBuffer.maxBytes;
    if (payloadText.length > maxBytes) {
      return Promise.reject(
        new OcppError(
          'FormatViolation',
          `${action} payload of ${payloadText.length} bytes is larger than the send buffer (maxSendBufferSize ${maxBytes})`,
        ),
      );
    }
    // A full queue answers at once, before an interceptor does any work for the call.
    if (this.queueFull()) {
      return Promise.reject(new OcppSessionError(`too many calls waiting for charge point ${this.id}`));
    }
    // The deadline counts from now, whatever the interceptor does before the call is queued.
    const deadline = Date.now() + timeoutMs;
    const { handler } = this.opts;
    if (!handler.interceptCall) return this.enqueue(action, payloadText, timeoutMs, deadline);
    return this.intercepted(
      handler.interceptCall.bind(handler),
      action,
      payload,
      payloadText,
      timeoutMs,
      deadline,
    );
  }

  /**
   * A call through the handler's interceptor (which calls `send` at most once): guarded like every
   * handler (a throw is counted and becomes the call's rejection), and held to the call's deadline —
   * if the interceptor has not sent the call by then, the call fails as a timeout and is never sent.
   */
  private intercepted(
    intercept: NonNullable<CallHandler['interceptCall']>,
    action: string,
    payload: unknown,
    payloadText: string,
    timeoutMs: number,
    deadline: number,
  ): Promise<unknown> {
    let sent = false;
    let expired = false;
    const tooLate = (): OcppTimeoutError => new OcppTimeoutError(action, timeoutMs, 'it was prepared');
    return new Promise((resolve, reject) => {
      const expire = (): void => {
        if (sent || expired) return;
        expired = true;
        this.opts.counters.callTimeouts++;
        reject(tooLate());
      };
      const send = (): Promise<unknown> => {
        if (!expired && Date.now() >= deadline) expire();
        if (expired) return Promise.reject(tooLate());
        sent = true;
        return this.enqueue(action, payloadText, timeoutMs, deadline);
      };
      const timer = setTimeout(expire, Math.max(0, deadline - Date.now()));
      const settle = (): void => clearTimeout(timer);
      let outcome: Promise<unknown>;
      try {
        outcome = Promise.resolve(intercept(this, action, payload, send));
      } catch (err) {
        this.opts.counters.handlerErrors++;
        this.opts.logger.error(
          { chargePointId: this.id, action, err },
          'preparing a call to a charge point failed',
        );
        outcome = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      outcome.then(
        (value) => {
          settle();
          resolve(value);
        },
        (err: unknown) => {
          settle();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private queueFull(): boolean {
    return this.inflight !== undefined && (this.queue?.length ?? 0) >= this.opts.maxQueuedCalls;
  }

  private enqueue(
    action: string,
    payloadText: string,
    timeoutMs: number,
    deadline: number,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new OcppSessionError(`charge point ${this.id} is not connected`));
    return new Promise((resolve, reject) => {
      if (this.queueFull()) {
        reject(new OcppSessionError(`too many calls waiting for charge point ${this.id}`));
        return;
      }
      const call: OutgoingCall = {
        action,
        payloadText,
        timeoutMs,
        deadline,
        timer: undefined,
        id: undefined,
        resolve,
        reject,
      };
      call.timer = setTimeout(() => this.onTimeout(call), Math.max(0, deadline - Date.now()));
      if (!this.inflight) return this.send(call);
      (this.queue ??= []).push(call);
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  private send(call: OutgoingCall): void {
    const id = String(this.nextMessageId++);
    call.id = id;
    this.inflight = call;
    this.opts.counters.callsOut++;
    const text = `[${CALL},"${id}",${JSON.stringify(call.action)},${call.payloadText}]`;
    this.opts.tap?.(this, { direction: 'out', messageType: CALL, action: call.action }, text);
    this.write(text);
  }

  private settleInflight(): OutgoingCall | undefined {
    const current = this.inflight;
    if (!current) return undefined;
    clearTimeout(current.timer);
    this.inflight = undefined;
    let next = this.queue?.shift();
    // Calls whose deadline passed while they waited are failed, never sent (their timers may not
    // have run yet when several expire in the same tick).
    while (next !== undefined && Date.now() >= next.deadline) {
      clearTimeout(next.timer);
      this.opts.counters.callTimeouts++;
      next.reject(new OcppTimeoutError(next.action, next.timeoutMs, 'waiting behind earlier calls'));
      next = this.queue?.shift();
    }
    if (next) this.send(next);
    return current;
  }

  private onTimeout(call: OutgoingCall): void {
    call.timer = undefined;
    if (this.inflight === call) {
      this.opts.counters.callTimeouts++;
      this.settleInflight();
      call.reject(new OcppTimeoutError(call.action, call.timeoutMs));
      return;
    }
    // Its deadline passed while it waited behind others: it is never sent.
    const index = this.queue?.indexOf(call) ?? -1;
    if (index < 0) return;
    this.queue!.splice(index, 1);
    this.opts.counters.callTimeouts++;
    call.reject(new OcppTimeoutError(call.action, call.timeoutMs, 'waiting behind earlier calls'));
  }

  private onClose(): void {
    this.closed = true;
    this.stopPause();
    const err = new OcppSessionError(`charge point ${this.id} disconnected`);
    const queued = this.queue ?? [];
    this.queue = undefined;
    const inflight = this.inflight;
    if (inflight) {
      clearTimeout(inflight.timer);
      this.inflight = undefined;
      inflight.reject(err);
    }
    for (const call of queued) {
      clearTimeout(call.timer);
      call.reject(err);
    }
  }

  private get sendBuffer(): SendBufferLimits {
    return this.opts.sendBuffer ?? DEFAULT_SEND_BUFFER;
  }

  /** Per-message warnings go through the summary when there is one (a flood must not flood the log). */
  private warn(kind: string, fields: Record<string, unknown>, message: string): void {
    if (this.opts.warnings) this.opts.warnings.warn(kind, fields, message);
    else this.opts.logger.warn(fields, message);
  }

  /**
   * Every frame a charge point sends ends here. Nothing it contains may stop the process: an
   * exception while handling it is counted, logged and (for a CALL) answered with InternalError.
   */
  private onMessage(data: unknown, isBinary: boolean): void {
    let callId: string | undefined;
    try {
      const text = isBinary ? undefined : String(data);
      this.opts.counters.bytesIn += Buffer.isBuffer(data) ? data.length : (text?.length ?? 0);
      const parsed =
        text === undefined
          ? undefined
          : parseFrame(text, this.spec, this.opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH);
      if (this.opts.tap) this.tapIncoming(parsed?.ok ? parsed.frame : undefined, text);
      if (parsed?.ok) {
        if (parsed.frame.type === CALL) callId = parsed.frame.id;
        this.dispatch(parsed.frame);
        return;
      }
      this.onBadFrame(parsed?.problem);
    } catch (err) {
      this.opts.counters.handlerErrors++;
      this.opts.logger.error(
        { chargePointId: this.id, err },
        'handling a frame from a charge point failed (the connection stays open)',
      );
      if (callId !== undefined)
        this.sendError(callId, 'InternalError', 'the Central System could not process the call');
    }
  }

  private onBadFrame(problem: FrameProblem | undefined): void {
    this.opts.counters.badFrames++;
    const message = problem?.message ?? 'binary frames are not OCPP-J';
    this.warn('bad-frame', { chargePointId: this.id, reason: message }, 'bad OCPP-J frame from charge point');
    // A malformed reply (CALLRESULT, CALLERROR, 2.1 CALLRESULTERROR) is never answered, since an
    // error in reply to a reply can loop; nor is a 2.1 SEND. A message type this
    // version does not know is answered with MessageTypeNotSupported (2.0.1 part 4 §4.2.3).
    const type = problem?.type;
    if (type !== undefined && this.isReplyType(type)) {
      // A malformed answer to our outstanding CALL fails that CALL now (ThingsBoard gets an error
      // reply at once instead of a timeout).
      if (problem?.id !== undefined && this.inflight?.id === problem.id) {
        const call = this.settleInflight();
        call?.reject(
          new OcppError(
            'FormatViolation',
            `the charge point's answer to ${call.action} was unusable: ${message}`,
          ),
        );
      }
      return;
    }
    if (type === SEND && this.spec.extraMessageTypes.has(SEND)) return;
    // 2.0.1 part 4 §4.2.3: when the message id cannot be read, the CALLERROR carries id "-1".
    // OCPP-J 1.6 has no such rule: there the frame is only logged and counted.
    const id = problem?.id ?? (this.spec.answersUnreadableFrames ? '-1' : undefined);
    if (id !== undefined) this.sendError(id, problem?.kind ?? this.spec.frameErrorKind, message);
  }

  /** Before dispatch, while the outstanding CALL a reply answers is still known. */
  private tapIncoming(frame: Frame | undefined, text: string | undefined): void {
    const tap = this.opts.tap;
    if (!tap) return;
    if (!frame) {
      tap(this, { direction: 'in', messageType: undefined, action: undefined }, text ?? '(binary frame)');
      return;
    }
    if (frame.type === CALL || frame.type === SEND) {
      tap(this, { direction: 'in', messageType: frame.type, action: frame.action }, text ?? '');
      return;
    }
    const action =
      this.inflight?.id === frame.id
        ? this.inflight.action
        : this.lastAnswered?.id === frame.id
          ? this.lastAnswered.action
          : undefined;
    const error =
      frame.type === CALLRESULT ? {} : { errorCode: frame.code, errorDescription: frame.description };
    tap(this, { direction: 'in', messageType: frame.type, action, ...error }, text ?? '');
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
          this.warn(
            'callresult-unexpected',
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
          this.warn(
            'answer-off-schema',
            { chargePointId: this.id, reason: invalid.message },
            'charge point answered off-schema',
          );
        }
        call.resolve(frame.payload);
        return;
      }
      case CALLERROR: {
        this.opts.counters.callErrorsIn++;
        if (this.inflight?.id !== frame.id) {
          this.warn(
            'callerror-unexpected',
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
    this.opts.counters.sendsIn++;
    // OCPP 2.1 part 4 (SEND): a SEND is never answered, not even when it is invalid or unknown.
    const invalid = this.spec.sendActions.has(action)
      ? this.opts.validator.validateSend(action, payload)
      : new OcppError('NotImplemented', `"${action}" is not a message a charging station may SEND`);
    if (invalid) {
      this.warn(
        'send-invalid',
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
        {},
        action,
      );
      return;
    }
    const invalid = this.opts.validator.validateRequest(action, payload);
    if (invalid) {
      this.sendError(id, invalid.kind, invalid.message, invalid.details, action);
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
      result
        .then(
          (response) => this.answer(id, action, response),
          (err: unknown) => this.answerFailure(id, action, err),
        )
        .catch((err: unknown) => {
          this.opts.counters.handlerErrors++;
          this.opts.logger.error(
            { chargePointId: this.id, action, err },
            'answering a charge point call failed',
          );
        });
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
      this.sendError(id, 'InternalError', 'the Central System could not build a valid response', {}, action);
      return;
    }
    this.lastAnswered = { id, action };
    const text = JSON.stringify([CALLRESULT, id, response]);
    this.opts.tap?.(this, { direction: 'out', messageType: CALLRESULT, action }, text);
    this.write(text);
  }

  private answerFailure(id: string, action: string, err: unknown): void {
    if (err instanceof OcppError) {
      this.sendError(id, err.kind, err.message, err.details, action);
      return;
    }
    // Summarised per error code: while storage fails, every data message of every charge point
    // fails alike, and a line each would flood the log (and fill the disk that is already full).
    const kind = err instanceof GatewayError ? `call-failed-${err.code}` : 'call-failed';
    const fields = { chargePointId: this.id, action, err };
    if (this.opts.warnings) this.opts.warnings.error(kind, fields, 'handling a charge point call failed');
    else this.opts.logger.error(fields, 'handling a charge point call failed');
    this.sendError(id, 'InternalError', 'the Central System could not process the call', {}, action);
  }

  private sendError(
    id: string,
    kind: OcppErrorKind,
    description: string,
    details: Record<string, unknown> = {},
    /** The action of the CALL this answers, when known (for counters and logs). */
    action?: string,
  ): void {
    this.opts.counters.callErrorsOut++;
    const text =
      description.length > MAX_ERROR_DESCRIPTION
        ? description.slice(0, MAX_ERROR_DESCRIPTION - 1) + '…'
        : description;
    const code = spellError(this.spec, kind);
    const frame = JSON.stringify([CALLERROR, id, code, text, details]);
    this.opts.tap?.(
      this,
      { direction: 'out', messageType: CALLERROR, action, errorCode: code, errorDescription: text },
      frame,
    );
    this.write(frame);
  }

  /**
   * Everything sent to the charge point goes through here. A charge point that sends but does not
   * read its answers would make them pile up in memory without end: past maxBytes waiting for the
   * socket, reading from it pauses (its CALLs wait in the kernel, unanswered) until what was sent
   * drains below half; if it does not within stallTimeoutMs, the connection is closed.
   */
  private write(text: string): void {
    const ws = this.socket;
    if (ws.readyState !== ws.OPEN) return;
    ws.send(text);
    const { maxBytes } = this.sendBuffer;
    if (ws.bufferedAmount <= maxBytes) return;
    if (ws.bufferedAmount > 2 * maxBytes) {
      // Only answers already on their way when reading paused can get here: a last-resort bound.
      this.closeSlowReader('its unread data passed twice the send buffer');
      return;
    }
    if (this.pauseTimer === undefined) this.pauseReading();
  }

  private pauseReading(): void {
    const ws = this.socket;
    const { maxBytes, stallTimeoutMs } = this.sendBuffer;
    this.opts.counters.readPauses++;
    this.warn(
      'slow-reader-paused',
      { chargePointId: this.id, bufferedBytes: ws.bufferedAmount, maxSendBufferSize: maxBytes },
      'charge point does not read what it is sent: stopped reading from it until it does',
    );
    ws.pause();
    const since = Date.now();
    this.pauseTimer = setInterval(() => {
      if (ws.readyState !== ws.OPEN) return this.stopPause();
      if (ws.bufferedAmount <= maxBytes / 2) {
        this.stopPause();
        ws.resume();
        return;
      }
      if (Date.now() - since >= stallTimeoutMs) {
        this.closeSlowReader(`it read nothing for ${stallTimeoutMs / 1000} s`);
      }
    }, PAUSE_POLL_MS);
    this.pauseTimer.unref();
  }

  private stopPause(): void {
    if (this.pauseTimer !== undefined) clearInterval(this.pauseTimer);
    this.pauseTimer = undefined;
  }

  private closeSlowReader(why: string): void {
    this.stopPause();
    const ws = this.socket;
    this.opts.counters.slowReadersClosed++;
    this.warn(
      'slow-reader-closed',
      { chargePointId: this.id, bufferedBytes: ws.bufferedAmount, reason: why },
      'closed the connection of a charge point that does not read what it is sent',
    );
    ws.close(CLOSE_NOT_READING, 'not reading what it is sent');
    // The close frame waits behind the unread data, so the socket is dropped soon after.
    setTimeout(() => ws.terminate(), 1000).unref();
  }
}
