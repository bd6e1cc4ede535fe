/**
 * Per-action behaviour that components plug into the connector (security: SignCertificate,
 * SecurityEventNotification, …), consulted before the connector's own answer table. A handler
 * decides the answer synchronously; work that must follow the answer (a CALL such as
 * CertificateSigned) goes in `afterAnswer`.
 */
import type { ChargePointSession } from '../ocpp/session.js';

export interface ActionContext {
  session: ChargePointSession;
  /** Validated against the action's request schema. */
  payload: Record<string, unknown>;
  now(): Date;
}

export interface ActionOutcome {
  response: Record<string, unknown>;
  /**
   * Telemetry of the charge point's device, committed to the outbox with the message's mapped data
   * before the answer is sent.
   */
  telemetry?: { ts: number; values: Record<string, unknown> };
  /** Runs once the answer has been sent. */
  afterAnswer?: () => void;
}

export type ActionHandler = (ctx: ActionContext) => ActionOutcome;

/** Handlers by action name (the handler sees the version in `session.spec`). */
export type ActionHandlers = ReadonlyMap<string, ActionHandler>;
