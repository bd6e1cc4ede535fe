/**
 * ThingsBoard's transport rate limits, as the stand-in (tb-standin.ts) enforces them. Facts from
 * ThingsBoard's source (master, 2026): TbRateLimits builds one bucket4j bucket per limit string with
 * a greedy-refill bandwidth per `"capacity:seconds"` window, starting full; `tryConsume(n)` passes
 * only if every window holds `n` tokens, then charges them all. DefaultTransportRateLimitService
 * .checkEntityRateLimit: a message with datapoints costs one token of `telemetryMessages` and then
 * its datapoints of `telemetryDataPoints` (the first is charged even when the second refuses); a
 * message without datapoints one token of `messages`.
 *
 * Written independently of the gateway's buckets (src/thingsboard/rate-limit.ts), so that a
 * mistake in one is not repeated in the other.
 */

export interface LimitSet {
  messages?: string | null;
  telemetryMessages?: string | null;
  telemetryDataPoints?: string | null;
}

/** One `"capacity:seconds"` window, bucket4j greedy refill, starting full. */
class Window {
  private tokens: number;
  private last = performance.now();
  constructor(
    readonly capacity: number,
    readonly seconds: number,
  ) {
    this.tokens = capacity;
  }
  available(now: number): number {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.last) / 1000) * (this.capacity / this.seconds),
    );
    this.last = now;
    return this.tokens;
  }
  consume(n: number): void {
    this.tokens -= n;
  }
}

/** A limit string (RateLimitUtil.parseConfig splits on `,`): all windows must hold `n`, then all are charged. */
export class Limit {
  private readonly windows: Window[];
  constructor(config: string) {
    this.windows = config
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .map((p) => {
        const [c, s] = p.split(':').map(Number);
        return new Window(c ?? 0, s ?? 1);
      });
  }
  tryConsume(n: number): boolean {
    const now = performance.now();
    if (!this.windows.every((w) => w.available(now) >= n)) return false;
    for (const w of this.windows) w.consume(n);
    return true;
  }
}

export interface Limits {
  messages?: Limit;
  telemetryMessages?: Limit;
  telemetryDataPoints?: Limit;
}

export function limitsOf(set: LimitSet | undefined): Limits {
  const out: Limits = {};
  for (const k of ['messages', 'telemetryMessages', 'telemetryDataPoints'] as const) {
    const v = set?.[k];
    if (typeof v === 'string' && v !== '') out[k] = new Limit(v);
  }
  return out;
}

/** checkEntityRateLimit: the limit refused, or undefined when the message passes. */
export function check(limits: Limits, dataPoints: number): keyof Limits | undefined {
  if (dataPoints > 0) {
    if (limits.telemetryMessages && !limits.telemetryMessages.tryConsume(1)) return 'telemetryMessages';
    if (limits.telemetryDataPoints && !limits.telemetryDataPoints.tryConsume(dataPoints))
      return 'telemetryDataPoints';
    return undefined;
  }
  if (limits.messages && !limits.messages.tryConsume(1)) return 'messages';
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key-value pairs ThingsBoard counts in a telemetry entry (`{ts, values}` or flat) or attributes. */
export function kvCount(entry: unknown): number {
  if (!isObject(entry)) return 0;
  if (Object.hasOwn(entry, 'ts') && isObject(entry.values)) return Object.keys(entry.values).length;
  return Object.keys(entry).length;
}

/**
 * The bytes Netty's MqttDecoder compares with ThingsBoard's `maxPayloadSize` (NETTY_MAX_PAYLOAD_SIZE):
 * the PUBLISH packet's remaining length — topic (with its length prefix), packet id, payload.
 */
export function remainingLength(topic: string, qos: number, payloadBytes: number): number {
  return 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
}
