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

const DIRECTIONS = ['in', 'out'] as const;
const TYPES = ['invalid', 'CALL', 'CALLRESULT', 'CALLERROR', 'CALLRESULTERROR', 'SEND'] as const;

function typeIndex(messageType: number | undefined): number {
  const name = TYPE_NAMES.get(messageType);
  return name === undefined ? 0 : TYPES.indexOf(name as (typeof TYPES)[number]);
}

/**
 * Per version: one Map of action → count for each direction × message type, so counting a frame is
 * two array/Map lookups and no string building (it runs twice per message on the hot path).
 */
type Buckets = Map<string, number>[];

export class TrafficCounters {
  private readonly messages = new Map<string, Buckets>();
  /** version → direction index → code → count */
  private readonly callErrors = new Map<string, Map<string, number>[]>();

  record(spec: OcppVersionSpec, event: FrameEvent): void {
    let buckets = this.messages.get(spec.version);
    if (!buckets) {
      buckets = Array.from({ length: DIRECTIONS.length * TYPES.length }, () => new Map<string, number>());
      this.messages.set(spec.version, buckets);
    }
    const dir = event.direction === 'in' ? 0 : 1;
    const bucket = buckets[dir * TYPES.length + typeIndex(event.messageType)] as Map<string, number>;
    const action = labelOfAction(spec, event.action);
    bucket.set(action, (bucket.get(action) ?? 0) + 1);
    if (event.errorCode !== undefined) {
      let errors = this.callErrors.get(spec.version);
      if (!errors) {
        errors = [new Map(), new Map()];
        this.callErrors.set(spec.version, errors);
      }
      const byCode = errors[dir] as Map<string, number>;
      const code = errorCodeLabel(event.errorCode);
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
    }
  }

  messageCounts(): MessageCount[] {
    const out: MessageCount[] = [];
    for (const [version, buckets] of this.messages) {
      buckets.forEach((bucket, i) => {
        const direction = DIRECTIONS[Math.floor(i / TYPES.length)] ?? 'in';
        const type = TYPES[i % TYPES.length] ?? 'invalid';
        for (const [action, count] of bucket) out.push({ version, direction, type, action, count });
      });
    }
    return out;
  }

  callErrorCounts(): CallErrorCount[] {
    const out: CallErrorCount[] = [];
    for (const [version, byDirection] of this.callErrors) {
      byDirection.forEach((byCode, i) => {
        for (const [code, count] of byCode)
          out.push({ version, direction: DIRECTIONS[i] ?? 'in', code, count });
      });
    }
    return out;
  }

  /** Frames in and out, for the stats log line. */
  totals(): { in: number; out: number } {
    const totals = { in: 0, out: 0 };
    for (const m of this.messageCounts()) totals[m.direction === 'in' ? 'in' : 'out'] += m.count;
    return totals;
  }
}

/** An error code as a label: one the OCPP tables spell, else "other" (codes from outside are untrusted). */
export function errorCodeLabel(code: string): string {
  return KNOWN_ERROR_CODES.has(code) ? code : 'other';
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
