/**
 * What ThingsBoard asks of a connector's devices — shared attribute updates and RPCs — routed to
 * the device's live charge point: a `serverSideRpc` entry, the reserved `get`/`set`, the security
 * RPCs (some of which work offline), or any Central System action by its name (a GetLog or
 * GetDiagnostics without a location gets the gateway's upload URL). Every RPC ends in exactly one
 * outcome counter.
 */
import type { ChargePointConfig } from '../config/types.js';
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
import { withUploadLocation, type UploadLocations } from './upload-location.js';
import { rpcFailureKind, type RpcCounters } from './views.js';

/** A device's live charge point and the chargePoints entry it connected under. */
export interface LiveDevice {
  session: ChargePointSession;
  entry: ChargePointConfig;
}

export interface DeviceCommandsDeps {
  connector: string;
  liveDevice(device: string): LiveDevice | undefined;
  /** The charge point a device name stands for, live or not (offline security RPCs). */
  chargePointNamed(device: string): string | undefined;
  security: Pick<ChargePointSecurity, 'isRpc' | 'onRpc'>;
  counters: RpcCounters;
  logger: Logger;
  warnings: LogSummary;
  uploads?: UploadLocations | undefined;
}

export class DeviceCommands {
  private readonly deps: DeviceCommandsDeps;

  constructor(deps: DeviceCommandsDeps) {
    this.deps = deps;
  }

  /** A shared attribute update for one of this connector's devices. */
  onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    const { logger, warnings } = this.deps;
    const live = this.deps.liveDevice(device);
    if (!live) {
      warnings.warn(
        'attribute-update-no-live-device',
        { device },
        'attribute update for a device with no live charge point: not delivered',
      );
      return;
    }
    for (const [key, value] of Object.entries(data)) {
      for (const target of live.entry.attributeUpdates) {
        if (target.attributeOnThingsBoard !== key) continue;
        sendDownlink(
          live.session,
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
   * An RPC for a device; resolves with the reply data for ThingsBoard, or undefined when the
   * config entry says `withResponse: false`.
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
    const live = this.deps.liveDevice(device);
    if (security.isRpc(method)) {
      // Reserved like get/set. resetSecurityProfile also works while the station is offline (a
      // device never booted is named after its charge point id).
      const chargePointId = this.deps.chargePointNamed(device) ?? device;
      try {
        const reply = await security.onRpc(method, params, { chargePointId, session: live?.session });
        if ('error' in reply) counters[live ? 'invalid' : 'notConnected']++;
        return reply;
      } catch (err) {
        counters[rpcFailureKind(err)]++;
        return { error: describeFailure(err) };
      }
    }
    if (!live) {
      counters.notConnected++;
      return { error: `device "${device}" has no live charge point` };
    }
    const { session } = live;
    const entry = live.entry.serverSideRpc.find((e) => e.methodRPC === method);
    try {
      let response: unknown;
      if (entry) {
        const reply = sendDownlink(session, entry, { params, method }, rpcTimeout(entry));
        if (!entry.withResponse) {
          reply.catch((err: unknown) =>
            this.deps.warnings.warn(
              'rpc-failed',
              { device, method, reason: describeFailure(err) },
              'RPC failed',
            ),
          );
          return undefined;
        }
        response = await reply;
      } else if (method === 'get' || method === 'set') {
        const { action, payload } = settingCall(session, method, params);
        response = await session.call(action, payload, rpcTimeout(undefined));
      } else if (session.spec.centralSystemActions.has(method)) {
        const prepared = this.withUploadLocation(session, method, params ?? {});
        if ('error' in prepared) {
          counters.invalid++;
          return prepared;
        }
        response = await session.call(method, prepared.payload, rpcTimeout(undefined));
      } else {
        counters.unknownMethod++;
        return {
          error: `unknown method "${method}": no serverSideRpc entry and not an ${session.spec.version} action`,
        };
      }
      return { result: response };
    } catch (err) {
      counters[rpcFailureKind(err)]++;
      return { error: describeFailure(err) };
    }
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
