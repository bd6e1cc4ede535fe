/**
 * Drains the outbox to ThingsBoard in order. A batch read from the outbox is packed once into
 * groups (see pack.ts); a group's records are removed only after the broker acknowledged every
 * publish of it. When the connection drops, everything not acknowledged is read again from the
 * outbox and sent once the link is back (at-least-once). A bounded number of publishes is in
 * flight at a time.
 */
import type { Logger } from '../log.js';
import type { Outbox } from '../outbox/types.js';
import type { ThingsBoardClient } from './client.js';
import { LatencyHistogram } from './latency.js';
import { packRecords, type PackGroup } from './pack.js';

export interface PublisherOptions {
  outbox: Outbox;
  client: ThingsBoardClient;
  logger: Logger;
  maxPayloadBytes: number;
  /** Records read from the outbox per round. */
  maxReadRecords: number;
  /** Publishes awaiting PUBACK at once. */
  maxInflight?: number;
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
  readonly stats: PublisherStats = { latency: new LatencyHistogram(), lastAckAt: 0, retried: 0 };
  private readonly opts: PublisherOptions;
  private readonly maxInflight: number;
  /** Every record with id <= lastReadId has been read and packed (queued, in flight or acknowledged). */
  private lastReadId = 0;
  /** Packed groups not yet sent, oldest first. */
  private ready: PackGroup[] = [];
  private inflight = 0;
  private pumping = false;
  private drainWaiters: (() => void)[] = [];

  constructor(opts: PublisherOptions) {
    this.opts = opts;
    this.maxInflight = opts.maxInflight ?? 32;
    opts.outbox.onAppend(() => this.pump());
  }

  /** Publishes as much as the window allows; called on append, on ack and on (re)connect. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const { outbox, client, maxPayloadBytes, maxReadRecords } = this.opts;
      while (client.connected && this.inflight < this.maxInflight) {
        let group = this.ready.shift();
        if (!group) {
          const batch = outbox.readBatch(this.lastReadId, maxReadRecords);
          if (batch.length === 0) break;
          this.lastReadId = (batch[batch.length - 1] as { id: number }).id;
          this.ready = packRecords(batch, maxPayloadBytes);
          group = this.ready.shift();
          if (!group) break;
        }
        this.send(group);
      }
    } finally {
      this.pumping = false;
    }
    this.notifyIfDrained();
  }

  private send(group: PackGroup): void {
    let waiting = group.publishes.length;
    let failed = false;
    for (const p of group.publishes) {
      this.inflight++;
      const sentAt = performance.now();
      this.opts.client.publish(p.topic, p.payload).then(
        () => {
          this.stats.latency.observe((performance.now() - sentAt) / 1000);
          this.stats.lastAckAt = Date.now();
          this.inflight--;
          if (--waiting === 0 && !failed) this.opts.outbox.removeRange(group.fromId, group.toId);
          this.pump();
        },
        (err: unknown) => {
          this.inflight--;
          this.stats.retried++;
          if (!failed) {
            failed = true;
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
  }

  /** Not acknowledged: read it (and everything after it) from the outbox again. */
  private rewind(fromId: number): void {
    this.lastReadId = Math.min(this.lastReadId, fromId - 1);
    this.ready = [];
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
