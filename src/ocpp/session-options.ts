/**
 * What a ChargePointSession is built from: the connector's CallHandler and the per-connection
 * options the server passes in. Also the one place per-message warnings are routed, so that every
 * part of a session summarises a flood the same way.
 */
import type { WebSocket } from 'ws';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ProtocolCounters } from './protocol-counters.js';
import type { SendBufferLimits } from './send-buffer.js';
import type { ChargePointSession } from './session.js';
import type { FrameTap } from './tap.js';
import type { PayloadValidator } from './validator.js';
import type { OcppVersionSpec } from './versions.js';

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

/** Per-message warnings go through the summary when there is one (a flood must not flood the log). */
export function warn(
  opts: Pick<SessionOptions, 'warnings' | 'logger'>,
  kind: string,
  fields: Record<string, unknown>,
  message: string,
): void {
  if (opts.warnings) opts.warnings.warn(kind, fields, message);
  else opts.logger.warn(fields, message);
}
