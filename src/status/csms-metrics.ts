/**
 * The metric families of the Central System's decisions (src/csms/ features' counters, status
 * model `connectors[].csms`): authorization decisions by OCPP status, every other feature counter
 * as an event, and features that failed outside a CALL by stage. Values are read from the status
 * at scrape time, in the naming of the other families (`ocpp_gateway_…_total`, snake case labels).
 */
import { AUTHORIZATION_STATUSES } from '../config/csms-types.js';
import type { GatewayStatus } from './model.js';

type Labels = Record<string, string>;

export interface CsmsMetricFamily {
  name: string;
  help: string;
  labelNames: string[];
  values(status: GatewayStatus): [Labels, number][];
}

/** Keys of the authorization counters that are decisions by OCPP status (the others are events). */
const STATUSES: ReadonlySet<string> = new Set(AUTHORIZATION_STATUSES);

/** `costUpdates` → `cost_updates`. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

export const CSMS_METRIC_FAMILIES: readonly CsmsMetricFamily[] = [
  {
    name: 'authorization_decisions_total',
    help: 'idToken decisions (Authorize, transactions, remote starts) by OCPP authorization status',
    labelNames: ['connector', 'status'],
    values: (s) =>
      s.connectors.flatMap((c) =>
        Object.entries(c.csms.authorization ?? {})
          .filter(([k]) => STATUSES.has(k))
          .map(([status, n]): [Labels, number] => [{ connector: c.name, status }, n]),
      ),
  },
  {
    name: 'csms_events_total',
    help: 'Central System events by feature: registration (accepted, pending, refused_calls, …), sessions (started, ended, cost_updates, …), authorization (asked_things_board, cache_hits, …), data_transfer',
    labelNames: ['connector', 'feature', 'event'],
    values: (s) =>
      s.connectors.flatMap((c) =>
        Object.entries(c.csms)
          .filter(([feature]) => feature !== 'failures')
          .flatMap(([feature, counts]) =>
            Object.entries(counts)
              .filter(([k]) => !(feature === 'authorization' && STATUSES.has(k)))
              .map(([event, n]): [Labels, number] => [
                { connector: c.name, feature: snakeCase(feature), event: snakeCase(event) },
                n,
              ]),
          ),
      ),
  },
  {
    name: 'csms_feature_failures_total',
    help: 'Central System features that failed outside a CALL (counted, logged summarised; the gateway carries on), by stage',
    labelNames: ['connector', 'stage'],
    values: (s) =>
      s.connectors.flatMap((c) =>
        Object.entries(c.csms.failures ?? {}).map(([stage, n]): [Labels, number] => [
          { connector: c.name, stage: snakeCase(stage) },
          n,
        ]),
      ),
  },
];
