/**
 * Drains the outbox to ThingsBoard in order. A batch read from the outbox is packed once into
 * groups (see pack.ts); a group's records are removed only after the broker acknowledged every
 * publish of it. When the connection drops, everything not acknowledged is read again from the
 * outbox and sent once the link is back (at-least-once). A bounded number of publishes is in
 * flight at a time.
 *
 * With a pacer, every publish waits for the tokens of ThingsBoard's session limits first: the
 * charge points keep being answered (their data is in the outbox already), the outbox absorbs the
 * difference and drains as fast as the limits allow. Publishes the gateway makes besides the
 * outbox (RPC replies, re-announced devices) go first: they wait in the client's paced queue.
 * Data of a device the current MQTT session has not connected costs two more regular messages per
 * such device (ThingsBoard connects it implicitly: gateway-session.ts), and so does a connect of
 * one: a backlog after a reconnect is paced for it.
 */
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { Outbox } from '../outbox/types.js';
import type { ThingsBoardClient } from './client.js';
import type { GatewaySessionDevices } from './gateway-session.js';
import { LatencyHistogram } from './latency.js';
import { pack, type PackGroup, type Publish } from './pack.js';
import type { Cost, SessionPacer } from './pacer.js';

export interface PublisherOptions {
  outbox: Outbox;
  client: ThingsBoardClient;
  logger: Logger;
  maxPayloadBytes: number;
  /** Records read from the outbox per round. */
  maxReadRecords: number;
  /** Publishes awaiting PUBACK at once (without a pacer; with one, the pacer says). */
  maxInflight?: number;
  /** Session limits in force; without one, publishes go as fast as the window allows. */
  pacer?: SessionPacer;
  /** ThingsBoard renamed a device: its records go out under the new name. */
  rename?: (device: string) => string;
  /** Per-record warnings, summarised (a flood of oversized values costs a few lines). */
  warnings?: LogSummary;
}

export interface PublisherCounters {
  /** Records read from the outbox (statistics: storageMsgPulled). */
  recordsRead: number;
  /** Datapoints acknowledged by ThingsBoard (statistics: platformTsProduced, platformAttrProduced). */
  telemetryDatapoints: number;
  attributeDatapoints: number;
  /** Values that can never fit a publish within ThingsBoard's limits: dropped. */
  droppedOversize: number;
}

interface Sending {
  group: PackGroup;
  /** Index of the next publish of the group to send. */
  next: number;
  waiting: number;
  failed: boolean;
}

export interface PublisherStats {
  /** Publish → broker acknowledgement (PUBACK at QoS 1), seconds. */
  latency: LatencyHistogram;
  /** When the broker last acknowledged a publish (ms since the epoch), 0 = never. */
  lastAckAt: number;
  /** Publishes not acknowledged (link lost), to be sent again. */
  retried: number;
}

export class OutboxPublisher {
  readonly counters: PublisherCounters = {
    recordsRead: 0,
    telemetryDatapoints: 0,
    attributeDatapoints: 0,
    droppedOversize: 0,
  };
  readonly stats: PublisherStats = { latency: new LatencyHistogram(), lastAckAt: 0, retried: 0 };
  private readonly opts: PublisherOptions;
  private readonly maxInflight: number;
  /** Every record with id <= lastReadId has been read and packed (queued, in flight or acknowledged). */
  private lastReadId = 0;
  /** Packed groups not yet started, oldest first. */
  private ready: PackGroup[] = [];
  /** The group whose publishes are being sent, when not all are. */
  private current: Sending | undefined;
  private inflight = 0;
  private pumping = false;
  private drainWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private waitingSince: number | undefined;

  constructor(opts: PublisherOptions) {
    this.opts = opts;
    this.maxInflight = opts.maxInflight ?? 32;
    opts.outbox.onAppend(() => this.pump());
    opts.pacer?.onChange(() => this.limitsChanged());
    opts.client.onPacedQueueDrained(() => this.pump());
    // A new MQTT session is a new gateway session in ThingsBoard: no device connected in it yet.
    opts.client.onConnect(() => opts.pacer?.session.clear());
  }

  /** Publishes as much as the window and the limits allow; called on append, ack, (re)connect. */
  pump(): void {
    if (this.pumping || this.timer) return;
    this.pumping = true;
    try {
      this.fill();
    } finally {
      this.pumping = false;
    }
    this.notifyIfDrained();
  }

  private fill(): void {
    const { client, pacer } = this.opts;
    const maxInflight = pacer ? pacer.maxInflight : this.maxInflight;
    // Waiting for the first getSessionLimits answer: not even packed, the caps are not known yet.
    if (pacer?.waitingForThingsBoard) return;
    while (client.connected && this.inflight < maxInflight) {
      if (client.pacedQueueLength('devices') > 0) return;
      const sending = this.current ?? this.nextGroup();
      if (!sending) return;
      this.current = sending;
      const publish = sending.group.publishes[sending.next];
      if (!publish) {
        // A group whose every value was dropped: nothing to send, its records go.
        this.current = undefined;
        this.opts.outbox.removeRange(sending.group.fromId, sending.group.toId);
        continue;
      }
      if (pacer) {
        const cost = this.costOf(publish, pacer.session);
        const delay = pacer.delayFor('devices', cost);
        if (delay > 0) {
          this.waitingSince ??= performance.now();
          if (Number.isFinite(delay)) this.wake(delay);
          return;
        }
        if (this.waitingSince !== undefined) {
          pacer.noteWait('devices', performance.now() - this.waitingSince);
          this.waitingSince = undefined;
        }
        pacer.take('devices', cost);
        this.track(publish, pacer.session);
      }
      sending.next++;
      if (sending.next >= sending.group.publishes.length) this.current = undefined;
      this.send(sending, publish.topic, publish.payload);
    }
  }

  /**
   * The publish's cost with the device connects ThingsBoard will count for it: implicit ones for
   * data of devices new to its gateway session, and a connect's own (none for a device the session
   * has; one is charged all the same, should the gateway's view of the session be behind).
   */
  private costOf(p: Publish, session: GatewaySessionDevices): Cost {
    if (p.session?.open) {
      return { ...p.cost, messages: Math.max(p.cost.messages, session.connectMessages(p.session.device)) };
    }
    if (!p.devices) return p.cost;
    let extra = 0;
    for (const d of p.devices) extra += session.connectMessages(d);
    return extra === 0 ? p.cost : { ...p.cost, messages: p.cost.messages + extra };
  }

  private track(p: Publish, session: GatewaySessionDevices): void {
    if (p.devices) for (const d of p.devices) session.connected(d);
    else if (p.session?.open) session.connected(p.session.device);
    else if (p.session) session.disconnected(p.session.device);
  }

  private nextGroup(): Sending | undefined {
    let group = this.ready.shift();
    if (!group) {
      const { outbox, pacer } = this.opts;
      const batch = outbox.readBatch(this.lastReadId, this.opts.maxReadRecords);
      if (batch.length === 0) return undefined;
      this.counters.recordsRead += batch.length;
      this.lastReadId = (batch[batch.length - 1] as { id: number }).id;
      const caps = pacer?.caps('devices');
      const packed = pack(batch, {
        maxBytes: pacer ? pacer.maxPayloadBytes : this.opts.maxPayloadBytes,
        ...(caps ? { maxDatapoints: caps.maxDatapoints, maxEntries: caps.maxEntries } : {}),
        ...(this.opts.rename ? { rename: this.opts.rename } : {}),
      });
      for (const d of packed.dropped) {
        this.counters.droppedOversize++;
        const fields = { device: d.device, record: d.id, reason: d.reason };
        const message = 'value cannot be published within ThingsBoard limits: dropped';
        if (this.opts.warnings) this.opts.warnings.error('value-beyond-limits', fields, message);
        else this.opts.logger.error(fields, message);
      }
      this.ready = packed.groups;
      group = this.ready.shift();
      if (!group) return undefined;
    }
    return { group, next: 0, waiting: group.publishes.length, failed: false };
  }

  private wake(delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delay);
  }

  private send(sending: Sending, topic: string, payload: string): void {
    const { group } = sending;
    this.inflight++;
    const sentAt = performance.now();
    this.opts.client.publish(topic, payload).then(
      () => {
        this.stats.latency.observe((performance.now() - sentAt) / 1000);
        this.stats.lastAckAt = Date.now();
        this.inflight--;
        if (--sending.waiting === 0 && !sending.failed) {
          this.opts.outbox.removeRange(group.fromId, group.toId);
          this.counters.telemetryDatapoints += group.telemetryDatapoints;
          this.counters.attributeDatapoints += group.attributeDatapoints;
        }
        this.pump();
      },
      (err: unknown) => {
        this.inflight--;
        this.stats.retried++;
        if (!sending.failed) {
          sending.failed = true;
          this.rewind(group.fromId);
          this.opts.logger.debug(
            { err: String(err), fromId: group.fromId, toId: group.toId },
            'publish not acknowledged: will be sent again',
          );
        }
        this.notifyIfDrained();
      },
    );
  }

  /** Not acknowledged: read it (and everything after it) from the outbox again. */
  private rewind(fromId: number): void {
    this.lastReadId = Math.min(this.lastReadId, fromId - 1);
    this.ready = [];
    if (this.current && this.current.group.fromId >= fromId) this.current = undefined;
  }

  /**
   * New caps: what is packed but not started is packed again. A group already half sent is sent
   * again whole (its sent part twice: at-least-once), as its other publishes may exceed the caps.
   */
  private limitsChanged(): void {
    const from = this.current?.group.fromId ?? this.ready[0]?.fromId;
    if (from !== undefined) {
      if (this.current) this.current.failed = true;
      this.current = undefined;
      this.lastReadId = Math.min(this.lastReadId, from - 1);
    }
    this.ready = [];
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump();
  }

  /** Resolves when the outbox is empty and nothing is in flight, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.isDrained()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(done);
      this.pump();
    });
  }

  /** Stops the pacing timer (at stop, after the drain). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private isDrained(): boolean {
    return this.inflight === 0 && this.opts.outbox.size() === 0;
  }

  private notifyIfDrained(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
