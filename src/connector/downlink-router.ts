/**
 * ThingsBoard → charge point, within one connector: which live connection a device is (by device
 * name, or by charge point id — a charge point that has not booted is reachable too), shared
 * attribute updates (to the features, live or not, then `attributeUpdates` entries) and RPCs
 * (rpc.ts). Every CALL the Central System sends on ThingsBoard's behalf passes the features'
 * vetoes first (registration, remote start authorization). RPC outcomes are counted once each.
 */
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import { DEFAULT_RPC_TIMEOUT_MS, describeFailure, sendDownlink } from './downlink.js';
import type { EntryFeatures, FeatureFailures } from './feature-host.js';
import type { ConnectionView, ConnectorFeature } from './features.js';
import type { DeviceRegistry } from './registry.js';
import { answerRpc, type RpcReply } from './rpc.js';
import type { Route } from './routes.js';
import type { RpcCounters } from './views.js';

/** What the router needs of a live connection. */
export interface Routable {
  session: ChargePointSession;
  route: Route;
}

export interface DownlinkRouterDeps<L extends Routable> {
  registry: DeviceRegistry;
  live: ReadonlyMap<string, L>;
  viewOf(live: L): ConnectionView;
  /** Every feature of the connector (for devices with no live connection). */
  features(): readonly ConnectorFeature[];
  failures: FeatureFailures;
  counters: RpcCounters;
  logger: Logger;
  warnings: LogSummary;
}

export class DownlinkRouter<L extends Routable> {
  private readonly deps: DownlinkRouterDeps<L>;

  constructor(deps: DownlinkRouterDeps<L>) {
    this.deps = deps;
  }

  /** The live connection of a device name, or of a charge point id used as one. */
  liveOf(device: string): L | undefined {
    const id = this.deps.registry.chargePointOf(device) ?? device;
    return this.deps.live.get(id);
  }

  /** Charge point id of a device name (or of an id used as one): live first, then remembered. */
  chargePointIdOf(device: string): string | undefined {
    const { registry, live } = this.deps;
    return (
      registry.chargePointOf(device) ?? (live.has(device) ? device : registry.rememberedChargePoint(device))
    );
  }

  /** A shared attribute update for one of this connector's devices. */
  onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    const { failures, warnings, logger } = this.deps;
    const chargePointId = this.chargePointIdOf(device);
    const live = this.liveOf(device);
    if (chargePointId !== undefined) {
      // Keys from ThingsBoard: a Map, never a plain-object lookup.
      const values = new Map(Object.entries(data));
      const connection = live ? this.deps.viewOf(live) : undefined;
      for (const f of live?.route.features.features ?? this.deps.features()) {
        failures.run('onDeviceAttributes', { device, feature: f.name }, () =>
          f.onDeviceAttributes?.(chargePointId, device, values, connection),
        );
      }
    }
    if (!live) {
      warnings.warn(
        'attribute-update-no-live-device',
        { device },
        'attribute update for a device with no live charge point: not delivered',
      );
      return;
    }
    for (const [key, value] of Object.entries(data)) {
      for (const target of live.route.entry.attributeUpdates) {
        if (target.attributeOnThingsBoard !== key) continue;
        sendDownlink(
          { call: (action, payload, timeoutMs) => this.send(live, action, payload, timeoutMs) },
          target,
          { attributeKey: key, attributeValue: value },
          DEFAULT_RPC_TIMEOUT_MS,
        ).then(
          (response) => logger.debug({ device, key, response }, 'attribute update delivered'),
          (err: unknown) =>
            warnings.warn(
              'attribute-update-failed',
              { device, key, reason: describeFailure(err) },
              'attribute update not delivered',
            ),
        );
      }
    }
  }

  /**
   * An RPC for a device (by device name, or by charge point id); resolves with the reply data for
   * ThingsBoard, or undefined when the config entry says `withResponse: false`.
   */
  async onRpc(device: string, method: string, params: unknown): Promise<RpcReply | undefined> {
    const { counters } = this.deps;
    const live = this.liveOf(device);
    if (!live) {
      counters.notConnected++;
      return { error: `device "${device}" has no live charge point` };
    }
    const { features } = live.route;
    const reply = await answerRpc({
      session: live.session,
      entry: live.route.entry,
      method,
      params,
      send: (action, payload, timeoutMs) => this.send(live, action, payload, timeoutMs),
      featureMethod: features.rpcMethod(method),
      veto: (action, payload) => features.beforeSend({ connection: this.deps.viewOf(live), action, payload }),
      connection: () => this.deps.viewOf(live),
      warnings: this.deps.warnings,
      device,
      counters,
    });
    // Counted here, once per RPC, so the outcome counters add up to the RPCs received.
    if (reply === undefined) counters.noReply++;
    else if ('result' in reply) counters.ok++;
    return reply;
  }

  /**
   * A CALL from ThingsBoard to a charge point: the features' vetoes first, then the session. The
   * deadline counts from ThingsBoard's request, so the time a veto takes (asking ThingsBoard to
   * authorize a remote start) is part of it.
   */
  private async send(live: L, action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const features: EntryFeatures = live.route.features;
    if (!features.vetoes) return live.session.call(action, payload, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    await features.vetoWithin({ connection: this.deps.viewOf(live), action, payload }, deadline, timeoutMs);
    return live.session.call(action, payload, Math.max(1, deadline - Date.now()));
  }
}
