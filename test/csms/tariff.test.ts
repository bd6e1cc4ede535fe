/** Cost of a session from a tariff, and the `ocppTariff` attribute's validation. */
import { describe, expect, it } from 'vitest';
import { costOf, parseTariffAttribute } from '../../src/csms/tariff.js';

const TARIFF = {
  currency: 'EUR',
  pricePerKWh: 0.4,
  pricePerMinute: 0.05,
  pricePerSession: 1,
  costUpdatedInterval: 60,
};

describe('costOf', () => {
  it.each([
    [{ energyWh: 6000, chargingSeconds: 1500 }, 4.65],
    [{ energyWh: undefined, chargingSeconds: 0 }, 1],
    [{ energyWh: 1234, chargingSeconds: 61 }, 1.54],
    [{ energyWh: -50, chargingSeconds: -3 }, 1],
  ])('%j → %d (session + kWh + minutes, to the cent)', (input, cost) => {
    expect(costOf(TARIFF, input)).toBe(cost);
  });
});

describe('parseTariffAttribute', () => {
  it('takes an object or its JSON text, with the defaults of ocpp.json', () => {
    const expected = { ok: true, tariff: { ...TARIFF, pricePerMinute: 0, pricePerSession: 0 } };
    expect(parseTariffAttribute({ currency: 'EUR', pricePerKWh: 0.4 })).toEqual(expected);
    expect(parseTariffAttribute('{"currency":"EUR","pricePerKWh":0.4}')).toEqual(expected);
  });

  it.each([
    ['not json', 'not JSON'],
    [{ pricePerKWh: 1 }, 'currency'],
    [{ currency: 'EUR', pricePerKWh: 'cheap' }, 'pricePerKWh'],
    [{ currency: 'EUR', surprise: 1 }, 'surprise'],
  ])('%j is refused, saying where', (value, where) => {
    const r = parseTariffAttribute(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toContain(where);
  });
});
