/**
 * Publish → PUBACK latency, counted into fixed buckets (Prometheus histogram semantics: each
 * bucket counts observations ≤ its bound). Constant memory, one array index per observation.
 */

/** Upper bounds in seconds: LAN brokers answer in ~1 ms, a loaded cloud ThingsBoard in ~1 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class LatencyHistogram {
  readonly bounds: readonly number[];
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  private readonly counts: number[];
  count = 0;
  /** Seconds. */
  sum = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] ?? Infinity)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sum += seconds;
  }

  /** Cumulative counts per bound, then +Inf (= count). */
  cumulative(): { le: number; count: number }[] {
    let running = 0;
    const out = this.bounds.map((le, i) => {
      running += this.counts[i] ?? 0;
      return { le, count: running };
    });
    out.push({ le: Infinity, count: this.count });
    return out;
  }

  /** The bucket bound under which `q` of the observations fall (an upper estimate), or undefined. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const target = q * this.count;
    for (const { le, count } of this.cumulative()) if (count >= target) return le;
    return Infinity;
  }
}
