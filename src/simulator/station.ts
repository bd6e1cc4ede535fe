/**
 * One simulated charging station: connects, boots, reports each connector's status, sends
 * heartbeats, and on each connector runs charging sessions one after another (plug in, authorize,
 * start, meter values at the configured interval, stop, unplug), while answering what the Central
 * System sends. After a lost connection or a Reset it reconnects and boots again.
 *
 * Refusals are handled as a station must: a boot answered Pending or Rejected is repeated after
 * the answer's interval (1.6 §4.2, 2.0.1 B02/B03), the station answering the Central System
 * meanwhile, and a TriggerMessage BootNotification boots it at once; a refused Authorize leaves the
 * connector free; a transaction whose idTag the start's answer refuses is ended as DeAuthorized.
 */
import type { OcppVersion } from '../ocpp/versions.js';
import { StationClient } from './client.js';
import {
  sessionIdTag,
  type ConnectorState,
  type Dialect,
  type StationContext,
  type StopReason,
} from './dialect.js';
import { SessionMeter, type Random } from './meter.js';

export interface StationCounters {
  boots: number;
  /** Boots answered Pending or Rejected (each is repeated after the answer's interval). */
  bootsNotAccepted: number;
  /** Local sessions not started: Authorize answered other than Accepted. */
  authorizationsRefused: number;
  /** Transactions ended at once because the start's answer refused the idTag. */
  sessionsDeauthorized: number;
  sessionsStarted: number;
  sessionsCompleted: number;
  meterValues: number;
  commandsAnswered: number;
  failures: number;
  reconnects: number;
}

export function newStationCounters(): StationCounters {
  return {
    boots: 0,
    bootsNotAccepted: 0,
    authorizationsRefused: 0,
    sessionsDeauthorized: 0,
    sessionsStarted: 0,
    sessionsCompleted: 0,
    meterValues: 0,
    commandsAnswered: 0,
    failures: 0,
    reconnects: 0,
  };
}

export interface StationOptions {
  /** The charge point id the Central System sees (the URL path). */
  id: string;
  url: string;
  version: OcppVersion;
  dialect: Dialect;
  client: StationClient;
  connectors: number;
  random: Random;
  /** Seconds a connector stays free between sessions, and a session lasts: [min, max]. */
  idleSeconds: readonly [number, number];
  sessionSeconds: readonly [number, number];
  meterIntervalSeconds: number;
  /** idTags of local sessions (`--id-tags`); empty: random cards. */
  idTags: readonly string[];
  counters: StationCounters;
  /** Called on notable events (connected, refused, …) for the run's log. */
  report(event: string, detail?: Record<string, unknown>): void;
}

const RECONNECT_MS: readonly [number, number] = [1000, 5000];
/** Seconds before booting again when a Pending/Rejected answer gives no interval (0). */
const DEFAULT_BOOT_RETRY_S = 30;

export class Station implements StationContext {
  readonly id: string;
  readonly client: StationClient;
  readonly connectors: ConnectorState[];
  readonly random: Random;
  readonly settings: Map<string, string>;
  private readonly opts: StationOptions;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private booted = false;

  constructor(opts: StationOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.client = opts.client;
    this.random = opts.random;
    this.settings = new Map(opts.dialect.defaultSettings());
    this.settings.set(opts.dialect.meterIntervalSetting, String(opts.meterIntervalSeconds));
    this.connectors = Array.from({ length: opts.connectors }, (_, i) => ({
      id: i + 1,
      phase: 'available' as const,
      session: undefined,
      registerWh: Math.round(opts.random.between(100_000, 5_000_000)),
    }));
    opts.dialect.installHandlers(this);
    this.client.onClose = (code) => this.onClosed(code);
  }

  now(): number {
    return Date.now();
  }

  /**
   * Connects and boots; resolves with the boot's status (not Accepted: the station boots again
   * after the answer's interval), rejects when it cannot connect.
   */
  async start(): Promise<string> {
    await this.client.connect();
    return this.bootAndRun('PowerUp');
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.client.close(1000, 'simulation over');
  }

  // ---- StationContext: what the Central System can make a station do ----

  remoteStart(idTag: string, connectorId: number | undefined, remoteStartId?: number): boolean {
    const c =
      connectorId === undefined
        ? this.connectors.find((k) => k.phase === 'available')
        : this.connectors.find((k) => k.id === connectorId && k.phase === 'available');
    if (!c || !this.booted) return false;
    this.clear(`next:${c.id}`);
    // Answer first, then start (a station answers RemoteStart before it sends StartTransaction).
    setImmediate(() => void this.runSession(c, idTag, true, remoteStartId));
    return true;
  }

  remoteStop(transactionId: string | number): boolean {
    const c = this.connectors.find(
      (k) => k.session && String(k.session.transactionId) === String(transactionId),
    );
    if (!c) return false;
    setImmediate(() => void this.endSession(c, 'Remote'));
    return true;
  }

  reboot(): void {
    this.opts.report('reset requested: rebooting');
    setTimeout(() => {
      for (const c of this.connectors) if (c.session) void this.endSession(c, 'Reboot');
      this.schedule('reboot', 500, () => {
        this.booted = false;
        this.client.close(1000, 'rebooting');
      });
    }, 100);
  }

  trigger(message: string, connectorId: number | undefined): boolean {
    const d = this.opts.dialect;
    const pick = this.connectors.filter((c) => connectorId === undefined || c.id === connectorId);
    const run = (p: Promise<unknown>) => p.catch(() => this.opts.counters.failures++);
    switch (message) {
      case 'BootNotification':
        // Not yet Accepted (Pending): this is the Central System's way to let the station in.
        setImmediate(() => void run(this.booted ? d.boot(this, 'Triggered') : this.bootAndRun('Triggered')));
        return true;
      case 'Heartbeat':
        setImmediate(() => void run(d.heartbeat(this)));
        return true;
      case 'StatusNotification':
        setImmediate(() => pick.forEach((c) => void run(d.status(this, c))));
        return true;
      case 'MeterValues':
        setImmediate(() =>
          pick.forEach((c) => {
            const meter =
              c.session?.meter ??
              new SessionMeter({ registerWh: c.registerWh, now: this.now(), random: this.random });
            void run(d.meterValues(this, c, meter.sample(this.now()), false));
          }),
        );
        return true;
      default:
        return false;
    }
  }

  // ---- life cycle ----

  private async bootAndRun(reason: 'PowerUp' | 'RemoteReset' | 'Triggered'): Promise<string> {
    const d = this.opts.dialect;
    const { status, interval } = await d.boot(this, reason);
    // A retry and a triggered boot may both be answered: the first Accepted one runs the station.
    if (this.booted || this.stopped) return status;
    if (status !== 'Accepted') {
      this.opts.counters.bootsNotAccepted++;
      const seconds = interval > 0 ? interval : DEFAULT_BOOT_RETRY_S;
      this.opts.report(`boot ${status}: booting again in ${seconds} s`, { status, seconds });
      this.schedule('boot', seconds * 1000, () => {
        if (this.booted || !this.client.connected) return;
        this.bootAndRun('PowerUp').catch(() => this.opts.counters.failures++);
      });
      return status;
    }
    this.clear('boot');
    this.booted = true;
    this.opts.counters.boots++;
    this.settings.set(d.heartbeatSetting, String(interval));
    for (const c of this.connectors) {
      c.phase = c.session ? 'charging' : 'available';
      await d.status(this, c);
      if (!c.session) this.scheduleNextSession(c);
    }
    this.heartbeatLoop();
    return status;
  }

  private heartbeatLoop(): void {
    const seconds = Number(this.settings.get(this.opts.dialect.heartbeatSetting) ?? 300) || 300;
    this.schedule('heartbeat', seconds * 1000, () => {
      this.opts.dialect.heartbeat(this).catch(() => this.opts.counters.failures++);
      this.heartbeatLoop();
    });
  }

  private scheduleNextSession(c: ConnectorState): void {
    const [min, max] = this.opts.idleSeconds;
    this.schedule(`next:${c.id}`, this.random.between(min, max) * 1000, () => {
      if (c.phase === 'available')
        void this.runSession(c, sessionIdTag(this.random, this.opts.idTags), false);
    });
  }

  private async runSession(
    c: ConnectorState,
    idTag: string,
    remote: boolean,
    remoteStartId?: number,
  ): Promise<void> {
    const d = this.opts.dialect;
    try {
      c.phase = 'preparing';
      await d.status(this, c);
      if (!remote && !(await d.authorize(this, idTag))) {
        this.opts.counters.authorizationsRefused++;
        c.phase = 'available';
        await d.status(this, c);
        this.scheduleNextSession(c);
        return;
      }
      const meter = new SessionMeter({ registerWh: c.registerWh, now: this.now(), random: this.random });
      c.session = {
        transactionId: `${this.id.split('/').pop() ?? 'S'}-${c.id}-${Date.now().toString(36)}`.slice(-36),
        idTag,
        meter,
        seqNo: 0,
        ...(remoteStartId === undefined ? {} : { remoteStartId }),
      };
      const authorized = await d.startTransaction(this, c, remote);
      this.opts.counters.sessionsStarted++;
      if (!authorized) {
        this.opts.counters.sessionsDeauthorized++;
        await this.endSession(c, 'DeAuthorized');
        return;
      }
      c.phase = 'charging';
      await d.status(this, c);
      this.meterLoop(c);
      const [min, max] = this.opts.sessionSeconds;
      this.schedule(
        `end:${c.id}`,
        this.random.between(min, max) * 1000,
        () => void this.endSession(c, 'Local'),
      );
    } catch {
      this.opts.counters.failures++;
      c.session = undefined;
      c.phase = 'available';
      if (!this.stopped && this.client.connected) this.scheduleNextSession(c);
    }
  }

  private meterLoop(c: ConnectorState): void {
    const seconds = Number(this.settings.get(this.opts.dialect.meterIntervalSetting) ?? 10) || 10;
    this.schedule(`meter:${c.id}`, seconds * 1000, () => {
      const session = c.session;
      if (!session) return;
      const sample = session.meter.sample(this.now());
      c.registerWh = session.meter.register;
      this.opts.dialect.meterValues(this, c, sample, true).then(
        () => this.opts.counters.meterValues++,
        () => this.opts.counters.failures++,
      );
      this.meterLoop(c);
    });
  }

  private async endSession(c: ConnectorState, reason: StopReason): Promise<void> {
    const session = c.session;
    if (!session) return;
    this.clear(`meter:${c.id}`);
    this.clear(`end:${c.id}`);
    session.meter.sample(this.now());
    c.registerWh = session.meter.register;
    const d = this.opts.dialect;
    try {
      await d.stopTransaction(this, c, reason);
      this.opts.counters.sessionsCompleted++;
      c.session = undefined;
      if (reason === 'Reboot') return;
      c.phase = 'finishing';
      await d.status(this, c);
      this.schedule(`unplug:${c.id}`, 2000, () => {
        c.phase = 'available';
        d.status(this, c).catch(() => this.opts.counters.failures++);
        this.scheduleNextSession(c);
      });
    } catch {
      this.opts.counters.failures++;
      c.session = undefined;
      c.phase = 'available';
    }
  }

  private onClosed(code: number): void {
    this.booted = false;
    for (const [key, t] of this.timers) if (key !== 'reconnect') clearTimeout(t);
    for (const key of [...this.timers.keys()]) if (key !== 'reconnect') this.timers.delete(key);
    for (const c of this.connectors) {
      c.session = undefined;
      c.phase = 'available';
    }
    if (this.stopped) return;
    this.opts.counters.reconnects++;
    this.opts.report('connection closed: reconnecting', { code });
    this.schedule('reconnect', this.random.between(...RECONNECT_MS), () => void this.reconnect());
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.client.connect();
      await this.bootAndRun('RemoteReset');
    } catch (err) {
      this.opts.report('reconnect failed', { reason: (err as Error).message });
      this.client.terminate();
    }
  }

  private schedule(key: string, ms: number, fn: () => void): void {
    if (this.stopped) return;
    this.clear(key);
    const t = setTimeout(() => {
      this.timers.delete(key);
      fn();
    }, ms);
    this.timers.set(key, t);
  }

  private clear(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }
}
