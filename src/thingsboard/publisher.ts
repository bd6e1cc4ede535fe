/**
 * Drains the outbox to ThingsBoard in order. Records are removed only after the broker's PUBACK;
 * when the connection drops, everything not acknowledged is read again from the outbox and sent
 * once the link is back (at-least-once). A bounded number of publishes is in flight at a time.
 */
import type { Logger } from '../log.js';
import type { Outbox } from '../outbox/types.js';
import type { ThingsBoardClient } from './client.js';
import { packRecords, type Pack } from './pack.js';

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

export class OutboxPublisher {
  private readonly opts: PublisherOptions;
  private readonly maxInflight: number;
  /** Every record with id <= lastSentId has been published (acknowledged or in flight). */
  private lastSentId = 0;
  private inflight = 0;
  private pumping = false;
  private drainWaiters: (() => void)[] = [];

  constructor(opts: PublisherOptions) {
    this.opts = opts;
    this.maxInflight = opts.maxInflight ?? 32;
    opts.outbox.onAppend(() => this.pump());
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** Publishes as much as the window allows; called on append, on ack and on (re)connect. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const { outbox, client, maxPayloadBytes, maxReadRecords } = this.opts;
      while (client.connected && this.inflight < this.maxInflight) {
        const batch = outbox.readBatch(this.lastSentId, maxReadRecords);
        if (batch.length === 0) break;
        const packs = packRecords(batch, maxPayloadBytes);
        for (const pack of packs) {
          if (this.inflight >= this.maxInflight || !client.connected) break;
          this.send(pack);
        }
      }
    } finally {
      this.pumping = false;
    }
    this.notifyIfDrained();
  }

  private send(pack: Pack): void {
    this.inflight++;
    this.lastSentId = pack.toId;
    this.opts.client.publish(pack.topic, pack.payload).then(
      () => {
        this.inflight--;
        this.opts.outbox.removeRange(pack.fromId, pack.toId);
        this.pump();
      },
      (err: unknown) => {
        this.inflight--;
        // Not acknowledged: read it (and everything after it) from the outbox again.
        this.lastSentId = Math.min(this.lastSentId, pack.fromId - 1);
        this.opts.logger.debug(
          { err: String(err), fromId: pack.fromId, toId: pack.toId },
          'publish not acknowledged',
        );
        this.notifyIfDrained();
      },
    );
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
