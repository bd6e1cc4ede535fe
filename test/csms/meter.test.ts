/** Energy (Wh) and power (W) out of 1.6 and 2.x meter values, units and multipliers applied. */
import { describe, expect, it } from 'vitest';
import { readMeter } from '../../src/csms/meter.js';

const entry = (sampledValue: unknown[], timestamp = '2026-11-23T10:00:00Z') => ({ timestamp, sampledValue });
const E = 'Energy.Active.Import.Register';
const P = 'Power.Active.Import';

describe('readMeter', () => {
  it.each([
    ['1.6 text in Wh', [entry([{ value: '1234.5', measurand: E, unit: 'Wh' }])], { energyWh: 1234.5 }],
    ['1.6 kWh', [entry([{ value: '12.5', measurand: E, unit: 'kWh' }])], { energyWh: 12500 }],
    ['no measurand = the energy register, no unit = Wh', [entry([{ value: '42' }])], { energyWh: 42 }],
    [
      '2.x number with a multiplier',
      [entry([{ value: 1.5, measurand: E, unitOfMeasure: { unit: 'Wh', multiplier: 3 } }])],
      { energyWh: 1500 },
    ],
    [
      '2.x kW power',
      [entry([{ value: 7.4, measurand: P, unitOfMeasure: { unit: 'kW' } }])],
      { powerW: 7400 },
    ],
    [
      'phase powers summed when no total',
      [
        entry([
          { value: '1000', measurand: P, phase: 'L1' },
          { value: '1100', measurand: P, phase: 'L2' },
          { value: '900', measurand: P, phase: 'L3' },
        ]),
      ],
      { powerW: 3000 },
    ],
    [
      'L1 and L1-N are never added together',
      [
        entry([
          { value: '1000', measurand: P, phase: 'L1' },
          { value: '1000', measurand: P, phase: 'L1-N' },
        ]),
      ],
      { powerW: 1000 },
    ],
    [
      'the total wins over phases',
      [
        entry([
          { value: '500', measurand: P, phase: 'L1' },
          { value: '1600', measurand: P },
        ]),
      ],
      { powerW: 1600 },
    ],
    ['a phase energy sample is not the total', [entry([{ value: '10', measurand: E, phase: 'L1' }])], {}],
    ['text that is no number is ignored', [entry([{ value: 'n/a', measurand: E }])], {}],
    ['another unit is ignored', [entry([{ value: '3', measurand: E, unit: 'varh' }])], {}],
    ['not an array', 'nonsense', {}],
  ])('%s', (_name, entries, expected) => {
    const r = readMeter(entries);
    expect({ energyWh: r.energyWh, powerW: r.powerW }).toEqual({
      energyWh: undefined,
      powerW: undefined,
      ...expected,
    });
  });

  it('the last entry with data wins, with its timestamp', () => {
    const r = readMeter([
      entry([{ value: '100', measurand: E }], '2026-11-23T10:00:00Z'),
      entry([{ value: '200', measurand: E }], '2026-11-23T10:05:00Z'),
      entry([{ value: '1', measurand: 'Voltage', unit: 'V' }], '2026-11-23T10:06:00Z'),
    ]);
    expect(r).toEqual({ energyWh: 200, timestamp: '2026-11-23T10:05:00Z' });
  });
});
