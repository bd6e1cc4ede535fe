/**
 * The connector's live connections as an operator sees them (status page, JSON API, /metrics):
 * views built on request, the frame capture a request starts, and the frame traces an operator
 * asks for. Reads the connector's live map; changes nothing in the data path.
 */
import { ErrorCodes, GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { OcppVersion } from '../ocpp/versions.js';
import type { DeviceIdentity } from '../outbox/types.js';
import { FrameRing, type ChargePointActivity } from './activity.js';
import {
  chargePointView,
  MAX_TRACE_MINUTES,
  recentFrames,
  type ChargePointDetail,
  type ChargePointView,
} from './views.js';

/** How long the frame ring of a charge point is kept after the last request for it. */
const WATCH_MS = 10 * 60_000;
/**
 * Charge points traced at once. Ids come from requests, not from connections (a trace may wait for
 * a reconnect), so without a bound each request could add one for up to a day.
 */
export const MAX_TRACES = 256;

export interface InspectedConnection {
  session: ChargePointSession;
  announced: DeviceIdentity | undefined;
  activity: ChargePointActivity;
}

export interface InspectorDeps {
  connector: string;
  live: ReadonlyMap<string, InspectedConnection>;
  identityOf(chargePointId: string): DeviceIdentity;
  logger: Logger;
  now: () => Date;
}

export class ConnectionInspector {
  private readonly deps: InspectorDeps;
  /** Charge point id → until when its frames are logged at info (an operator's request). */
  private readonly traced = new Map<string, number>();

  constructor(deps: InspectorDeps) {
    this.deps = deps;
  }

  /** Cheap on the hot path: one size check while nobody traces anything. */
  tracedUntil(id: string): number | undefined {
    return this.traced.size === 0 ? undefined : this.traced.get(id);
  }

  connectionsByVersion(): Partial<Record<OcppVersion, number>> {
    const counts: Partial<Record<OcppVersion, number>> = {};
    for (const l of this.deps.live.values()) {
      const v = l.session.spec.version;
      counts[v] = (counts[v] ?? 0) + 1;
    }
    return counts;
  }

  chargePoints(): ChargePointView[] {
    return [...this.deps.live.values()].map((l) => this.viewOf(l));
  }

  /**
   * One live charge point (ids are untrusted: a Map lookup). Asking starts (or prolongs) the
   * capture of its recent frames, so the next request shows what it sent since.
   */
  chargePoint(id: string): ChargePointDetail | undefined {
    const live = this.deps.live.get(id);
    if (!live) return undefined;
    const { activity } = live;
    activity.watchedUntil = this.deps.now().getTime() + WATCH_MS;
    activity.frames ??= new FrameRing();
    return { ...this.viewOf(live), recentFrames: recentFrames(activity) };
  }

  /**
   * Logs a charge point's frames at info for `minutes` (0 stops), connected or not yet: the
   * trace is keyed by id, so it covers a reconnect. Returns until when, or undefined when stopped;
   * throws a TRACE_LIMIT GatewayError when MAX_TRACES other charge points are traced already.
   */
  trace(id: string, minutes: number): Date | undefined {
    const now = this.deps.now().getTime();
    for (const [k, until] of this.traced) if (until <= now) this.traced.delete(k);
    if (minutes <= 0) {
      this.traced.delete(id);
      this.deps.logger.info({ chargePointId: id }, 'frame trace stopped');
      return undefined;
    }
    if (!this.traced.has(id) && this.traced.size >= MAX_TRACES) {
      throw new GatewayError(
        ErrorCodes.TRACE_LIMIT,
        `${MAX_TRACES} charge points are traced already: stop one (minutes 0) or wait until one ends`,
      );
    }
    const until = now + Math.min(minutes, MAX_TRACE_MINUTES) * 60_000;
    this.traced.set(id, until);
    this.deps.logger.info(
      { chargePointId: id, until: new Date(until).toISOString() },
      "frame trace started: this charge point's frames are logged at info",
    );
    return new Date(until);
  }

  private viewOf(live: InspectedConnection): ChargePointView {
    const { session } = live;
    return chargePointView({
      id: session.id,
      connector: this.deps.connector,
      version: session.spec.version,
      device: live.announced ?? this.deps.identityOf(session.id),
      deviceAnnounced: live.announced !== undefined,
      activity: live.activity,
      tracedUntil: this.traced.get(session.id),
    });
  }
}
