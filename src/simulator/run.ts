/**
 * `tb-ocpp-gateway simulate`: N stations of one OCPP version, station i at the URL with i
 * appended (`ws://host:9000/site/CP` → `site/CP1` … `site/CPN`), opened at a bounded rate, run for
 * a duration (or until SIGINT/SIGTERM), with a progress line every few seconds and a summary.
 */
import type { Logger } from '../log.js';
import { ValidatorSet } from '../ocpp/validator.js';
import { OCPP_VERSIONS, type OcppVersion } from '../ocpp/versions.js';
import { StationClient } from './client.js';
import type { Dialect } from './dialect.js';
import { OCPP16_DIALECT } from './dialect16.js';
import { ocpp2Dialect } from './dialect2.js';
import { Random } from './meter.js';
import { newStationCounters, Station, type StationCounters } from './station.js';

export interface SimulationOptions {
  url: string;
  count: number;
  version: OcppVersion;
  /** Seconds; 0 = until stopped. */
  durationSeconds: number;
  /** New connections per second. */
  rate: number;
  /** Index of the first station (default 1). */
  first: number;
  connectors: number;
  idleSeconds: readonly [number, number];
  sessionSeconds: readonly [number, number];
  /** Seconds between meter values during a session (until the Central System changes it). */
  meterIntervalSeconds: number;
  /** HTTP Basic password (username = the station's identity, OCPP security profile 1/2). */
  password?: string;
  /** Authorization header sent verbatim (e.g. "Bearer ACCESS_TOKEN"). */
  authorization?: string;
  /** idTags local sessions use (one picked per session); empty: random cards. */
  idTags: readonly string[];
  seed: number;
  /** Seconds between progress lines; 0 = none. */
  progressSeconds: number;
}

export interface SimulationSummary {
  stations: number;
  connected: number;
  refused: number;
  counters: StationCounters;
}

function dialectOf(version: OcppVersion): Dialect {
  switch (version) {
    case 'ocpp1.6':
      return OCPP16_DIALECT;
    case 'ocpp2.0.1':
      return ocpp2Dialect('SIM-201');
    case 'ocpp2.1':
      return ocpp2Dialect('SIM-21');
  }
}

/** The charge point id the gateway will see for a URL: its path without the surrounding slashes. */
export function chargePointIdOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\/+|\/+$/g, ''));
}

export class Simulation {
  private readonly opts: SimulationOptions;
  private readonly logger: Logger;
  private readonly stations: Station[] = [];
  private readonly counters = newStationCounters();
  private connected = 0;
  private refused = 0;
  private stopped = false;
  private finish: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(opts: SimulationOptions, logger: Logger) {
    this.opts = opts;
    this.logger = logger;
  }

  /** Runs until the duration is over or stop() is called; resolves with the summary. */
  async run(): Promise<SimulationSummary> {
    const { opts } = this;
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    if (opts.durationSeconds > 0)
      this.timers.push(setTimeout(() => this.stop(), opts.durationSeconds * 1000));
    if (opts.progressSeconds > 0) {
      const t = setInterval(
        () => this.logger.info(this.progress(), 'simulation progress'),
        opts.progressSeconds * 1000,
      );
      this.timers.push(t);
    }
    this.logger.info(
      { url: opts.url, count: opts.count, ocppVersion: opts.version, durationSeconds: opts.durationSeconds },
      'simulation starting',
    );
    const validator = new ValidatorSet().get(opts.version);
    const spec = OCPP_VERSIONS[opts.version];
    const dialect = dialectOf(opts.version);
    const interval = 1000 / Math.max(0.1, opts.rate);
    for (let k = 0; k < opts.count && !this.stopped; k++) {
      const index = opts.first + k;
      const url = `${opts.url}${index}`;
      const id = chargePointIdOf(url);
      const identity = id.split('/').pop() ?? id;
      const authorization =
        opts.authorization ??
        (opts.password === undefined
          ? undefined
          : `Basic ${Buffer.from(`${identity}:${opts.password}`).toString('base64')}`);
      const client = new StationClient({ url, spec, validator, ...(authorization ? { authorization } : {}) });
      const station = new Station({
        id,
        url,
        version: opts.version,
        dialect,
        client,
        connectors: opts.connectors,
        random: new Random(opts.seed * 100_003 + index),
        idleSeconds: opts.idleSeconds,
        sessionSeconds: opts.sessionSeconds,
        meterIntervalSeconds: opts.meterIntervalSeconds,
        idTags: opts.idTags,
        counters: this.counters,
        report: (event, detail) => this.logger.debug({ chargePointId: id, ...detail }, event),
      });
      this.stations.push(station);
      station.start().then(
        (status) => {
          this.connected++;
          if (status === 'Accepted') this.logger.debug({ chargePointId: id }, 'station connected and booted');
          else {
            this.logger.info(
              { chargePointId: id, status },
              `station connected, its boot answered ${status}: it boots again after the interval the Central System gave, or when asked to`,
            );
          }
        },
        (err: Error) => {
          this.refused++;
          this.logger.warn(
            { chargePointId: id, reason: err.message },
            'station could not connect (retrying)',
          );
        },
      );
      if (k + 1 < opts.count) await new Promise((r) => setTimeout(r, interval));
    }
    await done;
    return this.summary();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.stations) s.stop();
    // Let the close frames go out before the caller exits.
    setTimeout(() => this.finish?.(), 300);
  }

  private progress(): Record<string, unknown> {
    const live = this.stations.filter((s) => s.client.connected).length;
    return { stations: this.stations.length, live, ...this.counters };
  }

  private summary(): SimulationSummary {
    for (const s of this.stations) this.counters.commandsAnswered += s.client.stats.commandsAnswered;
    return {
      stations: this.stations.length,
      connected: this.connected,
      refused: this.refused,
      counters: { ...this.counters },
    };
  }
}
