/**
 * One charge point's OCPP-J connection: frames in and out, schema validation, and the rule that
 * only one CALL from the Central System is outstanding at a time (OCPP-J 1.6 §4.1.1; 2.0.1
 * part 4 §4.1.1) — later calls wait in a bounded queue.
 *
 * This file reads every frame and routes it; the parts live beside it: outgoing-calls.ts (our
 * CALLs, their queue and deadlines), incoming-calls.ts (the charge point's CALLs and SENDs and our
 * answers), send-buffer.ts (writing, and pausing a charge point that does not read).
 *
 * Kept small on purpose: ten thousand idle sessions must cost little memory, so optional state
 * (the outgoing calls and their queue) is allocated only when used.
 */
import type { WebSocket } from 'ws';
import { DEFAULT_MAX_JSON_DEPTH } from '../json-depth.js';
import { OcppCallError, OcppError, OcppSessionError } from './errors.js';
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
import { IncomingCalls } from './incoming-calls.js';
import { OutgoingCalls } from './outgoing-calls.js';
import { SendBuffer } from './send-buffer.js';
import { warn, type SessionOptions } from './session-options.js';
import type { OcppVersionSpec } from './versions.js';

// What this module exported before its parts moved out; importers keep using this path.
export { newProtocolCounters, type ProtocolCounters } from './protocol-counters.js';
export { DEFAULT_SEND_BUFFER, type SendBufferLimits } from './send-buffer.js';
export type { CallHandler, SessionOptions } from './session-options.js';

export class ChargePointSession {
  readonly id: string;
  readonly spec: OcppVersionSpec;
  readonly socket: WebSocket;
  private readonly opts: SessionOptions;
  private readonly out: SendBuffer;
  private readonly incoming: IncomingCalls;
  /** Allocated by the first call(). */
  private calls: OutgoingCalls | undefined;
  private closed = false;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.spec = opts.spec;
    this.socket = opts.socket;
    this.out = new SendBuffer(opts);
    this.incoming = new IncomingCalls(this, opts, this.out);
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
    const maxBytes = this.out.limits.maxBytes;
    if (payloadText.length > maxBytes) {
      return Promise.reject(
        new OcppError(
          'FormatViolation',
          `${action} payload of ${payloadText.length} bytes is larger than the send buffer (maxSendBufferSize ${maxBytes})`,
        ),
      );
    }
    const calls = (this.calls ??= new OutgoingCalls(this, this.opts, this.out));
    // A full queue answers at once, before an interceptor does any work for the call.
    if (calls.queueFull()) {
      return Promise.reject(new OcppSessionError(`too many calls waiting for charge point ${this.id}`));
    }
    // The deadline counts from now, whatever the interceptor does before the call is queued.
    const deadline = Date.now() + timeoutMs;
    const { handler } = this.opts;
    if (!handler.interceptCall) return calls.enqueue(action, payloadText, timeoutMs, deadline);
    return calls.intercepted(
      handler.interceptCall.bind(handler),
      action,
      payload,
      payloadText,
      timeoutMs,
      deadline,
    );
  }

  close(code = 1000, reason = ''): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  private onClose(): void {
    this.closed = true;
    this.out.stopPause();
    const err = new OcppSessionError(`charge point ${this.id} disconnected`);
    this.calls?.close(err);
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
        this.incoming.sendError(callId, 'InternalError', 'the Central System could not process the call');
    }
  }

  private onBadFrame(problem: FrameProblem | undefined): void {
    this.opts.counters.badFrames++;
    const message = problem?.message ?? 'binary frames are not OCPP-J';
    warn(
      this.opts,
      'bad-frame',
      { chargePointId: this.id, reason: message },
      'bad OCPP-J frame from charge point',
    );
    // A malformed reply (CALLRESULT, CALLERROR, 2.1 CALLRESULTERROR) is never answered, since an
    // error in reply to a reply can loop; nor is a 2.1 SEND. A message type this
    // version does not know is answered with MessageTypeNotSupported (2.0.1 part 4 §4.2.3).
    const type = problem?.type;
    if (type !== undefined && this.isReplyType(type)) {
      // A malformed answer to our outstanding CALL fails that CALL now (ThingsBoard gets an error
      // reply at once instead of a timeout).
      if (problem?.id !== undefined && this.calls?.inflight?.id === problem.id) {
        const call = this.calls.settleInflight();
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
    if (id !== undefined) this.incoming.sendError(id, problem?.kind ?? this.spec.frameErrorKind, message);
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
    const inflight = this.calls?.inflight;
    const lastAnswered = this.incoming.lastAnswered;
    const action =
      inflight?.id === frame.id
        ? inflight.action
        : lastAnswered?.id === frame.id
          ? lastAnswered.action
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
        this.incoming.onCall(frame.id, frame.action, frame.payload);
        return;
      case SEND:
        this.incoming.onSend(frame.action, frame.payload);
        return;
      case CALLRESULT: {
        if (this.calls?.inflight?.id !== frame.id) {
          warn(
            this.opts,
            'callresult-unexpected',
            { chargePointId: this.id, messageId: frame.id },
            'CALLRESULT for no outstanding call',
          );
          return;
        }
        const call = this.calls.settleInflight();
        if (!call) return;
        const invalid = this.opts.validator.validateResponse(call.action, frame.payload);
        if (invalid) {
          // Liberal in what we accept from chargers: the answer still reaches ThingsBoard.
          warn(
            this.opts,
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
        if (this.calls?.inflight?.id !== frame.id) {
          warn(
            this.opts,
            'callerror-unexpected',
            { chargePointId: this.id, messageId: frame.id, code: frame.code },
            'CALLERROR for no outstanding call',
          );
          return;
        }
        const call = this.calls.settleInflight();
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
    const answered = this.incoming.lastAnswered;
    if (answered?.id === id) {
      this.opts.logger.warn(
        { chargePointId: this.id, messageId: id, action: answered.action, code, description },
        'charge point could not process our CALLRESULT',
      );
      return;
    }
    const inflight = this.calls?.inflight;
    if (inflight?.id === id) {
      // Not what the spec says a CALLRESULTERROR is for, but some charge points answer a CALL with
      // one: liberal in what we accept, it fails that CALL rather than leaving it to time out.
      this.opts.logger.warn(
        { chargePointId: this.id, messageId: id, action: inflight.action, code },
        'charge point answered our CALL with a CALLRESULTERROR (OCPP 2.1 expects CALLERROR): taken as its failure',
      );
      const call = this.calls?.settleInflight();
      call?.reject(new OcppCallError(code, description, details));
      return;
    }
    this.opts.logger.warn(
      { chargePointId: this.id, messageId: id, code, description },
      'CALLRESULTERROR for no CALLRESULT of ours',
    );
  }
}
