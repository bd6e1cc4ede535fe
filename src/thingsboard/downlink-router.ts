/**
 * Where a message from ThingsBoard goes once the MQTT client has it: parsed, refused when nested
 * too deep (an RPC among them answered with an error), handed to the gateway device's own channel,
 * or dispatched to the handlers of attribute updates and RPCs for the devices behind the gateway.
 * Echoes of our own publishes on the gateway API's shared topics are told apart and counted.
 */
import { isRecord } from '../config/keys.js';
import type { ThingsBoardConfig } from '../config/types.js';
import { DEFAULT_MAX_JSON_DEPTH, jsonDepthExceeds } from '../json-depth.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { GatewayDeviceChannel } from './device-channel.js';
import { TOPIC } from './pack.js';
import { rpcIdOf, rpcReplyPayload, type RpcId } from './rpc-id.js';

export interface DownlinkHandlers {
  onAttributeUpdate(device: string, data: Record<string, unknown>): void;
  onRpc(device: string, id: RpcId, method: string, params: unknown): void;
}

export interface DownlinkRouterOptions {
  config: ThingsBoardConfig;
  /** The gateway device's own channel: it takes the messages on its topics first. */
  device: GatewayDeviceChannel;
  /** The client's counters (one source of counters): bad downlinks and echoes are counted there. */
  counters: { badDownlinks: number; ignoredEchoes: number };
  warnings: LogSummary;
  logger: Logger;
  /** Publishes an RPC reply to `device` on the gateway API (paced, devices lane). */
  publishRpcReply(device: string, payload: string): Promise<void>;
}

export class DownlinkRouter {
  private readonly opts: DownlinkRouterOptions;
  private handlers: DownlinkHandlers | undefined;

  constructor(opts: DownlinkRouterOptions) {
    this.opts = opts;
  }

  setHandlers(handlers: DownlinkHandlers): void {
    this.handlers = handlers;
  }

  handle(topic: string, text: string): void {
    const { counters, warnings } = this.opts;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      counters.badDownlinks++;
      warnings.warn('downlink-not-json', { topic }, 'ThingsBoard sent a message that is not JSON: ignored');
      return;
    }
    const maxDepth = this.opts.config.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
    if (jsonDepthExceeds(text, maxDepth)) {
      counters.badDownlinks++;
      this.refuseTooDeep(topic, msg, maxDepth);
      return;
    }
    if (this.opts.device.accept(topic, msg, text)) return;
    if (!isRecord(msg) || !this.handlers) return;
    // A plain broker echoes our own publishes on these shared topics; they are told apart by shape:
    // ThingsBoard's downlinks are {"device","data"}, with an RPC's id inside data.
    if (topic === TOPIC.attributes) {
      if (typeof msg.device === 'string' && isRecord(msg.data) && Object.keys(msg).length === 2) {
        this.handlers.onAttributeUpdate(msg.device, msg.data);
      } else counters.ignoredEchoes++;
      return;
    }
    if (topic === TOPIC.rpc) {
      const data = msg.data;
      if (
        typeof msg.device === 'string' &&
        msg.id === undefined &&
        isRecord(data) &&
        typeof data.method === 'string'
      ) {
        const id = rpcIdOf(data.id, text);
        if (id === undefined) {
          counters.badDownlinks++;
          warnings.warn(
            'rpc-without-id',
            { device: msg.device, method: data.method },
            'RPC without an id: ignored',
          );
          return;
        }
        this.handlers.onRpc(msg.device, id, data.method, data.params);
      } else counters.ignoredEchoes++;
    }
  }

  /** A message nested deeper than maxJsonDepth: dropped, and an RPC among them answered with an error. */
  private refuseTooDeep(topic: string, msg: unknown, maxDepth: number): void {
    const request = isRecord(msg) && isRecord(msg.data) ? msg.data : undefined;
    const device = isRecord(msg) && typeof msg.device === 'string' ? msg.device : undefined;
    const id = request ? rpcIdOf(request.id, undefined) : undefined;
    this.opts.warnings.warn(
      'downlink-too-deep',
      { topic, device, maxJsonDepth: maxDepth },
      `ThingsBoard sent a message nested deeper than ${maxDepth} levels: ignored`,
    );
    if (topic !== TOPIC.rpc || device === undefined || id === undefined || !isRecord(msg) || 'id' in msg)
      return;
    const error = `the request nests deeper than ${maxDepth} levels (thingsboard.maxJsonDepth)`;
    this.opts
      .publishRpcReply(device, rpcReplyPayload(device, id, { error }))
      .catch((err: unknown) =>
        this.opts.logger.warn({ device, err: String(err) }, 'RPC reply not delivered to ThingsBoard'),
      );
  }
}
