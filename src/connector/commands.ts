/**
 * What ThingsBoard asks of a connector's devices — shared attribute updates and RPCs — routed to
 * the device's live charge point, found by device name or by charge point id (a charge point
 * that has not booted is reachable too). Attribute updates reach the Central System features
 * first (live or not: `ocppRegistration`, `ocppTariff`), then `attributeUpdates` entries. An RPC
 * is, by method: a security RPC (some work offline); a `serverSideRpc` entry; the reserved
 * `get`/`set`; a method a feature answers (`syncLocalList`); or the Central System action it is
 * named after (a GetLog or GetDiagnostics without a location gets the gateway's upload URL).
 * Every CALL sent on ThingsBoard's behalf passes the features' vetoes first (registration, remote
 * start authorization). Every RPC ends in exactly one outcome counter.
 */
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { ChargePointSecurity } from '../security/index.js';
import {
  DEFAULT_RPC_TIMEOUT_MS,
  describeFailure,
  rpcTimeout,
  sendDownlink,
  settingCall,
  type RpcReplyData,
} from './downlink.js';
import type { FeatureFailures } from './feature-host.js';
import { RpcRefusedError, type ConnectionView, type ConnectorFeature } from './features.js';
import type { DeviceRegistry } from './registry.js';
import type { Route } from './routes.js';
import { withUploadLocation, type UploadLocations } from './upload-location.js';
import { rpcFailureKind, type RpcCounters } from './views.js';

/** What commands need of a live connection. */
export interface Commandable {
  session: ChargePointSession;
  route: Route;
}

export interface DeviceCommandsDeps<L extends Commandable> {
  connector: string;
  registry: DeviceRegistry;
  live: ReadonlyMap<string, L>;
  viewOf(live: L): ConnectionView;
  /** Every feature of the connector (for devices with no live connection). */
  features(): readonly ConnectorFeature[];
  failures: FeatureFailures;
  /** Through the connector: a new configuration replaces the security component. */
  security: Pick<ChargePointSecurity, 'isRpc' | 'onRpc'>;
  counters: RpcCounters;
  logger: Logger;
  warnings: LogSummary;
  uploads?: UploadLocations | undefined;
}

export class DeviceCommands<L extends Commandable> {
  private readonly deps: DeviceCommandsDeps<L>;

  constructor(deps: DeviceCommandsDeps<L>) {
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
  async onRpc(device: string, method: string, params: unknown): Promise<RpcReplyData | undefined> {
    const reply = await this.rpc(device, method, params);
    // Counted here, once per RPC, so the outcome counters add up to the RPCs received.
    if (reply === undefined) this.deps.counters.noReply++;
    else if ('result' in reply) this.deps.counters.ok++;
    return reply;
  }

  private async rpc(device: string, method: string, params: unknown): Promise<RpcReplyData | undefined> {
    const { counters, security } = this.deps;
    const live = this.liveOf(device);
    if (security.isRpc(method)) {
      // Reserved like get/set. resetSecurityProfile also works while the station is offline (a
      // device never booted is named after its charge point id).
      const chargePointId = this.deps.registry.chargePointNamed(device) ?? live?.session.id ?? device;
      try {
        const reply = await security.onRpc(method, params, {
          chargePointId,
          session: live?.session,
          // Its CALLs pass the features' vetoes like every RPC's (registration).
          ...(live ? { call: (a: string, p: unknown, t: number) => this.send(live, a, p, t) } : {}),
        });
        if ('error' in reply) counters[live ? 'invalid' : 'notConnected']++;
        return reply;
      } catch (err) {
        if (err instanceof RpcRefusedError) {
          counters.refused++;
          return { error: err.message };
        }
        counters[rpcFailureKind(err)]++;
        return { error: describeFailure(err) };
      }
    }
    if (!live) {
      counters.notConnected++;
      return { error: `device "${device}" has no live charge point` };
    }
    try {
      return await this.toChargePoint(live, device, method, params);
    } catch (err) {
      if (err instanceof RpcRefusedError) {
        counters.refused++;
        return { error: err.message };
      }
      counters[rpcFailureKind(err)]++;
      return { error: describeFailure(err) };
    }
  }

  /** An RPC for a live charge point, by method (see the file's comment); throws what fails. */
  private async toChargePoint(
    live: L,
    device: string,
    method: string,
    params: unknown,
  ): Promise<RpcReplyData | undefined> {
    const { session } = live;
    const { features, entry: config } = live.route;
    const { counters } = this.deps;
    const entry = config.serverSideRpc.find((e) => e.methodRPC === method);
    const send = (action: string, payload: unknown, timeoutMs: number): Promise<unknown> =>
      this.send(live, action, payload, timeoutMs);
    if (entry) {
      const reply = sendDownlink({ call: send }, entry, { params, method }, rpcTimeout(entry));
      if (entry.withResponse) return { result: await reply };
      reply.catch((err: unknown) =>
        this.deps.warnings.warn('rpc-failed', { device, method, reason: describeFailure(err) }, 'RPC failed'),
      );
      return undefined;
    }
    if (method === 'get' || method === 'set') {
      const { action, payload } = settingCall(session, method, params);
      return { result: await send(action, payload, rpcTimeout(undefined)) };
    }
    const featureMethod = features.rpcMethod(method);
    if (featureMethod) {
      const connection = this.deps.viewOf(live);
      // The features' vetoes for a method they answer themselves (it is named like an action).
      await features.beforeSend({ connection, action: method, payload: params });
      return { result: await featureMethod(connection, params) };
    }
    if (session.spec.centralSystemActions.has(method)) {
      const prepared = this.withUploadLocation(session, method, params ?? {});
      if ('error' in prepared) {
        counters.invalid++;
        return prepared;
      }
      return { result: await send(method, prepared.payload, rpcTimeout(undefined)) };
    }
    counters.unknownMethod++;
    if (session.spec.chargePointActions.has(method)) {
      // The action exists, in the other direction: say so rather than "unknown".
      return {
        error:
          `"${method}" is sent by a charge point to the Central System in ${session.spec.version}, ` +
          'so ThingsBoard cannot send it (and no serverSideRpc entry is named so)',
      };
    }
    return {
      error: `unknown method "${method}": no serverSideRpc entry and not an ${session.spec.version} action`,
    };
  }

  /**
   * A CALL from ThingsBoard to a charge point: the features' vetoes first, then the session. The
   * deadline counts from ThingsBoard's request, so the time a veto takes (asking ThingsBoard to
   * authorize a remote start) is part of it.
   */
  private async send(live: L, action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const { features } = live.route;
    if (!features.vetoes) return live.session.call(action, payload, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    await features.vetoWithin({ connection: this.deps.viewOf(live), action, payload }, deadline, timeoutMs);
    return live.session.call(action, payload, Math.max(1, deadline - Date.now()));
  }

  private withUploadLocation(
    session: ChargePointSession,
    action: string,
    params: unknown,
  ): { payload: unknown } | { error: string } {
    const { uploads } = this.deps;
    if (!uploads) return { payload: params };
    return withUploadLocation(session.spec.version, action, params, (requestId) =>
      uploads.issue({
        connector: this.deps.connector,
        chargePointId: session.id,
        action,
        ...(requestId === undefined ? {} : { requestId }),
      }),
    );
  }
}
