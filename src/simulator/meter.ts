/**
 * What a charging session measures, plausibly: an EV battery that accepts full power up to about
 * 80 % state of charge and then tapers (constant current, then constant voltage), mains voltage
 * that wanders a little around 230 V, current that follows power, and an energy register that
 * only ever grows. Deterministic for a given seed.
 */

/** A small seeded PRNG (mulberry32): the same --seed replays the same run. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
}

export interface Sample {
  /** Energy register, Wh (since the meter was installed). */
  energyWh: number;
  powerW: number;
  /** Per phase, A. */
  currentA: number;
  voltageV: number;
  socPercent: number;
}

export class SessionMeter {
  readonly phases: 1 | 3;
  private readonly maxPowerW: number;
  private readonly capacityWh: number;
  private soc: number;
  private registerWh: number;
  private readonly startWh: number;
  private lastAt: number;
  private voltage: number;
  private readonly random: Random;

  constructor(opts: { registerWh: number; now: number; random: Random }) {
    const r = opts.random;
    this.random = r;
    // A 3-phase 11 kW or 22 kW wallbox, or a 1-phase 7.4 kW one.
    const kind = r.pick([
      { phases: 3 as const, kw: 11 },
      { phases: 3 as const, kw: 22 },
      { phases: 1 as const, kw: 7.4 },
    ]);
    this.phases = kind.phases;
    this.maxPowerW = kind.kw * 1000;
    this.capacityWh = r.between(40_000, 82_000);
    this.soc = r.between(10, 60);
    this.registerWh = opts.registerWh;
    this.startWh = opts.registerWh;
    this.lastAt = opts.now;
    this.voltage = r.between(226, 234);
  }

  /** Energy delivered in this session so far, Wh. */
  get sessionWh(): number {
    return this.registerWh - this.startWh;
  }

  get register(): number {
    return this.registerWh;
  }

  /** Advances the session to `now` and reads the meter. */
  sample(now: number): Sample {
    const hours = Math.max(0, now - this.lastAt) / 3_600_000;
    this.lastAt = now;
    this.voltage = Math.min(245, Math.max(215, this.voltage + this.random.between(-1.5, 1.5)));
    const power = this.power();
    const energy = power * hours;
    this.registerWh += energy;
    this.soc = Math.min(100, this.soc + (energy / this.capacityWh) * 100);
    const current = power / (this.voltage * this.phases);
    return {
      energyWh: Math.round(this.registerWh),
      powerW: Math.round(power),
      currentA: Math.round(current * 10) / 10,
      voltageV: Math.round(this.voltage * 10) / 10,
      socPercent: Math.round(this.soc * 10) / 10,
    };
  }

  private power(): number {
    if (this.soc >= 100) return 0;
    // Constant current up to ~80 %, then the battery management system tapers towards 100 %.
    const taper = this.soc < 80 ? 1 : Math.max(0.05, (100 - this.soc) / 20);
    return this.maxPowerW * taper * this.random.between(0.97, 1.0);
  }
}
