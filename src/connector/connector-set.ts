/**
 * The running OCPP connectors as ThingsBoard sees them through the gateway: which connector a
 * device belongs to (a live charge point first, by device name or charge point id; else one that
 * remembers it, so the features hear of offline devices), attribute updates and RPCs delivered to
 * it — every RPC answered exactly once — the gateway device's shared attributes fanned out to
 * every connector's features, and every device with a live charge point announced again at each
 * MQTT (re)connect. Remote configuration adds and removes connectors in `list`.
 */
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';
import { TOPIC } from '../thingsboard/pack.js';
import { PayloadTooLargeError } from '../thingsboard/paced-queue.js';
import type { OutboxPublisher } from '../thingsboard/publisher.js';
import { rpcReplyPayload, type RpcId } from '../thingsboard/rpc-id.js';
import type { OcppConnector } from './connector.js';

export interface ConnectorSetDeps {
  thingsboard: ThingsBoardClient;
  publisher: OutboxPublisher;
  logger: Logger;
  warnings: LogSummary;
}

export class ConnectorSet {
  /** In configuration order (ports and status follow it). */
  readonly list: OcppConnector[] = [];
  /** RPCs for a device no connector has a live charge point for. */
  rpcUnrouted = 0;
  private readonly deps: ConnectorSetDeps;

  constructor(deps: ConnectorSetDeps) {
    this.deps = deps;
  }

  find(name: string): OcppConnector | undefined {
    return this.list.find((c) => c.name === name);
  }

  /** The connector of a device: live first, then remembered. */
  connectorOf(device: string): OcppConnector | undefined {
    return this.list.find((c) => c.ownsDevice(device)) ?? this.list.find((c) => c.remembersDevice(device));
  }

  onGatewayAttributes(update: SharedAttributesUpdate): void {
    for (const c of this.list) c.onGatewayAttributes(update);
  }

  /** Every MQTT (re)connect: the features refresh what they read from ThingsBoard; devices are re-announced. */
  onThingsBoardConnected(): void {
    const { thingsboard, publisher, logger } = this.deps;
    for (const c of this.list) c.onThingsBoardConnected();
    // Re-announce every device with a live charge point: ThingsBoard may have marked them inactive.
    for (const c of this.list) {
      for (const d of c.announcedDevices()) {
        thingsboard
          .publishPaced(
            TOPIC.connect,
            JSON.stringify({ device: d.name, type: d.type }),
            'devices',
            thingsboard.connectCost(d.name),
          )
          .catch((err: unknown) =>
            logger.debug({ device: d.name, err: String(err) }, 're-announce not acknowledged'),
          );
      }
    }
    publisher.pump();
  }

  onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    const connector = this.connectorOf(device);
    if (!connector) {
      this.deps.warnings.warn(
        'attribute-update-unknown-device',
        { device },
        'attribute update for a device with no live charge point: not delivered',
      );
      return;
    }
    connector.onAttributeUpdate(device, data);
  }

  /** Every RPC gets exactly one reply (unless its entry says withResponse: false), whatever fails. */
  async onRpc(device: string, id: RpcId, method: string, params: unknown): Promise<void> {
    const { thingsboard, logger, warnings } = this.deps;
    let data: Awaited<ReturnType<OcppConnector['onRpc']>>;
    try {
      // Some security RPCs (resetSecurityProfile) work while the station is offline.
      const connector = this.connectorOf(device) ?? this.list.find((c) => c.handlesOfflineRpc(method));
      if (!connector) this.rpcUnrouted++;
      data = connector
        ? await connector.onRpc(device, method, params)
        : { error: `device "${device}" has no live charge point on this gateway` };
    } catch (err) {
      logger.error({ device, method, err }, 'handling an RPC failed');
      data = { error: 'the gateway could not process the request' };
    }
    if (data === undefined) return;
    if ('error' in data) warnings.warn('rpc-failed', { device, method, error: data.error }, 'RPC failed');
    // A reply is a message of the devices behind the gateway: it waits for its token.
    const reply = (body: unknown): Promise<void> =>
      thingsboard.publishPaced(
        TOPIC.rpc,
        rpcReplyPayload(device, id, body),
        'devices',
        thingsboard.costNaming(device),
      );
    try {
      await reply(data);
    } catch (err) {
      if (err instanceof PayloadTooLargeError) {
        // ThingsBoard would close the connection for it: the caller learns why instead.
        await reply({ error: err.message }).catch(() => undefined);
      }
      warnings.warn(
        'rpc-reply-not-delivered',
        { device, method, err: String(err) },
        'RPC reply not delivered to ThingsBoard',
      );
    }
  }
}
