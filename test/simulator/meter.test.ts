/** The simulated session meter: plausible and internally consistent readings. */
import { describe, expect, it } from 'vitest';
import { Random, SessionMeter } from '../../src/simulator/meter.js';

describe('SessionMeter', () => {
  it.each([1, 2, 3, 42, 1000])('seed %i: energy only grows, power matches energy, SoC ≤ 100', (seed) => {
    const start = 1_700_000_000_000;
    const meter = new SessionMeter({ registerWh: 1_000_000, now: start, random: new Random(seed) });
    meter.sample(start);
    const minute = 60_000;
    const early = meter.sample(start + minute);
    let previous = early;
    for (let t = 2; t <= 600; t++) {
      const s = meter.sample(start + t * minute);
      expect(s.energyWh).toBeGreaterThanOrEqual(previous.energyWh);
      // One minute at the reported power (± rounding and the ±3 % wobble).
      expect(s.energyWh - previous.energyWh).toBeLessThanOrEqual(s.powerW / 60 + 2 + 0.05 * s.powerW);
      expect(s.powerW).toBeLessThanOrEqual(22_000);
      expect(s.voltageV).toBeGreaterThanOrEqual(215);
      expect(s.voltageV).toBeLessThanOrEqual(245);
      expect(s.socPercent).toBeLessThanOrEqual(100);
      expect(s.socPercent).toBeGreaterThanOrEqual(previous.socPercent);
      previous = s;
    }
    // Ten hours later the battery is (nearly) full and the charger has tapered off.
    expect(previous.socPercent).toBeGreaterThan(95);
    expect(previous.powerW).toBeLessThan(early.powerW / 2);
    expect(meter.sessionWh).toBeGreaterThan(10_000);
  });

  it('draws current that matches power and voltage', () => {
    const meter = new SessionMeter({ registerWh: 0, now: 0, random: new Random(7) });
    meter.sample(0);
    const s = meter.sample(60_000);
    expect(s.currentA * s.voltageV * meter.phases).toBeCloseTo(s.powerW, -2);
  });

  it('replays the same run for the same seed', () => {
    const run = (seed: number) => {
      const m = new SessionMeter({ registerWh: 0, now: 0, random: new Random(seed) });
      return [1, 2, 3].map((k) => m.sample(k * 60_000));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});
