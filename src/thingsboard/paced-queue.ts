/**
 * Publishes made outside the outbox — RPC replies, re-announced devices, the gateway device's own
 * telemetry and attributes — waiting, in order per lane, for the tokens of the session limits.
 * Bounded: beyond `maxQueued` per lane a publish is refused at once (its caller logs it).
 */
import { LinkLostError } from './errors.js';
import type { Cost, Lane, SessionPacer } from './pacer.js';

export class PayloadTooLargeError extends Error {
  constructor(bytes: number, max: number) {
    super(`payload of ${bytes} bytes is larger than ThingsBoard accepts (${max} bytes at the safety share)`);
    this.name = 'PayloadTooLargeError';
  }
}

/** More datapoints or entries than a full bucket holds: ThingsBoard could never admit it. */
export class BeyondLimitsError extends Error {
  constructor(cost: Cost) {
    super(
      `a publish of ${cost.datapoints} datapoints and ${Math.max(cost.messages, cost.telemetryMessages)} messages is more than ThingsBoard's limits admit at once`,
    );
    this.name = 'BeyondLimitsError';
  }
}

export class PacedQueueFullError extends Error {
  constructor(lane: Lane, max: number) {
    super(
      `${max} publishes of the ${lane === 'device' ? 'gateway device' : 'devices'} lane already wait for ThingsBoard's rate limits`,
    );
    this.name = 'PacedQueueFullError';
  }
}

interface Entry {
  topic: string;
  payload: string;
  cost: Cost;
  resolve(): void;
  reject(err: Error): void;
}

export interface PacedQueueOptions {
  pacer: SessionPacer;
  publish(topic: string, payload: string): Promise<void>;
  connected(): boolean;
  /** A lane's queue emptied (the outbox publisher may go on). */
  onDrained(): void;
  maxQueued?: number;
}

export class PacedQueue {
  private readonly opts: PacedQueueOptions;
  private readonly maxQueued: number;
  private readonly queues: Record<Lane, Entry[]> = { device: [], devices: [] };
  private readonly waitingSince: Partial<Record<Lane, number>> = {};
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: PacedQueueOptions) {
    this.opts = opts;
    this.maxQueued = opts.maxQueued ?? 10_000;
    opts.pacer.onChange(() => this.pump());
  }

  length(lane: Lane): number {
    return this.queues[lane].length;
  }

  publish(topic: string, payload: string, lane: Lane, cost: Cost): Promise<void> {
    if (!this.opts.connected()) return Promise.reject(new LinkLostError());
    const bytes = Buffer.byteLength(payload);
    const max = this.opts.pacer.maxPayloadBytes;
    if (bytes > max) return Promise.reject(new PayloadTooLargeError(bytes, max));
    const caps = this.opts.pacer.caps(lane);
    if (
      cost.datapoints > caps.maxDatapoints ||
      Math.max(cost.messages, cost.telemetryMessages) > caps.maxEntries
    ) {
      return Promise.reject(new BeyondLimitsError(cost));
    }
    const queue = this.queues[lane];
    if (queue.length >= this.maxQueued) return Promise.reject(new PacedQueueFullError(lane, this.maxQueued));
    return new Promise((resolve, reject) => {
      queue.push({ topic, payload, cost, resolve, reject });
      this.pump();
    });
  }

  /** Sends what the tokens allow, in order; sets a timer for the rest. */
  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const { pacer } = this.opts;
    let wake = Infinity;
    for (const lane of ['device', 'devices'] as const) {
      const queue = this.queues[lane];
      while (queue.length > 0 && this.opts.connected()) {
        const head = queue[0] as Entry;
        const delay = pacer.delayFor(lane, head.cost);
        if (delay > 0) {
          this.waitingSince[lane] ??= performance.now();
          wake = Math.min(wake, delay);
          break;
        }
        const since = this.waitingSince[lane];
        if (since !== undefined) {
          pacer.noteWait(lane, performance.now() - since);
          delete this.waitingSince[lane];
        }
        pacer.take(lane, head.cost);
        queue.shift();
        this.opts.publish(head.topic, head.payload).then(head.resolve, head.reject);
        if (queue.length === 0) this.opts.onDrained();
      }
    }
    if (Number.isFinite(wake)) this.timer = setTimeout(() => this.pump(), wake);
  }

  /** The link is down: nothing waiting will be sent on it. */
  linkLost(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const err = new LinkLostError();
    for (const lane of ['device', 'devices'] as const) {
      const waiting = this.queues[lane].splice(0);
      delete this.waitingSince[lane];
      for (const e of waiting) e.reject(err);
      if (waiting.length > 0) this.opts.onDrained();
    }
  }
}
