/**
 * The one place that turns a connector's configuration into routes: one per chargePoints entry,
 * holding what is derived from it — the compiled uplink mapper and the Central System features
 * that apply to it (src/csms/, built from the same configuration). Built at start, and again for
 * every new configuration (remote configuration from ThingsBoard): the new features start before
 * they take over and the old ones stop after (their timers end), live charge points move to the
 * route their id matches now (`reroute`), so mapping and feature changes take effect with their
 * next message and no socket is closed. What must outlive features (open transactions,
 * registration decisions, ThingsBoard's idToken list) is in the StateStore, not in them.
 */
import type { ChargePointConfig, OcppConnectorConfig } from '../config/types.js';
import { createCsmsFeatures, type CsmsFeatures } from '../csms/index.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { HandshakeRefusal, type PeerAddress } from '../ocpp/server.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { StateStore } from '../outbox/types.js';
import { addressRefusal } from './address-filter.js';
import { EntryFeatures } from './feature-host.js';
import type { CsmsThingsBoardLink } from './features.js';
import { UplinkMapper, type UplinkCounters } from './uplink.js';

export interface Route {
  entry: ChargePointConfig;
  mapper: UplinkMapper;
  features: EntryFeatures;
}

export interface RouteTableDeps {
  state: StateStore;
  /** The gateway device's channel (authorization RPCs, attributes); absent in some tests. */
  thingsboard: CsmsThingsBoardLink | undefined;
  /** The connector's mapping counters: one object for every mapper it ever builds. */
  counters: UplinkCounters;
  logger: Logger;
  warnings: LogSummary;
  now: () => Date;
}

type Counts = Record<string, number>;

export class RouteTable {
  private readonly deps: RouteTableDeps;
  private csmsFeatures: CsmsFeatures;
  private table: readonly Route[];
  /** Counts of features replaced by a new configuration: counters only ever grow (/metrics). */
  private readonly retired = new Map<string, Counts>();

  /** Builds the routes of `config`; its features start with start(). */
  constructor(config: OcppConnectorConfig, deps: RouteTableDeps) {
    this.deps = deps;
    this.csmsFeatures = this.features(config);
    this.table = this.routesOf(config, this.csmsFeatures);
  }

  get routes(): readonly Route[] {
    return this.table;
  }

  get csms(): CsmsFeatures {
    return this.csmsFeatures;
  }

  /** The first entry whose idRegexpPattern matches the whole id decides (as upstream). */
  find(chargePointId: string): Route | undefined {
    return this.table.find((r) => r.entry.idRegexp.test(chargePointId));
  }

  /**
   * The route of a connecting charge point. When the `host`/`port` filters of the entry its id
   * matches refuse the remote address, it is refused, not tried against later entries (as upstream).
   */
  resolve(chargePointId: string, peer: PeerAddress): Route | HandshakeRefusal | undefined {
    const route = this.find(chargePointId);
    if (!route) return undefined;
    const refusal = addressRefusal(route.entry, peer);
    return refusal === undefined ? route : new HandshakeRefusal(refusal);
  }

  async start(): Promise<void> {
    await startAll(this.csmsFeatures);
  }

  stop(): void {
    for (const f of this.csmsFeatures.all) f.stop?.();
  }

  /**
   * Takes a new configuration: its features are started first (a failure leaves the running ones
   * in force and is thrown), then replace the old ones, which are stopped.
   */
  async replace(config: OcppConnectorConfig): Promise<void> {
    const next = this.features(config);
    await startAll(next);
    const old = this.csmsFeatures;
    this.csmsFeatures = next;
    this.table = this.routesOf(config, next);
    for (const f of old.all) {
      f.stop?.();
      this.retire(f.name, f.counters);
    }
  }

  /** Counters of every feature since start, across configuration changes. */
  counters(): Record<string, Counts> {
    const out: Record<string, Counts> = {};
    for (const [name, counts] of this.retired) out[name] = { ...counts };
    for (const f of this.csmsFeatures.all) out[f.name] = add(out[f.name] ?? {}, f.counters ?? {});
    return out;
  }

  private retire(name: string, counts: Readonly<Counts> | undefined): void {
    if (!counts) return;
    this.retired.set(name, add(this.retired.get(name) ?? {}, counts));
  }

  private features(config: OcppConnectorConfig): CsmsFeatures {
    const { state, thingsboard, logger, warnings, now } = this.deps;
    return createCsmsFeatures({ config, state, thingsboard, logger, warnings, now });
  }

  private routesOf(config: OcppConnectorConfig, csms: CsmsFeatures): Route[] {
    const { counters, logger, warnings } = this.deps;
    return config.chargePoints.map((entry) => ({
      entry,
      mapper: new UplinkMapper(entry, counters, logger, warnings, config.centralSystem.maxJsonDepth),
      features: new EntryFeatures(entry, csms.all),
    }));
  }
}

async function startAll(csms: CsmsFeatures): Promise<void> {
  const started: CsmsFeatures['all'] = [];
  try {
    for (const f of csms.all) {
      await f.start?.();
      started.push(f);
    }
  } catch (err) {
    for (const f of started) f.stop?.();
    throw err;
  }
}

function add(into: Counts, counts: Readonly<Counts>): Counts {
  const out: Counts = { ...into };
  for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * Moves each live charge point to the route its id matches now. One no entry matches any more
 * keeps its route until it disconnects (it would be refused if it connected now).
 */
export function reroute(
  live: Iterable<{ session: ChargePointSession; route: Route }>,
  table: RouteTable,
  logger: Logger,
): void {
  for (const l of live) {
    const next = table.find(l.session.id);
    if (next) l.route = next;
    else {
      logger.warn(
        { chargePointId: l.session.id },
        'no chargePoints entry of the new configuration matches this charge point: it keeps its mapping until it disconnects, and will be refused when it connects again',
      );
    }
  }
}
