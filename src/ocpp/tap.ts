/**
 * A read-only view of every OCPP-J frame a session sends or receives, for counters, frame logs
 * and the status page. The session calls the tap with what it already knows (message type,
 * action, error code), so an observer never parses a frame again on the hot path.
 */
import type { ChargePointSession } from './session.js';

export type FrameDirection = 'in' | 'out';

export interface FrameEvent {
  direction: FrameDirection;
  /** OCPP-J message type id (2 CALL … 6 SEND); undefined for a frame that could not be read. */
  messageType: number | undefined;
  /**
   * The action: of the CALL/SEND itself, or of the CALL a reply answers (when the session knows
   * it). Untrusted for incoming CALLs: counters must bound what they key on.
   */
  action: string | undefined;
  /** CALLERROR / CALLRESULTERROR: the error code and description as on the wire. */
  errorCode?: string;
  errorDescription?: string;
}

/** Called synchronously for each frame; must be cheap and must not throw. */
export type FrameTap = (session: ChargePointSession, event: FrameEvent, text: string) => void;
