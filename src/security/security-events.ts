/**
 * SecurityEventNotification (2.0.1/2.1 A04; 1.6 whitepaper A04): acknowledged once the event is
 * in the outbox (A04.FR.02: guaranteed delivery), and sent to ThingsBoard as telemetry of the
 * device, stamped with the time the event occurred.
 */
import type { ActionContext, ActionOutcome } from '../connector/action-handlers.js';
import type { Logger } from '../log.js';
import type { SecurityCounters } from './counters.js';

export const SECURITY_EVENT_TELEMETRY = {
  type: 'securityEventType',
  techInfo: 'securityEventTechInfo',
} as const;

export function securityEventHandler(logger: Logger, counters?: Pick<SecurityCounters, 'securityEvents'>) {
  return (ctx: ActionContext): ActionOutcome => {
    if (counters) counters.securityEvents++;
    const { type, timestamp, techInfo } = ctx.payload;
    const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
    const values: Record<string, unknown> = { [SECURITY_EVENT_TELEMETRY.type]: type };
    if (typeof techInfo === 'string') values[SECURITY_EVENT_TELEMETRY.techInfo] = techInfo;
    logger.info(
      { chargePointId: ctx.session.id, securityEvent: type, occurredAt: timestamp },
      'security event',
    );
    return {
      response: {},
      telemetry: { ts: Number.isFinite(at) ? at : ctx.now().getTime(), values },
    };
  };
}
