/**
 * The overview the status page shows and its event stream sends: the status model and the live
 * charge points, sorted by id and capped (a page of ten thousand rows helps nobody; the JSON API
 * lists them all).
 */
import { counterTables, type CounterTable } from './counters.js';
import type { ChargePointView, GatewayStatus, StatusSource } from './model.js';

/** Rows on the status page; the API's /api/chargepoints has no cap. */
export const MAX_PAGE_ROWS = 500;

export interface OverviewSnapshot {
  status: GatewayStatus;
  chargePoints: ChargePointView[];
  /** Live charge points in all (more than shown when over MAX_PAGE_ROWS). */
  total: number;
  /** The counters of every stage, as the page shows them (built once for page and script). */
  counters: CounterTable[];
}

export function byId(a: ChargePointView, b: ChargePointView): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.connector < b.connector ? -1 : 1;
}

export function overviewSnapshot(source: StatusSource): OverviewSnapshot {
  const all = source.chargePoints().sort(byId);
  const status = source.status();
  return {
    status,
    chargePoints: all.slice(0, MAX_PAGE_ROWS),
    total: all.length,
    counters: counterTables(status),
  };
}
