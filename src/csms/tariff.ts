/**
 * Tariffs and cost (OCPP 2.0.1/2.1 functional block I): a flat tariff per chargePoints entry,
 * or the device's `ocppTariff` shared attribute, which wins when it is set and valid.
 *
 * cost = pricePerSession + pricePerKWh × kWh + pricePerMinute × minutes of charging, rounded to
 * cents (2 decimals). "Minutes of charging" are the minutes the EV was drawing energy when the
 * station reports it (2.x chargingState Charging, 1.6 connector status Charging), else the
 * minutes of the whole transaction.
 */
import type { TariffConfig } from '../config/csms-types.js';
import { tariffSchema } from '../config/csms-schema.js';

export interface CostInput {
  energyWh: number | undefined;
  /** Seconds the EV was charging, or the transaction's duration when that is not known. */
  chargingSeconds: number;
}

export function costOf(tariff: TariffConfig, input: CostInput): number {
  const kWh = Math.max(0, input.energyWh ?? 0) / 1000;
  const minutes = Math.max(0, input.chargingSeconds) / 60;
  const cost = tariff.pricePerSession + tariff.pricePerKWh * kWh + tariff.pricePerMinute * minutes;
  return Math.round(cost * 100) / 100;
}

/**
 * A device's `ocppTariff` attribute (a JSON object, or its text): the tariff, or the reason it is
 * not one. Same keys and rules as `tariff` in ocpp.json.
 */
export function parseTariffAttribute(
  value: unknown,
): { ok: true; tariff: TariffConfig } | { ok: false; problem: string } {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return { ok: false, problem: 'not JSON' };
    }
  }
  const parsed = tariffSchema.safeParse(v);
  if (parsed.success) return { ok: true, tariff: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || '$'}: ${issue?.message ?? 'invalid'}` };
}
