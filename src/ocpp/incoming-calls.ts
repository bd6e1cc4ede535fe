/**
 * The CALLs and SENDs a charge point makes to us: each CALL is checked against this version's
 * actions and schema, handed to the connector's CallHandler, and answered with a CALLRESULT or a
 * CALLERROR; a SEND is never answered. A handler that throws or builds an invalid answer is
 * counted and logged, and the charge point gets an InternalError instead.
 */
import { GatewayError } from '../errors.js';
import { OcppError, type OcppErrorKind } from './errors.js';
import { CALLERROR, CALLRESULT } from './frames.js';
import type { SendBuffer } from './send-buffer.js';
import { warn, type SessionOptions } from './session-options.js';
import type { ChargePointSession } from './session.js';
import { spellError } from './versions.js';

/** OCPP 2.0.1/2.1 part 4 §4.2.3: errorDescription is at most 255 characters. */
const MAX_ERROR_DESCRIPTION = 255;

export class IncomingCalls {
  private readonly session: ChargePointSession;
  private readonly opts: SessionOptions;
  private readonly out: SendBuffer;
  /**
   * The charge point's last CALL that we answered with a CALLRESULT: an OCPP 2.1 CALLRESULTERROR
   * names it (by message id) when the charge point could not process our answer. One entry is
   * enough, as a charge point has only one CALL outstanding at a time.
   */
  private answered: { id: string; action: string } | undefined;

  constructor(session: ChargePointSession, opts: SessionOptions, out: SendBuffer) {
    this.session = session;
    this.opts = opts;
    this.out = out;
  }

  /** The charge point's last CALL we answered with a CALLRESULT (its message id and action). */
  get lastAnswered(): { id: string; action: string } | undefined {
    return this.answered;
  }

  onSend(action: string, payload: Record<string, unknown>): void {
    this.opts.counters.sendsIn++;
    // OCPP 2.1 part 4 (SEND): a SEND is never answered, not even when it is invalid or unknown.
    const invalid = this.opts.spec.sendActions.has(action)
      ? this.opts.validator.validateSend(action, payload)
      : new OcppError('NotImplemented', `"${action}" is not a message a charging station may SEND`);
    if (invalid) {
      warn(
        this.opts,
        'send-invalid',
        { chargePointId: this.opts.id, action, reason: invalid.message },
        'invalid SEND ignored',
      );
      return;
    }
    this.opts.handler.handleSend?.(this.session, action, payload);
  }

  onCall(id: string, action: string, payload: Record<string, unknown>): void {
    this.opts.counters.callsIn++;
    if (!this.opts.spec.chargePointActions.has(action)) {
      const known = this.opts.spec.centralSystemActions.has(action);
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
      result = this.opts.handler.handleCall(this.session, action, payload);
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
            { chargePointId: this.opts.id, action, err },
            'answering a charge point call failed',
          );
        });
    } else {
      this.answer(id, action, result);
    }
  }

  sendError(
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
    const code = spellError(this.opts.spec, kind);
    const frame = JSON.stringify([CALLERROR, id, code, text, details]);
    this.opts.tap?.(
      this.session,
      { direction: 'out', messageType: CALLERROR, action, errorCode: code, errorDescription: text },
      frame,
    );
    this.out.write(frame);
  }

  private answer(id: string, action: string, response: unknown): void {
    const invalid = this.opts.validator.validateResponse(action, response);
    if (invalid) {
      this.opts.logger.error(
        { chargePointId: this.opts.id, action, reason: invalid.message },
        'gateway built an invalid response',
      );
      this.sendError(id, 'InternalError', 'the Central System could not build a valid response', {}, action);
      return;
    }
    this.answered = { id, action };
    const text = JSON.stringify([CALLRESULT, id, response]);
    this.opts.tap?.(this.session, { direction: 'out', messageType: CALLRESULT, action }, text);
    this.out.write(text);
  }

  private answerFailure(id: string, action: string, err: unknown): void {
    if (err instanceof OcppError) {
      this.sendError(id, err.kind, err.message, err.details, action);
      return;
    }
    // Summarised per error code: while storage fails, every data message of every charge point
    // fails alike, and a line each would flood the log (and fill the disk that is already full).
    const kind = err instanceof GatewayError ? `call-failed-${err.code}` : 'call-failed';
    const fields = { chargePointId: this.opts.id, action, err };
    if (this.opts.warnings) this.opts.warnings.error(kind, fields, 'handling a charge point call failed');
    else this.opts.logger.error(fields, 'handling a charge point call failed');
    this.sendError(id, 'InternalError', 'the Central System could not process the call', {}, action);
  }
}
