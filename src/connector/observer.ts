/**
 * The connector's view of every frame (a FrameTap): it counts traffic, keeps each connection's
 * activity current, logs CALLERRORs in words, and — only at debug level, for a charge point an
 * operator asked to trace, or one someone is watching on the status page — redacts the frame and
 * logs it or keeps it in that connection's ring. Nothing beyond counting runs per frame otherwise.
 */
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { CALL, CALLERROR, CALLRESULTERROR, SEND } from '../ocpp/frames.js';
import { redactFrameText, redactString } from '../ocpp/redact.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { FrameEvent, FrameTap } from '../ocpp/tap.js';
import { errorCodeLabel, type TrafficCounters } from '../ocpp/traffic.js';
import { FrameRing, MAX_FRAME_TEXT, type ChargePointActivity } from './activity.js';

export interface TrafficObserverDeps {
  counters: TrafficCounters;
  logger: Logger;
  activityOf(session: ChargePointSession): ChargePointActivity | undefined;
  /** Until when this charge point's frames are logged at info (ms since the epoch), if asked. */
  tracedUntil(chargePointId: string): number | undefined;
  /** CALLERROR lines go through it: a charge point sending nothing valid must not flood the log. */
  warnings?: LogSummary;
  now?: () => number;
}

/** Longer than any OCPP error code (the longest, OccurrenceConstraintViolation, has 30). */
const MAX_CODE_LENGTH = 64;

export function cutFrameText(text: string): string {
  return text.length > MAX_FRAME_TEXT
    ? `${text.slice(0, MAX_FRAME_TEXT)}… (${text.length - MAX_FRAME_TEXT} more characters)`
    : text;
}

export class TrafficObserver {
  readonly tap: FrameTap = (session, event, text) => this.observe(session, event, text);
  private readonly deps: TrafficObserverDeps;
  private readonly now: () => number;

  constructor(deps: TrafficObserverDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  private observe(session: ChargePointSession, event: FrameEvent, text: string): void {
    const { counters, logger } = this.deps;
    counters.record(session.spec, event);
    const now = this.now();
    const activity = this.deps.activityOf(session);
    if (activity) {
      if (event.direction === 'in') {
        activity.framesIn++;
        activity.lastInAt = now;
        if (event.messageType === CALL || event.messageType === SEND) activity.lastInAction = event.action;
      } else activity.framesOut++;
    }
    if (event.messageType === CALLERROR || event.messageType === CALLRESULTERROR) {
      // A charge point's CALLERROR is untrusted text of any length: cut to what OCPP allows
      // (255 characters of description, 2.0.1 part 4 §4.2.3), credentials it may quote masked.
      const fields = {
        chargePointId: session.id,
        ocppVersion: session.spec.version,
        action: event.action,
        errorCode: event.errorCode?.slice(0, MAX_CODE_LENGTH),
        reason:
          event.errorDescription === undefined
            ? undefined
            : redactString(event.errorDescription.slice(0, 255)),
      };
      const message =
        event.direction === 'out' ? 'CALLERROR sent to charge point' : 'charge point answered with an error';
      // Summarised per direction and code (a bounded label): the first at once, a flood of the same
      // error as one count a minute.
      const { warnings } = this.deps;
      const kind = `callerror-${event.direction}-${errorCodeLabel(event.errorCode ?? '')}`;
      if (warnings) warnings.info(kind, fields, message);
      else logger.info(fields, message);
    }
    this.capture(session, event, text, activity, now);
  }

  private capture(
    session: ChargePointSession,
    event: FrameEvent,
    text: string,
    activity: ChargePointActivity | undefined,
    now: number,
  ): void {
    const { logger } = this.deps;
    const debug = logger.isLevelEnabled('debug');
    const traced = (this.deps.tracedUntil(session.id) ?? 0) > now;
    let ring = activity?.frames;
    if (activity && ring && !debug && activity.watchedUntil < now) {
      // Nobody has looked for a while: give the memory back.
      activity.frames = undefined;
      ring = undefined;
    }
    if (activity && !ring && debug) ring = activity.frames = new FrameRing();
    if (!debug && !traced && !ring) return;
    const shown = cutFrameText(redactFrameText(text));
    if (debug || traced) {
      const fields = {
        chargePointId: session.id,
        ocppVersion: session.spec.version,
        direction: event.direction,
        action: event.action,
        frame: shown,
      };
      if (traced) logger.info(fields, 'OCPP frame');
      else logger.debug(fields, 'OCPP frame');
    }
    ring?.push({ at: now, direction: event.direction, text: shown });
  }
}
