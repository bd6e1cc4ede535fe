/**
 * Counts of OCPP-J traffic by version, direction, message type and action, and of CALLERRORs by
 * error code: the one source that /metrics, the status page and the stats log line read.
 *
 * Actions and error codes come from charge points, so a label is only ever a name the OCPP
 * tables know; anything else is counted as "unknown" / "other" (bounded label cardinality).
 */
import { CALL, CALLERROR, CALLRESULT, CALLRESULTERROR, SEND } from './frames.js';
import type { FrameEvent } from './tap.js';
import { OCPP_VERSIONS, type OcppVersionSpec } from './versions.js';

const TYPE_NAMES = new Map<number | undefined, string>([
  [CALL, 'CALL'],
  [CALLRESULT, 'CALLRESULT'],
  [CALLERROR, 'CALLERROR'],
  [CALLRESULTERROR, 'CALLRESULTERROR'],
  [SEND, 'SEND'],
]);

/** Every error code any version spells, plus the 2.x codes 1.6 lacks. */
const KNOWN_ERROR_CODES = new Set(
  Object.values(OCPP_VERSIONS).flatMap((spec) => Object.values(spec.errorCodes)),
);

export interface MessageCount {
  version: string;
  direction: string;
  /** CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND, or "invalid" (unreadable frame). */
  type: string;
  /** An action of the OCPP tables, "unknown", or "" when a reply's CALL is not known. */
  action: string;
  count: number;
}

export interface CallErrorCount {
  version: string;
  direction: string;
  code: string;
  count: number;
}

const SEP = '\u0000';

export class TrafficCounters {
  private readonly messages = new Map<string, number>();
  private readonly callErrors = new Map<string, number>();

  record(spec: OcppVersionSpec, event: FrameEvent): void {
    const type = TYPE_NAMES.get(event.messageType) ?? 'invalid';
    const action = labelOfAction(spec, event.action);
    const key = spec.version + SEP + event.direction + SEP + type + SEP + action;
    this.messages.set(key, (this.messages.get(key) ?? 0) + 1);
    if (event.errorCode !== undefined) {
      const code = KNOWN_ERROR_CODES.has(event.errorCode) ? event.errorCode : 'other';
      const ekey = spec.version + SEP + event.direction + SEP + code;
      this.callErrors.set(ekey, (this.callErrors.get(ekey) ?? 0) + 1);
    }
  }

  messageCounts(): MessageCount[] {
    return [...this.messages].map(([key, count]) => {
      const [version = '', direction = '', type = '', action = ''] = key.split(SEP);
      return { version, direction, type, action, count };
    });
  }

  callErrorCounts(): CallErrorCount[] {
    return [...this.callErrors].map(([key, count]) => {
      const [version = '', direction = '', code = ''] = key.split(SEP);
      return { version, direction, code, count };
    });
  }

  /** Frames in and out, for the stats log line. */
  totals(): { in: number; out: number } {
    let inbound = 0;
    let outbound = 0;
    for (const [key, count] of this.messages) {
      if (key.includes(SEP + 'in' + SEP)) inbound += count;
      else outbound += count;
    }
    return { in: inbound, out: outbound };
  }
}

function labelOfAction(spec: OcppVersionSpec, action: string | undefined): string {
  if (action === undefined) return '';
  if (
    spec.chargePointActions.has(action) ||
    spec.centralSystemActions.has(action) ||
    spec.sendActions.has(action)
  ) {
    return action;
  }
  return 'unknown';
}
