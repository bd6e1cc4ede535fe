/** Small numeric helpers shared by the harness and the load generator. */

/** Collects latency samples (ms) into a growing typed array, up to a cap. */
export class Samples {
  constructor(cap = 2_000_000) {
    this.cap = cap;
    this.values = new Float64Array(Math.min(cap, 65_536));
    this.length = 0;
    this.overflow = 0;
  }

  add(v) {
    if (this.length === this.values.length) {
      if (this.length >= this.cap) {
        this.overflow++;
        return;
      }
      const bigger = new Float64Array(Math.min(this.cap, this.values.length * 2));
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = v;
  }

  summary() {
    return summarize(this.values.subarray(0, this.length));
  }
}

/** count, mean, p50, p90, p99, p999, max of finite values (ms), or undefined when empty. */
export function summarize(values) {
  const sorted = Float64Array.from(values).filter(Number.isFinite).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0 };
  const at = (q) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    mean: round(sum / n),
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    p999: round(at(0.999)),
    max: round(sorted[n - 1]),
  };
}

export function round(v, digits = 2) {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Adds one to `map[key]`. */
export function tally(map, key) {
  map[key] = (map[key] ?? 0) + 1;
}

export function mb(bytes) {
  return round(bytes / 1_048_576, 1);
}

export function kb(bytes) {
  return round(bytes / 1024, 2);
}
