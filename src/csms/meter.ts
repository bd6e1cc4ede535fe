/**
 * Energy and power out of OCPP meter values, in Wh and W, for 1.6 (`sampledValue.value` is text,
 * `unit` Wh/kWh/W/kW, no multiplier) and 2.0.1/2.1 (`value` is a number, `unitOfMeasure` with a
 * power-of-ten `multiplier`).
 *
 * OCPP 1.6 SampledValue / 2.0.1 SampledValueType: a sample without `measurand` is
 * Energy.Active.Import.Register; without unit, energy is Wh and power W. Phase samples are used
 * only when the total is missing (power: summed over L1/L2/L3).
 */
import { isRecord } from '../config/keys.js';

export interface MeterReading {
  /** Energy.Active.Import.Register, Wh. */
  energyWh?: number;
  /** Power.Active.Import, W. */
  powerW?: number;
  /** RFC 3339 timestamp of the meterValue entry the reading came from. */
  timestamp?: string;
}

const ENERGY = 'Energy.Active.Import.Register';
const POWER = 'Power.Active.Import';
/** Entries and samples looked at per message: a bound on work for whatever a station sends. */
const MAX_ENTRIES = 64;
const MAX_SAMPLES = 128;

type Sample = Record<string, unknown>;

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The value in the base unit (Wh or W): kWh/kW scaled by 1000, 2.x multipliers applied. */
function baseValue(sample: Sample, base: 'Wh' | 'W'): number | undefined {
  const value = numberOf(sample.value);
  if (value === undefined) return undefined;
  const uom = isRecord(sample.unitOfMeasure) ? sample.unitOfMeasure : undefined;
  const unit =
    typeof sample.unit === 'string' ? sample.unit : typeof uom?.unit === 'string' ? uom.unit : base;
  const multiplier = typeof uom?.multiplier === 'number' ? uom.multiplier : 0;
  let scaled = value * 10 ** multiplier;
  if (unit === `k${base}`) scaled *= 1000;
  else if (unit !== base) return undefined; // e.g. varh or A: not what was asked for
  return Number.isFinite(scaled) ? scaled : undefined;
}

function measurandOf(sample: Sample): string {
  return typeof sample.measurand === 'string' ? sample.measurand : ENERGY;
}

/** The latest reading of a message's `meterValue` (or 1.6 StopTransaction `transactionData`) array. */
export function readMeter(entries: unknown): MeterReading {
  const out: MeterReading = {};
  if (!Array.isArray(entries)) return out;
  for (const entry of entries.slice(0, MAX_ENTRIES)) {
    if (!isRecord(entry) || !Array.isArray(entry.sampledValue)) continue;
    const samples = entry.sampledValue.slice(0, MAX_SAMPLES).filter(isRecord);
    const energy = pick(samples, ENERGY, 'Wh', false);
    const power = pick(samples, POWER, 'W', true);
    if (energy === undefined && power === undefined) continue;
    // meterValue entries are in time order in practice; the last one with data wins.
    if (energy !== undefined) out.energyWh = energy;
    if (power !== undefined) out.powerW = power;
    if (typeof entry.timestamp === 'string') out.timestamp = entry.timestamp;
  }
  return out;
}

function pick(
  samples: Sample[],
  measurand: string,
  base: 'Wh' | 'W',
  sumPhases: boolean,
): number | undefined {
  let total: number | undefined;
  // Line phases (L1) and line-to-neutral phases (L1-N) describe the same power: never add both.
  const sums = { line: 0, lines: 0, neutral: 0, neutrals: 0 };
  for (const s of samples) {
    if (measurandOf(s) !== measurand) continue;
    const v = baseValue(s, base);
    if (v === undefined) continue;
    if (s.phase === undefined) total = v;
    else if (sumPhases && /^L[123]$/.test(String(s.phase))) {
      sums.lines++;
      sums.line += v;
    } else if (sumPhases && /^L[123]-N$/.test(String(s.phase))) {
      sums.neutrals++;
      sums.neutral += v;
    }
  }
  if (total !== undefined) return total;
  if (sums.lines > 0) return sums.line;
  return sums.neutrals > 0 ? sums.neutral : undefined;
}
