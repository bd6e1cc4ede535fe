/**
 * Changing a running connector's configuration (remote configuration from ThingsBoard): the
 * routes (chargePoints entries with their compiled mappers) are rebuilt from the new config, and
 * every live charge point moves to the entry that now matches its id, so mapping changes take
 * effect with its next message and no socket is closed. A charge point no entry matches any more
 * keeps its current mapping until it disconnects (it would be refused if it connected now).
 */
import type { ChargePointConfig, OcppConnectorConfig } from '../config/types.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import { UplinkMapper, type UplinkCounters } from './uplink.js';

export interface Route {
  entry: ChargePointConfig;
  mapper: UplinkMapper;
}

export function buildRoutes(
  config: OcppConnectorConfig,
  counters: UplinkCounters,
  logger: Logger,
  warnings?: LogSummary,
): Route[] {
  return config.chargePoints.map((entry) => ({
    entry,
    mapper: new UplinkMapper(entry, counters, logger, warnings),
  }));
}

/** Moves each live charge point to the route its id matches now. */
export function reroute(
  live: Iterable<{ session: ChargePointSession; route: Route }>,
  routes: readonly Route[],
  logger: Logger,
): void {
  for (const l of live) {
    const next = routes.find((r) => r.entry.idRegexp.test(l.session.id));
    if (next) l.route = next;
    else {
      logger.warn(
        { chargePointId: l.session.id },
        'no chargePoints entry of the new configuration matches this charge point: it keeps its mapping until it disconnects, and will be refused when it connects again',
      );
    }
  }
}
